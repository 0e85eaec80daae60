"""``containerLogMaxSize``, ``containerLogMaxFiles`` and ``containerLogMonitorInterval``:
from the config file and the kubelet's flags, checked as the kubelet checks them."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from fastpod.config import options
from fastpod.config.kubelet_file import load_kubelet_config
from fastpod.config.settings import Config, ConfigError
from fastpod.runtime.logrotation import RotationPolicy
from fastpod.worker.settings import worker_settings

HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


def config_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "kubelet.yaml"
    path.write_text(HEADER + body)
    return str(path)


def config_of(*argv: str) -> Config:
    parser = argparse.ArgumentParser()
    options.add_run_command(parser.add_subparsers(dest="command"))
    arguments, unrecognized = parser.parse_known_args(
        ["run", "--hostname-override", "node1", "--pod-manifest-path", "/m", *argv]
    )
    return options.run_config(arguments, unrecognized)


def test_the_defaults_are_the_kubelets() -> None:
    config = config_of()
    assert (config.container_log_max_size, config.container_log_max_files) == (10 * 2**20, 5)
    assert config.container_log_monitor_interval == 10.0
    assert config.startup_warnings == ()


def test_the_config_file_sets_the_three_fields(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "containerLogMaxSize: 500Ki\ncontainerLogMaxFiles: 3\ncontainerLogMonitorInterval: 5s\n",
    )
    loaded = load_kubelet_config(path)
    assert loaded.settings == {
        "container_log_max_size": 500 * 1024,
        "container_log_max_files": 3,
        "container_log_monitor_interval": 5.0,
    }
    assert loaded.warnings == ()


def test_the_kubelet_flags_set_size_and_files_over_the_file(tmp_path: Path) -> None:
    path = config_file(tmp_path, "containerLogMaxSize: 500Ki\ncontainerLogMaxFiles: 3\n")
    config = config_of(
        "--config", path, "--container-log-max-size", "1Mi", "--container-log-max-files", "7"
    )
    assert (config.container_log_max_size, config.container_log_max_files) == (2**20, 7)
    assert config.startup_warnings == ()


def test_a_negative_size_turns_fastpods_rotation_off() -> None:
    config = config_of("--container-log-max-size=-1", "--runtime", "cri")
    assert config.container_log_max_size == -1
    assert worker_settings(config, "192.0.2.1").log_rotation is None


def test_only_a_cri_runtime_is_rotated_by_fastpod() -> None:
    """Docker rotates its own json-file logs; the fake writes none."""
    cri = worker_settings(config_of("--runtime", "cri"), "192.0.2.1")
    assert cri.log_rotation == RotationPolicy(10 * 2**20, 5)
    for runtime in ("docker", "fake"):
        assert worker_settings(config_of("--runtime", runtime), "192.0.2.1").log_rotation is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("containerLogMaxSize: ten\n", ":3: containerLogMaxSize: 'ten' is not a quantity"),
        ("containerLogMaxSize: '1.5'\n", ":3: containerLogMaxSize: '1.5' is not a whole number"),
        ("containerLogMaxSize: 1.5\n", ":3: containerLogMaxSize: must be a quantity of bytes"),
        ("containerLogMaxFiles: 1\n", ":3: containerLogMaxFiles: must be a whole number, 2 or"),
        ("containerLogMaxFiles: 0\n", ":3: containerLogMaxFiles: must be a whole number, 2 or"),
        ("containerLogMonitorInterval: 1s\n", ":3: containerLogMonitorInterval: '1s' must be 3s"),
    ],
)
def test_a_value_the_kubelet_refuses_is_one_line_naming_file_line_and_field(
    tmp_path: Path, body: str, expected: str
) -> None:
    path = config_file(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_kubelet_config(path)
    assert str(error.value).startswith(f"{path}{expected}")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("--container-log-max-files", "1"), "must be a whole number, 2 or more, not 1"),
        (("--container-log-max-size", "lots"), "'lots' is not a quantity of bytes"),
    ],
)
def test_a_bad_flag_value_is_a_usage_error_naming_the_flag(
    argv: tuple[str, ...], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        config_of(*argv)
    error = capsys.readouterr().err
    assert f"argument {argv[0]}: {expected}" in error
