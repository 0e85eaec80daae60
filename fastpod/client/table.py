"""PURE: the columns ``kubectl get pods`` prints for a v1 Pod, and kubectl's table layout.

The rules are kubectl's ``printPod`` (``pkg/printers/internalversion/printers.go``) and
apimachinery's ``HumanDuration``, so that a node running fastpod reads like a kubelet node
seen through kubectl. Pods are the plain JSON values the API serves (``/pods`` items).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Pod = Mapping[str, Any]
"""A v1 Pod as decoded JSON."""

NONE = "<none>"
UNKNOWN = "<unknown>"

COLUMNS = ("NAME", "READY", "STATUS", "RESTARTS", "AGE")
WIDE_COLUMNS = ("IP", "NODE", "NOMINATED NODE", "READINESS GATES")

_MIN_WIDTH = 6
_PADDING = 3
"""kubectl's tabwriter: cells at least 6 wide, 3 spaces after each but the last."""


@dataclass(frozen=True, slots=True)
class PodRow:
    """One pod as kubectl prints it; ``namespace`` shows only when listing all namespaces."""

    namespace: str
    name: str
    ready: str
    status: str
    restarts: str
    age: str
    ip: str
    node: str
    nominated_node: str
    readiness_gates: str

    def cells(self, *, wide: bool, with_namespace: bool) -> tuple[str, ...]:
        """The row's cells, in the order of :func:`header`."""
        cells: tuple[str, ...] = (self.name, self.ready, self.status, self.restarts, self.age)
        if wide:
            cells += (self.ip, self.node, self.nominated_node, self.readiness_gates)
        return (self.namespace, *cells) if with_namespace else cells


def header(*, wide: bool, with_namespace: bool) -> tuple[str, ...]:
    """Column titles: kubectl's, plus NAMESPACE as with ``-A`` and the ``-o wide`` ones."""
    titles = COLUMNS + WIDE_COLUMNS if wide else COLUMNS
    return ("NAMESPACE", *titles) if with_namespace else titles


def pod_row(pod: Pod, now: datetime) -> PodRow:
    """kubectl's ``printPod`` for ``pod`` at ``now`` (an aware datetime)."""
    metadata = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ready, total, reason, restarts, last_restart = _containers(spec, status)
    if metadata.get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            reason = "Terminating"
    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({since(last_restart, now)} ago)"
    created = parse_time(metadata.get("creationTimestamp")) or parse_time(status.get("startTime"))
    return PodRow(
        namespace=str(metadata.get("namespace") or ""),
        name=str(metadata.get("name") or ""),
        ready=f"{ready}/{total}",
        status=reason,
        restarts=restarts_text,
        age=since(created, now) if created is not None else UNKNOWN,
        ip=_pod_ip(status) or NONE,
        node=str(spec.get("nodeName") or NONE),
        nominated_node=str(status.get("nominatedNodeName") or NONE),
        readiness_gates=_readiness_gates(spec, status),
    )


def _containers(
    spec: Mapping[str, Any], status: Mapping[str, Any]
) -> tuple[int, int, str, int, datetime | None]:
    """READY's two numbers, STATUS, the restart sum and the latest restart: printPod's loops."""
    conditions = status.get("conditions") or []
    reason = str(status.get("reason") or status.get("phase") or "")
    if any(
        c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated" for c in conditions
    ):
        reason = "SchedulingGated"
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if c.get("restartPolicy") == "Always"}
    total = len(spec.get("containers") or []) + len(sidecars)
    ready = 0
    restarts = sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None
    initializing = False
    for index, container in enumerate(status.get("initContainerStatuses") or []):
        count = int(container.get("restartCount") or 0)
        finished = _last_finished(container)
        restarts += count
        last_restart = _later(last_restart, finished)
        is_sidecar = container.get("name") in sidecars
        if is_sidecar:
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        state = container.get("state") or {}
        terminated = state.get("terminated")
        waiting = state.get("waiting")
        if terminated is not None and int(terminated.get("exitCode") or 0) == 0:
            continue
        if is_sidecar and container.get("started"):
            ready += 1 if container.get("ready") else 0
            continue
        initializing = True
        if terminated is not None:
            reason = "Init:" + _terminated_reason(terminated)
        elif waiting is not None and waiting.get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{index}/{len(init_specs)}"
        break
    if initializing and not _condition_true(conditions, "Initialized"):
        return ready, total, reason, restarts, last_restart
    restarts, last_restart = sidecar_restarts, last_sidecar_restart
    has_running = False
    for container in reversed(status.get("containerStatuses") or []):
        restarts += int(container.get("restartCount") or 0)
        last_restart = _later(last_restart, _last_finished(container))
        state = container.get("state") or {}
        waiting = state.get("waiting")
        terminated = state.get("terminated")
        if waiting is not None and waiting.get("reason"):
            reason = str(waiting["reason"])
        elif terminated is not None:
            reason = _terminated_reason(terminated)
        elif container.get("ready") and state.get("running") is not None:
            has_running = True
            ready += 1
    if reason == "Completed" and has_running:
        reason = "Running" if _condition_true(conditions, "Ready") else "NotReady"
    return ready, total, reason, restarts, last_restart


def _terminated_reason(terminated: Mapping[str, Any]) -> str:
    if terminated.get("reason"):
        return str(terminated["reason"])
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode') or 0}"


def _last_finished(container: Mapping[str, Any]) -> datetime | None:
    terminated = (container.get("lastState") or {}).get("terminated") or {}
    return parse_time(terminated.get("finishedAt"))


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


def _condition_true(conditions: Sequence[Mapping[str, Any]], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _pod_ip(status: Mapping[str, Any]) -> str:
    ips = status.get("podIPs") or []
    if ips and ips[0].get("ip"):
        return str(ips[0]["ip"])
    return str(status.get("podIP") or "")


def _readiness_gates(spec: Mapping[str, Any], status: Mapping[str, Any]) -> str:
    gates = spec.get("readinessGates") or []
    if not gates:
        return NONE
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    true = sum(1 for gate in gates if conditions.get(gate.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def since(moment: datetime, now: datetime) -> str:
    """kubectl's age of ``moment`` at ``now``."""
    return human_duration((now - moment).total_seconds())


def human_duration(seconds: float) -> str:
    """apimachinery's ``HumanDuration``: 2-3 significant figures (``90s``, ``3m20s``, ``2d3h``)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        return _two_units(minutes, "m", whole % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        return _two_units(days, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{days}d"
    if hours < 24 * 365 * 8:
        return _two_units(days // 365, "y", days % 365, "d")
    return f"{days // 365}y"


def _two_units(major: int, major_unit: str, minor: int, minor_unit: str) -> str:
    return f"{major}{major_unit}{minor}{minor_unit}" if minor else f"{major}{major_unit}"


def column_widths(lines: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width in kubectl's tabwriter: the widest cell plus 3, at least 6."""
    columns = max((len(cells) for cells in lines), default=0)
    return [
        max([_MIN_WIDTH] + [len(cells[i]) + _PADDING for cells in lines if len(cells) > i + 1])
        for i in range(columns - 1)
    ]


def layout(cells: Sequence[str], widths: Sequence[int]) -> str:
    """One line: each cell but the last left-aligned in its column's width."""
    padded = [cell.ljust(width) for cell, width in zip(cells[:-1], widths, strict=False)]
    return "".join(padded) + (cells[-1] if cells else "")


def render(lines: Sequence[Sequence[str]]) -> Iterator[str]:
    """The lines of a table laid out as kubectl lays it out, header included if given."""
    widths = column_widths(lines)
    for cells in lines:
        yield layout(cells, widths)
