"""Events written to the test API server as the kubelet's recorder writes them: created,
then patched with a count; created again when the Event is gone; held while the API
server cannot be reached; dropped (logged once) when it refuses them."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from fastpod.cluster.client import ApiClient
from fastpod.cluster.events import Occurrence
from fastpod.cluster.events_sink import EventSink
from fastpod.cluster.mirror_object import mirror_pod
from fastpod.manifest.defaults import CONFIG_HASH
from tests.support.apiserver_rules import Object
from tests.support.cluster_api import LocalApiServer, kubectl
from tests.support.logs import LogCapture

_Result = TypeVar("_Result")
T0 = 1_800_000_000.0


def occurrence(at: float, reason: str = "BackOff", namespace: str = "kube-system") -> Occurrence:
    return Occurrence(
        namespace=namespace,
        name="web-node1",
        uid="6f1c0d2e",
        field_path="spec.containers{web}",
        type="Warning",
        reason=reason,
        message="Back-off restarting failed container web in pod web-node1",
        time=at,
    )


def with_sink(
    server: LocalApiServer, tmp_path: Path, body: Callable[[EventSink], Awaitable[_Result]]
) -> _Result:
    path = server.write_kubeconfig(tmp_path / "kubelet.conf")

    async def main() -> _Result:
        client = ApiClient(str(path), qps=50, burst=100)
        try:
            sink = EventSink("node1", size=3)
            sink.client = client
            return await body(sink)
        finally:
            await client.close()

    return asyncio.run(main())


def events(server: LocalApiServer) -> list[Object]:
    return server.call(lambda: server.emulator.stored_all("v1/events"))


def test_an_event_seen_again_is_one_event_with_its_count(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    async def body(sink: EventSink) -> None:
        for second in range(3):
            await sink.write(occurrence(T0 + second))

    with_sink(api_server, tmp_path, body)

    [event] = events(api_server)
    assert event["count"] == 3
    assert event["firstTimestamp"] == "2027-01-15T08:00:00Z"
    assert event["lastTimestamp"] == "2027-01-15T08:00:02Z"
    assert event["involvedObject"]["uid"] == "6f1c0d2e"
    assert event["source"] == {"component": "kubelet", "host": "node1"}
    assert (event["reportingComponent"], event["reportingInstance"]) == ("kubelet", "node1")
    methods = [method for method, path in api_server.requests() if "/events" in path]
    assert methods == ["POST", "PATCH", "PATCH"]


def test_an_event_deleted_on_the_server_is_created_again_with_its_count(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    async def body(sink: EventSink) -> None:
        await sink.write(occurrence(T0))
        [event] = events(api_server)
        name = event["metadata"]["name"]
        code, _ = api_server.request("DELETE", f"/api/v1/namespaces/kube-system/events/{name}")
        assert code == 200
        await sink.write(occurrence(T0 + 1))

    with_sink(api_server, tmp_path, body)

    [event] = events(api_server)
    assert event["count"] == 2
    methods = [method for method, path in api_server.requests() if "/events" in path]
    assert methods == ["POST", "DELETE", "PATCH", "POST"]


def test_an_api_server_out_of_reach_holds_the_event_until_it_returns(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    async def body(sink: EventSink) -> None:
        api_server.pause()
        writing = asyncio.create_task(sink.write(occurrence(T0)))
        await asyncio.sleep(1.0)
        assert not writing.done()
        api_server.resume()
        await asyncio.wait_for(writing, 20)

    with_sink(api_server, tmp_path, body)

    assert len(events(api_server)) == 1
    [failed] = captured_logs.records("API server call failed")
    assert failed["call"] == "event"
    [back] = captured_logs.records("API server call succeeded again")
    assert back["failures"] >= 2


def test_events_refused_are_dropped_and_logged_once_per_streak(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    async def body(sink: EventSink) -> None:
        api_server.call(lambda: api_server.emulator.refuse("POST", "/events", 403))
        for index in range(3):
            await sink.write(occurrence(T0 + index, reason=f"Refused{index}"))
        api_server.call(api_server.emulator.lift)
        await sink.write(occurrence(T0 + 5, reason="Started"))

    with_sink(api_server, tmp_path, body)

    assert [event["reason"] for event in events(api_server)] == ["Started"]
    assert len(captured_logs.records("API server call failed")) == 1
    [back] = captured_logs.records("API server call succeeded again")
    assert (back["failures"], back["events_rejected"]) == (3, 3)


def test_an_event_in_a_namespace_that_does_not_exist_is_rejected_not_retried(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    async def body(sink: EventSink) -> None:
        await asyncio.wait_for(sink.write(occurrence(T0, namespace="gone")), 10)

    with_sink(api_server, tmp_path, body)

    assert events(api_server) == []


def test_while_the_api_server_is_gone_the_oldest_waiting_are_dropped_and_counted(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    async def body(sink: EventSink) -> None:
        api_server.pause()
        assert sink.client is not None
        running = asyncio.create_task(sink.run(sink.client))
        sink.record(occurrence(T0, reason="R0"))  # taken at once, held at the head
        await asyncio.sleep(0.2)
        for index in range(1, 6):
            sink.record(occurrence(T0 + index, reason=f"R{index}"))
        api_server.resume()
        while sink.waiting or len(events(api_server)) < 4:
            await asyncio.sleep(0.05)
        running.cancel()

    with_sink(api_server, tmp_path, body)

    assert sorted(event["reason"] for event in events(api_server)) == ["R0", "R3", "R4", "R5"]
    [dropped] = captured_logs.records("events dropped")
    assert dropped["waiting"] == 3
    [back] = captured_logs.records("API server call succeeded again")
    assert back["events_dropped"] == 2


def test_kubectl_shows_the_events_of_a_static_pod_on_its_mirror(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    """kubectl describe finds a mirror pod's events by the static pod's UID, which the
    mirror carries as ``kubernetes.io/config.mirror``."""
    code, node = api_server.request("POST", "/api/v1/nodes", {"metadata": {"name": "node1"}})
    assert code == 201
    static = {
        "metadata": {
            "name": "web-node1",
            "namespace": "kube-system",
            "uid": "6f1c0d2e",
            "annotations": {CONFIG_HASH: "6f1c0d2e"},
        },
        "spec": {"containers": [{"name": "web", "image": "fastpod.local/busybox:1.36"}]},
    }

    now = time.time()

    async def body(sink: EventSink) -> None:
        assert sink.client is not None
        await sink.client.create_pod(mirror_pod(static, "node1", node["metadata"]["uid"]))
        for second in range(4):
            await sink.write(occurrence(now - 60 + second))
        started = dataclasses.replace(
            occurrence(now), type="Normal", reason="Started", message="Started container web"
        )
        await sink.write(started)

    with_sink(api_server, tmp_path, body)

    kubeconfig = tmp_path / "kubelet.conf"
    listed = kubectl(kubeconfig, "get", "events", "-A", "-o", "wide").splitlines()
    described = kubectl(kubeconfig, "describe", "pod", "-n", "kube-system", "web-node1")
    header = listed[0].split()
    assert header[:5] == ["NAMESPACE", "LAST", "SEEN", "TYPE", "REASON"]
    rows = {line.split()[3]: line for line in listed[1:]}  # by reason
    assert set(rows) == {"BackOff", "Started"}
    assert "pod/web-node1" in rows["BackOff"]
    assert "spec.containers{web}" in rows["BackOff"]
    assert "kubelet, node1" in rows["BackOff"]
    events_part = described.split("Events:", 1)[1]
    backoff = next(line for line in events_part.splitlines() if "BackOff" in line)
    assert "(x4 over" in backoff
    assert "kubelet" in backoff
    assert any("Started container web" in line for line in events_part.splitlines())
