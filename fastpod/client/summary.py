"""PURE: the readable summary ``fastpod inspect`` prints for one pod and its events.

Laid out as ``kubectl describe pod`` lays a pod out (labels on the left, containers and
their states in a block each, conditions and events as tables), from the inspection
document ``/fastpod/v1/pods/{namespace}/{name}`` serves.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from fastpod.client.table import NONE, parse_time, render, since

_LABEL_WIDTH = 16


def summary(document: Mapping[str, Any], now: datetime) -> str:
    """The whole summary, ending with a newline."""
    pod = document.get("pod") or {}
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ips = [entry.get("ip", "") for entry in status.get("podIPs") or []] or [status.get("podIP")]
    lines = [
        _field("Name", metadata.get("name")),
        _field("Namespace", metadata.get("namespace")),
        _field("UID", metadata.get("uid")),
        _field("Node", spec.get("nodeName")),
        _field("Source", document.get("source")),
        _field("Phase", status.get("phase")),
        _field("Pod IPs", ", ".join(ip for ip in ips if ip)),
        _field("Host IP", status.get("hostIP")),
        _field("Start Time", _moment(status.get("startTime"), now)),
    ]
    if status.get("reason"):
        lines.append(_field("Reason", _joined(status.get("reason"), status.get("message"))))
    mirror = document.get("mirror")
    if isinstance(mirror, Mapping):
        lines.append(_field("Mirror Pod", _mirror(mirror)))
    for title, specs, statuses in (
        ("Init Containers", spec.get("initContainers"), status.get("initContainerStatuses")),
        ("Containers", spec.get("containers"), status.get("containerStatuses")),
    ):
        if specs:
            lines.append(f"{title}:")
            lines.extend(_containers(specs, statuses or [], now))
    lines.append("Conditions:")
    conditions = [(c.get("type", ""), c.get("status", "")) for c in status.get("conditions") or []]
    lines.extend(_indented([("TYPE", "STATUS"), *conditions]) if conditions else ["  " + NONE])
    lines.append("Events:")
    events = [
        (e.get("time", ""), e.get("type", ""), e.get("reason", ""), e.get("message", ""))
        for e in document.get("events") or []
    ]
    lines.extend(
        _indented([("TIME", "TYPE", "REASON", "MESSAGE"), *events]) if events else ["  " + NONE]
    )
    return "\n".join(lines) + "\n"


def _mirror(mirror: Mapping[str, Any]) -> str:
    """``created (uid ...)``, ``pending: why`` or ``failing: the last failure``."""
    state = str(mirror.get("state") or "unknown")
    if mirror.get("uid"):
        return f"{state} (uid {mirror['uid']})"
    return f"{state}: {mirror['reason']}" if mirror.get("reason") else state


def _containers(
    specs: Sequence[Mapping[str, Any]], statuses: Sequence[Mapping[str, Any]], now: datetime
) -> Iterator[str]:
    """A block per container of the spec, with what its status says (nothing yet: Waiting)."""
    by_name = {entry.get("name"): entry for entry in statuses}
    for container in specs:
        status = by_name.get(container.get("name")) or {}
        yield f"  {container.get('name')}:"
        rows = [
            ("Image", status.get("image") or container.get("image")),
            ("Image ID", status.get("imageID")),
            ("Container ID", status.get("containerID")),
            ("State", state_text(status.get("state"), now)),
            ("Ready", str(bool(status.get("ready"))).lower()),
            ("Restarts", str(status.get("restartCount") or 0)),
        ]
        if last := status.get("lastState"):
            rows.append(("Last State", state_text(last, now)))
        if container.get("restartPolicy"):
            rows.append(("Restart Policy", container["restartPolicy"]))
        for label, value in rows:
            yield "    " + _field(label, value)


def state_text(state: Mapping[str, Any] | None, now: datetime) -> str:
    """A container state in a few words: ``Running since ...``, ``Waiting (reason: ...)``."""
    state = state or {}
    if (running := state.get("running")) is not None:
        return f"Running since {_moment(running.get('startedAt'), now)}"
    if (terminated := state.get("terminated")) is not None:
        details = [terminated.get("reason") or "", f"exit code {terminated.get('exitCode', 0)}"]
        if terminated.get("signal"):
            details.append(f"signal {terminated['signal']}")
        text = f"Terminated ({', '.join(part for part in details if part)})"
        if finished := terminated.get("finishedAt"):
            text += f" at {_moment(finished, now)}"
        return text
    if (waiting := state.get("waiting")) is not None:
        words = _joined(waiting.get("reason"), waiting.get("message"))
        return f"Waiting ({words})" if words else "Waiting"
    return "Waiting"


def _moment(value: object, now: datetime) -> str:
    """A timestamp with its age, as ``describe`` shows start times."""
    moment = parse_time(value)
    if moment is None:
        return str(value) if value else NONE
    return f"{value} ({since(moment, now)} ago)"


def _joined(*parts: object) -> str:
    return ": ".join(str(part) for part in parts if part)


def _field(label: str, value: object) -> str:
    text = str(value) if value not in (None, "") else NONE
    return f"{label + ':':<{_LABEL_WIDTH}}{text}"


def _indented(lines: Sequence[Sequence[str]]) -> Iterator[str]:
    for line in render(lines):
        yield "  " + line
