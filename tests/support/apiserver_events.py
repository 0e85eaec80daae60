"""The API server's rules for core v1 Events, and their table, for the test API server.

Validation is ``ValidateEventCreate``/``ValidateEventUpdate`` as a v1 request meets them
(``pkg/apis/core/validation/events.go``, ``legacyValidateEvent``): an Event without
``eventTime`` (the kubelet's recorder sets none) lives in the namespace of the object it
is about, or in ``default`` for an object without one; it names that object and has a
reason. The table is ``printEvent`` (``pkg/printers/internalversion/printers.go``), which
``kubectl get events`` prints.
"""

from __future__ import annotations

import datetime
from typing import Any

from fastpod.client.table import parse_time, since
from tests.support.apiserver_rules import ApiError, Object


def validate_event(event: Object) -> None:
    """Refuse (422) an Event the API server would refuse."""
    meta = event.get("metadata", {})
    namespace = meta.get("namespace", "")
    involved = event.get("involvedObject") or {}
    problems = []
    if not event.get("eventTime"):
        involved_namespace = involved.get("namespace", "")
        if involved_namespace and involved_namespace != namespace:
            problems.append(
                f'involvedObject.namespace: Invalid value: "{involved_namespace}": '
                "does not match event.namespace"
            )
        if not involved_namespace and namespace not in ("", "default"):
            problems.append(
                'involvedObject.namespace: Invalid value: "": does not match event.namespace'
            )
    if not involved.get("name") and not involved.get("kind"):
        problems.append("involvedObject: Required value")
    if not event.get("reason"):
        problems.append("reason: Required value")
    if problems:
        raise ApiError(
            422, "Invalid", f'Event "{meta.get("name", "")}" is invalid: ' + ", ".join(problems)
        )


def _column(name: str, priority: int = 0, format: str = "") -> dict[str, Any]:
    return {"name": name, "type": "string", "format": format, "priority": priority}


EVENT_COLUMNS = [
    _column("Last Seen"),
    _column("Type"),
    _column("Reason"),
    _column("Object"),
    _column("Subobject", 1),
    _column("Source", 1),
    _column("Message"),
    _column("First Seen", 1),
    _column("Count", 1),
    _column("Name", 1, "name"),
]


def event_cells(event: Object, now: datetime.datetime) -> list[Any]:
    """``printEvent`` (the server renders wide rows; kubectl hides priority 1 columns)."""
    first = parse_time(event.get("firstTimestamp")) or parse_time(event.get("eventTime"))
    first_seen = since(first, now) if first is not None else "<unknown>"
    last = parse_time(event.get("lastTimestamp"))
    last_seen = since(last, now) if last is not None else first_seen
    involved = event.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent", "")
    host = source.get("host") or event.get("reportingInstance", "")
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        f"{component}, {host}" if host else component,
        str(event.get("message", "")).strip(),
        first_seen,
        int(event.get("count") or 1),
        event.get("metadata", {}).get("name", ""),
    ]
