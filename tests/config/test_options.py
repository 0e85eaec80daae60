"""``fastpod run``'s command line: the kubelet's flags, precedence, defaults, ignored flags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fastpod.cli import main
from fastpod.config.settings import ConfigError
from fastpod.config.values import parse_go_duration
from fastpod.supervisor.supervisor import Supervisor
from tests.support import DATA
from tests.support.run_options import config_of
from tests.support.running import RunningFastpod

CONFIG = DATA / "config"
PROFILE = CONFIG / "profiles" / "check-frequency-7s.yaml"
SOURCE = ("--pod-manifest-path", "/srv/manifests")


@pytest.fixture
def refuse_to_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command line expected to fail fails the test, rather than start pods, if it runs."""

    def run(supervisor: Supervisor) -> int:
        raise AssertionError(f"fastpod would have run with {supervisor.config}")

    monkeypatch.setattr(Supervisor, "run", run)


@pytest.mark.parametrize(
    ("argv", "field", "expected"),
    [
        (
            ("--pod-manifest-path", "/etc/kubernetes/manifests"),
            "pod_manifest_path",
            "/etc/kubernetes/manifests",
        ),
        (("--manifest-url", "http://10.0.0.1/pods"), "manifest_url", "http://10.0.0.1/pods"),
        (("--file-check-frequency", "1m0s"), "file_check_frequency", 60.0),
        (("--http-check-frequency=500ms",), "http_check_frequency", 0.5),
        (("--read-only-port", "10266"), "read_only_port", 10266),
        (("--address", "0.0.0.0"), "address", "0.0.0.0"),
        (("--pod-infra-container-image", "pause:9"), "pod_infra_container_image", "pause:9"),
        (("--root-dir", "/var/lib/kubelet"), "root_dir", "/var/lib/kubelet"),
        (
            ("--kubeconfig", "/etc/kubernetes/kubelet.conf"),
            "kubeconfig",
            "/etc/kubernetes/kubelet.conf",
        ),
        (("--workers", "3"), "workers", 3),
        (("--runtime", "fake"), "runtime", "fake"),
        (("--docker-socket", "/run/docker.sock"), "docker_socket", "/run/docker.sock"),
        (("--pod-logs-dir", "/srv/logs"), "pod_logs_dir", "/srv/logs"),
        (("--resync-period", "2"), "resync_period", 2.0),
        (("--log-format", "json"), "log_format", "json"),
        (("--seccomp-default",), "seccomp_default", True),
        (("--seccomp-default=false",), "seccomp_default", False),
        (("--cluster-dns", "10.96.0.10"), "cluster_dns", ("10.96.0.10",)),
        (("--cluster-domain", "cluster.local"), "cluster_domain", "cluster.local"),
        (("--resolv-conf", "/run/resolv.conf"), "resolv_conf", "/run/resolv.conf"),
        (("--resolv-conf=",), "resolv_conf", ""),
        ((), "adopt_foreign_pods", True),
        (("--adopt-foreign-pods=false",), "adopt_foreign_pods", False),
        (("--adopt-foreign-pods",), "adopt_foreign_pods", True),
        (
            (
                "--allowed-unsafe-sysctls",
                "net.core.*,kernel.msgmax",
                "--allowed-unsafe-sysctls=kernel.sem",
            ),
            "allowed_unsafe_sysctls",
            ("net.core.*", "kernel.msgmax", "kernel.sem"),
        ),
    ],
)
def test_each_flag_sets_its_config_field(
    argv: tuple[str, ...], field: str, expected: object
) -> None:
    """The kubelet's flags keep their names and formats; fastpod's keep theirs."""
    assert getattr(config_of(*SOURCE, *argv), field) == expected


def test_hostname_override_names_the_node_lowercased() -> None:
    """As the kubelet: trimmed and lowercased."""
    assert config_of(*SOURCE, "--hostname-override", " Node-A ").node_name == "node-a"


def test_restart_backoff_and_fake_latency_take_numbers_or_go_durations() -> None:
    """fastpod's own duration flags accept plain seconds too, as they always did."""
    config = config_of(*SOURCE, "--restart-backoff", "0.2", "1m", "--fake-latency", "50ms")
    assert (config.backoff_initial, config.backoff_max) == (0.2, 60.0)
    assert config.fake_latencies.start_container == 0.05


