"""The pure core loads no I/O module when imported: package ``__init__`` files stay light.

import-linter (``make lint``) checks the import graph; this checks what an import actually
runs, which the graph does not show: a package's ``__init__`` runs before any of its modules.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

PURE_CORE = (
    "fastpod.lifecycle",
    "fastpod.backoff",
    "fastpod.runtime.spec",
    "fastpod.runtime.environment",
    "fastpod.runtime.resources",
    "fastpod.runtime.addresses",
    "fastpod.runtime.security",
    "fastpod.runtime.dns",
    "fastpod.runtime.hosts",
    "fastpod.runtime.sandbox",
    "fastpod.runtime.projection",
    "fastpod.runtime.volume_layout",
    "fastpod.manifest.volume_support",
    "fastpod.runtime.logrotation",
    "fastpod.runtime.admission",
    "fastpod.runtime.oom",
    "fastpod.runtime.cri.configs",
    "fastpod.manifest.honoured",
    "fastpod.manifest.not_honoured",
    "fastpod.status.compute",
    "fastpod.status.api_view",
    "fastpod.worker.desired",
    "fastpod.probes.decisions",
    "fastpod.probes.ports",
    "fastpod.probes.result",
    "fastpod.runtime.foreign",
    "fastpod.takeover.compare",
    "fastpod.takeover.plan",
    "fastpod.health",
    "fastpod.cluster.node_object",
    "fastpod.cluster.mirror_object",
    "fastpod.cluster.lease",
    "fastpod.cluster.ratelimit",
    "fastpod.cluster.retry",
)
IO_MODULES = (
    "yaml",
    "aiohttp",
    "grpc",
    "h11",
    "psutil",
    "prometheus_client",
    "fastpod.logs",
    "fastpod.config.settings",
    "fastpod.manifest.yaml11",
    "fastpod.runtime.docker.runtime",
    "fastpod.runtime.fake",
    "fastpod.runtime.cri.runtime",
    "lightkube",
    "httpx2",
    "fastpod.cluster.client",
)

LOADED_BY_THIRD_PARTIES = {
    # The published CRI stubs' package __init__ imports their gRPC half too; the builder
    # itself uses only the protobuf messages.
    "fastpod.runtime.cri.configs": {"grpc"},
}


@pytest.mark.parametrize("module", PURE_CORE)
def test_importing_a_pure_core_module_loads_no_io_module(module: str) -> None:
    program = (
        f"import sys, {module}\nprint(' '.join(m for m in {IO_MODULES!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout.split()
    assert set(loaded) <= LOADED_BY_THIRD_PARTIES.get(module, set())
