"""Manifests: bytes → Pod, exactly as the kubelet decodes, defaults and validates them."""

from fastpod.manifest.decode import DecodedPod, decode_pod, decode_pod_list
from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.manifest.problems import ManifestError, Problem

__all__ = [
    "MAX_MANIFEST_BYTES",
    "DecodedPod",
    "ManifestError",
    "Problem",
    "decode_pod",
    "decode_pod_list",
]
