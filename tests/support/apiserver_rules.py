"""The Kubernetes API server's rules the test API server keeps, as plain functions on objects.

Each rule is traced to the API server's source (kubernetes/kubernetes) or documentation: the
system fields every object gets on create (``uid``, ``resourceVersion``,
``creationTimestamp``), what an update may not change, the status subresource, graceful
deletion of pods, and the admission checks a node's mirror pod must pass. Errors are
:class:`ApiError`, which the server answers as a ``Status`` with the API server's code,
reason and message.
"""

from __future__ import annotations

import copy
import datetime
import uuid
from collections.abc import Iterator
from typing import Any

Object = dict[str, Any]

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
"""``api.MirrorPodAnnotationKey``: a pod carrying it is a node's mirror of a static pod."""


class ApiError(Exception):
    """A request the API server refuses: its HTTP code, ``Status`` reason and message."""

    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message

    def status(self) -> Object:
        """The ``v1 Status`` the API server answers with (``metav1.Status``)."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


def not_found(resource: str, name: str) -> ApiError:
    """``errors.NewNotFound``: ``pods "web" not found``."""
    return ApiError(404, "NotFound", f'{resource} "{name}" not found')


def already_exists(resource: str, name: str) -> ApiError:
    """``errors.NewAlreadyExists``: a create under a name taken (409)."""
    return ApiError(409, "AlreadyExists", f'{resource} "{name}" already exists')


def conflict(resource: str, name: str, why: str) -> ApiError:
    """``errors.NewConflict``: an update or delete whose precondition failed (409)."""
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource} "{name}": {why}')


MODIFIED_SINCE = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
"""``registry.OptimisticLockErrorMsg``: an update carrying a stale ``resourceVersion``."""


def forbidden(resource: str, name: str, why: str) -> ApiError:
    """``admission.NewForbidden``: ``pods "web-node1" is forbidden: <why>`` (403)."""
    return ApiError(403, "Forbidden", f'{resource} "{name}" is forbidden: {why}')


def now_rfc3339(now: datetime.datetime) -> str:
    """A ``metav1.Time`` as the API serializes it: RFC 3339, whole seconds, UTC."""
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp_created(obj: Object, revision: int, now: datetime.datetime) -> Object:
    """The object as stored on create: ``rest.FillObjectMetaSystemFields`` gives it a new
    ``uid`` and ``creationTimestamp``; the storage gives its ``resourceVersion``; ``generation``
    starts at 1 (``BeforeCreate``); deletion fields a client sent are cleared."""
    stored = copy.deepcopy(obj)
    meta = stored.setdefault("metadata", {})
    meta["uid"] = str(uuid.uuid4())
    meta["creationTimestamp"] = now_rfc3339(now)
    meta["resourceVersion"] = str(revision)
    meta["generation"] = 1
    meta.pop("deletionTimestamp", None)
    meta.pop("deletionGracePeriodSeconds", None)
    return stored


def prepare_pod_create(pod: Object) -> None:
    """``podStrategy.PrepareForCreate``: a new pod's status is reset to ``Pending`` whatever
    the client sent; its status comes later, through the status subresource."""
    pod["status"] = {"phase": "Pending"}


def updated(old: Object, new: Object, revision: int, *, subresource: str | None) -> Object:
    """The object stored by an update of ``old`` to ``new``.

    The system fields are kept (``BeforeUpdate``: ``uid``, ``creationTimestamp``). With a
    status subresource, an update of the object keeps the old status and one of ``/status``
    keeps the old spec (``nodeStrategy``/``podStrategy.PrepareForUpdate`` and their status
    strategies). ``generation`` counts changes of the spec.
    """
    stored = copy.deepcopy(new)
    meta = stored.setdefault("metadata", {})
    old_meta = old.get("metadata", {})
    for field in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"):
        if field in old_meta:
            meta[field] = old_meta[field]
        else:
            meta.pop(field, None)
    if subresource == "status":
        if "spec" in old:
            stored["spec"] = copy.deepcopy(old["spec"])
        else:
            stored.pop("spec", None)
    elif "status" in old or "status" in stored:
        if "status" in old:
            stored["status"] = copy.deepcopy(old["status"])
        else:
            stored.pop("status", None)
    generation = old_meta.get("generation", 1)
    if stored.get("spec") != old.get("spec"):
        generation += 1
    meta["generation"] = generation
    meta["resourceVersion"] = str(revision)
    return stored


def check_update_preconditions(old: Object, new: Object, resource: str, name: str) -> None:
    """An update naming a ``resourceVersion`` applies only to that version (optimistic
    concurrency, ``GuaranteedUpdate``); one naming another ``uid`` is refused too."""
    meta = new.get("metadata", {})
    old_meta = old.get("metadata", {})
    version = meta.get("resourceVersion")
    if version and version != old_meta.get("resourceVersion"):
        raise conflict(resource, name, MODIFIED_SINCE)
    uid = meta.get("uid")
    if uid and uid != old_meta.get("uid"):
        raise conflict(
            resource,
            name,
            f"Precondition failed: UID in precondition: {uid}, "
            f"UID in object meta: {old_meta.get('uid')}",
        )


def check_delete_preconditions(obj: Object, options: Object, resource: str, name: str) -> None:
    """``DeleteOptions.preconditions``: the ``uid`` and ``resourceVersion`` the deleter
    expects (the kubelet deletes a mirror pod under its UID), else 409."""
    preconditions = options.get("preconditions") or {}
    meta = obj.get("metadata", {})
    uid = preconditions.get("uid")
    if uid and uid != meta.get("uid"):
        raise conflict(
            resource,
            name,
            f"Precondition failed: UID in precondition: {uid}, "
            f"UID in object meta: {meta.get('uid')}",
        )
    version = preconditions.get("resourceVersion")
    if version and version != meta.get("resourceVersion"):
        raise conflict(
            resource,
            name,
            f"Precondition failed: ResourceVersion in precondition: {version}, "
            f"ResourceVersion in object meta: {meta.get('resourceVersion')}",
        )


def pod_grace_period(pod: Object, options: Object) -> int:
    """Seconds a pod's deletion waits (``podStrategy.CheckGracefulDelete``): the options'
    ``gracePeriodSeconds``, else the pod's ``terminationGracePeriodSeconds`` (30); 0 for a
    pod no node runs (no ``spec.nodeName``) or one that has ended."""
    spec = pod.get("spec", {})
    if not spec.get("nodeName"):
        return 0
    if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return 0
    grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = spec.get("terminationGracePeriodSeconds", 30)
    return max(int(grace), 0)


def admit_mirror_pod(pod: Object, nodes: dict[str, Object]) -> None:
    """The admission checks a mirror pod meets, with the pod's node as the one asking.

    From ``plugin/pkg/admission/serviceaccount/admission.go`` (a mirror pod may not
    reference a service account, secrets, or project a service account token) and
    ``plugin/pkg/admission/noderestriction/admission.go`` ``admitPodCreate`` (bound to the
    node itself, a single controller owner reference to that Node with its UID, no
    ``blockOwnerDeletion``, no configmaps, persistent volume claims or cluster trust
    bundles). The node is looked up: a node that does not exist is a 404.
    """
    meta = pod.get("metadata", {})
    spec = pod.get("spec", {})
    name = meta.get("name", "")
    node_name = spec.get("nodeName", "")

    def refuse(why: str) -> ApiError:
        return forbidden("pods", name, why)

    if spec.get("serviceAccountName"):
        raise refuse("a mirror pod may not reference service accounts")
    if any(True for _ in _secret_names(spec)):
        raise refuse("a mirror pod may not reference secrets")
    for source in _projected_sources(spec):
        if "serviceAccountToken" in source:
            raise refuse("a mirror pod may not use ServiceAccountToken volume projections")
    owners = meta.get("ownerReferences") or []
    if len(owners) > 1:
        raise refuse(
            f'node "{node_name}" can only create pods with a single owner reference set to itself'
        )
    if not owners:
        raise refuse(
            f'node "{node_name}" can only create pods with an owner reference set to itself'
        )
    owner = owners[0]
    if (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != ("v1", "Node", node_name):
        raise refuse(
            f'node "{node_name}" can only create pods with an owner reference set to itself'
        )
    if not owner.get("controller"):
        raise refuse(
            f'node "{node_name}" can only create pods with a controller owner reference '
            "set to itself"
        )
    if owner.get("blockOwnerDeletion"):
        raise refuse(f'node "{node_name}" must not set blockOwnerDeletion on an owner reference')
    node = nodes.get(node_name)
    if node is None:
        raise not_found("nodes", node_name)
    node_uid = node.get("metadata", {}).get("uid")
    if owner.get("uid") != node_uid:
        raise refuse(f"node {node_name} UID mismatch: expected {owner.get('uid')} got {node_uid}")
    if any(True for _ in _configmap_names(spec)):
        raise refuse(f'node "{node_name}" can not create pods that reference configmaps')
    for source in _projected_sources(spec):
        if "clusterTrustBundle" in source:
            raise refuse(
                f'node "{node_name}" can not create pods that reference clustertrustbundles'
            )
    if any("persistentVolumeClaim" in volume for volume in spec.get("volumes") or []):
        raise refuse(
            f'node "{node_name}" can not create pods that reference persistentvolumeclaims'
        )


def _containers(spec: Object) -> Iterator[Object]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(field) or []


def _projected_sources(spec: Object) -> Iterator[Object]:
    for volume in spec.get("volumes") or []:
        yield from (volume.get("projected") or {}).get("sources") or []


def _secret_names(spec: Object) -> Iterator[str]:
    """``podutil.VisitPodSecretNames``: image pull secrets, secret volumes and projections,
    and the containers' secret environment."""
    for reference in spec.get("imagePullSecrets") or []:
        yield reference.get("name", "")
    for volume in spec.get("volumes") or []:
        if "secret" in volume:
            yield volume["secret"].get("secretName", "")
    for source in _projected_sources(spec):
        if "secret" in source:
            yield source["secret"].get("name", "")
    for container in _containers(spec):
        for source in container.get("envFrom") or []:
            if "secretRef" in source:
                yield source["secretRef"].get("name", "")
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if reference is not None:
                yield reference.get("name", "")


