"""PURE: what a static pod's mirror pod is, and what to do with the mirrors the API holds.

The kubelet makes a mirror in ``CreateMirrorPod`` (``pkg/kubelet/pod/mirror_client.go``): a
copy of the static pod with ``kubernetes.io/config.mirror`` set to its config hash and an
owner reference to its Node (``controller: true``). ``syncPod`` (``pkg/kubelet/kubelet.go``)
deletes a mirror that is being deleted or is no longer ``IsMirrorPodOf`` the static pod (its
mirror annotation differs from the config hash) and creates it again; ``HandlePodCleanups``
deletes mirrors whose static pod is gone (``deleteOrphanedMirrorPods``). A mirror is only
ever written from the local pod: what the API holds never flows back.
"""

from __future__ import annotations

import copy
import enum
from typing import Any

from fastpod.manifest.defaults import CONFIG_HASH

MIRROR = "kubernetes.io/config.mirror"
"""The annotation that makes a pod a mirror pod: the static pod's config hash."""

Pod = dict[str, Any]
"""A v1 Pod as plain JSON values."""


class Action(enum.Enum):
    """What a mirror held by the API needs, compared with the static pod it mirrors."""

    KEEP = "keep"
    """Nothing to write: a current mirror, or neither a static pod nor a mirror."""
    CREATE = "create"
    """No mirror (or one being deleted that is gone): create it."""
    REPLACE = "replace"
    """Stale (another hash) or being deleted: delete it with grace 0, then create it."""
    BLOCKED = "blocked"
    """A pod that is not a mirror holds the name: left alone. The kubelet's pod manager
    does not take it for a mirror, and its ``CreateMirrorPod`` fails with AlreadyExists."""
    DELETE = "delete"
    """An orphan: a mirror no static pod on this node has, once every source has named its
    pods (``deleteOrphanedMirrorPods`` runs only with the sources ready)."""

    @property
    def writes(self) -> bool:
        """Whether the action makes or deletes a mirror."""
        return self in (Action.CREATE, Action.REPLACE, Action.DELETE)


def mirror_pod(static: Pod, node_name: str, node_uid: str) -> Pod:
    """The mirror of ``static`` (a static pod as fastpod runs it) on the Node named
    ``node_name`` with UID ``node_uid``: without status, UID or resource version, which the
    API server assigns."""
    metadata = copy.deepcopy(static.get("metadata") or {})
    for assigned in ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields"):
        metadata.pop(assigned, None)
    annotations = dict(metadata.get("annotations") or {})
    annotations[MIRROR] = annotations.get(CONFIG_HASH, "")
    metadata["annotations"] = annotations
    metadata["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "name": node_name,
            "uid": node_uid,
            "controller": True,
        }
    ]
    spec = copy.deepcopy(static.get("spec") or {})
    spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def is_mirror(pod: Pod) -> bool:
    """Whether ``pod`` (as the API holds it) is a mirror pod."""
    return MIRROR in ((pod.get("metadata") or {}).get("annotations") or {})


def is_mirror_of(mirror: Pod, static: Pod) -> bool:
    """The kubelet's ``IsMirrorPodOf``: same name and namespace, and the mirror's annotation
    is the static pod's config hash."""
    m, s = mirror.get("metadata") or {}, static.get("metadata") or {}
    if (m.get("name"), m.get("namespace")) != (s.get("name"), s.get("namespace")):
        return False
    mirror_hash = (m.get("annotations") or {}).get(MIRROR)
    return mirror_hash is not None and mirror_hash == (s.get("annotations") or {}).get(CONFIG_HASH)


def action(static: Pod | None, mirror: Pod | None, *, sources_ready: bool) -> Action:
    """What the API's ``mirror`` needs for ``static`` (either ``None`` when there is none);
    ``sources_ready``: every source has named its pods, so a missing static pod is gone."""
    if static is None:
        orphan = mirror is not None and is_mirror(mirror) and sources_ready
        return Action.DELETE if orphan else Action.KEEP
    if mirror is None:
        return Action.CREATE
    if not is_mirror(mirror):
        return Action.BLOCKED
    if (mirror.get("metadata") or {}).get("deletionTimestamp") or not is_mirror_of(mirror, static):
        return Action.REPLACE
    return Action.KEEP


KUBELET_CONDITIONS = frozenset(
    {"PodScheduled", "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"}
)
"""The pod conditions the kubelet owns (``kubetypes.PodConditionsByKubelet``); others on
the API's pod (readiness gates, a disruption target) are kept by ``mergePodStatus``."""


def merged_status(api_status: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The status to give the mirror: ours, with the conditions of other owners the API's
    pod holds (the kubelet's ``mergePodStatus``, ``pkg/kubelet/status/status_manager.go``)."""
    others = [
        condition
        for condition in api_status.get("conditions") or ()
        if condition.get("type") not in KUBELET_CONDITIONS
    ]
    if not others:
        return ours
    return {**ours, "conditions": [*(ours.get("conditions") or ()), *others]}


def status_patch(api_status: dict[str, Any], ours: dict[str, Any]) -> dict[str, Any]:
    """The JSON merge patch (RFC 7386) that makes the mirror's status, as the API holds it,
    :func:`merged_status`: fields the API has and ours lacks are nulled, lists replaced
    whole. Empty when there is nothing to write (the kubelet's ``PatchPodStatus`` skips an
    unchanged status)."""
    return _diff(api_status, merged_status(api_status, ours))


def _diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            inner = _diff(before, value)
            if inner:
                patch[key] = inner
        elif key not in old or before != value:
            patch[key] = value
    return patch
