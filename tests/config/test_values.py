"""The value checks shared by flags, the kubelet's config file and profiles."""

from __future__ import annotations

import re

import pytest

from fastpod.cli import main
from fastpod.config import values
from fastpod.config.profile_file import profile_settings
from tests.config.test_options import SOURCE


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("20s", 20.0), ("1m30s", 90.0), ("500ms", 0.5), ("2", 2.0), (" 2.5 ", 2.5), (3, 3.0)],
)
def test_fastpods_own_durations_are_go_durations_or_seconds(value: object, seconds: float) -> None:
    assert values.seconds(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1s", "'-1s' must not be negative"),
        (-2, "-2 must not be negative"),
        ("5 minutes", "not a duration: '5 minutes'"),
        ("nan", "not a duration: 'nan'"),
        (True, "must be a duration (20s, 1m30s) or seconds, not True"),
        ([1], "must be a duration (20s, 1m30s) or seconds, not [1]"),
    ],
)
def test_a_bad_duration_says_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        values.seconds(value)
    assert str(error.value).startswith(message)


def test_a_period_must_be_more_than_zero() -> None:
    assert values.period("1ms") == pytest.approx(0.001)
    with pytest.raises(ValueError, match="'0s' must be more than zero"):
        values.period("0s")


def test_the_kubelet_files_durations_need_gos_units() -> None:
    """A bare number is not a Go duration; fastpod's own settings accept one as seconds."""
    assert values.go_duration("1m") == 60.0
    with pytest.raises(ValueError, match="not a duration: '20'"):
        values.go_duration("20")
    with pytest.raises(ValueError, match="'-5s' must not be negative"):
        values.go_duration("-5s")


@pytest.mark.parametrize("value", [0, 10255, 65535])
def test_a_port_is_0_to_65535(value: int) -> None:
    assert values.port(value) == value


@pytest.mark.parametrize("value", [-1, 65536, "80", True, 8.0])
def test_anything_else_is_not_a_port(value: object) -> None:
    with pytest.raises(ValueError, match=r"must be a port number from 0 \(off\) to 65535, not "):
        values.port(value)


@pytest.mark.parametrize("value", [-1, True, "3", 2.0])
def test_a_count_is_a_whole_number(value: object) -> None:
    with pytest.raises(ValueError, match="must be a whole number, 0 or more"):
        values.count(value)


def test_a_positive_count_is_1_or_more() -> None:
    assert values.positive_count(1) == 1
    with pytest.raises(ValueError, match="must be 1 or more"):
        values.positive_count(0)


def test_an_ip_address_is_v4_or_v6() -> None:
    assert values.ip_address("::1") == "::1"
    with pytest.raises(ValueError, match="'localhost' is not an IP address"):
        values.ip_address("localhost")


def test_a_choice_lists_the_choices() -> None:
    runtime = values.choice("docker", "cri")
    assert runtime("cri") == "cri"
    with pytest.raises(ValueError, match="must be one of docker, cri, not 'podman'"):
        runtime("podman")
    with pytest.raises(ValueError, match="not 1"):
        runtime(1)


@pytest.mark.parametrize(("text", "meaning"), [("t", True), ("TRUE", True), ("0", False)])
def test_a_go_boolean_is_what_strconv_parse_bool_reads(text: str, meaning: bool) -> None:
    assert values.go_boolean(text) is meaning


def test_a_go_boolean_is_not_yes() -> None:
    with pytest.raises(ValueError, match=r"'yes' is not a boolean \(true or false\)"):
        values.go_boolean("yes")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--read-only-port", "70000"),
            "argument --read-only-port: must be a port number from 0 (off) to 65535, not 70000",
        ),
        (
            ("--read-only-port", "http"),
            "argument --read-only-port: must be a port number from 0 (off) to 65535, not 'http'",
        ),
        (("--workers", "two"), "argument --workers: must be a whole number, 0 or more, not 'two'"),
        (("--resync-period", "0s"), "argument --resync-period: '0s' must be more than zero"),
        (("--fake-latency=-1s",), "argument --fake-latency: '-1s' must not be negative"),
        (("--address", "localhost"), "argument --address: 'localhost' is not an IP address"),
    ],
)
def test_a_bad_flag_value_is_one_line_naming_the_flag(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["run", *SOURCE, *argv])
    assert exit.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


def test_a_flag_and_a_profile_setting_say_the_same_of_the_same_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One check, so one message wherever the operator wrote the value."""
    with pytest.raises(SystemExit):
        main(["run", *SOURCE, "--resync-period", "ten"])
    flag_message = capsys.readouterr().err.splitlines()[-1].partition("--resync-period: ")[2]
    with pytest.raises(ValueError, match="resync_period: ") as error:
        profile_settings({"resync_period": "ten"}, "p.yaml", b"resync_period: ten\n")
    assert str(error.value) == f"p.yaml:1: resync_period: {flag_message}"
