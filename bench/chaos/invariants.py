"""PURE: what must hold of the runtime and of fastpod's log, whatever fault was injected.

Every scenario checks the same things, from what the runtime lists (never from fastpod's own
account) and what fastpod logged:

- **at every moment** (:func:`at_any_moment`): at most one ready sandbox per pod UID and
  at most one running container per pod UID and container name: nothing runs twice;
- **once settled** (:func:`once_settled`): each desired pod has exactly one ready sandbox
  and exactly one running container per container of its spec (none *lost*, none
  *duplicated*); nothing runs for a UID no manifest wants (a removed pod, a replaced
  one's predecessor: *orphaned*), and nothing is left of such a UID, not even an exited
  container or a stopped sandbox (*left over*); a desired pod keeps no stopped sandbox and
  at most one dead container per name (the kubelet's ``MaxPerPodContainer``: a container
  created but never started, by a worker killed in between, is replaced and kept so);
- **between two settled looks** (:class:`Continuity`): a pod wanted throughout, whose
  containers never exit by themselves, keeps the very same sandbox and containers: a
  fault of fastpod's restarted nothing (*restarted*);
- **in the log** (:func:`log_violations`): every line is a JSON record (no traceback), and
  every warning or error is one a scenario explains, naming its cause.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

LOST = "lost"
DUPLICATED = "duplicated"
ORPHANED = "orphaned"
LEFT_OVER = "left over"
RESTARTED = "restarted"
LOG = "log"
KINDS = (LOST, DUPLICATED, ORPHANED, LEFT_OVER, RESTARTED, LOG)


class Sandbox(NamedTuple):
    """A pod sandbox as the runtime lists it."""

    id: str
    pod_uid: str
    pod: str
    ready: bool


class Container(NamedTuple):
    """A container (not a sandbox) as the runtime lists it."""

    id: str
    pod_uid: str
    pod: str
    name: str
    running: bool


class Snapshot(NamedTuple):
    """Everything fastpod manages on the runtime at one moment."""

    sandboxes: list[Sandbox]
    containers: list[Container]


class Wanted(NamedTuple):
    """A pod the manifests want: its key, its UID and its containers' names."""

    key: str
    uid: str
    containers: frozenset[str]


class Violation(NamedTuple):
    """One broken invariant: its kind (one of :data:`KINDS`) and what was seen."""

    kind: str
    detail: str


def _short(identifier: str) -> str:
    return identifier[:12]


def at_any_moment(snapshot: Snapshot) -> list[Violation]:
    """What may never be seen, settled or not: a pod with two ready sandboxes, a container
    running twice."""
    found = []
    ready = Counter(s.pod_uid for s in snapshot.sandboxes if s.ready)
    for uid, count in sorted(ready.items()):
        if count > 1:
            pod = next(s.pod for s in snapshot.sandboxes if s.pod_uid == uid)
            found.append(Violation(DUPLICATED, f"{pod} ({_short(uid)}): {count} ready sandboxes"))
    running = Counter((c.pod_uid, c.pod, c.name) for c in snapshot.containers if c.running)
    for (uid, pod, name), count in sorted(running.items()):
        if count > 1:
            found.append(
                Violation(DUPLICATED, f"{pod} ({_short(uid)}) container {name}: {count} running")
            )
    return found


def once_settled(desired: Mapping[str, Wanted], snapshot: Snapshot) -> list[Violation]:
    """What must hold once fastpod has caught up with ``desired`` (by UID)."""
    found = at_any_moment(snapshot)
    for uid, wanted in sorted(desired.items()):
        ready = [s for s in snapshot.sandboxes if s.pod_uid == uid and s.ready]
        if not ready:
            found.append(Violation(LOST, f"{wanted.key} ({_short(uid)}): no ready sandbox"))
        running = {c.name for c in snapshot.containers if c.pod_uid == uid and c.running}
        for name in sorted(wanted.containers - running):
            found.append(
                Violation(LOST, f"{wanted.key} ({_short(uid)}) container {name}: not running")
            )
        for name in sorted(running - wanted.containers):
            found.append(
                Violation(
                    ORPHANED, f"{wanted.key} ({_short(uid)}) container {name}: not in its spec"
                )
            )
        stale = [s for s in snapshot.sandboxes if s.pod_uid == uid and not s.ready]
        dead = Counter(c.name for c in snapshot.containers if c.pod_uid == uid and not c.running)
        extra = sum(count - 1 for count in dead.values())
        if stale or extra:
            found.append(
                Violation(
                    LEFT_OVER,
                    f"{wanted.key} ({_short(uid)}): {len(stale)} stopped sandboxes, "
                    f"{extra} exited containers beyond one per name",
                )
            )
    for uid, pod, sandboxes, containers in _unwanted(desired, snapshot):
        alive = sum(s.ready for s in sandboxes) + sum(c.running for c in containers)
        kind = ORPHANED if alive else LEFT_OVER
        found.append(
            Violation(
                kind,
                f"{pod} ({_short(uid)}), wanted by no manifest: "
                f"{sum(s.ready for s in sandboxes)} ready / {len(sandboxes)} sandboxes, "
                f"{sum(c.running for c in containers)} running / {len(containers)} containers",
            )
        )
    return found


