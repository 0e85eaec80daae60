"""Decoding whole manifests: one Pod per file, lists from URLs, errors that name the problem."""

from __future__ import annotations

import pytest

from fastpod.manifest.decode import decode_pod, decode_pod_list
from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.manifest.problems import ManifestError, Problem
from fastpod.model import PodSource
from tests.support import FILE, URL, manifest_bytes


def problems_of(data: bytes, source: PodSource = FILE) -> list[Problem]:
    decode = decode_pod if source.kind == "file" else decode_pod_list
    with pytest.raises(ManifestError) as caught:
        decode(data, source, "node1")
    assert caught.value.source == source.location
    return caught.value.problems


def described(data: bytes, source: PodSource = FILE) -> list[str]:
    return [problem.describe() for problem in problems_of(data, source)]


def test_a_valid_manifest_decodes_without_warnings() -> None:
    """The happy path: nothing to report."""
    decoded = decode_pod(manifest_bytes("kubeadm-etcd.yaml"), FILE, "node1")
    assert decoded.pod.metadata.name == "etcd-node1"
    assert decoded.warnings == []


def test_every_validation_error_is_reported_at_once_with_lines() -> None:
    """One run shows everything to fix, each at its field and line."""
    assert described(manifest_bytes("many-problems.yaml")) == [
        'line 4: metadata.name: Invalid value: "Broken_Name-node1": a lowercase RFC 1123 '
        "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for "
        "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'line 6: metadata.labels[bad key!]: Invalid value: "bad key!": name part must consist '
        "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
        "alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for "
        "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "line 11: spec.containers[0].image: Required value",
        "line 13: spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be "
        "between 1 and 65535, inclusive",
        'line 16: spec.containers[0].ports[1].name: Duplicate value: "http"',
        'line 18: spec.containers[0].volumeMounts[0].name: Not found: "nowhere"',
        "line 23: spec.containers[0].livenessProbe.httpGet: Forbidden: may not specify more "
        "than 1 handler type",
        'line 25: spec.containers[1].name: Duplicate value: "app"',
        'line 27: spec.containers[1].imagePullPolicy: Unsupported value: "Sometimes": '
        'supported values: "Always", "IfNotPresent", "Never"',
        'line 8: spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "Never", "OnFailure"',
    ]


def test_a_type_error_names_the_field_and_line() -> None:
    """Decoding stops at a wrong type, as Go's decoder does, and says where."""
    data = manifest_bytes("minimal.yaml") + b"    env:\n    - name: DEBUG\n      value: yes\n"
    assert described(data) == [
        "line 12: spec.containers[0].env[0].value: Expected `str | null`, got `bool`"
    ]


def test_malformed_yaml_gives_line_and_parser_message() -> None:
    """Bytes that are not YAML at all."""
    (problem,) = problems_of(b"apiVersion: v1\nkind: Pod\nmetadata: {name: [x\n")
    assert problem.line == 4
    assert problem.message.startswith("not valid YAML or JSON")


def test_a_pod_list_in_a_file_is_rejected() -> None:
    """Files hold exactly one Pod; only URLs may serve lists."""
    (problem,) = problems_of(manifest_bytes("pod-list.yaml"))
    assert problem.field == "kind"
    assert "exactly one Pod, not a PodList" in problem.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not a Pod: the document is empty"),
        (b"- a\n- b\n", "not a Pod: the document is a list, not an object"),
        (b"just text\n", "not a Pod: the document is a str, not an object"),
        (b"apiVersion: v1\nkind: Service\n", "kind: Unsupported value: 'Service'"),
        (b"apiVersion: apps/v1\nkind: Pod\n", "apiVersion: Unsupported value: 'apps/v1'"),
        (b"kind: Pod\n", "apiVersion: Required value"),
        (b"apiVersion: v1\nkind: Pod\nspec: {}\n", "metadata.name: Required value"),
    ],
)
def test_documents_that_are_not_pods_are_rejected(data: bytes, expected: str) -> None:
    """The universal decoder needs v1 and Pod; the kubelet needs a name."""
    assert any(expected in line for line in described(data))


def test_manifests_over_ten_mebibytes_are_rejected() -> None:
    """maxConfigLength: the kubelet reads at most 10 MiB."""
    data = manifest_bytes("minimal.yaml") + b"#" * MAX_MANIFEST_BYTES
    (problem,) = problems_of(data)
    assert "more than the 10485760 bytes (10 MiB)" in problem.message


def test_a_second_document_is_ignored_with_a_warning() -> None:
    """yaml.Unmarshal reads only the first document of a stream."""
    decoded = decode_pod(manifest_bytes("two-documents.yaml"), FILE, "node1")
    assert decoded.pod.metadata.name == "first-node1"
    assert [warning.message for warning in decoded.warnings] == [
        "only the first YAML document is read, as the kubelet does; 1 more ignored"
    ]


def test_unknown_fields_are_accepted_with_a_warning_at_their_line() -> None:
    """The kubelet's decoder is lenient; fastpod says what it ignored."""
    data = manifest_bytes("minimal.yaml") + b"    sidecarMagic: true\n  nodeTeleport: {x: 1}\n"
    decoded = decode_pod(data, FILE, "node1")
    assert [warning.describe() for warning in decoded.warnings] == [
        "line 10: spec.containers[0].sidecarMagic: unknown field, ignored",
        "line 11: spec.nodeTeleport: unknown field, ignored",
    ]


def test_a_url_may_serve_a_single_pod_or_a_list() -> None:
    """tryDecodeSinglePod, then tryDecodePodList; list items need not repeat their kind."""
    assert len(decode_pod_list(manifest_bytes("minimal.yaml"), URL, "node1")) == 1
    pods = decode_pod_list(manifest_bytes("pod-list.yaml"), URL, "node1")
    assert [item.pod.metadata.name for item in pods] == ["one-node1", "two-node1"]


def test_one_invalid_item_rejects_the_whole_url_list() -> None:
    """All pods of a URL body, or none."""
    data = manifest_bytes("pod-list.yaml").replace(b"name: two", b"name: Two")
    (problem,) = problems_of(data, URL)
    assert problem.field == "items[1].metadata.name"
    assert problem.line == 13


def test_a_list_item_of_another_kind_is_rejected() -> None:
    """A PodList's items are Pods."""
    data = b"apiVersion: v1\nkind: PodList\nitems:\n- {apiVersion: v1, kind: Service}\n"
    assert any("must be a Pod, not 'Service'" in line for line in described(data, URL))


def test_a_url_serving_a_v1_list_is_refused_as_the_kubelet_refuses_it() -> None:
    """``tryDecodePodList`` decodes ``kind: List`` as the API's List, no PodList: "invalid
    pods list". The old pods stay, as for any refused body."""
    data = manifest_bytes("pod-list.yaml").replace(b"kind: PodList", b"kind: List")
    (problem,) = problems_of(data, URL)
    assert problem.field == "kind"
    assert "not a v1 List (write kind: PodList)" in problem.message


def test_a_file_holding_a_v1_list_is_refused() -> None:
    data = manifest_bytes("pod-list.yaml").replace(b"kind: PodList", b"kind: List")
    (problem,) = problems_of(data, FILE)
    assert problem.message == "a manifest file holds exactly one Pod, not a List"
