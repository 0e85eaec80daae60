"""PURE: client-go's ``EventCorrelator`` (``tools/record/events_cache.go``), which the
kubelet's recorder runs before writing an event: the same event again is a PATCH of the one
written (``count`` + 1, ``lastTimestamp``), not a new Event.

Its three parts, with client-go's defaults (``NewEventCorrelator``):

- the aggregator: events that differ only in their message (the same object, source, type
  and reason: ``EventAggregatorByReasonFunc``), seen with 10 distinct messages within 10
  minutes of each other, become one Event whose message is ``(combined from similar
  events): <the latest>``, counted from then on;
- the logger: an event seen before (the same ``getEventKey``: source, object, field path,
  type, reason, message) takes the name and first timestamp of the one written and a count
  one higher, and is sent as a strategic merge patch of ``count``, ``lastTimestamp`` and
  ``message``;
- the spam filter: per source and object (``getSpamKey``), a token bucket of 25 refilled
  at one every 5 minutes; an event without a token is not sent (it is still counted, so
  the next one sent carries the count).

Each cache holds the 4,096 keys used last (``maxLruCacheEntries``), so memory is bounded
whatever the pods do. Times are the caller's.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Generic, TypeVar

from fastpod.cluster.events import Object
from fastpod.cluster.ratelimit import TokenBucket
from fastpod.status.types import rfc3339

CACHE_ENTRIES = 4096
"""``maxLruCacheEntries``: keys each cache keeps, the least recently used forgotten."""
AGGREGATE_MAX_EVENTS = 10
"""``defaultAggregateMaxEvents``: distinct messages before similar events are combined."""
AGGREGATE_INTERVAL = 600.0
"""``defaultAggregateIntervalInSeconds``: similar events further apart start afresh."""
SPAM_BURST = 25
"""``defaultSpamBurst``: events a source may send about one object at once."""
SPAM_QPS = 1.0 / 300.0
"""``defaultSpamQPS``: then one every 5 minutes."""
COMBINED = "(combined from similar events): "
"""``EventAggregatorByReasonMessageFunc``'s prefix of an aggregate event's message."""

_Key = tuple[str, ...]
_Value = TypeVar("_Value")


class _Lru(Generic[_Value]):
    """groupcache's ``lru.Cache``: a get or an add makes a key the most recent; adding past
    ``size`` forgets the least recent."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: collections.OrderedDict[_Key, _Value] = collections.OrderedDict()

    def get(self, key: _Key) -> _Value | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def add(self, key: _Key, value: _Value) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class _Similar:
    """``aggregateRecord``: the distinct messages of similar events, and when the last was."""

    messages: set[str]
    last: float


@dataclass(frozen=True, slots=True)
class _Written:
    """``eventLog``: what was written for an event key."""

    count: int
    first_timestamp: str
    name: str
    resource_version: str


@dataclass(frozen=True, slots=True)
class Send:
    """What to write for one event: ``event`` created when ``patch`` is None, else ``patch``
    (a strategic merge patch) applied to the Event ``event["metadata"]["name"]``, or
    ``event`` created if that one is gone (``recordEvent``)."""

    event: Object
    patch: Object | None


def event_key(event: Object) -> _Key:
    """``getEventKey``: an event is the same as another when all of these are."""
    source, involved = event.get("source") or {}, event.get("involvedObject") or {}
    return (
        source.get("component", ""),
        source.get("host", ""),
        involved.get("kind", ""),
        involved.get("namespace", ""),
        involved.get("name", ""),
        involved.get("fieldPath", ""),
        involved.get("uid", ""),
        involved.get("apiVersion", ""),
        event.get("type", ""),
        event.get("reason", ""),
        event.get("message", ""),
    )


def spam_key(event: Object) -> _Key:
    """``getSpamKey``: the source and the object, whatever happened to it."""
    source, involved = event.get("source") or {}, event.get("involvedObject") or {}
    return (
        source.get("component", ""),
        source.get("host", ""),
        involved.get("kind", ""),
        involved.get("namespace", ""),
        involved.get("name", ""),
        involved.get("uid", ""),
        involved.get("apiVersion", ""),
    )


