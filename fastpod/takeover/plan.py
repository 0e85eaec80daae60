"""PURE: what to do with each pod another agent (the kubelet) left on the runtime.

Once every source has been seen, each of those pods is, by its ``kubernetes.io/config.source``
and by what fastpod's sources want under its namespace and name:

- **left alone**: the kubelet ran it from the API server (``api``: a DaemonSet's pod and the
  like), or its sandbox does not say; also every static pod when taking over is off;
- **ours**: adopted by an earlier run of fastpod (on record under ``--root-dir``) and still
  the pod its source wants: nothing to do;
- **adopted**: its running containers are what fastpod would run (:mod:`.compare`): fastpod
  takes them as they are, under the kubelet's pod UID, and restarts nothing;
- **replaced**: they are not: the old pod is stopped first, with its own grace period, and
  only then does fastpod start its own, so that the two never run at once (two copies of
  a host-network pod would fight for its ports);
- **removed**: no source wants a pod of that name any more, as the kubelet would have
  removed it; so is any older copy of a pod fastpod adopts or replaces.

The adopted pod keeps the kubelet's UID: its containers, log directory
(``<ns>_<name>_<uid>``), pod directory (``pods/<uid>``: volumes, termination messages)
and the kubelet's own bookkeeping all carry it, and a UID is what fastpod keys all of those
by, so taking it over makes every one of them fastpod's without renaming anything. The pod
fastpod decodes gets that UID instead of its own (:func:`with_uid`) as long as the manifest
does not change; a changed manifest is a new pod with a new UID, as it would be under the
kubelet.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Literal

import msgspec

from fastpod.lifecycle import latest_by_name
from fastpod.manifest.defaults import CONFIG_HASH
from fastpod.model import Pod
from fastpod.runtime.base import ContainerInfo, ForeignPod, SandboxInfo
from fastpod.runtime.created import CreatedContainer, ImageDefaults, Namespaces, pod_namespaces
from fastpod.runtime.foreign import STATIC_SOURCES
from fastpod.runtime.spec import TERMINATION_GRACE, ContainerSpec, container_hash
from fastpod.takeover.compare import differences, running, wanted

Action = Literal["adopt", "replace", "remove"]

DELETION_GRACE = "io.kubernetes.pod.deletionGracePeriod"
"""The kubelet's container annotation with the pod's deletion grace period, when it had one."""

MINIMUM_GRACE_SECONDS = 2
"""What the kubelet gives a container whose labels name no grace period
(``minimumGracePeriodInSeconds`` in ``killContainer``)."""


class Decision(msgspec.Struct, frozen=True):
    """What to do with one pod another agent left, and why."""

    action: Action
    pod: ForeignPod
    reasons: list[tuple[str, str]]
    """(container name, or ``""`` for the pod, what differs or why): empty to adopt."""
    grace: int
    """The seconds its containers get to stop, from their own annotations."""


class Sorted(msgspec.Struct):
    """The foreign pods of one worker's names, sorted by what happens to them."""

    api: list[ForeignPod] = msgspec.field(default_factory=list)
    """Left alone: pods the kubelet ran from the API server (or that do not say)."""
    untouched: list[ForeignPod] = msgspec.field(default_factory=list)
    """Left alone: static pods, taking over being off."""
    ours: list[ForeignPod] = msgspec.field(default_factory=list)
    """Adopted by an earlier run and still what the sources want."""
    to_compare: dict[str, ForeignPod] = msgspec.field(default_factory=dict)
    """By name: the pod to adopt if it matches the desired pod, else to replace."""
    removals: list[Decision] = msgspec.field(default_factory=list)
    """Removed without looking further: nothing wants them."""
    refused: dict[str, ForeignPod] = msgspec.field(default_factory=dict)
    """By name, taking over being off: the foreign pod that keeps fastpod's from starting."""


def is_static(pod: ForeignPod) -> bool:
    """Whether the kubelet ran the pod from a file or a URL (fastpod's business)."""
    return pod.source in STATIC_SOURCES


def held_names(
    foreign: Iterable[ForeignPod], desired: Mapping[str, str], adopted: Collection[str]
) -> set[str]:
    """The names fastpod must not start a pod under until the foreign pods are sorted out:
    those of every static pod but the ones already fastpod's (adopted before, UIDs in
    ``adopted``, and still the UID the sources want, ``desired``: name → UID)."""
    return {
        pod.key
        for pod in foreign
        if is_static(pod) and not (pod.uid in adopted and desired.get(pod.key) == pod.uid)
    }


def sort_out(
    desired: Mapping[str, str],
    foreign: Iterable[ForeignPod],
    adopted: Collection[str],
    *,
    enabled: bool,
) -> Sorted:
    """Sort the foreign pods by what happens to them. ``desired`` maps each name fastpod's
    sources want (of this worker's) to the desired pod's UID; ``adopted`` are the foreign
    UIDs on record as adopted before; ``enabled`` is ``--adopt-foreign-pods``."""
    result = Sorted()
    candidates: dict[str, list[ForeignPod]] = {}
    for pod in foreign:
        wanted_uid = desired.get(pod.key)
        if not is_static(pod):
            result.api.append(pod)
        elif pod.uid in adopted and wanted_uid == pod.uid:
            result.ours.append(pod)
        elif not enabled:
            result.untouched.append(pod)
            if wanted_uid is not None:
                result.refused.setdefault(pod.key, pod)
        elif wanted_uid is None:
            result.removals.append(_removal(pod, "no source wants this pod"))
        else:
            candidates.setdefault(pod.key, []).append(pod)
    owned = {pod.key for pod in result.ours}
    for key, pods in candidates.items():
        ranked = sorted(pods, key=_liveliness, reverse=True)
        if key in owned:
            extra = ranked
        else:
            result.to_compare[key], extra = ranked[0], ranked[1:]
        result.removals.extend(_removal(pod, "an older copy of the pod") for pod in extra)
    return result


