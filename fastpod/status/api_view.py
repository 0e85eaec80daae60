"""A pod as the API serves it: resource quantities written as strings, as the kubelet does.

Manifests may give ``cpu: 1``; the API's quantities are strings, and clients that check
types (the official Python client) reject a number. Only pods that hold a number are copied.
"""

from __future__ import annotations

import msgspec

from fastpod.manifest.quantity import quantity_text
from fastpod.model import Container, Pod, QuantityValue, ResourceRequirements


def _textual(amounts: dict[str, QuantityValue] | None) -> dict[str, QuantityValue] | None:
    if amounts is None or all(isinstance(value, str) for value in amounts.values()):
        return amounts
    return {name: quantity_text(value) for name, value in amounts.items()}


def _resources(resources: ResourceRequirements | None) -> ResourceRequirements | None:
    if resources is None:
        return None
    limits, requests = _textual(resources.limits), _textual(resources.requests)
    if limits is resources.limits and requests is resources.requests:
        return resources
    return msgspec.structs.replace(resources, limits=limits, requests=requests)


def _containers(containers: list[Container] | None) -> list[Container] | None:
    if containers is None:
        return None
    served = [_container(container) for container in containers]
    unchanged = all(a is b for a, b in zip(served, containers, strict=True))
    return containers if unchanged else served


def _container(container: Container) -> Container:
    resources = _resources(container.resources)
    if resources is container.resources:
        return container
    return msgspec.structs.replace(container, resources=resources)


def as_served(pod: Pod) -> Pod:
    """``pod`` with every resource quantity a string; ``pod`` itself when it has no number."""
    spec = pod.spec
    containers = _containers(spec.containers)
    init_containers = _containers(spec.init_containers)
    overhead = _textual(spec.overhead)
    resources = _resources(spec.resources)
    if (
        containers is spec.containers
        and init_containers is spec.init_containers
        and overhead is spec.overhead
        and resources is spec.resources
    ):
        return pod
    served_spec = msgspec.structs.replace(
        spec,
        containers=containers,
        init_containers=init_containers,
        overhead=overhead,
        resources=resources,
    )
    return msgspec.structs.replace(pod, spec=served_spec)
