"""A container's termination message: its file made on the host, and read back once the
container has exited, from the file or, under ``FallbackToLogsOnError``, from its log."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastpod.runtime.spec import TERMINATION_MESSAGE_PATH, TERMINATION_MESSAGE_POLICY
from fastpod.runtime.termination import (
    MAX_LOG_LENGTH,
    MAX_LOG_LINES,
    MAX_MESSAGE_LENGTH,
    create_message_file,
    log_tail,
    termination_message,
    with_termination_message,
)
from tests.support import DATA

PATH = "/dev/termination-log"
CRI_OUTPUT = (
    "starting\nwarning: no config, using defaults\n"
    "a long line split by the runtime into three pieces\n\nspaces   kept\tand tabs\n"
    "progress 10%"
)
"""What the container that wrote ``tests/data/logs/cri.log`` printed."""


def labels(policy: str = "File", path: str = PATH) -> dict[str, str]:
    return {TERMINATION_MESSAGE_PATH: path, TERMINATION_MESSAGE_POLICY: policy}


def cri_line(text: str, stream: str = "stdout") -> str:
    return f"2026-12-01T14:00:00.000000001Z {stream} F {text}\n"


def docker_line(text: str, **padding: str) -> str:
    return json.dumps({"log": f"{text}\n", "stream": "stdout", **padding}) + "\n"


class Container:
    """An exited container's host side: its message file, mounted at :data:`PATH`, and its
    log file."""

    def __init__(self, root: Path) -> None:
        self.file = Path(create_message_file(str(root / "containers" / "main")))
        self.log = root / "0.log"
        self.log.write_text("")

    def message(
        self, exit_code: int, policy: str = "File", *, ran: bool = True, mounted: bool = True
    ) -> str:
        mounts = {PATH: str(self.file)} if mounted else {}
        return termination_message(labels(policy), exit_code, ran, mounts, str(self.log))


@pytest.fixture
def main(tmp_path: Path) -> Container:
    return Container(tmp_path)


@pytest.fixture
def restrictive_umask() -> Iterator[None]:
    """A umask that would take write permission from everyone but the owner."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("restrictive_umask")
def test_each_message_file_is_new_empty_and_writable_by_anyone(tmp_path: Path) -> None:
    directory = tmp_path / "pods" / "uid" / "containers" / "main"

    first, second = (Path(create_message_file(str(directory))) for _ in range(2))

    assert first != second
    assert first.parent == second.parent == directory
    for made in (first, second):
        assert made.read_bytes() == b""
        assert stat.S_IMODE(made.stat().st_mode) == 0o666
        assert len(made.name) == 8
        assert set(made.name) <= set("0123456789abcdef")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o750


def test_a_message_file_in_a_directory_that_cannot_be_made_raises(tmp_path: Path) -> None:
    (tmp_path / "pods").write_text("a file where the pods' directory should be")

    with pytest.raises(NotADirectoryError):
        create_message_file(str(tmp_path / "pods" / "uid" / "containers" / "main"))


def test_what_the_container_wrote_is_its_message_whatever_its_exit_code(main: Container) -> None:
    main.file.write_text("Sleep expired\n")

    assert main.message(0) == "Sleep expired\n"
    assert main.message(1) == "Sleep expired\n"
    assert main.message(1, "FallbackToLogsOnError") == "Sleep expired\n"


def test_a_message_keeps_the_last_4_kib_of_the_file(main: Container) -> None:
    main.file.write_bytes(b"h" * 100 + b"t" * MAX_MESSAGE_LENGTH)

    assert main.message(1) == "t" * MAX_MESSAGE_LENGTH


def test_bytes_that_are_no_utf_8_are_replaced(main: Container) -> None:
    main.file.write_bytes(b"bad \xff byte")

    assert main.message(1) == "bad \ufffd byte"


def test_an_empty_file_under_the_file_policy_is_no_message(main: Container) -> None:
    main.log.write_text(cri_line("in the log"))

    assert main.message(1) == ""


def test_a_failed_container_that_wrote_no_message_falls_back_to_its_log(
    main: Container,
) -> None:
    main.log.write_bytes((DATA / "logs" / "cri.log").read_bytes())

    assert main.message(1, "FallbackToLogsOnError") == CRI_OUTPUT