def test_relative_directories_given_as_flags_resolve_against_the_working_directory() -> None:
    """The kubelet's flags are relative to where it was started."""
    config = config_of(*SOURCE, "--root-dir", "state", "--pod-logs-dir", "logs")
    assert config.root_dir == os.path.join(os.getcwd(), "state")
    assert config.pod_logs_dir == os.path.join(os.getcwd(), "logs")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--manifest-url-header", "Authorization:Bearer abc"), [("Authorization", "Bearer abc")]),
        (
            ("--manifest-url-header", "a:hello,b:again,c:world"),
            [("a", "hello"), ("b", "again"), ("c", "world")],
        ),
        (
            ("--manifest-url-header", "a:hello,b:again", "--manifest-url-header", "b:beautiful"),
            [("a", "hello"), ("b", "again"), ("b", "beautiful")],
        ),
        (("--manifest-url-header", "X-Empty:"), [("X-Empty", "")]),
        (("--manifest-url-header", "a:x:y"), [("a", "x:y")]),
    ],
)
def test_manifest_url_headers_read_as_the_kubelet_reads_them(
    flags: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    """Comma-separated pairs or repeated flags; a repeated name appends, in order."""
    config = config_of("--manifest-url", "http://10.0.0.1/pods", *flags)
    assert list(config.manifest_url_headers) == expected


@pytest.mark.parametrize(
    ("layers", "expected"),
    [
        ((), 20.0),
        (("--profile", str(PROFILE)), 7.0),
        (("--config", str(CONFIG / "check-frequency-9s.yaml")), 9.0),
        (("--profile", str(PROFILE), "--config", str(CONFIG / "check-frequency-9s.yaml")), 9.0),
        (("--profile", str(PROFILE), "--file-check-frequency", "11s"), 11.0),
        (
            ("--config", str(CONFIG / "check-frequency-9s.yaml"), "--file-check-frequency", "11s"),
            11.0,
        ),
        (
            (
                "--file-check-frequency",
                "11s",
                "--config",
                str(CONFIG / "check-frequency-9s.yaml"),
                "--profile",
                str(PROFILE),
            ),
            11.0,
        ),
    ],
)
def test_precedence_is_default_then_profile_then_config_file_then_flag(
    layers: tuple[str, ...], expected: float
) -> None:
    """Each layer overrides the ones before it, whatever the order on the command line."""
    assert config_of(*SOURCE, *layers).file_check_frequency == expected


def test_flags_left_out_never_reset_what_the_config_file_says() -> None:
    """Only flags actually given override the file (the kubelet's flag precedence)."""
    config = config_of("--config", str(CONFIG / "static-pods.yaml"), "--workers", "2")
    assert config.pod_manifest_path == "/srv/manifests"
    assert config.manifest_url == "http://127.0.0.1:8080/pods"
    assert config.address == "0.0.0.0"
    assert config.http_check_frequency == 0.5


def test_a_flag_overrides_the_config_files_url_headers_as_a_whole() -> None:
    """As the kubelet's multimap flag: the first --manifest-url-header replaces the file's."""
    config = config_of(
        "--config", str(CONFIG / "static-pods.yaml"), "--manifest-url-header", "X-Node:three"
    )
    assert config.manifest_url_headers == (("X-Node", "three"),)


def test_an_empty_manifest_path_flag_turns_the_config_files_path_off() -> None:
    """``--pod-manifest-path=`` means no file source, as in the kubelet."""
    config = config_of("--config", str(CONFIG / "static-pods.yaml"), "--pod-manifest-path=")
    assert config.pod_manifest_path is None
    assert config.sources == ("http",)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ((*SOURCE,), 10255),
        ((*SOURCE, "--read-only-port", "0"), 0),
        (("--config", str(CONFIG / "kubeadm.yaml")), 0),
        (("--config", str(CONFIG / "kubeadm.yaml"), "--read-only-port", "10255"), 10255),
        (("--config", str(CONFIG / "static-pods.yaml")), 10255),
        (("--config", str(CONFIG / "static-pods.yaml"), "--read-only-port", "0"), 0),
    ],
)
def test_read_only_port_is_on_without_config_and_off_with_it(
    argv: tuple[str, ...], expected: int
) -> None:
    """10255 from flags alone (the kubelet's legacy default); v1beta1's 0 with --config."""
    assert config_of(*argv).read_only_port == expected


def test_the_read_only_api_listens_on_loopback_unless_asked() -> None:
    """fastpod's default address is 127.0.0.1, where the kubelet's is 0.0.0.0."""
    assert config_of(*SOURCE).address == "127.0.0.1"


def test_the_runtime_defaults_to_docker_on_the_command_line() -> None:
    """Config's own default is the fake (for tests); ``fastpod run`` runs real pods."""
    assert config_of(*SOURCE).runtime == "docker"


