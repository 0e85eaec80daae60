"""rapidyaml's path says nothing on standard error, whatever it is given: fastpod's log is
its standard error, and every line there must be a JSON record (issue 17, scenario 6)."""

from __future__ import annotations

import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.fast_yaml import fast_load
from fastpod.manifest.problems import ManifestError
from fastpod.model import PodSource

DEPTH = 80
"""Deeper than rapidyaml's emitter goes (64), shallower than the parsers' limits."""


def nested(depth: int) -> bytes:
    """A one-line JSON pod whose annotations nest ``depth`` objects deep."""
    value = '{"a": ' * depth + "1" + "}" * depth
    return (
        '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "deep", '
        f'"annotations": {value}}}, "spec": {{"containers": '
        '[{"name": "c", "image": "busybox"}]}}'
    ).encode()


def test_a_manifest_nested_past_rapidyamls_emitter_writes_nothing_on_stderr(
    capfd: pytest.CaptureFixture[str],
) -> None:
    assert fast_load(nested(DEPTH)) is None, "left to libyaml"
    with pytest.raises(ManifestError):
        decode_pod(nested(DEPTH), PodSource("file", "/m/deep.yaml"), "node1")

    assert capfd.readouterr().err == ""