def test_the_fallback_reads_docker_json_file_lines_too(main: Container) -> None:
    main.log.write_text(docker_line("to stdout") + docker_line("then stderr"))

    assert main.message(2, "FallbackToLogsOnError") == "to stdout\nthen stderr\n"


def test_a_container_that_succeeded_never_falls_back(main: Container) -> None:
    main.log.write_text(cri_line("all went well"))

    assert main.message(0, "FallbackToLogsOnError") == ""


def test_a_container_that_never_ran_never_falls_back(main: Container) -> None:
    main.log.write_text(cri_line("from another instance"))

    assert main.message(128, "FallbackToLogsOnError", ran=False) == ""


def test_the_fallback_applies_when_the_file_is_not_mounted_or_gone(main: Container) -> None:
    main.log.write_text(cri_line("no file"))

    assert main.message(1, "FallbackToLogsOnError", mounted=False) == "no file\n"
    assert main.message(1, mounted=False) == ""
    main.file.unlink()
    assert main.message(1, "FallbackToLogsOnError") == "no file\n"
    assert main.message(1) == ""


def test_a_file_that_cannot_be_read_says_so_and_the_log_is_not_read(main: Container) -> None:
    main.file.unlink()
    main.file.mkdir()
    main.log.write_text(cri_line("not this"))

    assert main.message(1, "FallbackToLogsOnError") == (
        f"Error on reading termination log {main.file}: open {main.file}: is a directory"
    )


def test_a_log_that_cannot_be_read_says_so(main: Container) -> None:
    main.log.unlink()

    assert main.message(1, "FallbackToLogsOnError") == (
        "Error on reading termination message from logs: "
        f"open {main.log}: no such file or directory"
    )


def test_a_container_without_a_path_has_no_message_file_to_read(main: Container) -> None:
    main.file.write_text("not mounted anywhere")
    mounts = {PATH: str(main.file)}
    main.log.write_text(cri_line("from the log"))

    assert termination_message(labels(path=""), 1, True, mounts, str(main.log)) == ""
    fallback = labels("FallbackToLogsOnError", path="")
    assert termination_message(fallback, 1, True, mounts, str(main.log)) == "from the log\n"


def test_the_log_tail_is_the_output_of_the_last_80_lines(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_text("".join(cri_line(f"line {n}") for n in range(100)))

    tail = log_tail(str(log)).decode()

    assert tail.splitlines() == [f"line {n}" for n in range(100 - MAX_LOG_LINES, 100)]


def test_a_last_line_without_its_newline_is_read_but_not_counted(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    complete = "".join(cri_line(f"line {n}") for n in range(100))
    log.write_text(complete + "2026-12-01T14:00:00.000000001Z stdout P unfinished")

    tail = log_tail(str(log)).decode()

    expected = [f"line {n}" for n in range(100 - MAX_LOG_LINES, 100)]
    assert tail.splitlines() == [*expected, "unfinished"]


def test_the_log_tail_keeps_the_last_2_kib_of_output(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_text("".join(cri_line(f"{n:04d}" + "x" * 95) for n in range(60)))

    tail = log_tail(str(log))

    assert len(tail) == MAX_LOG_LENGTH
    assert tail.endswith(b"0059" + b"x" * 95 + b"\n")


def test_lines_are_counted_across_the_blocks_the_log_is_read_in(tmp_path: Path) -> None:
    """Long log lines of little output: the 80 lines span several 64 KiB reads."""
    log = tmp_path / "0.log"
    padding = "p" * 1000
    log.write_text("".join(docker_line(f"{n}", pad=padding) for n in range(300)))

    tail = log_tail(str(log)).decode()

    assert tail.splitlines() == [str(n) for n in range(300 - MAX_LOG_LINES, 300)]


def test_a_single_line_longer_than_a_block_is_read_whole(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_text(cri_line("first") + cri_line("y" * 200_000 + "end"))

    assert log_tail(str(log)) == b"y" * (MAX_LOG_LENGTH - 4) + b"end\n"


def test_an_empty_log_has_no_tail(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(b"")

    assert log_tail(str(log)) == b""


def test_the_runtime_message_and_the_container_message_are_joined_as_the_kubelet_does() -> None:
    assert with_termination_message("", "") == ""
    assert with_termination_message("OOM", "") == "OOM"
    assert with_termination_message("", "bye") == "bye"
    assert with_termination_message("OOM", "bye") == "OOM: bye"
