"""A pod's addresses on every real runtime, end to end through ``fastpod run``: ``/pods``
shows what the runtime reports for the sandbox, and the container's downward API the same.

On containerd the test CNI plugin (``scripts/containerd/fastpod-loopback``) reports
``127.0.0.1``; Docker's sandboxes are on its ``none`` network and have no address, so a
pod-network pod has no ``podIP`` there, as cri-dockerd would report it. A hostNetwork pod
has the node's address on both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.engines import Engine, manifest, start, wait_until
from tests.support.running import RunningFastpod, free_port

ECHO_ADDRESSES = "echo ip=$POD_IP ips=$POD_IPS; sleep 3600"

ADDRESS_ENV = """\
    env:
    - name: POD_IP
      valueFrom: {fieldRef: {fieldPath: status.podIP}}
    - name: POD_IPS
      valueFrom: {fieldRef: {fieldPath: status.podIPs}}
"""


def statuses(fastpod: RunningFastpod) -> dict[str, dict[str, Any]]:
    """Each pod's ``status`` as ``/pods`` serves it, by the name in its manifest."""
    items = json.loads(fastpod.get("/pods")[1])["items"]
    return {item["metadata"]["name"].removesuffix("-node1"): item["status"] for item in items}


def test_pod_ips_are_the_runtimes_and_reach_the_downward_api(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    (manifests / "inside.yaml").write_bytes(
        manifest("inside", command=ECHO_ADDRESSES, extra=ADDRESS_ENV)
    )
    (manifests / "host.yaml").write_bytes(
        manifest("host", command=ECHO_ADDRESSES, host_network=True, extra=ADDRESS_ENV)
    )
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        for name in ("inside", "host"):

            def echoed(name: str = name) -> bool:
                running = engine.containers(name, "main", running_only=True)
                return bool(running) and "ip=" in engine.output(running[0])

            wait_until(echoed)
        served = statuses(fastpod)

        (sandbox,) = engine.sandboxes("inside", ready_only=True)
        reported = list(sandbox.ips)
        assert [entry["ip"] for entry in served["inside"].get("podIPs", [])] == reported
        assert served["inside"].get("podIP") == (reported[0] if reported else None)
        (inside,) = engine.containers("inside")
        assert (
            engine.output(inside)
            == f"ip={served['inside'].get('podIP', '')} ips={','.join(reported)}\n"
        )

        host_ip = served["host"]["hostIP"]
        assert served["host"]["podIPs"] == [{"ip": host_ip}]
        (host,) = engine.containers("host")
        assert engine.output(host) == f"ip={host_ip} ips={host_ip}\n"
    finally:
        fastpod.stop()
