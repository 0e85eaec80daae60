"""The ``podman kube play`` peer: the same pods, from the same kind of manifests, by podman.

podman reads Kubernetes Pod manifests too, and runs each pod as an infra container and its
containers. All N pods go in one ``kube play`` (what a harness would do); each pod's sample
runs from that call to the start of the last of its containers (podman's own
``State.StartedAt``). A podman that is missing, lacks the image, or fails to start the pods
is reported with its reason, never left out.
"""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

import msgspec

from fastpod.bench.record import Run, Sample
from fastpod.bench.session import Bench

NAME = "podman kube play"
PODMAN_TIMEOUT = 600.0


def podman_peer(bench: Bench) -> Run:
    """podman's startup samples, or why it cannot run here."""
    podman = shutil.which("podman")
    if podman is None:
        return _cannot(bench, "podman is not installed (apt-get install podman catatonit)")
    version = _output([podman, "version", "--format", "{{.Client.Version}}"]).strip()
    if subprocess.run([podman, "image", "exists", bench.options.image], check=False).returncode:
        return _cannot(
            bench,
            f"the image {bench.options.image} is not in podman's store (podman pull it, or "
            f"docker save {bench.options.image} | podman load)",
            version,
        )
    names = [f"{bench.namespace}-{name}" for name in bench.pod_names(bench.options.pods)]
    directory = tempfile.mkdtemp(prefix="fastpod-bench-podman-")
    manifest = os.path.join(directory, "pods.yaml")
    with open(manifest, "w") as file:
        file.write("---\n".join(bench.manifest(name) for name in names))
    try:
        bench.say(f"{NAME}: {len(names)} pods")
        began = time.time()
        played = subprocess.run(
            [podman, "kube", "play", "--network", "none", manifest],
            capture_output=True,
            text=True,
            timeout=PODMAN_TIMEOUT,
            check=False,
        )
        if played.returncode != 0:
            if bench.interrupted():
                # Ctrl-C at a terminal reaches podman too: it stopped for that
                return _cannot(bench, "the run was interrupted during it", version)
            return _cannot(bench, _first_error(played.stderr or played.stdout), version)
        started = _started(podman, names)
    finally:
        _remove(podman, manifest)
        shutil.rmtree(directory, ignore_errors=True)
    samples = [
        Sample(
            pod=name,
            kind="start",
            begin=began - bench.origin,
            end=at - bench.origin,
            written=began - bench.origin,
        )
        for name, at in sorted(started.items(), key=lambda item: item[1])
    ]
    return Run(
        name=NAME, role="peer", status="measured", version=f"podman {version}", samples=samples
    )


def _cannot(bench: Bench, reason: str, version: str | None = None) -> Run:
    bench.say(f"{NAME}: cannot run here: {reason}")
    return Run(
        name=NAME,
        role="peer",
        status="cannot run",
        reason=reason,
        version=f"podman {version}" if version else None,
    )


def _output(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout


def _first_error(text: str) -> str:
    """podman's own words on the first failure, one line."""
    for line in text.splitlines():
        line = line.strip().strip("[]")
        if line and "dependency of container" not in line:
            # "starting container <id>: runc: ...": the id says nothing to the reader
            if line.startswith("starting container ") and ": " in line:
                line = line.split(": ", 1)[1]
            return line[:300]
    return "podman kube play failed without saying why"


def _started(podman: str, pods: list[str]) -> dict[str, float]:
    """When the last of each pod's containers (not its infra container) started."""
    listing = _output([podman, "ps", "-a", "--format", "json"])
    containers: list[dict[str, Any]] = msgspec.json.decode(listing or b"[]")
    wanted = set(pods)
    ids = [c["Id"] for c in containers if c.get("PodName") in wanted and not c.get("IsInfra")]
    if not ids:
        return {}
    inspected: list[dict[str, Any]] = msgspec.json.decode(
        _output([podman, "container", "inspect", *ids]) or b"[]"
    )
    pod_of = {c["Id"]: c["PodName"] for c in containers if c["Id"] in ids}
    started: dict[str, float] = {}
    for container in inspected:
        state = container.get("State", {})
        if state.get("Status") != "running":
            continue
        at = rfc3339_seconds(state["StartedAt"])
        pod = pod_of[container["Id"]]
        started[pod] = max(started.get(pod, 0.0), at)
    return started


def rfc3339_seconds(text: str) -> float:
    """An RFC 3339 time with up to nanoseconds (Go's, as podman writes it), as seconds
    since the epoch."""
    whole, _, rest = text.partition(".")
    digits = rest.rstrip("Z").split("+")[0].split("-")[0]
    moment = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.UTC)
    if not text.endswith("Z") and ("+" in text[10:] or "-" in text[10:]):
        moment = datetime.datetime.fromisoformat(whole + text[len(whole) + 1 + len(digits) :])
    return moment.timestamp() + float(f"0.{digits or '0'}")


def _remove(podman: str, manifest: str) -> None:
    subprocess.run(
        [podman, "kube", "down", manifest],
        capture_output=True,
        timeout=PODMAN_TIMEOUT,
        check=False,
    )
