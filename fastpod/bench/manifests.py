"""The pods a bench runs: one manifest per pod, in the run's own namespace (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"
"""The default image: the sandbox image every node has, whose process waits for a signal."""


GENERATION = "bench.fastpod.io/generation"
"""The annotation an edit changes: a new manifest, so a new pod (a new UID)."""


def pod_name(scenario: str, index: int) -> str:
    return f"{scenario}-{index:04d}"


def container_names(containers: int) -> list[str]:
    return [f"c{index}" for index in range(containers)]


def pod_manifest(
    name: str,
    namespace: str,
    image: str,
    containers: int,
    command: Sequence[str] = (),
    *,
    generation: int = 0,
    probe: Sequence[str] = (),
) -> str:
    """A pod of ``containers`` identical containers running ``image`` (with ``command``,
    if given), stopped within a second. ``generation`` (an annotation) makes an edited
    manifest, so a new pod; ``probe``, a command run as each container's readiness probe
    every second."""
    entries = []
    for container in container_names(containers):
        entry = (
            f"  - name: {container}\n    image: {json.dumps(image)}\n"
            "    imagePullPolicy: IfNotPresent\n"
        )
        if command:
            entry += f"    command: {json.dumps(list(command))}\n"
        if probe:
            entry += (
                "    readinessProbe:\n      periodSeconds: 1\n"
                f"      exec:\n        command: {json.dumps(list(probe))}\n"
            )
        entries.append(entry)
    annotations = (
        f"  annotations:\n    {GENERATION}: {json.dumps(str(generation))}\n" if generation else ""
    )
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n"
        f"  name: {name}\n  namespace: {namespace}\n{annotations}"
        "spec:\n  terminationGracePeriodSeconds: 1\n  containers:\n" + "".join(entries)
    )
