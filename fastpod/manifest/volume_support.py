"""PURE: which volumes fastpod provides, and what it says of a volume it cannot.

fastpod mounts what a kubelet with no API server mounts by itself: ``hostPath``,
``emptyDir`` (on disk, or a tmpfs with ``medium: Memory``), ``downwardAPI``, and
``projected`` volumes made of downwardAPI sources. A pod that mounts anything else is
refused when its manifest is read, at the volume's field, with the reason: it could not
start here. Volumes that need an API server (Secret, ConfigMap, claims, tokens) are refused
by :mod:`.static_pod_rules` with theirs.

A volume that no container mounts (``volumeMounts``) or maps (``volumeDevices``) is another
matter: the kubelet never sets it up (``processPodVolumes`` in
``pkg/kubelet/volumemanager/populator/desired_state_of_world_populator.go``: "Skipping
unused volume") and runs the pod without it. Such a volume is only a warning, whatever its
kind (:mod:`.honoured` says so of each source fastpod cannot provide).

A ConfigMap or Secret marked ``optional: true`` is refused all the same: ``optional``
forgives only a NotFound answer (``SetUpAt`` in ``pkg/volume/configmap`` and
``pkg/volume/secret``), and a kubelet without an API server never gets one: its object
managers have no client, so the read fails with another error (the cache cannot sync,
``objectCache.Get`` in ``pkg/kubelet/util/manager/watch_based_manager.go``; kubernetes#113492
is a static pod whose ConfigMap volume kept it from starting), and the pod never starts.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator

import msgspec

from fastpod.manifest.field_errors import forbidden
from fastpod.manifest.paths import FieldPath
from fastpod.manifest.problems import Problem
from fastpod.model import VOLUME_SOURCES, Opaque, Pod, PodSpec, Volume, volume_sources

PROVIDED = frozenset({"hostPath", "emptyDir", "downwardAPI", "projected"})
"""Volume sources fastpod mounts (projected ones of downwardAPI sources only)."""

NEEDS_API_SERVER = frozenset({"secret", "configMap", "persistentVolumeClaim", "ephemeral"})
"""Volume sources only an API server can resolve: refused by :mod:`.static_pod_rules`."""

NOT_PROVIDED = {
    "image": "fastpod does not mount OCI images as volumes",
    "gitRepo": "fastpod does not clone repositories into volumes (gitRepo is deprecated)",
}
"""Why fastpod does not mount a kind; any other kind is a storage plugin's."""

_PLUGIN = (
    "fastpod has no storage plugins; it mounts hostPath, emptyDir, downwardAPI and "
    "projected downwardAPI volumes"
)


def used_volume_names(spec: PodSpec) -> set[str]:
    """The volumes some container mounts or maps as a device: the ones a kubelet sets up."""
    used: set[str] = set()
    for container in [*(spec.init_containers or ()), *(spec.containers or ())]:
        for mount in container.volume_mounts or ():
            if mount.name:
                used.add(mount.name)
        if container.volume_devices:
            used.update(_device_names(container.volume_devices))
    return used


def _device_names(devices: list[Opaque] | None) -> Iterator[str]:
    for device in devices or ():
        if isinstance(device, dict) and isinstance(device.get("name"), str):
            yield device["name"]


def unprovided_volume_problems(pod: Pod) -> Iterator[Problem]:
    """Errors: a volume some container uses that fastpod cannot provide here."""
    volumes = pod.spec.volumes
    if not volumes:
        return
    used = used_volume_names(pod.spec)
    for index, volume in enumerate(volumes):
        if volume.name in used:
            for field, reason in _unprovided(volume):
                yield forbidden(("spec", "volumes", index, *field), reason)


_OTHER_INDICES = [
    index
    for index, kind in enumerate(VOLUME_SOURCES, start=1)
    if kind not in PROVIDED and kind not in NEEDS_API_SERVER
]
_others = operator.itemgetter(*_OTHER_INDICES)
"""The volume sources fastpod neither mounts nor leaves to the API server's rules, picked
from a volume's ``astuple`` (its name first)."""


def _unprovided(volume: Volume) -> list[tuple[FieldPath, str]]:
    """Each part of the volume fastpod does not mount, by field (under the volume), and
    why; the kinds that need an API server are left to :mod:`.static_pod_rules`."""
    found: list[tuple[FieldPath, str]] = []
    if _others(msgspec.structs.astuple(volume)).count(None) != len(_OTHER_INDICES):
        # rare: checked in C first
        for kind, source in zip(VOLUME_SOURCES, volume_sources(volume), strict=True):
            if source is None or kind in PROVIDED or kind in NEEDS_API_SERVER:
                continue
            found.append(
                ((kind,), f"fastpod cannot mount {kind} volumes: {NOT_PROVIDED.get(kind, _PLUGIN)}")
            )
    medium = volume.empty_dir.medium if volume.empty_dir is not None else None
    if medium and medium.startswith("HugePages"):
        found.append(
            (
                ("emptyDir", "medium"),
                f"fastpod cannot mount emptyDir medium {medium}: it does not mount hugetlbfs",
            )
        )
    return found
