"""The files of downwardAPI and projected volumes, as the kubelet's ``CollectData`` makes
them: content, path and mode of each."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fastpod.model import (
    DownwardAPIVolumeFile,
    DownwardAPIVolumeSource,
    Pod,
    ResourceFieldSelector,
    Volume,
)
from fastpod.runtime.projection import (
    FileProjection,
    ProjectionError,
    format_map,
    go_quote,
    volume_payload,
)
from fastpod.runtime.spec import NodeAllocatable, PodContext
from tests.support import FILE
from tests.support.pods import decoded, pod_document

CONTEXT = PodContext(
    host_ip="192.0.2.10",
    pod_ip="10.88.0.7",
    volumes_dir="/run/fastpod/pods/u",
    allocatable=NodeAllocatable(cpu_millis=2000, memory=4 * 2**30),
)


def pod_with(volume: dict[str, Any], **options: Any) -> Pod:
    document = pod_document("web", uid="u-1", extra_spec={"volumes": [volume]}, **options)
    document["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "250m"}}
    document["spec"]["containers"][0]["volumeMounts"] = [
        {"name": volume["name"], "mountPath": "/v"}
    ]
    return decoded(json.dumps(document).encode(), FILE)


def payload(volume: dict[str, Any], **options: Any) -> dict[str, FileProjection]:
    pod = pod_with(volume, **options)
    return volume_payload((pod.spec.volumes or [])[0], pod, CONTEXT)


def item(path: str, field_path: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "fieldRef": {"fieldPath": field_path}, **extra}


def test_pod_fields_are_written_as_they_are_with_the_default_mode_0644() -> None:
    files = payload(
        {
            "name": "info",
            "downwardAPI": {
                "items": [
                    item("name", "metadata.name"),
                    item("namespace", "metadata.namespace"),
                    item("uid", "metadata.uid"),
                ]
            },
        }
    )

    assert files == {
        "name": FileProjection(b"web-node1", 0o644),
        "namespace": FileProjection(b"default", 0o644),
        "uid": FileProjection(b"u-1", 0o644),
    }


def test_labels_are_key_quoted_value_lines_in_key_order_without_a_final_newline() -> None:
    files = payload(
        {"name": "info", "downwardAPI": {"items": [item("labels", "metadata.labels")]}},
        labels={"tier": "control-plane", "app": "etcd"},
    )

    assert files["labels"].data == b'app="etcd"\ntier="control-plane"'


def test_annotations_include_the_ones_the_kubelet_adds_to_a_static_pod() -> None:
    files = payload(
        {"name": "info", "downwardAPI": {"items": [item("a", "metadata.annotations")]}},
        annotations={"example.com/note": 'say "hi"\n'},
    )

    lines = files["a"].data.decode().split("\n")
    assert 'example.com/note="say \\"hi\\"\\n"' in lines
    assert 'kubernetes.io/config.hash="u-1"' in lines
    assert 'kubernetes.io/config.source="file"' in lines
    assert lines == sorted(lines)


def test_one_label_or_annotation_is_its_bare_value_and_a_missing_one_is_empty() -> None:
    files = payload(
        {
            "name": "info",
            "downwardAPI": {
                "items": [
                    item("tier", "metadata.labels['tier']"),
                    item("absent", "metadata.annotations['example.com/absent']"),
                ]
            },
        },
        labels={"tier": "control-plane"},
    )

    assert files["tier"].data == b"control-plane"
    assert files["absent"].data == b""


def test_an_items_mode_wins_over_the_default_mode_and_paths_are_cleaned() -> None:
    files = payload(
        {
            "name": "info",
            "downwardAPI": {
                "defaultMode": 0o400,
                "items": [
                    item("a//b/./name", "metadata.name"),
                    item("uid", "metadata.uid", mode=0o600),
                ],
            },
        }
    )

    assert files == {
        "a/b/name": FileProjection(b"web-node1", 0o400),
        "uid": FileProjection(b"u-1", 0o600),
    }


def test_resource_fields_read_the_named_container_and_fall_back_to_the_node() -> None:
    files = payload(
        {
            "name": "info",
            "downwardAPI": {
                "items": [
                    {
                        "path": "cpu",
                        "resourceFieldRef": {
                            "containerName": "app",
                            "resource": "limits.cpu",
                            "divisor": "1m",
                        },
                    },
                    {
                        "path": "memory",
                        "resourceFieldRef": {
                            "containerName": "app",
                            "resource": "limits.memory",
                            "divisor": "1Mi",
                        },
                    },
                ]
            },
        }
    )

    assert files["cpu"].data == b"250"
    assert files["memory"].data == b"4096", "no memory limit: the node's allocatable memory"


def test_a_projected_volume_collects_its_downward_api_sources_with_its_default_mode() -> None:
    files = payload(
        {
            "name": "bundle",
            "projected": {
                "defaultMode": 0o440,
                "sources": [
                    {"downwardAPI": {"items": [item("name", "metadata.name")]}},
                    {"downwardAPI": {"items": [item("meta/uid", "metadata.uid", mode=0o400)]}},
                ],
            },
        }
    )

    assert files == {
        "name": FileProjection(b"web-node1", 0o440),
        "meta/uid": FileProjection(b"u-1", 0o400),
    }


def test_volumes_fastpod_does_not_write_have_no_files() -> None:
    assert payload({"name": "scratch", "emptyDir": {}}) == {}


def test_a_resource_of_a_container_that_does_not_exist_has_no_value() -> None:
    """Refused when the manifest is read; a volume built past validation still fails
    clearly, as the kubelet's mount fails."""
    pod = pod_with({"name": "info", "emptyDir": {}})
    missing = Volume(
        name="info",
        downward_api=DownwardAPIVolumeSource(
            items=[
                DownwardAPIVolumeFile(
                    path="cpu",
                    resource_field_ref=ResourceFieldSelector(
                        container_name="gone", resource="limits.cpu"
                    ),
                )
            ],
            default_mode=0o644,
        ),
    )

    with pytest.raises(ProjectionError, match="container gone"):
        volume_payload(missing, pod, CONTEXT)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        pytest.param("plain", '"plain"', id="plain"),
        pytest.param('a "b" \\c', '"a \\"b\\" \\\\c"', id="quote-and-backslash"),
        pytest.param("tab\tnew\nline", '"tab\\tnew\\nline"', id="control-escapes"),
        pytest.param("\x1b[0m\x7f", '"\\x1b[0m\\x7f"', id="other-ascii-controls"),
        pytest.param("café ✓ 日本", '"café ✓ 日本"', id="printable-unicode-kept"),
        pytest.param("zero\u200bwidth", '"zero\\u200bwidth"', id="format-character"),
        pytest.param("\U000e0001", '"\\U000e0001"', id="astral-non-printable"),
    ],
)
def test_values_are_quoted_as_gos_strconv_quote_quotes_them(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_an_empty_map_is_an_empty_file() -> None:
    assert format_map({}) == ""
