"""What a static pod cannot use, because only an API server provides it.

The kubelet itself rejects ClusterTrustBundle projections and resource claims. A Secret,
ConfigMap, PersistentVolumeClaim or service account token cannot be resolved without an API
server either: the kubelet would start the pod and fail at mount time, and its mirror pod
would be refused by admission. fastpod says so at once instead, for each volume a container
uses (an unused one is never set up, so it is only a warning: :mod:`.volume_support`).
Fields that are merely ignored on a node without an API server are in
:mod:`fastpod.manifest.honoured`.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastpod.manifest.field_errors import forbidden
from fastpod.manifest.paths import FieldPath
from fastpod.manifest.problems import Problem
from fastpod.manifest.volume_support import used_volume_names
from fastpod.model import Container, ObjectVolumeSource, Pod, Volume

NO_API_SERVER = "there is no API server to read it from"
OPTIONAL_DOES_NOT_HELP = (
    " (optional does not help: without an API server the kubelet's read fails with an "
    "error that is not NotFound, and the pod never starts)"
)


def static_pod_problems(pod: Pod) -> Iterator[Problem]:
    """Errors: references a static pod can never resolve."""
    spec = pod.spec
    used = used_volume_names(spec) if spec.volumes else set()
    for index, volume in enumerate(spec.volumes or ()):
        if _may_need_api_server(volume):
            yield from _volume(volume, ("spec", "volumes", index), used=volume.name in used)
    for field, group in (("initContainers", spec.init_containers), ("containers", spec.containers)):
        for index, container in enumerate(group or ()):
            yield from _container(container, ("spec", field, index))
    if spec.resource_claims:
        yield forbidden(("spec", "resourceClaims"), "static pods may not use ResourceClaims")


def _may_need_api_server(volume: Volume) -> bool:
    """Whether :func:`_volume` has anything to look at (most volumes are hostPath or
    emptyDir: skipped without a generator)."""
    return not (
        volume.projected is None
        and volume.secret is None
        and volume.config_map is None
        and volume.persistent_volume_claim is None
        and volume.ephemeral is None
    )


def _volume(volume: Volume, path: FieldPath, *, used: bool) -> Iterator[Problem]:
    for index, projection in enumerate((volume.projected and volume.projected.sources) or ()):
        if projection.cluster_trust_bundle is not None:
            # the kubelet's own check when it reads a manifest, used or not
            yield forbidden(
                (*path, "projected", "sources", index, "clusterTrustBundle"),
                "static pods may not use ClusterTrustBundle projected volume sources",
            )
    if not used:
        return
    if volume.secret is not None:
        yield forbidden(
            (*path, "secret"),
            f"static pods cannot use Secret volumes: {NO_API_SERVER}{_optional(volume.secret)}",
        )
    if volume.config_map is not None:
        yield forbidden(
            (*path, "configMap"),
            f"static pods cannot use ConfigMap volumes: {NO_API_SERVER}"
            f"{_optional(volume.config_map)}",
        )
    if volume.persistent_volume_claim is not None:
        yield forbidden(
            (*path, "persistentVolumeClaim"),
            "static pods cannot use PersistentVolumeClaims: there is no API "
            "server to bind the claim",
        )
    if volume.ephemeral is not None:
        yield forbidden(
            (*path, "ephemeral"),
            "static pods cannot use ephemeral volumes: they are "
            "PersistentVolumeClaims created through the API server",
        )
    sources = (volume.projected and volume.projected.sources) or ()
    for index, projection in enumerate(sources):
        here = (*path, "projected", "sources", index)
        if projection.secret is not None:
            yield forbidden(
                (*here, "secret"),
                f"static pods cannot project Secrets: {NO_API_SERVER}"
                f"{_optional(projection.secret)}",
            )
        if projection.config_map is not None:
            yield forbidden(
                (*here, "configMap"),
                f"static pods cannot project ConfigMaps: {NO_API_SERVER}"
                f"{_optional(projection.config_map)}",
            )
        if projection.service_account_token is not None:
            yield forbidden(
                (*here, "serviceAccountToken"),
                "static pods cannot use service account tokens: there is no API "
                "server to issue them",
            )
        if projection.pod_certificate is not None:
            yield forbidden(
                (*here, "podCertificate"),
                "static pods cannot use pod certificates: there is no API server to sign them",
            )


def _optional(source: ObjectVolumeSource) -> str:
    """Why ``optional: true`` does not save the pod (:mod:`.volume_support` cites the
    kubelet)."""
    return OPTIONAL_DOES_NOT_HELP if source.optional else ""


def _container(container: Container, path: FieldPath) -> Iterator[Problem]:
    for index, variable in enumerate(container.env or ()):
        source = variable.value_from
        here = (*path, "env", index, "valueFrom")
        if source is not None and source.secret_key_ref is not None:
            yield forbidden(
                (*here, "secretKeyRef"), f"static pods cannot read Secrets: {NO_API_SERVER}"
            )
        if source is not None and source.config_map_key_ref is not None:
            yield forbidden(
                (*here, "configMapKeyRef"), f"static pods cannot read ConfigMaps: {NO_API_SERVER}"
            )
    for index, env_source in enumerate(container.env_from or ()):
        here = (*path, "envFrom", index)
        if env_source.secret_ref is not None:
            yield forbidden(
                (*here, "secretRef"), f"static pods cannot read Secrets: {NO_API_SERVER}"
            )
        if env_source.config_map_ref is not None:
            yield forbidden(
                (*here, "configMapRef"), f"static pods cannot read ConfigMaps: {NO_API_SERVER}"
            )
    if container.resources is not None and container.resources.claims:
        yield forbidden((*path, "resources", "claims"), "static pods may not use ResourceClaims")
