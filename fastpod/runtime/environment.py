"""PURE: a container's environment and the downward API's values, as the kubelet resolves
them on a node.

The variables in order, each able to use the ones before it through Kubernetes ``$(VAR)``
expansion (which the command line uses too), and the values a node can give: a pod field
(``fieldRef``) and a container's limit or request (``resourceFieldRef``), which
downwardAPI volumes (:mod:`fastpod.runtime.projection`) read as well.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import TYPE_CHECKING

from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.model import Container, EnvVar, Pod, ResourceFieldSelector

if TYPE_CHECKING:
    # for the annotations only: spec.py, where these are defined, imports this module
    from fastpod.runtime.spec import NodeAllocatable, PodContext

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][-._A-Za-z0-9]*)\)")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


def expand(text: str, variables: dict[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: defined names replaced, ``$$`` an escaped ``$``,
    anything else left as written."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        return variables.get(name, match.group(0))

    return _REFERENCE.sub(replace, text)


def environment(pod: Pod, container: Container, context: PodContext) -> dict[str, str]:
    """The container's variables in order, each able to use the ones before it."""
    env: dict[str, str] = {}
    for variable in container.env or ():
        value = _value_of(variable, pod, container, context, env)
        if value is not None and variable.name:
            env[variable.name] = value
    return env


def _value_of(
    variable: EnvVar, pod: Pod, container: Container, context: PodContext, env: dict[str, str]
) -> str | None:
    if variable.value_from is None:
        return expand(variable.value or "", env)
    source = variable.value_from
    if source.field_ref is not None and source.field_ref.field_path:
        return field_value(pod, source.field_ref.field_path, context)
    if source.resource_field_ref is not None:
        return resource_value(pod, container, source.resource_field_ref, context.allocatable)
    return None


def field_value(pod: Pod, path: str, context: PodContext) -> str | None:
    """A downward API ``fieldRef`` value, as the kubelet resolves it on a node: a field or
    one label or annotation (whole maps are files of a volume: :mod:`.projection`)."""
    metadata = pod.metadata
    simple = {
        "metadata.name": metadata.name,
        "metadata.namespace": metadata.namespace,
        "metadata.uid": metadata.uid,
        "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name or "",
        "status.hostIP": context.host_ip,
        "status.hostIPs": context.host_ip,
        "status.podIP": context.pod_ip,
        # comma-joined, as the kubelet's podFieldSelectorRuntimeValue writes them
        "status.podIPs": ",".join(context.pod_ips) or context.pod_ip,
    }
    if path in simple:
        return simple[path]
    subscript = _SUBSCRIPT.match(path)
    if subscript is not None:
        mapping = metadata.labels if subscript.group(1) == "labels" else metadata.annotations
        return (mapping or {}).get(subscript.group(2), "")
    return None


def resource_value(
    pod: Pod,
    container: Container,
    selector: ResourceFieldSelector,
    allocatable: NodeAllocatable | None = None,
) -> str | None:
    """A ``resourceFieldRef`` value: the limit or request, divided and rounded up.

    A limit the container does not set (or sets to zero) is the node's allocatable amount,
    as the kubelet's ``ExtractResourceValueByContainerNameAndNodeAllocatable`` reads it;
    None when that is not known either, or the named container does not exist.
    """
    target = container
    if selector.container_name:
        spec = pod.spec
        every = [*(spec.containers or ()), *(spec.init_containers or ())]
        named = [c for c in every if c.name == selector.container_name]
        if not named:
            return None
        target = named[0]
    kind, _, resource = (selector.resource or "").partition(".")
    requirements = target.resources
    values: dict[str, object] = {}
    if requirements is not None:
        values = dict((requirements.limits if kind == "limits" else requirements.requests) or {})
    try:
        divisor = parse_quantity(str(selector.divisor)) if selector.divisor else Fraction(1)
        amount = parse_quantity(str(values[resource])) if resource in values else Fraction(0)
    except QuantityError:
        return None
    if not amount:
        if kind == "requests":
            return "0"
        node = _allocatable(allocatable, resource)
        if node is None:
            return None
        amount = node
    return str(max(1, math.ceil(amount / divisor)) if amount else 0)


def _allocatable(allocatable: NodeAllocatable | None, resource: str) -> Fraction | None:
    """The node's allocatable amount of ``resource``; None when it is not known."""
    if allocatable is None:
        return None
    if resource == "cpu":
        millis = allocatable.cpu_millis
        return None if millis is None else Fraction(millis, 1000)
    amount = {"memory": allocatable.memory, "ephemeral-storage": allocatable.ephemeral_storage}
    found = amount.get(resource)
    return None if found is None else Fraction(found)
