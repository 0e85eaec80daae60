"""Volumes when a manifest is read: what fastpod cannot mount is refused at the volume's
field with the reason, unless no container uses it (the kubelet never sets such a volume up,
so it is a warning); downward API items are checked as the API server checks them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.not_honoured import warnings as not_honoured
from fastpod.manifest.problems import ManifestError
from tests.support import FILE
from tests.support.pods import pod_document, pod_manifest


def manifest(*volumes: dict[str, Any], mounts: list[str] | None = None) -> bytes:
    """A pod ``web`` whose container ``app`` mounts ``mounts`` (every volume when None)."""
    names = [volume["name"] for volume in volumes] if mounts is None else mounts
    document = pod_document("web", extra_spec={"volumes": list(volumes)})
    document["spec"]["containers"][0]["volumeMounts"] = [
        {"name": name, "mountPath": f"/{name}"} for name in names
    ]
    return json.dumps(document).encode()


def errors(data: bytes) -> list[str]:
    try:
        decode_pod(data, FILE, "node1")
    except ManifestError as error:
        return [problem.describe() for problem in error.problems]
    return []


def warnings(data: bytes) -> list[str]:
    """What fastpod says of the pod beside running it: decoding's warnings and the
    registry's (:mod:`fastpod.manifest.honoured`)."""
    decoded = decode_pod(data, FILE, "node1")
    return [warning.describe() for warning in decoded.warnings] + not_honoured(decoded.pod)


def downward(*items: dict[str, Any], **source: Any) -> dict[str, Any]:
    return {"name": "info", "downwardAPI": {"items": list(items), **source}}


def field(path: str, field_path: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "fieldRef": {"fieldPath": field_path}, **extra}


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        pytest.param(
            {"name": "v", "nfs": {"server": "nfs.example.com", "path": "/exports"}},
            "spec.volumes[0].nfs: Forbidden: fastpod cannot mount nfs volumes: fastpod has no "
            "storage plugins",
            id="network-storage",
        ),
        pytest.param(
            {"name": "v", "csi": {"driver": "example.com/disk"}},
            "spec.volumes[0].csi: Forbidden: fastpod cannot mount csi volumes",
            id="csi",
        ),
        pytest.param(
            {"name": "v", "image": {"reference": "example.com/data:1", "pullPolicy": "Never"}},
            "spec.volumes[0].image: Forbidden: fastpod cannot mount image volumes: fastpod does "
            "not mount OCI images as volumes",
            id="image",
        ),
        pytest.param(
            {"name": "v", "emptyDir": {"medium": "HugePages-2Mi"}},
            "spec.volumes[0].emptyDir.medium: Forbidden: fastpod cannot mount emptyDir medium "
            "HugePages-2Mi: it does not mount hugetlbfs",
            id="huge-pages",
        ),
    ],
)
def test_a_mounted_volume_fastpod_cannot_provide_is_refused_with_the_reason(
    volume: dict[str, Any], expected: str
) -> None:
    assert any(expected in line for line in errors(manifest(volume))), errors(manifest(volume))


def test_a_volume_mounted_only_by_an_init_container_counts_as_used() -> None:
    data = pod_manifest(
        "web",
        extra_spec={
            "volumes": [{"name": "v", "nfs": {"server": "s", "path": "/"}}],
            "initContainers": [
                {
                    "name": "init",
                    "image": "busybox:1.36",
                    "volumeMounts": [{"name": "v", "mountPath": "/v"}],
                }
            ],
        },
    )

    assert any("spec.volumes[0].nfs: Forbidden" in line for line in errors(data))


