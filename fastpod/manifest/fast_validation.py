"""A quick "certainly valid" for the common pod, so its decode skips the precise validation.

:func:`certainly_valid` answers True only for a defaulted pod whose plain values fitted the
mirrors of :mod:`.valid_shape` (every rule of a single field holds there) and that keeps the
rules spanning fields, checked here in straight-line code: unique names, mounts of declared
volumes, one handler a probe, requests within limits, the node-suffixed name... It answers
False whenever in doubt; the caller then runs :func:`.validation.validate_pod`, which names
every problem. So it never changes what is reported, only how fast a valid pod gets through
(the differential tests run both on the corpus and on mutated manifests).
"""

from __future__ import annotations

from fastpod.manifest.names import dns1123_subdomain
from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.manifest.validation import ANNOTATIONS_MAX_BYTES
from fastpod.model import Container, LifecycleHandler, Pod, Probe, ResourceRequirements


def certainly_valid(pod: Pod) -> bool:
    """True only when validation would find no problem in this defaulted pod, whose plain
    values had the valid shape (:func:`.valid_shape.has_valid_shape`)."""
    metadata = pod.metadata
    if not metadata.name or dns1123_subdomain(metadata.name):
        return False
    annotations = metadata.annotations
    if annotations and (
        sum(map(len, annotations)) + sum(map(len, annotations.values())) > ANNOTATIONS_MAX_BYTES
    ):
        return False
    spec = pod.spec
    volume_names: set[str] = set()
    for volume in spec.volumes or ():
        if volume.name in volume_names or (
            volume.host_path is not None and volume.empty_dir is not None
        ):
            return False
        volume_names.add(volume.name or "")
    containers = [*(spec.init_containers or ()), *(spec.containers or ())]
    if len({container.name for container in containers}) != len(containers):
        return False
    host_network = bool(spec.host_network)
    return all(_container_ok(container, volume_names, host_network) for container in containers)


def _container_ok(container: Container, volume_names: set[str], host_network: bool) -> bool:
    if container.ports:
        port_names = [port.name for port in container.ports if port.name]
        if len(set(port_names)) != len(port_names):
            return False
        if host_network and any(port.host_port != port.container_port for port in container.ports):
            return False
    if container.volume_mounts:
        mounts = container.volume_mounts
        if len({mount.mount_path for mount in mounts}) != len(mounts):
            return False
        if not volume_names.issuperset(mount.name for mount in mounts):
            return False
    if container.env and any(
        variable.value and variable.value_from is not None for variable in container.env
    ):
        return False
    context = container.security_context
    if context is not None and context.privileged and context.allow_privilege_escalation is False:
        return False
    if container.resources is not None and not _within_limits(container.resources):
        return False
    for probe in (container.liveness_probe, container.readiness_probe, container.startup_probe):
        if probe is not None and not _one_probe_handler(probe):
            return False
    lifecycle = container.lifecycle
    return lifecycle is None or (
        _one_hook_handler(lifecycle.post_start) and _one_hook_handler(lifecycle.pre_stop)
    )


def _within_limits(resources: ResourceRequirements) -> bool:
    limits, requests = resources.limits, resources.requests
    if not limits or not requests:
        return True
    try:
        return all(
            limit is requests[name] or parse_quantity(requests[name]) <= parse_quantity(limit)
            for name, limit in limits.items()
            if name in requests
        )
    except QuantityError:
        return False


def _one_probe_handler(probe: Probe) -> bool:
    handlers = (probe.exec, probe.http_get, probe.tcp_socket, probe.grpc)
    return handlers.count(None) == len(handlers) - 1


def _one_hook_handler(hook: LifecycleHandler | None) -> bool:
    if hook is None:
        return True
    handlers = (hook.exec, hook.http_get, hook.tcp_socket, hook.sleep)
    return handlers.count(None) == len(handlers) - 1
