"""Defaulting: the API server's defaults and the kubelet's static-pod rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.defaults import (
    CONFIG_HASH,
    CONFIG_SEEN,
    CONFIG_SOURCE,
    FILE_POD_TOLERATION,
    default_pull_policy,
    format_seen,
    stamp_first_seen,
)
from fastpod.model import ObjectMeta, Pod, PodSource
from tests.support import FILE, URL, manifest_bytes


def decoded(data: bytes, source: PodSource = FILE, node: str = "node1") -> Pod:
    return decode_pod(data, source, node).pod


def test_static_pod_identity_follows_the_kubelet() -> None:
    """Name gets the node suffix, namespace defaults, nodeName and annotations are set."""
    pod = decoded(manifest_bytes("minimal.yaml"))
    assert pod.metadata.name == "web-node1"
    assert pod.metadata.namespace == "default"
    assert pod.spec.node_name == "node1"
    uid = pod.metadata.uid
    assert uid is not None
    assert len(uid) == 32
    assert set(uid) <= set("0123456789abcdef")
    assert pod.metadata.annotations == {CONFIG_HASH: uid, CONFIG_SOURCE: "file"}


def test_file_pods_tolerate_every_noexecute_taint_and_url_pods_do_not() -> None:
    """AddOrUpdateTolerationInPod runs for the file source only."""
    assert decoded(manifest_bytes("minimal.yaml")).spec.tolerations == [FILE_POD_TOLERATION]
    url_pod = decoded(manifest_bytes("minimal.yaml"), URL)
    assert url_pod.spec.tolerations is None
    assert url_pod.metadata.annotations is not None
    assert url_pod.metadata.annotations[CONFIG_SOURCE] == "http"


def test_the_uid_is_deterministic_for_the_same_content_node_and_path() -> None:
    """Reading the same file twice gives the same pod, so nothing restarts."""
    data = manifest_bytes("kubeadm-etcd.yaml")
    assert decoded(data).metadata.uid == decoded(data).metadata.uid


def test_reformatting_a_manifest_keeps_its_uid() -> None:
    """Comments, key order and flow style are not content."""
    block = (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {a: '1', b: '2'}\n"
        b"spec:\n  containers:\n  - {name: web, image: 'busybox:1.36'}\n"
    )
    flow = (
        b'{"kind": "Pod", "apiVersion": "v1", "spec": {"containers": [{"image": '
        b'"busybox:1.36", "name": "web"}]}, "metadata": {"labels": {"b": "2", "a": "1"},'
        b' "name": "web"}}'
    )
    assert decoded(block).metadata.uid == decoded(flow).metadata.uid


@pytest.mark.parametrize(
    ("change", "source", "node"),
    [
        ((b"sleep", b"sleeq"), FILE, "node1"),
        ((b"busybox:1.36", b"busybox:1.37"), FILE, "node1"),
        ((b"name: web\nspec", b"name: web\n  labels: {a: b}\nspec"), FILE, "node1"),
        ((b"", b""), PodSource("file", "/etc/kubernetes/manifests/other.yaml"), "node1"),
        ((b"", b""), FILE, "node2"),
        ((b"", b""), URL, "node1"),
    ],
)
def test_the_uid_changes_with_content_path_node_and_source(
    change: tuple[bytes, bytes], source: PodSource, node: str
) -> None:
    """Any change gives a new pod: the old one is replaced, as with the kubelet."""
    data = manifest_bytes("minimal.yaml")
    changed = data.replace(*change) if change[0] else data
    assert decoded(changed, source, node).metadata.uid != decoded(data).metadata.uid


def test_url_uids_do_not_depend_on_the_node() -> None:
    """The kubelet hashes ``url:<url>`` only for URL pods."""
    data = manifest_bytes("minimal.yaml")
    assert decoded(data, URL, "node1").metadata.uid == decoded(data, URL, "node2").metadata.uid


def test_an_explicit_uid_is_kept_and_becomes_the_config_hash() -> None:
    """``metadata.uid`` in the manifest wins over the computed one."""
    data = manifest_bytes("minimal.yaml").replace(b"name: web\n", b"name: web\n  uid: fixed-1\n", 1)
    pod = decoded(data)
    assert pod.metadata.uid == "fixed-1"
    assert pod.metadata.annotations is not None
    assert pod.metadata.annotations[CONFIG_HASH] == "fixed-1"


def test_api_defaults_fill_the_pod_spec() -> None:
    """restartPolicy, grace period, DNS policy, scheduler and service links."""
    spec = decoded(manifest_bytes("minimal.yaml")).spec
    assert spec.restart_policy == "Always"
    assert spec.termination_grace_period_seconds == 30
    assert spec.dns_policy == "ClusterFirst"
    assert spec.scheduler_name == "default-scheduler"
    assert spec.enable_service_links is True
    assert spec.security_context is not None


def test_api_defaults_fill_containers_ports_probes_and_resources() -> None:
    """Pull policy, termination message, TCP, hostPort under hostNetwork, probe numbers."""
    pod = decoded(manifest_bytes("kubeadm-etcd.yaml"))
    assert pod.spec.containers is not None
    container = pod.spec.containers[0]
    assert container.termination_message_path == "/dev/termination-log"
    assert container.termination_message_policy == "File"
    assert container.ports is not None
    assert container.ports[0].protocol == "TCP"
    assert container.ports[0].host_port == 2381
    probe = container.liveness_probe
    assert probe is not None
    assert (probe.timeout_seconds, probe.period_seconds) == (15, 10)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 8)
    assert container.resources is not None
    assert container.resources.requests == {"cpu": "100m", "memory": "100Mi"}


def test_probe_defaults_apply_where_the_manifest_is_silent() -> None:
    """timeout 1, period 10, success 1, failure 3; httpGet path / and scheme HTTP."""
    data = manifest_bytes("minimal.yaml") + b"    readinessProbe:\n      httpGet: {port: 80}\n"
    containers = decoded(data).spec.containers
    assert containers is not None
    probe = containers[0].readiness_probe
    assert probe is not None
    assert (probe.timeout_seconds, probe.period_seconds) == (1, 10)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
    assert probe.http_get is not None
    assert (probe.http_get.path, probe.http_get.scheme) == ("/", "HTTP")


def test_limits_become_requests_when_requests_are_missing() -> None:
    """SetDefaults_Pod: a limit without a request requests the limit."""
    data = manifest_bytes("minimal.yaml") + b"    resources:\n      limits: {cpu: 500m}\n"
    containers = decoded(data).spec.containers
    assert containers is not None
    assert containers[0].resources is not None
    assert containers[0].resources.requests == {"cpu": "500m"}


def test_a_volume_without_a_source_becomes_an_empty_dir() -> None:
    """SetDefaults_Volume, and hostPath type "" when unset."""
    data = manifest_bytes("minimal.yaml") + (
        b"  volumes:\n  - name: scratch\n  - name: logs\n    hostPath: {path: /var/log}\n"
    )
    volumes = decoded(data).spec.volumes
    assert volumes is not None
    assert volumes[0].empty_dir is not None
    assert volumes[1].host_path is not None
    assert volumes[1].host_path.type == ""


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("busybox", "Always"),
        ("busybox:latest", "Always"),
        ("registry.local:5000/busybox", "Always"),
        ("registry.local:5000/busybox:1.36", "IfNotPresent"),
        ("busybox:1.36", "IfNotPresent"),
        ("busybox@sha256:" + "a" * 64, "IfNotPresent"),
        ("busybox:latest@sha256:" + "a" * 64, "Always"),
        ("busybox:1.36@sha256:" + "a" * 64, "IfNotPresent"),
        ("localhost/busybox", "Always"),
        ("Registry.Example/busybox", "Always"),
        ("Busybox", "IfNotPresent"),
        ("Busybox:latest", "IfNotPresent"),
        ("busybox:latest@sha256:abc", "IfNotPresent"),
        ("busybox:latest@md5:" + "a" * 32, "IfNotPresent"),
        ("a" * 64, "IfNotPresent"),
        ("busybox:", "IfNotPresent"),
    ],
)
def test_pull_policy_defaults_by_tag(image: str, policy: str) -> None:
    """The tag ``parsers.ParseImageName`` finds: ``latest`` (given, or neither tag nor
    digest) pulls Always, even beside a digest; anything else, a name that does not parse
    included, IfNotPresent (``SetDefaults_Container``)."""
    assert default_pull_policy(image) == policy


def test_config_seen_is_stamped_once_in_the_kubelet_layout() -> None:
    """RFC3339 with nine fraction digits; a second stamp keeps the first."""
    metadata = ObjectMeta(name="web")
    first = datetime(2026, 11, 24, 4, 13, 38, 123456, tzinfo=UTC)
    stamp_first_seen(metadata, first)
    stamp_first_seen(metadata, first + timedelta(hours=1))
    assert metadata.annotations == {CONFIG_SEEN: "2026-11-24T04:13:38.123456000Z"}


def test_config_seen_keeps_a_non_utc_offset() -> None:
    """Go's layout writes a numeric offset for other zones."""
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert format_seen(when) == "2026-01-02T03:04:05.000000000+02:00"


def _strftime_layout(when: datetime) -> str:
    """The layout as strftime writes it: what every stamp must equal, however it is made."""
    offset = when.strftime("%z")
    zone = "Z" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S')}.{when.microsecond * 1000:09d}{zone}"


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(timezones=st.none() | st.just(UTC) | st.timezones())
    | st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC))
)
def test_config_seen_is_written_as_strftime_writes_it_in_any_zone(when: datetime) -> None:
    assert format_seen(when) == _strftime_layout(when)


def test_zero_probe_timings_take_their_defaults_as_the_api_server_gives_them() -> None:
    """``SetDefaults_Probe`` defaults a zero as it defaults an absent field."""
    data = manifest_bytes("minimal.yaml") + (
        b"    livenessProbe:\n      tcpSocket: {port: 80}\n      timeoutSeconds: 0\n"
        b"      periodSeconds: 0\n      successThreshold: 0\n      failureThreshold: 0\n"
    )
    containers = decoded(data).spec.containers
    assert containers is not None
    probe = containers[0].liveness_probe
    assert probe is not None
    assert (probe.timeout_seconds, probe.period_seconds) == (1, 10)
    assert (probe.success_threshold, probe.failure_threshold) == (1, 3)
