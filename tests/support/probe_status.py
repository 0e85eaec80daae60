"""What fastpod serves of its probes: a pod's readiness in ``/pods``, the probe counts in
``/metrics``. The probe tests on the real runtimes watch these flip."""

from __future__ import annotations

from typing import Any

from tests.support.pods import NODE
from tests.support.prometheus_text import samples
from tests.support.running import RunningFastpod

Readiness = tuple[bool, str, str]
"""The container's ``ready``, and the pod's ``ContainersReady`` and ``Ready`` statuses."""

READY: Readiness = (True, "True", "True")
NOT_READY: Readiness = (False, "False", "False")


def pod_readiness(pod: dict[str, Any]) -> Readiness:
    """The readiness of a served pod that has one container."""
    (container,) = pod["status"]["containerStatuses"]
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    return container["ready"], conditions["ContainersReady"], conditions["Ready"]


def readiness(fastpod: RunningFastpod, pod: str | None = None) -> Readiness:
    """The readiness of the pod called ``pod`` in its manifest, or of the only pod."""
    served = fastpod.served_pods()
    if pod is None:
        (only,) = served.values()
        return pod_readiness(only)
    return pod_readiness(served[f"{pod}-{NODE}"])


def probe_count(fastpod: RunningFastpod, pod: str, probe_type: str, result: str) -> float:
    """``prober_probe_total`` of the pod called ``pod`` in its manifest, for one probe type
    (``Liveness``, ``Readiness``, ``Startup``) and result (``successful``, ``failed``,
    ``unknown``), summed over its containers: 0 for a probe that never ran."""
    status, body = fastpod.get("/metrics")
    assert status == 200, body
    wanted = {"pod": f"{pod}-{NODE}", "probe_type": probe_type, "result": result}
    return sum(
        value
        for (name, labels), value in samples(body).items()
        if name == "prober_probe_total" and wanted.items() <= dict(labels).items()
    )