def decide(
    pod: Pod,
    foreign: ForeignPod,
    specs: Mapping[str, ContainerSpec],
    created: Mapping[str, CreatedContainer | None],
    sandbox: Namespaces | None,
    images: Mapping[str, ImageDefaults | None],
) -> Decision:
    """Adopt ``foreign`` as ``pod`` if what runs is what fastpod would run, else replace it.

    ``specs`` are what fastpod would run for each container of ``pod`` (given the foreign
    UID), ``created`` what the runtime keeps of each foreign container by id, ``sandbox``
    the namespaces of its ready sandbox, ``images`` each image named by ``specs``.
    """
    grace = foreign_grace(foreign)
    ready = ready_sandbox(foreign)
    if ready is None:
        return Decision("replace", foreign, [("", "its sandbox is not running")], grace)
    if sandbox is None:
        reason = "the runtime does not say which namespaces its sandbox uses"
        return Decision("replace", foreign, [("", reason)], grace)
    spec = pod.spec
    containers = {
        c.name or "": c for c in [*(spec.init_containers or ()), *(spec.containers or ())]
    }
    current = current_containers(foreign, ready)
    reasons: list[tuple[str, str]] = []
    for regular in spec.containers or ():
        if regular.name not in current:
            reasons.append((regular.name or "", "the manifest's container does not run"))
    namespaces = pod_namespaces(pod)
    for name, info in sorted(current.items()):
        container = containers.get(name)
        if container is None:
            reasons.append((name, "runs, but the manifest has no such container"))
            continue
        wanted_spec = specs[name]
        image = images.get(wanted_spec.image)
        if image is None:
            reasons.append((name, f"the manifest's image {wanted_spec.image} is not on the node"))
            continue
        if info.hash != container_hash(container):
            reasons.append((name, _hash_reason(info, container_hash(container))))
            continue
        kept = created.get(info.id)
        if kept is None:
            reasons.append((name, "the runtime does not say what it was created with"))
            continue
        want = wanted(wanted_spec, namespaces, image, foreign.uid)
        have = running(kept, sandbox, image, foreign.uid, wanted_spec)
        reasons.extend((name, difference) for difference in differences(want, have))
    return Decision("replace" if reasons else "adopt", foreign, reasons, grace)


def ready_sandbox(foreign: ForeignPod) -> SandboxInfo | None:
    """The sandbox the pod runs in: its newest ready one."""
    ready = [sandbox for sandbox in foreign.sandboxes if sandbox.ready]
    return max(ready, key=lambda s: (s.attempt, s.created)) if ready else None


def current_containers(foreign: ForeignPod, sandbox: SandboxInfo) -> dict[str, ContainerInfo]:
    """The newest container of each name in ``sandbox``: the ones whose state counts."""
    return latest_by_name([info for info in foreign.containers if info.sandbox_id == sandbox.id])


def foreign_grace(foreign: ForeignPod) -> int:
    """The seconds the pod's containers get to stop, read from their annotations as the
    kubelet's ``restoreSpecsFromContainerLabels`` reads them: the deletion grace period if
    one was set, else the termination grace period, else the kubelet's minimum."""
    graces = [_grace(info.labels) for info in foreign.containers]
    return max((grace for grace in graces if grace is not None), default=MINIMUM_GRACE_SECONDS)


def with_uid(pod: Pod, uid: str) -> Pod:
    """``pod`` under another UID (the adopted pod's), its ``config.hash`` following it as
    the kubelet's follows its UID; a copy, the decoded pod is left as it is."""
    metadata = pod.metadata
    annotations = {**(metadata.annotations or {}), CONFIG_HASH: uid}
    return msgspec.structs.replace(
        pod, metadata=msgspec.structs.replace(metadata, uid=uid, annotations=annotations)
    )


def _grace(labels: Mapping[str, str]) -> int | None:
    for key in (DELETION_GRACE, TERMINATION_GRACE):
        try:
            return max(0, int(labels[key]))
        except (KeyError, ValueError):
            continue
    return None


def _removal(pod: ForeignPod, reason: str) -> Decision:
    return Decision("remove", pod, [("", reason)], foreign_grace(pod))


def _liveliness(pod: ForeignPod) -> tuple[bool, int, float]:
    """Which copy of a pod to keep: one that runs, then the newest."""
    sandbox = ready_sandbox(pod)
    newest = max(pod.sandboxes, key=lambda s: (s.attempt, s.created))
    return sandbox is not None, newest.attempt, newest.created


def _hash_reason(info: ContainerInfo, hash_wanted: str) -> str:
    return (
        f"its container hash is {info.hash or 'missing'}, fastpod's {hash_wanted} (made by a "
        "kubelet older than 1.31, which hashed the whole container): fastpod would restart it"
    )