@pytest.mark.parametrize(
    ("ignored", "flag"),
    [
        (("--cgroup-driver", "systemd"), "--cgroup-driver"),
        (("--cgroup-driver=systemd",), "--cgroup-driver"),
        (
            ("--image-service-endpoint", "unix:///run/containerd/containerd.sock"),
            "--image-service-endpoint",
        ),
        (("--fail-swap-on",), "--fail-swap-on"),
        (("--fail-swap-on=false",), "--fail-swap-on"),
        (("--register-schedulable=true",), "--register-schedulable"),
        (("--oom-score-adj", "-999"), "--oom-score-adj"),
        (("--eviction-hard", "memory.available<100Mi"), "--eviction-hard"),
        (("--provider-id=aws:///zone/i-1",), "--provider-id"),
        (("-v", "2"), "--v"),
        (("-v=2",), "--v"),
        (("-v2",), "--v"),
        (("--v=2",), "--v"),
        (("--network-plugin", "cni"), "--network-plugin"),
        (("--logtostderr",), "--logtostderr"),
    ],
)
def test_kubelet_flags_fastpod_does_not_need_warn_and_are_skipped(
    ignored: tuple[str, ...], flag: str
) -> None:
    """Each gives one warning naming it; its value is consumed, and the next flag still counts."""
    config = config_of(*SOURCE, *ignored, "--workers", "3")
    assert config.workers == 3
    assert len(config.startup_warnings) == 1
    assert config.startup_warnings[0].startswith(f"kubelet flag {flag} ignored")


def test_an_ignored_flag_repeated_warns_once() -> None:
    """One line per flag, however often the unit passes it."""
    config = config_of(*SOURCE, "--feature-gates=A=true", "--feature-gates", "B=false")
    assert len(config.startup_warnings) == 1


def test_a_kubeadm_command_line_runs() -> None:
    """kubeadm's kubelet unit with its kubeadm-flags.env: everything accepted."""
    config = config_of(
        "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
        "--kubeconfig=/etc/kubernetes/kubelet.conf",
        "--config=" + str(CONFIG / "kubeadm.yaml"),
        "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
        "--pod-infra-container-image=registry.k8s.io/pause:3.10",
    )
    assert config.pod_manifest_path == "/etc/kubernetes/manifests"
    assert config.kubeconfig == "/etc/kubernetes/kubelet.conf"
    assert config.runtime == "cri"
    assert config.container_runtime_endpoint == "unix:///var/run/containerd/containerd.sock"
    warnings = "\n".join(config.startup_warnings)
    assert "--bootstrap-kubeconfig ignored" in warnings
    assert "--kubeconfig /etc/kubernetes/kubelet.conf does not exist (yet)" in warnings


@pytest.mark.parametrize(
    ("argv", "runtime", "endpoint"),
    [
        ((), "docker", "unix:///run/containerd/containerd.sock"),
        (("--container-runtime-endpoint", "unix:///x.sock"), "cri", "unix:///x.sock"),
        (
            ("--container-runtime-endpoint=unix:///x.sock", "--runtime", "docker"),
            "docker",
            "unix:///x.sock",
        ),
        (("--runtime", "cri"), "cri", "unix:///run/containerd/containerd.sock"),
        (("--config", str(CONFIG / "cri-endpoint.yaml")), "cri", "unix:///run/k3s/cri.sock"),
        (
            ("--config", str(CONFIG / "cri-endpoint.yaml"), "--runtime=fake"),
            "fake",
            "unix:///run/k3s/cri.sock",
        ),
    ],
)
def test_a_runtime_endpoint_chooses_the_cri_unless_the_runtime_is_named(
    argv: tuple[str, ...], runtime: str, endpoint: str
) -> None:
    """As the kubelet's --container-runtime-endpoint (or containerRuntimeEndpoint) does."""
    config = config_of(*SOURCE, *argv)
    assert (config.runtime, config.container_runtime_endpoint) == (runtime, endpoint)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("--cluster-dns", "10.96.0.10,fd00::10"), ("10.96.0.10", "fd00::10")),
        (("--cluster-dns", "10.96.0.10", "--cluster-dns=10.96.0.11"), ("10.96.0.10", "10.96.0.11")),
        (("--cluster-dns=",), ()),
        ((), ()),
    ],
)
def test_cluster_dns_is_a_comma_separated_list_repeatable_as_the_kubelets(
    argv: tuple[str, ...], expected: tuple[str, ...]
) -> None:
    """pflag's StringSlice: commas separate, a repeated flag appends, ``""`` is none."""
    assert config_of(*SOURCE, *argv).cluster_dns == expected


