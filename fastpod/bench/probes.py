"""``fastpod bench probes``: how many probes fastpod runs a second, and what they cost.

N pods run with a readiness probe on each container (an exec of ``--probe-command``, by
default ``true``, every second: the kubelet's shortest period). Once they have settled, a
window of ``--window`` seconds counts the probes run (fastpod's own ``prober_probe_total``,
read from its ``/metrics``) and fastpod's CPU: probes per second sustained, beside the
N x containers a second asked for, and the CPU per probe. A probe whose command fails is
still a probe run (a readiness probe never restarts anything).
"""

from __future__ import annotations

import socket
import urllib.request

from msgspec import structs

from fastpod import __version__
from fastpod.bench.density import SETTLE, idle_window
from fastpod.bench.record import Run
from fastpod.bench.session import Bench

METRIC = "prober_probe_total"


def probe_count(metrics: str) -> int:
    """The sum of every ``prober_probe_total`` series in Prometheus text (pure)."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith((f"{METRIC}{{", f"{METRIC} ")):
            total += float(line.rsplit(" ", 1)[1])
    return round(total)


def measure_fastpod(bench: Bench) -> Run:
    """fastpod's probe rate and CPU over one window, the pods settled."""
    port = _free_port()
    url = bench.server.url if bench.server else f"http://127.0.0.1:{port}"
    steps = []
    with bench.fastpod("fastpod", ["--read-only-port", str(port)]) as (subject, workspace, _):
        names = bench.pod_names(bench.options.pods)
        bench.start_pods(subject, workspace, names)
        bench.pause(SETTLE)
        if not bench.interrupted():
            before = probe_count(_metrics(url))
            step = idle_window(bench, subject, bench.options.pods)
            probes = probe_count(_metrics(url)) - before
            steps.append(structs.replace(step, probes=probes))
    return Run(name="fastpod", role="subject", status="measured", version=__version__, steps=steps)


def _metrics(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as reply:
        return str(reply.read().decode())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
