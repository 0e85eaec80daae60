"""An integer outside 64 bits reads as go-yaml reads it, whichever parser reads the
manifest (issue 17, scenario 6: a JSON manifest holding one made a pod no worker could send
to another, and the worker dropped the whole batch of messages it came in)."""

from __future__ import annotations

import msgspec
import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource

SOURCE = PodSource("file", "/etc/kubernetes/manifests/web.yaml")
HUGE = "1" + "0" * 40
BEYOND_FLOATS = "9" * 400

JSON = (
    '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": {'
    '"containers": [{"name": "c", "image": "busybox"}], "volumes": [{"name": "v", '
    f'"nfs": {{"server": "s", "path": "/", "port": {HUGE}, "other": {BEYOND_FLOATS}, '
    '"small": 18446744073709551615}}]}}'
)
YAML = (
    "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n"
    "  containers: [{name: c, image: busybox}]\n"
    f"  volumes: [{{name: v, nfs: {{server: s, path: /, port: {HUGE}, other: {BEYOND_FLOATS}, "
    "small: 18446744073709551615}}]\n"
)


@pytest.mark.parametrize("text", [JSON, YAML], ids=["json", "yaml"])
def test_an_integer_outside_64_bits_is_a_float_or_its_text_as_go_yaml_reads_it(
    text: str,
) -> None:
    pod = decode_pod(text.encode(), SOURCE, "node1").pod

    assert pod.spec.volumes is not None
    assert pod.spec.volumes[0].nfs == {
        "server": "s", "path": "/", "port": 1e40, "other": BEYOND_FLOATS,
        "small": 18446744073709551615,
    }  # fmt: skip
    msgspec.msgpack.encode(pod)  # what a worker sends another


def test_json_and_yaml_manifests_with_huge_integers_decode_to_the_same_pod() -> None:
    from_json = decode_pod(JSON.encode(), SOURCE, "node1").pod
    from_yaml = decode_pod(YAML.encode(), SOURCE, "node1").pod

    assert from_json.spec == from_yaml.spec