@pytest.mark.usefixtures("refuse_to_run")
def test_a_cluster_dns_server_that_is_not_an_ip_address_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["run", *SOURCE, "--cluster-dns", "10.96.0.10,kube-dns"])
    assert exit.value.code == 2
    assert "argument --cluster-dns: 'kube-dns' is not an IP address" in capsys.readouterr().err


def test_the_resolver_file_is_the_nodes_unless_given() -> None:
    """The kubelet's ``--resolv-conf`` default; a relative path is the working directory's."""
    assert config_of(*SOURCE).resolv_conf == "/etc/resolv.conf"
    relative = config_of(*SOURCE, "--resolv-conf", "resolv.conf").resolv_conf
    assert relative == os.path.join(os.getcwd(), "resolv.conf")


def test_the_cri_relist_period_is_a_flag_and_a_profile_setting() -> None:
    assert config_of(*SOURCE, "--cri-relist-period", "250ms").cri_relist_period == 0.25
    assert config_of(*SOURCE, "--profile", "fast").cri_relist_period == 0.1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--bogus",), "unknown flag --bogus"),
        (("--bogus=1",), "unknown flag --bogus"),
        (("-x",), "unknown flag -x"),
        (("--fail-swap-on=maybe",), "--fail-swap-on: 'maybe' is not a boolean"),
        (("--fail-swap-on", "false"), "unexpected argument 'false'"),
        (("--cgroup-driver",), "--cgroup-driver: the flag needs a value"),
        (("stray",), "unexpected argument 'stray'"),
        (("--pod-manifest",), "unknown flag --pod-manifest"),
    ],
)
@pytest.mark.usefixtures("refuse_to_run")
def test_what_is_neither_a_fastpod_nor_a_kubelet_flag_is_a_usage_error(
    argv: tuple[str, ...], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 2 with one line; no abbreviations (pflag has none); booleans take ``=false``."""
    code = main(["run", *SOURCE, *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"fastpod: {message}")


@pytest.mark.usefixtures("refuse_to_run")
def test_nothing_to_run_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A source must come from a flag or the config file."""
    assert main(["run", "--workers", "2"]) == 2
    assert "nothing to run" in capsys.readouterr().err
    assert config_of("--config", str(CONFIG / "check-frequency-9s.yaml")).sources == ("file",)


@pytest.mark.usefixtures("refuse_to_run")
def test_validate_still_rejects_unknown_arguments() -> None:
    """Only ``run`` takes the kubelet's flags."""
    with pytest.raises(SystemExit) as exit:
        main(["validate", "--cgroup-driver=systemd", str(DATA / "validate" / "web.yaml")])
    assert exit.value.code == 2


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("20s", 20.0),
        ("1m0s", 60.0),
        ("500ms", 0.5),
        ("1h", 3600.0),
        ("1m30s", 90.0),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("300us", 0.0003),
        ("0", 0.0),
        ("-1s", -1.0),
    ],
)
def test_go_durations_read_as_time_parse_duration_reads_them(text: str, seconds: float) -> None:
    """The syntax of the kubelet's duration flags and config fields."""
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "20", "s", "1d", "1m 30s", "--1s", "00", "20 seconds"])
def test_what_go_rejects_as_a_duration_is_rejected(text: str) -> None:
    """A bare number needs a unit in Go; fastpod's own flags accept one as seconds instead."""
    with pytest.raises(ValueError, match="not a duration"):
        parse_go_duration(text)


def test_run_config_reports_a_bad_config_file_as_a_config_error() -> None:
    """The one exception the command line turns into exit 2."""
    with pytest.raises(ConfigError, match="readOnlyPort"):
        config_of("--config", str(CONFIG / "bad" / "port-out-of-range.yaml"))


@pytest.mark.e2e
def test_startup_warnings_reach_fastpods_log(tmp_path: Path) -> None:
    """The supervisor logs each warning once, as a "configuration warning" line."""
    fastpod = RunningFastpod(
        ["--pod-manifest-path", str(tmp_path), "--cgroup-driver=systemd", "--fail-swap-on"]
    )
    try:
        warnings = fastpod.wait_for_event("configuration warning", count=2)
    finally:
        fastpod.stop()
    assert [record["level"] for record in warnings] == ["warning", "warning"]
    assert [record["warning"].split(" ignored")[0] for record in warnings] == [
        "kubelet flag --cgroup-driver",
        "kubelet flag --fail-swap-on",
    ]
