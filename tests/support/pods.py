"""Pod manifests for tests: the document, its bytes, its key and the pod it decodes to."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from fastpod.manifest.decode import decode_pod, decode_pod_list
from fastpod.model import Pod, PodSource

NODE = "node1"
"""The node every test pod is for."""


def pod_document(
    name: str,
    *,
    image: str = "busybox:1.36",
    image_pull_policy: str | None = None,
    containers: Iterable[str] = ("app",),
    uid: str | None = None,
    namespace: str | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
    extra_spec: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Pod manifest as a JSON-shaped dict: a container per name of ``containers``, each
    running ``image``; ``extra_*`` are merged in as they are."""
    metadata: dict[str, Any] = {"name": name, **(extra_metadata or {})}
    if uid is not None:
        metadata["uid"] = uid
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels is not None:
        metadata["labels"] = dict(labels)
    if annotations is not None:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "containers": [
                {
                    "name": each,
                    "image": image,
                    **({"imagePullPolicy": image_pull_policy} if image_pull_policy else {}),
                }
                for each in containers
            ],
            **(extra_spec or {}),
        },
    }


def pod_manifest(name: str, **options: Any) -> bytes:
    """The bytes of a Pod manifest (JSON, which is YAML too)."""
    return json.dumps(pod_document(name, **options)).encode()


def pod_list(*documents: dict[str, Any]) -> bytes:
    """The bytes of a v1 PodList holding ``documents``."""
    return json.dumps({"apiVersion": "v1", "kind": "PodList", "items": list(documents)}).encode()


def pod_key(name: str, namespace: str = "default") -> str:
    """The key fastpod gives the pod called ``name`` in a manifest, on :data:`NODE`."""
    return f"{namespace}/{name}-{NODE}"


def decoded(body: bytes, source: PodSource) -> Pod:
    """The one pod of ``body`` as ``source`` would give it."""
    if source.kind == "file":
        return decode_pod(body, source, NODE).pod
    (item,) = decode_pod_list(body, source, NODE)
    return item.pod