def _configmap_names(spec: Object) -> Iterator[str]:
    """``podutil.VisitPodConfigmapNames``: configMap volumes and projections, and the
    containers' configMap environment."""
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            yield volume["configMap"].get("name", "")
    for source in _projected_sources(spec):
        if "configMap" in source:
            yield source["configMap"].get("name", "")
    for container in _containers(spec):
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                yield source["configMapRef"].get("name", "")
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("configMapKeyRef")
            if reference is not None:
                yield reference.get("name", "")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (``application/merge-patch+json``): mappings merge key by
    key, ``null`` removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


MERGE_KEYS = {"conditions": "type", "addresses": "type", "containerStatuses": "name"}
"""Lists a strategic merge patch merges by key (``patchMergeKey`` in the v1 types: node and
pod conditions and node addresses by ``type``, container statuses by ``name``)."""


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    """A strategic merge patch (``application/strategic-merge-patch+json``) as far as the
    API types fastpod patches need it: a merge patch whose :data:`MERGE_KEYS` lists merge
    item by item on their key; other lists replace. Directives (``$patch``,
    ``$setElementOrder``) are not understood and refused."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            raise ApiError(415, "UnsupportedMediaType", f"strategic merge directive {key}")
        if value is None:
            result.pop(key, None)
        elif key in MERGE_KEYS and isinstance(value, list) and isinstance(result.get(key), list):
            merge_key = MERGE_KEYS[key]
            merged = {item.get(merge_key): item for item in result[key]}
            for item in value:
                merged[item.get(merge_key)] = strategic_merge_patch(
                    merged.get(item.get(merge_key)), item
                )
            result[key] = list(merged.values())
        else:
            result[key] = strategic_merge_patch(result.get(key), value)
    return result
