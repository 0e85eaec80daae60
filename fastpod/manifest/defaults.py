"""Defaulting: the API server's defaults, then the kubelet's static-pod rules.

Both functions take a freshly decoded pod, fill it in place and return it: the decoder
owns that object, and copying every nested Struct would cost more than the parse saves.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timedelta

import msgspec

from fastpod.manifest.image_reference import image_tag
from fastpod.model import (
    Container,
    EmptyDirVolumeSource,
    HTTPGetAction,
    LifecycleHandler,
    ObjectFieldSelector,
    ObjectMeta,
    Pod,
    PodSecurityContext,
    PodSource,
    PodSpec,
    Probe,
    Toleration,
    Volume,
    volume_source_count,
)

CONFIG_HASH = "kubernetes.io/config.hash"
CONFIG_SOURCE = "kubernetes.io/config.source"
CONFIG_SEEN = "kubernetes.io/config.seen"

FILE_POD_TOLERATION = Toleration(operator="Exists", effect="NoExecute")
"""Every file pod tolerates every NoExecute taint, so node taints never evict it."""

_canonical = msgspec.json.Encoder(order="deterministic")


def apply_api_defaults(pod: Pod) -> Pod:
    """Fill in what the API server's v1 defaulting would (``SetDefaults_Pod`` and friends)."""
    spec = pod.spec
    if spec.restart_policy is None:
        spec.restart_policy = "Always"
    if spec.termination_grace_period_seconds is None:
        spec.termination_grace_period_seconds = 30
    if spec.dns_policy is None:
        spec.dns_policy = "ClusterFirst"
    if spec.security_context is None:
        spec.security_context = PodSecurityContext()
    if spec.scheduler_name is None:
        spec.scheduler_name = "default-scheduler"
    if spec.enable_service_links is None:
        spec.enable_service_links = True
    if spec.service_account_name is None and spec.service_account is not None:
        spec.service_account_name = spec.service_account
    for container in _all_containers(spec):
        _default_container(container, host_network=bool(spec.host_network))
    for volume in spec.volumes or ():
        _default_volume(volume)
    return pod


def _all_containers(spec: PodSpec) -> list[Container]:
    return [*(spec.init_containers or ()), *(spec.containers or ())]


def _default_container(container: Container, *, host_network: bool) -> None:
    if container.image_pull_policy is None and isinstance(container.image, str):
        container.image_pull_policy = default_pull_policy(container.image)
    if container.termination_message_path is None:
        container.termination_message_path = "/dev/termination-log"
    if container.termination_message_policy is None:
        container.termination_message_policy = "File"
    for port in container.ports or ():
        if port.protocol is None:
            port.protocol = "TCP"
        if host_network and not port.host_port:
            port.host_port = port.container_port
    resources = container.resources
    if resources is not None and resources.limits:
        # A limit without a request requests the limit (SetDefaults_Pod).
        requests = dict(resources.requests or {})
        for name, limit in resources.limits.items():
            requests.setdefault(name, limit)
        resources.requests = requests
    for probe in (container.liveness_probe, container.readiness_probe, container.startup_probe):
        if probe is not None:
            _default_probe(probe)
    if container.lifecycle is not None:
        for hook in (container.lifecycle.post_start, container.lifecycle.pre_stop):
            if hook is not None:
                _default_handler(hook)
    for variable in container.env or ():
        if variable.value_from is not None:
            _default_field_selector(variable.value_from.field_ref)


def _default_probe(probe: Probe) -> None:
    """``SetDefaults_Probe``: an unset or zero timing takes its default."""
    if not probe.timeout_seconds:
        probe.timeout_seconds = 1
    if not probe.period_seconds:
        probe.period_seconds = 10
    if not probe.success_threshold:
        probe.success_threshold = 1
    if not probe.failure_threshold:
        probe.failure_threshold = 3
    if probe.http_get is not None:
        _default_http_get(probe.http_get)


def _default_handler(handler: LifecycleHandler) -> None:
    if handler.http_get is not None:
        _default_http_get(handler.http_get)


def _default_http_get(action: HTTPGetAction) -> None:
    if action.path is None:
        action.path = "/"
    if action.scheme is None:
        action.scheme = "HTTP"


def _default_field_selector(selector: ObjectFieldSelector | None) -> None:
    if selector is not None and selector.api_version is None:
        selector.api_version = "v1"


