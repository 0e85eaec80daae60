"""The settings of a node in a cluster: the kubelet's flags and config file fields for the
Node, its heartbeats and the client's rate limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastpod.cli import main
from fastpod.config.settings import ConfigError
from fastpod.supervisor.supervisor import Supervisor
from tests.support.run_options import config_of

SOURCE = ("--pod-manifest-path", "/srv/manifests")
HEADER = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


@pytest.fixture
def refuse_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(supervisor: Supervisor) -> int:
        raise AssertionError(f"fastpod would have run with {supervisor.config}")

    monkeypatch.setattr(Supervisor, "run", run)


def config_file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(HEADER + "staticPodPath: /srv/manifests\n" + body)
    return str(path)


def test_the_defaults_are_the_kubelets() -> None:
    config = config_of(*SOURCE)

    assert config.kubeconfig is None
    assert config.register_node is True
    assert (config.kube_api_qps, config.kube_api_burst, config.max_pods) == (50, 100, 110)
    assert (config.event_record_qps, config.event_burst) == (50, 100)
    assert config.node_status_update_frequency == 10.0
    assert config.node_status_report_frequency == 300.0
    assert config.node_lease_duration_seconds == 40


def test_the_node_flags_set_labels_taints_capacity_and_the_rate_limit() -> None:
    config = config_of(
        *SOURCE,
        "--node-labels",
        "example.com/infra=,node.kubernetes.io/pool=a,team=web",
        "--register-with-taints",
        "dedicated=infra:NoSchedule,maintenance:NoExecute",
        "--register-node=false",
        "--max-pods",
        "250",
        "--kube-api-qps",
        "20",
        "--kube-api-burst=40",
        "--event-qps=5",
        "--event-burst",
        "10",
        "--node-status-update-frequency",
        "20s",
    )

    assert config.node_labels == (
        ("example.com/infra", ""),
        ("node.kubernetes.io/pool", "a"),
        ("team", "web"),
    )
    assert config.register_with_taints == (
        ("dedicated", "infra", "NoSchedule"),
        ("maintenance", "", "NoExecute"),
    )
    assert config.register_node is False
    assert (config.max_pods, config.kube_api_qps, config.kube_api_burst) == (250, 20, 40)
    assert (config.event_record_qps, config.event_burst) == (5, 10)
    assert config.node_status_update_frequency == 20.0
    assert config.node_status_report_frequency == 300.0  # a flag does not move it


def test_the_config_file_sets_the_node_and_its_heartbeats(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "registerNode: false\n"
        "registerWithTaints:\n- key: dedicated\n  value: infra\n  effect: NoSchedule\n"
        "maxPods: 0\n"  # zero: the default
        "kubeAPIQPS: 0\n"  # a pointer: zero stays, client-go's default QPS then applies
        "kubeAPIBurst: 7\n"
        "eventRecordQPS: 0\n"  # a pointer too
        "eventBurst: 0\n"  # zero: the default
        "nodeStatusUpdateFrequency: 30s\n"
        "nodeLeaseDurationSeconds: 12\n",
    )

    config = config_of("--config", path)

    assert config.register_node is False
    assert config.register_with_taints == (("dedicated", "infra", "NoSchedule"),)
    assert (config.max_pods, config.kube_api_qps, config.kube_api_burst) == (110, 0, 7)
    assert (config.event_record_qps, config.event_burst) == (0, 100)
    assert config.node_status_update_frequency == 30.0
    assert config.node_status_report_frequency == 30.0  # v1beta1: follows the update one
    assert config.node_lease_duration_seconds == 12


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kubeAPIQPS: -1\n", "kubeAPIQPS: -1 must be a whole number, not negative"),
        (
            "registerWithTaints:\n- key: a\n  effect: Sometimes\n",
            "registerWithTaints: a: effect 'Sometimes' is not one of",
        ),
        ("nodeLeaseDurationSeconds: -5\n", "nodeLeaseDurationSeconds: -5 must be a whole number"),
    ],
)
def test_a_bad_field_names_the_file_line_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = config_file(tmp_path, body)

    with pytest.raises(ConfigError) as error:
        config_of("--config", path)

    assert str(error.value).startswith(f"{path}:4: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--node-labels", "node-role.kubernetes.io/master="),
            "argument --node-labels: unknown 'kubernetes.io' or 'k8s.io' labels: "
            "node-role.kubernetes.io/master",
        ),
        (("--node-labels", "team"), "argument --node-labels: 'team': expected KEY=VALUE"),
        (
            ("--register-with-taints", "dedicated=infra"),
            "argument --register-with-taints: 'dedicated=infra': expected KEY[=VALUE]:EFFECT",
        ),
        (("--kube-api-burst", "-3"), "argument --kube-api-burst: '-3' must be a whole number"),
    ],
)
@pytest.mark.usefixtures("refuse_to_run")
def test_a_bad_flag_is_a_usage_error(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["run", *SOURCE, *argv])

    assert exit.value.code == 2
    assert message in capsys.readouterr().err


def test_a_kubeconfig_not_there_yet_is_a_warning_and_a_relative_one_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    config = config_of(*SOURCE, "--kubeconfig", "kubelet.conf")

    assert config.kubeconfig == str(tmp_path / "kubelet.conf")
    assert any("does not exist (yet)" in warning for warning in config.startup_warnings)


@pytest.mark.usefixtures("refuse_to_run")
def test_a_kubeconfig_that_cannot_be_used_stops_fastpod_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = tmp_path / "kubelet.conf"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\n")

    code = main(["run", *SOURCE, "--kubeconfig", str(kubeconfig)])

    assert code == 2
    assert capsys.readouterr().err == (
        f"fastpod: kubeconfig {kubeconfig}: current-context: missing\n"
    )
