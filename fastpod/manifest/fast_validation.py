"""A quick "certainly valid" for the common pod, so its decode skips the precise validation.

:func:`certainly_valid` answers True only for a defaulted pod whose plain values fitted the
mirrors of :mod:`.valid_shape` (the bounds, enumerations and required fields hold there) and
that keeps the rest, checked here in straight-line code: the strings' rules (with the
validators' own name checks, which remember their answers: a regular expression per value
is what made the precise path slow), unique names, mounts of declared volumes, one handler
a probe, requests within limits, the node-suffixed name... It answers False whenever in
doubt; the caller then runs :func:`.validation.validate_pod`, which names every problem. So
it never changes what is reported, only how fast a valid pod gets through (the differential
tests run both on the corpus and on mutated manifests).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Mapping

from fastpod.manifest.names import (
    dns1123_label,
    dns1123_subdomain,
    environment_variable_name,
    iana_service_name,
    label_value,
    qualified_name,
)
from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.manifest.validation import ANNOTATIONS_MAX_BYTES
from fastpod.model import (
    Container,
    HTTPGetAction,
    LifecycleHandler,
    Pod,
    Probe,
    QuantityValue,
    ResourceRequirements,
    TCPSocketAction,
)

_PLAIN_QUANTITY = re.compile(r"(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,3})?(?:[mkMGT]|[KMGT]i)?")
"""A non-negative quantity far from every edge of ``ParseQuantity`` (matched whole)."""
_HTTP_TOKEN = re.compile(r"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
"""A header name (matched whole)."""
_NAME = operator.attrgetter("name")
_MOUNT_PATH = operator.attrgetter("mount_path")


def certainly_valid(pod: Pod) -> bool:
    """True only when validation would find no problem in this defaulted pod, whose plain
    values had the valid shape (:func:`.valid_shape.has_valid_shape`)."""
    metadata = pod.metadata
    if not metadata.name or dns1123_subdomain(metadata.name):
        return False
    if metadata.namespace and dns1123_label(metadata.namespace):
        return False
    if metadata.labels and not _labels_ok(metadata.labels):
        return False
    if metadata.annotations and not _annotations_ok(metadata.annotations):
        return False
    spec = pod.spec
    if (spec.hostname and dns1123_label(spec.hostname)) or (
        spec.subdomain and dns1123_label(spec.subdomain)
    ):
        return False
    if spec.priority_class_name and dns1123_subdomain(spec.priority_class_name):
        return False
    if spec.node_selector and not _labels_ok(spec.node_selector):
        return False
    volumes = spec.volumes or ()
    volume_names = set(map(_NAME, volumes))
    if len(volume_names) != len(volumes) or any(map(dns1123_label, volume_names)):
        return False
    for volume in volumes:
        host_path, empty_dir = volume.host_path, volume.empty_dir
        if host_path is not None:
            path = host_path.path
            if empty_dir is not None or not path or (".." in path and ".." in path.split("/")):
                return False
        elif empty_dir is not None and not is_plain_quantity(empty_dir.size_limit):
            return False
    containers = [*(spec.init_containers or ()), *(spec.containers or ())]
    container_names = set(map(_NAME, containers))
    if len(container_names) != len(containers) or any(map(dns1123_label, container_names)):
        return False
    host_network = bool(spec.host_network)
    return all(_container_ok(container, volume_names, host_network) for container in containers)


def _labels_ok(labels: Mapping[str, str]) -> bool:
    return not any(map(qualified_name, labels)) and not any(map(label_value, labels.values()))


def _annotations_ok(annotations: Mapping[str, str]) -> bool:
    """Keys that are qualified names and that no security rule reads (seccomp and AppArmor
    annotations take the precise path), within the size limit."""
    keys = "\0".join(annotations)
    return (
        "seccomp" not in keys
        and "apparmor" not in keys
        and not any(map(qualified_name, annotations))
        and sum(map(len, annotations)) + sum(map(len, annotations.values()))
        <= ANNOTATIONS_MAX_BYTES
    )


def _container_ok(container: Container, volume_names: set[str], host_network: bool) -> bool:
    image = container.image  # the name: with the others'
    if not image or image != image.strip():
        return False
    if container.ports:
        port_names = [port.name for port in container.ports if port.name]
        if len(set(port_names)) != len(port_names) or any(map(iana_service_name, port_names)):
            return False
        if host_network and any(port.host_port != port.container_port for port in container.ports):
            return False
    if container.volume_mounts:
        mounts = container.volume_mounts
        if len(set(map(_MOUNT_PATH, mounts))) != len(mounts):
            return False
        if not volume_names.issuperset(map(_NAME, mounts)):
            return False
    for variable in container.env or ():
        if environment_variable_name(variable.name or "") or (
            variable.value and variable.value_from is not None
        ):
            return False
    context = container.security_context
    if context is not None and context.privileged and context.allow_privilege_escalation is False:
        return False
    if container.resources is not None and not _resources_ok(container.resources):
        return False
    for probe in (container.liveness_probe, container.readiness_probe, container.startup_probe):
        if probe is not None and not _probe_ok(probe):
            return False
    lifecycle = container.lifecycle
    return lifecycle is None or (_hook_ok(lifecycle.post_start) and _hook_ok(lifecycle.pre_stop))


def _resources_ok(resources: ResourceRequirements) -> bool:
    """Plain quantities, and each request within its limit."""
    limits, requests = resources.limits, resources.requests
    if requests and not all(map(is_plain_quantity, requests.values())):
        return False
    if not limits:
        return True
    if not all(map(is_plain_quantity, limits.values())):
        return False
    try:
        return all(
            limit is requests[name] or parse_quantity(requests[name]) <= parse_quantity(limit)
            for name, limit in limits.items()
            if requests and name in requests
        )
    except QuantityError:
        return False


@functools.lru_cache(maxsize=4096)
def is_plain_quantity(value: QuantityValue | None) -> bool:
    """Whether a quantity the shape let through (text, or a bounded non-negative integer)
    is plain: then ``parse_quantity`` takes it, and it is not negative."""
    return not isinstance(value, str) or _PLAIN_QUANTITY.fullmatch(value) is not None


def _probe_ok(probe: Probe) -> bool:
    handlers = (probe.exec, probe.http_get, probe.tcp_socket, probe.grpc)
    action = probe.http_get if probe.http_get is not None else probe.tcp_socket
    return handlers.count(None) == len(handlers) - 1 and _action_ok(action)


def _hook_ok(hook: LifecycleHandler | None) -> bool:
    if hook is None:
        return True
    handlers = (hook.exec, hook.http_get, hook.tcp_socket, hook.sleep)
    action = hook.http_get if hook.http_get is not None else hook.tcp_socket
    return handlers.count(None) == len(handlers) - 1 and _action_ok(action)


def _action_ok(action: HTTPGetAction | TCPSocketAction | None) -> bool:
    """A named port a service name, and header names tokens (numbered ports: the shape)."""
    if action is None:
        return True
    if isinstance(action.port, str) and iana_service_name(action.port):
        return False
    if isinstance(action, HTTPGetAction):
        for header in action.http_headers or ():
            if not header.name or _HTTP_TOKEN.fullmatch(header.name) is None:
                return False
    return True
