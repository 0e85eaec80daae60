"""A static pod's events on the API server, end to end: a real ``fastpod run`` (fake
runtime) with a kubeconfig, read back with the real kubectl as on a kubelet node. The start
of a pod is Pulled, Created, Started; a container that keeps failing its liveness probe is
one Unhealthy and one BackOff Event counted up, not an Event per occurrence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.apiserver_rules import Object
from tests.support.cluster_api import LocalApiServer, kubectl, wait_for
from tests.support.pods import pod_document
from tests.support.running import RunningFastpod, free_port

pytestmark = pytest.mark.e2e

CLOSED_PORT = 1
"""Nothing listens there: a liveness probe of it fails at once (connection refused)."""


def start(tmp_path: Path, kubeconfig: Path, *, crasher: bool = True) -> RunningFastpod:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    web = pod_document("web", extra_spec={"terminationGracePeriodSeconds": 1})
    (manifests / "web.json").write_text(json.dumps(web))
    if crasher:
        crashing = pod_document(
            "crasher",
            extra_spec={"hostNetwork": True, "terminationGracePeriodSeconds": 0},
        )
        crashing["spec"]["containers"][0]["livenessProbe"] = {
            "httpGet": {"path": "/healthz", "port": CLOSED_PORT},
            "periodSeconds": 1,
            "failureThreshold": 1,
        }
        (manifests / "crasher.json").write_text(json.dumps(crashing))
    return RunningFastpod(
        [
            "--pod-manifest-path",
            str(manifests),
            "--root-dir",
            str(tmp_path / "root"),
            "--kubeconfig",
            str(kubeconfig),
            "--restart-backoff",
            "1",
            "2",
        ],
        workers=1,
        runtime="fake",
        api_port=free_port(),
    )


def stored_events(server: LocalApiServer) -> list[Object]:
    return server.call(lambda: server.emulator.stored_all("v1/events"))


def event_of(server: LocalApiServer, pod: str, reason: str) -> Object | None:
    for event in stored_events(server):
        if event["involvedObject"]["name"] == pod and event["reason"] == reason:
            return event
    return None


def event_posts(server: LocalApiServer) -> int:
    """Event creates asked of the server so far, refused or not."""
    return sum(
        1 for method, path in server.requests() if method == "POST" and path.endswith("/events")
    )


def counted(event: Object | None) -> Object | None:
    """``event`` once it has been seen more than once."""
    return event if event is not None and event["count"] >= 2 else None


def test_kubectl_shows_a_static_pods_events_counted_as_on_a_kubelet_node(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubelet.conf")
    fastpod = start(tmp_path, kubeconfig)
    try:
        fastpod.wait_for_event("container started", pod="default/web-node1")
        backoff = wait_for(lambda: counted(event_of(api_server, "crasher-node1", "BackOff")), 60)
        wait_for(lambda: api_server.stored("v1/pods", "default", "web-node1"), timeout=30)
        listed = kubectl(kubeconfig, "get", "events", "-A", "-o", "wide")
        described = kubectl(kubeconfig, "describe", "pod", "web-node1")
        described_crasher = kubectl(kubeconfig, "describe", "pod", "crasher-node1")
        kubectl_events = kubectl(kubeconfig, "events", "--for", "pod/crasher-node1")
        requests = api_server.requests()
    finally:
        assert fastpod.stop() == 0

    web = {
        e["reason"]: e
        for e in stored_events(api_server)
        if e["involvedObject"]["name"] == "web-node1"
    }
    assert {"Pulled", "Created", "Started"} <= set(web)
    started = web["Started"]
    mirror = api_server.stored("v1/pods", "default", "web-node1")
    assert mirror is not None
    assert (
        started["involvedObject"]["uid"]
        == mirror["metadata"]["annotations"]["kubernetes.io/config.mirror"]
    )
    assert started["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert started["source"] == {"component": "kubelet", "host": "node1"}
    assert started["count"] == 1

    assert backoff is not None
    assert backoff["type"] == "Warning"
    assert backoff["message"].startswith("Back-off restarting failed container app in pod")
    crasher = [
        e for e in stored_events(api_server) if e["involvedObject"]["name"] == "crasher-node1"
    ]
    assert [e["reason"] for e in crasher].count("BackOff") == 1, "counted on one Event"
    [restarts] = [e for e in crasher if e["reason"] == "Started"]
    assert restarts["count"] >= 2, "every start is the same event, counted"
    patches = [path for method, path in requests if method == "PATCH" and "/events/" in path]
    assert patches, "a repeated event is a PATCH of the first"

    for reason in ("Pulled", "Created", "Started"):
        assert any(reason in line and "pod/web-node1" in line for line in listed.splitlines())
    events_part = described.split("Events:", 1)[1]
    for reason in ("Pulled", "Created", "Started"):
        assert any(reason in line and "kubelet" in line for line in events_part.splitlines())
    crasher_events = described_crasher.split("Events:", 1)[1].splitlines()
    backoff_line = next(line for line in crasher_events if "BackOff" in line)
    assert "(x" in backoff_line, "kubectl shows the count"
    listed_backoff = next(line for line in kubectl_events.splitlines() if "BackOff" in line)
    assert "(x" in listed_backoff, "kubectl events shows it too"


def test_events_refused_are_logged_once_and_events_made_while_the_api_is_gone_come_later(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubelet.conf")
    fastpod = start(tmp_path, kubeconfig, crasher=False)
    manifests = tmp_path / "manifests"
    try:
        fastpod.wait_for(lambda: bool(fastpod.events("node registered")), timeout=20)
        wait_for(lambda: event_of(api_server, "web-node1", "Started"), timeout=20)

        before = event_posts(api_server)
        api_server.call(lambda: api_server.emulator.refuse("POST", "/events", 403))
        (manifests / "refused.json").write_text(json.dumps(pod_document("refused")))
        fastpod.wait_for_event("container started", pod="default/refused-node1")
        # its four events (MissingClusterDNS, Pulled, Created, Started), each refused
        wait_for(lambda: event_posts(api_server) >= before + 4)
        api_server.call(api_server.emulator.lift)

        api_server.pause()
        (manifests / "late.json").write_text(json.dumps(pod_document("late")))
        fastpod.wait_for_event("container started", pod="default/late-node1")
        health = fastpod.get("/healthz")
        api_server.resume()
        wait_for(lambda: event_of(api_server, "late-node1", "Started"), timeout=30)
        failures = fastpod.events("API server call failed", call="event")
        recovered = fastpod.events("API server call succeeded again", call="event")
    finally:
        assert fastpod.stop() == 0

    assert health == (200, b"ok")
    assert event_of(api_server, "refused-node1", "Started") is None, "a refusal drops it"
    assert len(failures) == 1, "a 403 streak is logged once"
    assert "403" in failures[0]["error"]
    assert recovered
    late = {
        e["reason"]
        for e in stored_events(api_server)
        if e["involvedObject"]["name"] == "late-node1"
    }
    assert {"Pulled", "Created", "Started"} <= late
