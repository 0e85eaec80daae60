"""decode_pod on a real kubeadm manifest, each path timed beside the bare parser under it.

Every benchmark group pairs ``decode_pod`` (role ``subject``) with the fastest thing that
could possibly read the same bytes (role ``floor``); ``conftest.py`` prints the medians side
by side as a ratio at the end of the run. The targets are printed, never asserted: machines
are noisy. See README.md.
"""

from __future__ import annotations

import json

import msgspec
import pytest
import yaml
from pytest_benchmark.fixture import BenchmarkFixture

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.documents import Document, load_document
from fastpod.manifest.not_honoured import warnings
from fastpod.model import PodSource
from tests.support.corpus import corpus_dir

MANIFEST = "zetaoss__zeta-linux/kube-apiserver.yaml"
"""kube-apiserver as ``kubeadm init`` writes it for Kubernetes v1.29 (image v1.29.0), in the
manifest corpus."""

SOURCE = PodSource("file", "/etc/kubernetes/manifests/kube-apiserver.yaml")
NODE = "node1"

YAML_GROUP = "yaml: decode_pod vs CSafeLoader"
JSON_GROUP = "json: decode_pod vs msgspec.json.decode"
NOT_HONOURED_GROUP = "not honoured: warnings(pod) vs decode_pod (JSON)"


@pytest.fixture(scope="module")
def yaml_bytes() -> bytes:
    data = (corpus_dir() / MANIFEST).read_bytes()
    assert b"kube-apiserver:v1.29" in data
    return data


@pytest.fixture(scope="module")
def json_bytes(yaml_bytes: bytes) -> bytes:
    data = json.dumps(yaml.safe_load(yaml_bytes)).encode()
    assert data.startswith(b"{")  # so decode_pod takes its JSON fast path
    # Both paths must time the same work: the same pod, so the same UID, and no warnings.
    assert _uid(data) == _uid(yaml_bytes)
    return data


def _uid(data: bytes) -> str | None:
    decoded = decode_pod(data, SOURCE, NODE)
    assert decoded.warnings == []
    return decoded.pod.metadata.uid


@pytest.mark.benchmark(group=YAML_GROUP)
def test_yaml_decode_pod(benchmark: BenchmarkFixture, yaml_bytes: bytes) -> None:
    benchmark.extra_info.update(role="subject", label="decode_pod", target_ratio=1.25)
    result = benchmark(decode_pod, yaml_bytes, SOURCE, NODE)
    assert result.pod.metadata.name == f"kube-apiserver-{NODE}"


@pytest.mark.benchmark(group=YAML_GROUP)
def test_yaml_load_document(benchmark: BenchmarkFixture, yaml_bytes: bytes) -> None:
    """fastpod's parse step alone (KubeYamlLoader): how much of the gap is parsing."""
    benchmark.extra_info.update(role="stage", label="load_document (KubeYamlLoader)")
    result = benchmark(load_document, yaml_bytes)
    assert isinstance(result, Document)
    assert result.value["kind"] == "Pod"


@pytest.mark.benchmark(group=YAML_GROUP)
def test_yaml_floor_csafeloader(benchmark: BenchmarkFixture, yaml_bytes: bytes) -> None:
    benchmark.extra_info.update(role="floor", label="CSafeLoader")
    result = benchmark(yaml.load, yaml_bytes, Loader=yaml.CSafeLoader)
    assert result["kind"] == "Pod"


@pytest.mark.benchmark(group=JSON_GROUP)
def test_json_decode_pod(benchmark: BenchmarkFixture, json_bytes: bytes) -> None:
    benchmark.extra_info.update(role="subject", label="decode_pod", target_us=60)
    result = benchmark(decode_pod, json_bytes, SOURCE, NODE)
    assert result.pod.metadata.name == f"kube-apiserver-{NODE}"


@pytest.mark.benchmark(group=JSON_GROUP)
def test_json_floor_msgspec(benchmark: BenchmarkFixture, json_bytes: bytes) -> None:
    benchmark.extra_info.update(role="floor", label="msgspec floor")
    result = benchmark(msgspec.json.decode, json_bytes)
    assert result["kind"] == "Pod"


@pytest.mark.benchmark(group=NOT_HONOURED_GROUP)
def test_not_honoured_warnings(benchmark: BenchmarkFixture, json_bytes: bytes) -> None:
    """What naming the fields fastpod does not honour adds to each pod a worker takes."""
    benchmark.extra_info.update(role="subject", label="warnings(pod)", target_ratio=0.1)
    pod = decode_pod(json_bytes, SOURCE, NODE).pod
    result = benchmark(warnings, pod)
    assert isinstance(result, list)


@pytest.mark.benchmark(group=NOT_HONOURED_GROUP)
def test_not_honoured_floor_decode_pod(benchmark: BenchmarkFixture, json_bytes: bytes) -> None:
    """The decode of the same manifest on its fastest path: the work warnings(pod) adds to."""
    benchmark.extra_info.update(role="floor", label="decode_pod (JSON)")
    result = benchmark(decode_pod, json_bytes, SOURCE, NODE)
    assert result.pod.metadata.name == f"kube-apiserver-{NODE}"
