"""What resolving a container's security costs each time one starts, beside the runtime
view of the container that the start works out anyway (``container_spec``, of which it is
a part): the container's profiles, label, groups and flags (``security``) and its OOM score
adjustment; and, once a pod, the admit handlers and the sandbox's security.

The pod is kube-apiserver as kubeadm writes it for v1.29 (``seccompProfile:
RuntimeDefault``, ``system-node-critical``, CPU requests), on a node with
``allowedUnsafeSysctls`` and a clamped OOM score. See README.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml
from pytest_benchmark.fixture import BenchmarkFixture

from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod, PodSource
from fastpod.runtime.admission import admit
from fastpod.runtime.oom import allowed, container_oom_score_adj
from fastpod.runtime.security import HostFacts, NodeSecurity, sandbox_security
from fastpod.runtime.spec import PodContext, container_spec, security
from tests.support.corpus import corpus_dir

MANIFEST = "zetaoss__zeta-linux/kube-apiserver.yaml"
SOURCE = PodSource("file", "/etc/kubernetes/manifests/kube-apiserver.yaml")
GROUPS = {
    "node-critical": "security, kube-apiserver: a container's security + OOM score vs its "
    "container_spec",
    "burstable": "security, kube-apiserver as a Burstable pod: a container's security + OOM "
    "score vs its container_spec",
}
NODE = NodeSecurity(
    allowed_unsafe_sysctls=("net.core.somaxconn",),
    host=HostFacts(kernel_version=(6, 1, 0), memory_capacity=16 * 2**30, oom_score_adj_floor=0),
)
CONTEXT = PodContext("192.0.2.1", "192.0.2.1", "/var/lib/fastpod/pods/u/volumes", node=NODE)


def _pod(variant: str) -> Pod:
    """kube-apiserver, node-critical as kubeadm writes it or (``burstable``) without its
    priority class, so that its OOM score is worked out from its QoS class."""
    document = yaml.safe_load((corpus_dir() / MANIFEST).read_bytes())
    if variant == "burstable":
        del document["spec"]["priorityClassName"]
    document["spec"]["securityContext"]["sysctls"] = [
        {"name": "kernel.shm_rmid_forced", "value": "1"}
    ]
    return decode_pod(json.dumps(document).encode(), SOURCE, "node1").pod


def _subject(pod: Pod) -> Callable[[], object]:
    """What a container start now resolves of the container's security."""
    (container,) = pod.spec.containers or []
    floor = NODE.host.oom_score_adj_floor

    def resolve() -> object:
        adjust = allowed(container_oom_score_adj(pod, container, NODE.host.memory_capacity), floor)
        return security(pod, container, NODE), adjust

    return resolve


def _per_pod(pod: Pod) -> Callable[[], object]:
    """Once a pod: the admit handlers and the sandbox's security."""

    def resolve() -> object:
        return admit(pod, NODE), sandbox_security(pod, NODE)

    return resolve


def _floor(pod: Pod) -> Callable[[], object]:
    """The container's whole runtime view, security included, as a start works it out."""
    (container,) = pod.spec.containers or []

    def build() -> object:
        return container_spec(pod, container, 0, "regular", CONTEXT)

    return build


@pytest.mark.parametrize("variant", list(GROUPS))
@pytest.mark.parametrize("role", ["subject", "stage", "floor"])
def test_resolving_security_beside_the_container_spec(
    benchmark: BenchmarkFixture, role: str, variant: str
) -> None:
    pod = _pod(variant)
    benchmark.group = GROUPS[variant]
    if role == "subject":
        benchmark.extra_info.update(role="subject", label="security + OOM score", target_ratio=0.25)
        found, adjust = benchmark(_subject(pod))
        assert found.seccomp.kind == "RuntimeDefault"
        assert adjust == (0 if variant == "node-critical" else 999), "clamped at the floor"
    elif role == "stage":
        benchmark.extra_info.update(role="stage", label="admission + sandbox (once a pod)")
        rejection, _ = benchmark(_per_pod(pod))
        assert rejection is None
    else:
        benchmark.extra_info.update(role="floor", label="container_spec")
        spec = benchmark(_floor(pod))
        assert spec.security.seccomp.kind == "RuntimeDefault"