def _unwanted(
    desired: Mapping[str, Wanted], snapshot: Snapshot
) -> list[tuple[str, str, list[Sandbox], list[Container]]]:
    names = {s.pod_uid: s.pod for s in snapshot.sandboxes}
    names.update((c.pod_uid, c.pod) for c in snapshot.containers)
    return [
        (
            uid,
            names[uid],
            [s for s in snapshot.sandboxes if s.pod_uid == uid],
            [c for c in snapshot.containers if c.pod_uid == uid],
        )
        for uid in sorted(names)
        if uid not in desired
    ]


class Periods:
    """Numbers each stretch of time a UID is wanted without a break: a pod removed and
    added again may be restarted, one wanted throughout may not."""

    def __init__(self) -> None:
        self._current: dict[str, int] = {}
        self._count: Counter[str] = Counter()

    def update(self, wanted: Iterable[str]) -> None:
        """The UIDs wanted now (call after every change to the manifests)."""
        now = set(wanted)
        for uid in now - self._current.keys():
            self._count[uid] += 1
            self._current[uid] = self._count[uid]
        for uid in self._current.keys() - now:
            del self._current[uid]

    def of(self, uid: str) -> int | None:
        """The stretch ``uid`` is wanted in now (None: not wanted)."""
        return self._current.get(uid)


class Continuity:
    """The sandbox and containers each wanted pod ran at its last settled look: at the next,
    the same ones must run if the pod was wanted all along."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], dict[str, str]] = {}

    def look(
        self, desired: Mapping[str, Wanted], periods: Periods, snapshot: Snapshot
    ) -> list[Violation]:
        """Compare a settled snapshot with the last; remember it."""
        found = []
        seen: dict[tuple[str, int], dict[str, str]] = {}
        for uid, wanted in desired.items():
            period = periods.of(uid)
            if period is None:
                continue
            # the sandbox under "", each container under its name
            now = dict(("", s.id) for s in snapshot.sandboxes if s.pod_uid == uid and s.ready)
            now.update(
                (c.name, c.id) for c in snapshot.containers if c.pod_uid == uid and c.running
            )
            before = self._seen.get((uid, period), {})
            for name, identifier in sorted(now.items()):
                earlier = before.get(name)
                if earlier is not None and earlier != identifier:
                    what = f"container {name}" if name else "sandbox"
                    found.append(
                        Violation(
                            RESTARTED,
                            f"{wanted.key} ({_short(uid)}) {what}: {_short(earlier)} replaced "
                            f"by {_short(identifier)} while the pod was wanted throughout",
                        )
                    )
            seen[(uid, period)] = now
        self._seen = seen
        return found


EXPLAINED: dict[str, tuple[str, ...]] = {
    "process died": ("child", "exit"),
    "pod rejected": ("source", "errors"),
    "oom score adjustments clamped": ("detail",),
}
"""The warnings and errors a scenario may cause by itself, and the fields that must name
their cause: a killed child names the child and its signal, a rejected manifest its file
and what is wrong with it; the host's own limits (no ``CAP_SYS_RESOURCE`` in a container).
A scenario adds its own (a URL that fails, ...)."""


def log_violations(
    records: Iterable[Mapping[str, Any]],
    unparsed: Iterable[str],
    explained: Mapping[str, tuple[str, ...]] = EXPLAINED,
) -> list[Violation]:
    """The log lines that break the rules: not a record (a traceback), a warning or error
    no scenario explains, or an explained one that does not name its cause."""
    found = [Violation(LOG, f"not a log record: {line[:200]}") for line in unparsed if line.strip()]
    unexplained: Counter[str] = Counter()
    for record in records:
        if record.get("level") not in ("warning", "error"):
            continue
        event = str(record.get("event"))
        fields = explained.get(event)
        if fields is None:
            if unexplained[event] == 0:
                found.append(Violation(LOG, f"unexplained {record.get('level')}: {dict(record)}"))
            unexplained[event] += 1
            continue
        missing = [name for name in fields if not record.get(name)]
        if missing:
            found.append(
                Violation(LOG, f"{event} does not name its cause ({missing}): {dict(record)}")
            )
    for event, count in sorted(unexplained.items()):
        if count > 1:
            found.append(Violation(LOG, f"unexplained {event}: {count} lines in all"))
    return found


def tally(violations: Iterable[Violation]) -> dict[str, int]:
    """How many of each kind, every kind named."""
    counts = Counter(v.kind for v in violations)
    return {kind: counts[kind] for kind in KINDS}