@pytest.mark.parametrize(
    ("volume", "field_path"),
    [
        pytest.param({"name": "v", "nfs": {"server": "s", "path": "/"}}, "nfs", id="nfs"),
        pytest.param({"name": "v", "secret": {"secretName": "s"}}, "secret", id="secret"),
        pytest.param({"name": "v", "configMap": {"name": "c"}}, "configMap", id="config-map"),
        pytest.param(
            {"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
            "projected.sources[0].serviceAccountToken",
            id="token-projection",
        ),
    ],
)
def test_a_volume_no_container_mounts_is_a_warning_as_the_kubelet_skips_it(
    volume: dict[str, Any], field_path: str
) -> None:
    data = manifest(volume, mounts=[])

    assert errors(data) == []
    (warning,) = warnings(data)
    assert warning.startswith(f"spec.volumes[0].{field_path}: not honoured by fastpod: ")
    assert warning.endswith(
        "refused when a container mounts it, else never set up, as the kubelet skips an "
        "unused volume"
    )


def test_the_volumes_fastpod_provides_are_accepted_without_a_word() -> None:
    data = manifest(
        {"name": "host", "hostPath": {"path": "/tmp"}},
        {"name": "scratch", "emptyDir": {}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
        downward(field("name", "metadata.name"), field("labels", "metadata.labels")),
        {
            "name": "bundle",
            "projected": {
                "defaultMode": 0o400,
                "sources": [
                    {"downwardAPI": {"items": [field("uid", "metadata.uid")]}},
                    {"downwardAPI": {"items": [field("ns", "metadata.namespace", mode=0o600)]}},
                ],
            },
        },
    )

    assert errors(data) == []
    assert warnings(data) == []


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        pytest.param(
            downward(field("ip", "status.podIP")),
            'spec.volumes[0].downwardAPI.items[0].fieldRef.fieldPath: Unsupported value: "status'
            '.podIP"',
            id="env-only-field",
        ),
        pytest.param(
            downward(field("..data", "metadata.name")),
            'spec.volumes[0].downwardAPI.items[0].path: Invalid value: "..data": must not '
            "start with '..'",
            id="reserved-path",
        ),
        pytest.param(
            downward(field("a/../b", "metadata.name")),
            'spec.volumes[0].downwardAPI.items[0].path: Invalid value: "a/../b": must not '
            "contain '..'",
            id="climbing-path",
        ),
        pytest.param(
            downward(field("n", "metadata.name"), defaultMode=0o1000),
            "spec.volumes[0].downwardAPI.defaultMode: Invalid value: 512: must be a number "
            "between 0 and 0777",
            id="default-mode",
        ),
        pytest.param(
            downward(field("n", "metadata.name", mode=-1)),
            "spec.volumes[0].downwardAPI.items[0].mode: Invalid value: -1",
            id="item-mode",
        ),
        pytest.param(
            downward({"path": "n"}),
            "spec.volumes[0].downwardAPI.items[0]: Required value: one of fieldRef and "
            "resourceFieldRef is required",
            id="no-source",
        ),
        pytest.param(
            downward(
                {
                    "path": "n",
                    "fieldRef": {"fieldPath": "metadata.name"},
                    "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"},
                }
            ),
            'spec.volumes[0].downwardAPI.items[0]: Invalid value: "resource": fieldRef and '
            "resourceFieldRef can not be specified simultaneously",
            id="two-sources",
        ),
        pytest.param(
            downward(
                {
                    "path": "cpu",
                    "resourceFieldRef": {"containerName": "db", "resource": "limits.cpu"},
                }
            ),
            'spec.volumes[0].downwardAPI.items[0].resourceFieldRef.containerName: Not found: "db"',
            id="unknown-container",
        ),
        pytest.param(
            {
                "name": "info",
                "projected": {
                    "sources": [
                        {"downwardAPI": {"items": [field("same", "metadata.name")]}},
                        {"downwardAPI": {"items": [field("same", "metadata.uid")]}},
                    ]
                },
            },
            "spec.volumes[0].projected.sources[1].downwardAPI.items[0].path: Invalid value: "
            '"same": conflicting duplicate paths',
            id="projected-duplicate-path",
        ),
    ],
)
def test_downward_api_items_are_checked_as_the_api_server_checks_them(
    volume: dict[str, Any], expected: str
) -> None:
    found = errors(manifest(volume))
    assert any(expected in line for line in found), found


def test_a_resource_field_of_a_container_of_the_pod_is_accepted() -> None:
    item = {"path": "cpu", "resourceFieldRef": {"containerName": "app", "resource": "limits.cpu"}}

    assert errors(manifest(downward(item))) == []


def test_a_size_limit_is_named_only_on_a_disk_volume_which_it_does_not_bound() -> None:
    on_disk = manifest({"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}})
    in_memory = manifest({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}})

    (warning,) = warnings(on_disk)
    assert warning.startswith("spec.volumes[0].emptyDir.sizeLimit: partly honoured by fastpod")
    assert warnings(in_memory) == []
