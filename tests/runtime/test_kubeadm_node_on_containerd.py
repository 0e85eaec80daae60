"""kubeadm's unit with fastpod's drop-in, on a CRI runtime: kubeadm-flags.env's endpoint
(``unix:///var/run/containerd/containerd.sock``) unchanged, which in fastpod's namespaces is
fastpod's private containerd."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from cri_api.v1 import api_pb2 as cri_pb

from tests.support.containerd_engine import CONTAINERD_SOCKET, TIMEOUT, Cri, cri, remove_all
from tests.support.engine_lock import engines_held
from tests.support.engines import manifest
from tests.support.kubeadm_node import KubeadmNode, get_inside

pytestmark = [pytest.mark.containerd, pytest.mark.e2e]


@pytest.fixture
def containerd() -> Iterator[Cri]:
    """The private containerd, held, with no fastpod pod before or after the test."""
    with engines_held(), cri() as client:
        remove_all(client)
        yield client
        remove_all(client)


def test_kubeadms_unit_runs_its_static_pod_on_the_cri_endpoint_kubeadm_names(
    tmp_path: Path, containerd: Cri
) -> None:
    node = KubeadmNode.lay_out(
        tmp_path,
        "--hostname-override=node1 --config-dir=/etc/kubernetes/kubelet.conf.d",
        f"--log-format=json --root-dir={tmp_path}/root",
        manifests={"web.yaml": manifest("web")},
        drop_in=f"podLogsDir: {tmp_path / 'logs'}\n",
    )
    fastpod = node.start(node.drop_in_command(), containerd=os.path.dirname(CONTAINERD_SOCKET))
    try:
        fastpod.wait_for_event("container started", pod="default/web-node1")
        health = get_inside(fastpod, "http://127.0.0.1:10248/healthz")
        listed = containerd.runtime.ListContainers(
            cri_pb.ListContainersRequest(
                filter=cri_pb.ContainerFilter(
                    state=cri_pb.ContainerStateValue(state=cri_pb.CONTAINER_RUNNING),
                    label_selector={"io.kubernetes.pod.name": "web-node1"},
                )
            ),
            timeout=TIMEOUT,
        )
    finally:
        assert fastpod.stop() == 0
    assert health == (200, "ok")
    (container,) = listed.containers
    assert container.labels["io.kubernetes.container.name"] == "main"
    (started,) = fastpod.events("fastpod started")
    assert started["runtime"] == "cri"