def aggregate_key(event: Object) -> _Key:
    """``EventAggregatorByReasonFunc``: similar events differ in their message alone (the
    field path is not in the key: a pod's containers' back-offs are similar events)."""
    source, involved = event.get("source") or {}, event.get("involvedObject") or {}
    return (
        source.get("component", ""),
        source.get("host", ""),
        involved.get("kind", ""),
        involved.get("namespace", ""),
        involved.get("name", ""),
        involved.get("uid", ""),
        involved.get("apiVersion", ""),
        event.get("type", ""),
        event.get("reason", ""),
        event.get("reportingComponent", ""),
        event.get("reportingInstance", ""),
    )


class EventCorrelator:
    """Filters, combines and counts events before they are written (``EventCorrelate``)."""

    def __init__(self, cache_entries: int = CACHE_ENTRIES) -> None:
        self._similar: _Lru[_Similar] = _Lru(cache_entries)
        self._written: _Lru[_Written] = _Lru(cache_entries)
        self._spam: _Lru[TokenBucket] = _Lru(cache_entries)

    def correlate(self, event: Object, now: float) -> Send | None:
        """What to write for ``event`` (a new Event, as :func:`~fastpod.cluster.events.
        new_event` makes it) seen at ``now``; None when the spam filter holds it back."""
        event, key = self._aggregate(event, now)
        event, patch = self._observe(event, key)
        bucket = self._spam.get(spam_key(event))
        if bucket is None:
            bucket = TokenBucket(SPAM_QPS, SPAM_BURST, now)
        self._spam.add(spam_key(event), bucket)
        if not bucket.try_take(now):
            return None
        return Send(event, patch)

    def written(self, event: Object) -> None:
        """The API server's answer for an event written (``UpdateState``): later
        occurrences patch this Event, by its name."""
        meta = event.get("metadata") or {}
        self._written.add(
            event_key(event),
            _Written(
                count=int(event.get("count") or 0),
                first_timestamp=str(event.get("firstTimestamp") or ""),
                name=str(meta.get("name", "")),
                resource_version=str(meta.get("resourceVersion", "")),
            ),
        )

    def _aggregate(self, event: Object, now: float) -> tuple[Object, _Key]:
        """``EventAggregate``: the event to write, and the key it is counted under."""
        group = aggregate_key(event)
        similar = self._similar.get(group)
        if similar is None or now - similar.last > AGGREGATE_INTERVAL:
            similar = _Similar(set(), now)
        similar.messages.add(event.get("message", ""))
        similar.last = now
        self._similar.add(group, similar)
        if len(similar.messages) < AGGREGATE_MAX_EVENTS:
            return event, event_key(event)
        similar.messages.pop()  # the set never grows past the threshold
        meta = event["metadata"]
        moment = rfc3339(now)
        combined = {
            **event,
            "metadata": {
                "name": f"{event['involvedObject']['name']}.{int(now * 1e9):x}",
                "namespace": meta.get("namespace", ""),
            },
            "message": COMBINED + event.get("message", ""),
            "firstTimestamp": moment,
            "lastTimestamp": moment,
            "count": 1,
        }
        return combined, group

    def _observe(self, event: Object, key: _Key) -> tuple[Object, Object | None]:
        """``eventObserve``: an event written before under ``key`` becomes a patch of it."""
        last = self._written.get(key)
        patch: Object | None = None
        if last is not None and last.count > 0:
            meta = {**event["metadata"], "name": last.name}
            if last.resource_version:
                meta["resourceVersion"] = last.resource_version
            event = {
                **event,
                "metadata": meta,
                "firstTimestamp": last.first_timestamp,
                "count": last.count + 1,
            }
            # CreateTwoWayMergePatch from the event with no count, time or message
            patch = {"count": event["count"], "lastTimestamp": event["lastTimestamp"]}
            if event.get("message"):
                patch["message"] = event["message"]
        self._written.add(
            key,
            _Written(
                count=int(event["count"]),
                first_timestamp=event["firstTimestamp"],
                name=event["metadata"]["name"],
                resource_version=str(event["metadata"].get("resourceVersion", "")),
            ),
        )
        return event, patch
