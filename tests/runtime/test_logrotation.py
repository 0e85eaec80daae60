"""Which files a log rotation removes, compresses and renames: the kubelet's container log
manager (``rotateLog``: cleanupUnusedLogs, removeExcessLogs, compressLog, rotateLatestLog)."""

from __future__ import annotations

import time

import pytest

from fastpod.runtime.logrotation import (
    Rotation,
    RotationPolicy,
    docker_log_options,
    plan_rotation,
    rotation_due,
)

POLICY = RotationPolicy(max_size=10 * 1024 * 1024, max_files=5)
NOW = time.mktime((2026, 3, 4, 5, 6, 7, 0, 0, -1))
STAMP = "20260304-050607"


def test_a_log_is_due_once_it_reaches_the_size() -> None:
    assert not rotation_due(POLICY.max_size - 1, POLICY)
    assert rotation_due(POLICY.max_size, POLICY)


def test_a_negative_size_turns_rotation_off() -> None:
    off = RotationPolicy(max_size=-1, max_files=5)
    assert not rotation_due(10**12, off)
    assert docker_log_options(off) == {}


def test_the_first_rotation_only_renames_the_log_with_a_timestamp() -> None:
    rotation = plan_rotation("0.log", ["0.log", "1.log"], POLICY, NOW)
    assert rotation == Rotation(remove=(), compress=(), rotated=f"0.log.{STAMP}")


def test_the_previous_rotated_file_is_compressed_at_the_next_rotation() -> None:
    names = ["0.log", "0.log.20260304-050000"]
    rotation = plan_rotation("0.log", names, POLICY, NOW)
    assert rotation == Rotation((), ("0.log.20260304-050000",), f"0.log.{STAMP}")


def test_the_oldest_rotated_files_go_so_that_max_files_are_kept() -> None:
    """Five files at most: the current log, the one rotated now, three older ones."""
    older = [f"0.log.20260304-0500{second:02}.gz" for second in range(5)]
    rotation = plan_rotation("0.log", ["0.log", *older], POLICY, NOW)
    assert rotation is not None
    assert rotation.remove == tuple(older[:2])
    assert rotation.compress == ()


def test_two_files_keep_no_older_rotated_file() -> None:
    rotation = plan_rotation("0.log", ["0.log", "0.log.20260304-050000"], RotationPolicy(1, 2), NOW)
    assert rotation == Rotation(("0.log.20260304-050000",), (), f"0.log.{STAMP}")


def test_what_an_interrupted_rotation_left_is_removed_first() -> None:
    names = [
        "0.log",
        "0.log.20260304-050000",
        "0.log.20260304-050000.gz",  # compressed, its plain file not yet removed
        "0.log.20260304-050100.tmp",  # a compression cut short
    ]
    rotation = plan_rotation("0.log", names, POLICY, NOW)
    assert rotation == Rotation(
        remove=("0.log.20260304-050000", "0.log.20260304-050100.tmp"),
        compress=(),
        rotated=f"0.log.{STAMP}",
    )


def test_other_logs_of_the_directory_are_left_alone() -> None:
    names = ["0.log", "1.log", "1.log.20260304-050000", "10.log.20260304-050000"]
    rotation = plan_rotation("1.log", names, RotationPolicy(1, 2), NOW)
    assert rotation == Rotation(("1.log.20260304-050000",), (), f"1.log.{STAMP}")


@pytest.mark.parametrize("taken", [f"0.log.{STAMP}", f"0.log.{STAMP}.gz"])
def test_a_second_rotation_within_the_same_second_waits(taken: str) -> None:
    assert plan_rotation("0.log", ["0.log", taken], POLICY, NOW) is None


def test_docker_gets_the_same_limits_as_json_file_options() -> None:
    assert docker_log_options(POLICY) == {"max-size": "10485760", "max-file": "5"}