def _default_volume(volume: Volume) -> None:
    if volume.host_path is None and volume.empty_dir is None and volume_source_count(volume) == 0:
        # most volumes are hostPath or emptyDir: counted (31 fields) only when neither
        volume.empty_dir = EmptyDirVolumeSource()
    if volume.host_path is not None and volume.host_path.type is None:
        volume.host_path.type = ""
    for source in (volume.secret, volume.config_map):
        if source is not None and source.default_mode is None:
            source.default_mode = 0o644
    if volume.downward_api is not None:
        if volume.downward_api.default_mode is None:
            volume.downward_api.default_mode = 0o644
        for item in volume.downward_api.items or ():
            _default_field_selector(item.field_ref)
    if volume.projected is not None:
        if volume.projected.default_mode is None:
            volume.projected.default_mode = 0o644
        for projection in volume.projected.sources or ():
            for item in (projection.downward_api and projection.downward_api.items) or ():
                _default_field_selector(item.field_ref)
            token = projection.service_account_token
            if token is not None and token.expiration_seconds is None:
                token.expiration_seconds = 3600


def default_pull_policy(image: str) -> str:
    """``Always`` when the image's tag is ``latest`` (also an untagged image, and one with a
    digest beside ``:latest``), else ``IfNotPresent`` (a digest alone, an unparsable name),
    as ``SetDefaults_Container`` decides it from ``parsers.ParseImageName``."""
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


def pod_uid(pod: Pod, source: PodSource, node_name: str) -> str:
    """32 hex characters naming this content from this source on this node.

    Like the kubelet's, it covers the whole decoded and defaulted pod, then the source
    (``host:<node>file:<path>`` for files, ``url:<url>`` for URLs), so any change of
    content, node or path gives a new UID, and a reformatted but equal manifest does not.
    """
    digest = hashlib.md5(_canonical.encode(pod), usedforsecurity=False)
    if source.kind == "file":
        digest.update(f"host:{node_name}".encode())
        digest.update(f"file:{source.location}".encode())
    else:
        digest.update(f"url:{source.location}".encode())
    return digest.hexdigest()


def apply_static_pod_defaults(pod: Pod, source: PodSource, node_name: str) -> Pod:
    """The kubelet's ``applyDefaults``: UID, node-suffixed name, namespace, annotations."""
    metadata = pod.metadata
    if not metadata.uid:
        metadata.uid = pod_uid(pod, source, node_name)
    metadata.name = f"{metadata.name}-{node_name}"
    if not metadata.namespace:
        metadata.namespace = "default"
    pod.spec.node_name = node_name
    annotations = dict(metadata.annotations or {})
    annotations[CONFIG_HASH] = metadata.uid
    annotations[CONFIG_SOURCE] = source.kind
    metadata.annotations = annotations
    if source.kind == "file":
        tolerations = list(pod.spec.tolerations or ())
        if FILE_POD_TOLERATION not in tolerations:
            tolerations.append(FILE_POD_TOLERATION)
        pod.spec.tolerations = tolerations
    return pod


_NO_OFFSET = timedelta(0)


def stamp_first_seen(metadata: ObjectMeta, when: datetime) -> None:
    """Record when a pod was first seen, once: ``config.seen`` never changes for a UID."""
    annotations = dict(metadata.annotations or {})
    annotations.setdefault(CONFIG_SEEN, format_seen(when))
    metadata.annotations = annotations


def first_seen(metadata: ObjectMeta) -> float | None:
    """When fastpod first saw the pod (its ``config.seen``), in seconds since the epoch;
    None when it is not stamped or not a time."""
    seen = (metadata.annotations or {}).get(CONFIG_SEEN)
    return None if seen is None else _parse_seen(seen)


@functools.lru_cache(maxsize=16384)
def _parse_seen(seen: str) -> float | None:
    # the same few stamps recur in every listing of a node
    try:
        return datetime.fromisoformat(seen).timestamp()
    except ValueError:
        return None


def format_seen(when: datetime) -> str:
    """The kubelet's ``RFC3339NanoFixed`` layout, e.g. ``2026-11-24T04:13:38.000000000Z``."""
    nanos = f"{when.microsecond * 1000:09d}"
    if when.utcoffset() == _NO_OFFSET and when.year >= 1000:
        # the stamp of every pod added (now, in UTC): isoformat costs a third of strftime's
        # two calls, and writes the same digits from year 1000 on
        return f"{when.isoformat(timespec='seconds')[:19]}.{nanos}Z"
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S")
    offset = when.strftime("%z")
    zone = "Z" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{stamp}.{nanos}{zone}"
