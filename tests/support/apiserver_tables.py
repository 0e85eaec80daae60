"""The API server's tables (``Accept: ...;as=Table``), which ``kubectl get`` prints.

kubectl asks the server to render its rows; without them it prints names and ages only. The
columns and cells are the API server's printers (``pkg/printers/internalversion/printers.go``:
``printNode``, ``printPod``, ``printEvent``; pods through fastpod's own copy of kubectl's
``printPod`` rules, ``fastpod/client/table.py``; events in ``tests/support/apiserver_events.py``).
Other kinds get the default table: name and age.
"""

from __future__ import annotations

import datetime
from typing import Any

from fastpod.client.table import NONE, UNKNOWN, parse_time, pod_row, since
from tests.support.apiserver_events import EVENT_COLUMNS, event_cells
from tests.support.apiserver_rules import Object

_NAME = {"name": "Name", "type": "string", "format": "name", "priority": 0}


def _column(name: str, priority: int = 0) -> dict[str, Any]:
    return {"name": name, "type": "string", "format": "", "priority": priority}


NODE_COLUMNS = [
    _NAME,
    _column("Status"),
    _column("Roles"),
    _column("Age"),
    _column("Version"),
    _column("Internal-IP", 1),
    _column("External-IP", 1),
    _column("OS-Image", 1),
    _column("Kernel-Version", 1),
    _column("Container-Runtime", 1),
]
POD_COLUMNS = [
    _NAME,
    _column("Ready"),
    _column("Status"),
    _column("Restarts"),
    _column("Age"),
    _column("IP", 1),
    _column("Node", 1),
    _column("Nominated Node", 1),
    _column("Readiness Gates", 1),
]
DEFAULT_COLUMNS = [_NAME, _column("Age")]


def wants_table(accept: str) -> bool:
    """Whether the client asked for ``meta.k8s.io`` tables (kubectl get does)."""
    return "as=Table" in accept


def table(kind: str, objects: list[Object], revision: int, now: datetime.datetime) -> Object:
    """The ``meta.k8s.io/v1 Table`` of ``objects`` of ``kind``."""
    columns, cells = {
        "Node": (NODE_COLUMNS, _node_cells),
        "Pod": (POD_COLUMNS, _pod_cells),
        "Event": (EVENT_COLUMNS, event_cells),
    }.get(kind, (DEFAULT_COLUMNS, _default_cells))
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": str(revision)},
        "columnDefinitions": columns,
        "rows": [
            {
                "cells": cells(obj, now),
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata", {}),
                },
            }
            for obj in objects
        ],
    }


def _age(obj: Object, now: datetime.datetime) -> str:
    created = parse_time(obj.get("metadata", {}).get("creationTimestamp"))
    return since(created, now) if created is not None else UNKNOWN


def _default_cells(obj: Object, now: datetime.datetime) -> list[str]:
    return [obj.get("metadata", {}).get("name", ""), _age(obj, now)]


def _pod_cells(obj: Object, now: datetime.datetime) -> list[str]:
    return list(pod_row(obj, now).cells(wide=True, with_namespace=False))


def _node_cells(obj: Object, now: datetime.datetime) -> list[str]:
    """``printNode``: the Ready condition (``Unknown`` without one), ``SchedulingDisabled``
    when unschedulable, the roles from ``node-role.kubernetes.io/*`` labels."""
    meta = obj.get("metadata", {})
    status = obj.get("status", {})
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    ready = conditions.get("Ready")
    states = ["Ready" if ready == "True" else "NotReady" if ready == "False" else "Unknown"]
    if obj.get("spec", {}).get("unschedulable"):
        states.append("SchedulingDisabled")
    labels = meta.get("labels") or {}
    roles = sorted(
        key.removeprefix("node-role.kubernetes.io/")
        for key in labels
        if key.startswith("node-role.kubernetes.io/")
    )
    info = status.get("nodeInfo", {})
    addresses = status.get("addresses") or []

    def address(kind: str) -> str:
        found = [a.get("address", "") for a in addresses if a.get("type") == kind]
        return found[0] if found else NONE

    return [
        meta.get("name", ""),
        ",".join(states),
        ",".join(roles) or NONE,
        _age(obj, now),
        info.get("kubeletVersion", ""),
        address("InternalIP"),
        address("ExternalIP"),
        info.get("osImage", "") or UNKNOWN,
        info.get("kernelVersion", "") or UNKNOWN,
        info.get("containerRuntimeVersion", "") or UNKNOWN,
    ]
