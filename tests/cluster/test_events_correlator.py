"""The kubelet's events as client-go's EventCorrelator writes them: an event seen again is
a patch of the first (count, last timestamp), ten similar ones are combined, and a pod
that keeps failing is held to 25 events then one every 5 minutes."""

from __future__ import annotations

import dataclasses
from typing import Any

from fastpod.cluster.events import Object, Occurrence, field_path, new_event
from fastpod.cluster.events_correlator import (
    AGGREGATE_INTERVAL,
    COMBINED,
    SPAM_BURST,
    EventCorrelator,
    Send,
)

T0 = 1_800_000_000.0


BACKOFF = Occurrence(
    namespace="kube-system",
    name="web-node1",
    uid="6f1c0d2e",
    field_path=field_path("web", init=False),
    type="Warning",
    reason="BackOff",
    message="Back-off restarting failed container",
    time=T0,
)


def event(at: float = T0, **changes: Any) -> Object:
    """The BackOff event at ``at``, with ``changes`` to its occurrence."""
    return new_event(dataclasses.replace(BACKOFF, time=at, **changes), "node1", int(at * 1e9))


def written(correlator: EventCorrelator, send: Send | None, version: str) -> Object:
    """The server's answer to ``send``, handed back to the correlator."""
    assert send is not None
    answer = {**send.event, "metadata": {**send.event["metadata"], "resourceVersion": version}}
    correlator.written(answer)
    return answer


def test_an_event_is_about_the_static_pod_from_the_kubelet_of_its_node() -> None:
    made = event(reason="Started", message="Started container web", type="Normal")

    assert made["metadata"] == {"name": f"web-node1.{int(T0 * 1e9):x}", "namespace": "kube-system"}
    assert made["involvedObject"] == {
        "kind": "Pod",
        "namespace": "kube-system",
        "name": "web-node1",
        "uid": "6f1c0d2e",
        "apiVersion": "v1",
        "fieldPath": "spec.containers{web}",
    }
    assert made["source"] == {"component": "kubelet", "host": "node1"}
    assert (made["reportingComponent"], made["reportingInstance"]) == ("kubelet", "node1")
    assert made["firstTimestamp"] == made["lastTimestamp"] == "2027-01-15T08:00:00Z"
    assert made["count"] == 1


def test_a_pod_event_has_no_field_path_and_an_init_container_its_own() -> None:
    assert "fieldPath" not in event(field_path="")["involvedObject"]
    assert field_path("setup", init=True) == "spec.initContainers{setup}"


def test_the_first_event_is_created_and_the_same_again_patches_it() -> None:
    correlator = EventCorrelator()
    first = correlator.correlate(event(T0), T0)
    assert first is not None
    assert first.patch is None
    written(correlator, first, "7")

    again = correlator.correlate(event(T0 + 12), T0 + 12)

    assert again is not None
    assert again.patch == {
        "count": 2,
        "lastTimestamp": "2027-01-15T08:00:12Z",
        "message": "Back-off restarting failed container",
    }
    assert again.event["metadata"]["name"] == first.event["metadata"]["name"]
    assert again.event["metadata"]["resourceVersion"] == "7"
    assert again.event["firstTimestamp"] == "2027-01-15T08:00:00Z"


def test_counts_go_on_from_the_last_patch() -> None:
    correlator = EventCorrelator()
    counts = []
    for second in range(5):
        send = correlator.correlate(event(T0 + second), T0 + second)
        assert send is not None
        counts.append(send.event["count"])
        written(correlator, send, str(second))

    assert counts == [1, 2, 3, 4, 5]


def test_an_event_whose_write_failed_is_still_counted() -> None:
    """client-go counts an event when it is observed: the next write patches, and a patch
    of an Event that was never created falls back to a create (in the sink)."""
    correlator = EventCorrelator()
    correlator.correlate(event(T0), T0)  # never written

    again = correlator.correlate(event(T0 + 1), T0 + 1)

    assert again is not None
    assert again.patch is not None
    assert again.event["count"] == 2


def test_another_reason_or_container_is_another_event() -> None:
    correlator = EventCorrelator()
    written(correlator, correlator.correlate(event(T0), T0), "1")

    other_reason = correlator.correlate(event(T0, reason="Killing", message="Stopping"), T0)
    other_container = correlator.correlate(event(T0, field_path="spec.containers{db}"), T0)

    assert other_reason is not None
    assert other_reason.patch is None
    assert other_container is not None
    assert other_container.patch is None


def test_ten_similar_events_within_ten_minutes_are_combined_into_one() -> None:
    correlator = EventCorrelator()
    sends = []
    for index in range(12):
        at = T0 + index
        send = correlator.correlate(event(at, message=f"Liveness probe failed: {index}"), at)
        assert send is not None
        sends.append(send)
        written(correlator, send, str(index))

    assert [s.patch is None for s in sends[:9]] == [True] * 9
    tenth, eleventh, twelfth = sends[9:]
    assert tenth.patch is None
    assert tenth.event["message"] == COMBINED + "Liveness probe failed: 9"
    assert eleventh.patch is not None
    assert twelfth.patch is not None
    assert eleventh.event["metadata"]["name"] == tenth.event["metadata"]["name"]
    assert twelfth.patch == {
        "count": 3,
        "lastTimestamp": "2027-01-15T08:00:11Z",
        "message": COMBINED + "Liveness probe failed: 11",
    }


def test_similar_events_further_apart_than_ten_minutes_are_not_combined() -> None:
    correlator = EventCorrelator()
    for index in range(12):
        at = T0 + index * (AGGREGATE_INTERVAL + 1)
        send = correlator.correlate(event(at, message=f"failed: {index}"), at)
        assert send is not None
        assert not send.event["message"].startswith(COMBINED)


def test_a_pod_that_keeps_failing_is_held_to_its_burst_then_one_every_five_minutes() -> None:
    correlator = EventCorrelator()
    sent = 0
    for second in range(SPAM_BURST + 10):
        send = correlator.correlate(event(T0 + second, reason=f"R{second}"), T0 + second)
        if send is not None:
            sent += 1
    held = correlator.correlate(event(T0 + 60, reason="Late"), T0 + 60)
    later = correlator.correlate(event(T0 + 400, reason="Later"), T0 + 400)

    assert sent == SPAM_BURST
    assert held is None
    assert later is not None


def test_the_spam_filter_counts_the_events_it_holds_back() -> None:
    correlator = EventCorrelator()
    for second in range(SPAM_BURST):
        written(correlator, correlator.correlate(event(T0, reason=f"R{second}"), T0), "1")
    for second in range(3):
        assert correlator.correlate(event(T0 + second, reason="R0"), T0 + second) is None

    after = correlator.correlate(event(T0 + 301, reason="R0"), T0 + 301)

    assert after is not None
    assert after.event["count"] == 5


def test_the_caches_forget_the_least_recently_used_keys() -> None:
    correlator = EventCorrelator(cache_entries=2)
    for index in range(3):
        written(correlator, correlator.correlate(event(T0, reason=f"R{index}"), T0), "1")

    forgotten = correlator.correlate(event(T0 + 1, reason="R0"), T0 + 1)
    remembered = correlator.correlate(event(T0 + 1, reason="R2"), T0 + 1)

    assert forgotten is not None
    assert forgotten.patch is None
    assert remembered is not None
    assert remembered.patch is not None
