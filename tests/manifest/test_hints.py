"""Hints: warnings for manifests the kubelet runs but that will not do what was meant."""

from __future__ import annotations

import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.problems import ManifestError
from tests.support import FILE, manifest_bytes


def warnings_for(data: bytes) -> list[str]:
    return [warning.describe() for warning in decode_pod(data, FILE, "node1").warnings]


@pytest.mark.parametrize("image", ["<your-image>", "Busybox", "busybox:1:2", "a//b"])
def test_a_placeholder_image_is_accepted_with_a_warning(image: str) -> None:
    """Validation only requires an image; the runtime would say InvalidImageName later."""
    data = manifest_bytes("minimal.yaml").replace(b"busybox:1.36", image.encode())
    assert warnings_for(data) == [
        f"line 8: spec.containers[0].image: {image!r} is not a valid image reference: the "
        "runtime will refuse it (InvalidImageName)"
    ]


@pytest.mark.parametrize(
    "image",
    ["busybox", "registry.k8s.io/etcd:3.5.12-0", "localhost:5000/a/b:1", "b@sha256:" + "f" * 64],
)
def test_real_image_references_give_no_warning(image: str) -> None:
    """Domains, ports, paths, tags and digests are all references."""
    data = manifest_bytes("minimal.yaml").replace(b"busybox:1.36", image.encode())
    assert warnings_for(data) == []


def test_shell_style_variables_are_flagged_and_kubernetes_ones_are_not() -> None:
    """``${VAR}`` reaches the program literally; ``$(VAR)`` is expanded by Kubernetes."""
    data = manifest_bytes("minimal.yaml").replace(
        b'["sleep", "3600"]', b'["sh", "--name=${NODE_NAME}", "$(POD_IP)"]'
    )
    assert warnings_for(data) == [
        "line 9: spec.containers[0].command[1]: ${NODE_NAME} is passed literally: Kubernetes "
        "expands only $(VAR), and no shell runs here (an unrendered template?)"
    ]


def test_unparseable_templates_are_named_as_such() -> None:
    """Jinja markers in a file that is not YAML make the likely cause explicit."""
    with pytest.raises(ManifestError) as caught:
        decode_pod(b"apiVersion: v1\n{% if x %}\nkind: Pod\n", FILE, "node1")
    assert caught.value.problems[0].message.startswith(
        "not valid YAML or JSON (an unrendered template?)"
    )
