"""PURE: the v1 Event the kubelet's recorder writes for something that happened to a pod.

The kubelet records events with client-go's recorder (``tools/record/event.go``), made in
``makeEventRecorder`` (``cmd/kubelet/app/server.go``) with the source ``{component:
"kubelet", host: <node name>}``; ``generateEvent`` sets ``reportingComponent`` and
``reportingInstance`` from that source, and ``makeEvent`` names the Event
``<object name>.<the time in nanoseconds, hexadecimal>`` in the object's namespace, with
``count`` 1 and both timestamps at the time it happened.

The object an event is about is the static pod as the kubelet holds it, not its mirror:
``reference.GetReference`` of that pod gives ``kind: Pod``, ``apiVersion: v1``, its name,
namespace and UID, and a container's events add ``fieldPath: spec.containers{<name>}``
(``kubecontainer.GenerateContainerRef``). A static pod's UID is its config hash, which its
mirror carries as ``kubernetes.io/config.mirror``; the mirror's own UID (the API server's)
differs, which is why ``kubectl describe pod`` of a mirror pod looks for events whose
``involvedObject.uid`` is that annotation (kubectl ``describe.go``, ``PodDescriber``,
since kubernetes/kubernetes#74156). So the events of a static pod are found from its mirror
even when the mirror is replaced, and before it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from fastpod.status.types import rfc3339

Object = dict[str, Any]

COMPONENT = "kubelet"
"""The event source's component, the kubelet's ``componentKubelet``: ``kubectl describe``
shows it in the ``From`` column, so tools that look for the kubelet's events find these."""

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One thing that happened to a static pod, as its worker saw it."""

    namespace: str
    name: str
    uid: str
    """The static pod's UID (its config hash), which its mirror names."""
    field_path: str
    """``spec.containers{web}`` for a container's event, empty for the pod's."""
    type: EventType
    reason: str
    message: str
    time: float
    """When it happened, in seconds since the epoch."""


def field_path(container: str | None, init: bool) -> str:
    """The ``fieldPath`` naming a container in its pod's spec, as
    ``kubecontainer.GenerateContainerRef`` makes it; empty for the pod itself."""
    if not container:
        return ""
    return f"spec.{'initContainers' if init else 'containers'}{{{container}}}"


def new_event(occurrence: Occurrence, node_name: str, name_ns: int) -> Object:
    """The Event for ``occurrence`` on the node ``node_name``, before any correlation,
    named with ``name_ns`` (nanoseconds since the epoch, unique per event)."""
    involved: Object = {
        "kind": "Pod",
        "namespace": occurrence.namespace,
        "name": occurrence.name,
        "uid": occurrence.uid,
        "apiVersion": "v1",
    }
    if occurrence.field_path:
        involved["fieldPath"] = occurrence.field_path
    moment = rfc3339(occurrence.time)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{occurrence.name}.{name_ns:x}",
            "namespace": occurrence.namespace or "default",
        },
        "involvedObject": involved,
        "reason": occurrence.reason,
        "message": occurrence.message,
        "source": {"component": COMPONENT, "host": node_name},
        "firstTimestamp": moment,
        "lastTimestamp": moment,
        "count": 1,
        "type": occurrence.type,
        "reportingComponent": COMPONENT,
        "reportingInstance": node_name,
    }
