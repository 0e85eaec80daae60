"""The API server's rules for a pod's security settings that a field's own check cannot see:
the old seccomp annotations, and their agreement with the fields
(``ValidateSeccompPodAnnotations``, ``validateSeccompAnnotationsAndFields``).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastpod.manifest.container_validation import relative_path_problems
from fastpod.manifest.field_errors import forbidden, invalid
from fastpod.manifest.paths import FieldPath, MapKey
from fastpod.manifest.problems import Problem
from fastpod.model import Pod, SeccompProfile
from fastpod.runtime.security import SECCOMP_CONTAINER_ANNOTATION, SECCOMP_POD_ANNOTATION

_LOCALHOST = "localhost/"
_RUNTIME_DEFAULT = ("runtime/default", "docker/default")
_UNCONFINED = "unconfined"


def security_problems(pod: Pod) -> Iterator[Problem]:
    """Every reason the API server would refuse the pod's security annotations."""
    annotations = pod.metadata.annotations or {}
    for key, value in annotations.items():
        if key == SECCOMP_POD_ANNOTATION or key.startswith(SECCOMP_CONTAINER_ANNOTATION):
            yield from _seccomp_annotation(value, ("metadata", "annotations", MapKey(key)))
    spec = pod.spec
    pod_field = spec.security_context.seccomp_profile if spec.security_context else None
    pod_annotation = annotations.get(SECCOMP_POD_ANNOTATION)
    if pod_field is not None and pod_annotation is not None:
        yield from _matching(
            pod_annotation, pod_field, ("spec", "securityContext", "seccompProfile")
        )
    for kind, containers in (
        ("initContainers", spec.init_containers),
        ("containers", spec.containers),
    ):
        for index, container in enumerate(containers or ()):
            context = container.security_context
            field = context.seccomp_profile if context is not None else None
            annotation = annotations.get(SECCOMP_CONTAINER_ANNOTATION + (container.name or ""))
            if field is not None and annotation is not None:
                path = ("spec", kind, index, "securityContext", "seccompProfile")
                yield from _matching(annotation, field, path)


def _seccomp_annotation(value: str, path: FieldPath) -> Iterator[Problem]:
    """``ValidateSeccompProfile``: a profile name the kubelet knows."""
    if value in _RUNTIME_DEFAULT or value == _UNCONFINED:
        return
    if value.startswith(_LOCALHOST):
        yield from relative_path_problems(path, value.removeprefix(_LOCALHOST))
        return
    yield invalid(path, value, "must be a valid seccomp profile")


def _matching(annotation: str, field: SeccompProfile, path: FieldPath) -> Iterator[Problem]:
    """``validateSeccompAnnotationsAndFieldsMatch``: both set, they say the same."""
    if field.type == "Unconfined":
        agrees = annotation == _UNCONFINED
    elif field.type == "RuntimeDefault":
        agrees = annotation in _RUNTIME_DEFAULT
    elif field.type == "Localhost":
        if not annotation.startswith(_LOCALHOST):
            agrees = False
        elif annotation.removeprefix(_LOCALHOST) != field.localhost_profile:
            yield forbidden(
                (*path, "localhostProfile"), "seccomp profile in annotation and field must match"
            )
            return
        else:
            agrees = True
    else:
        return
    if not agrees:
        yield forbidden((*path, "type"), "seccomp type in annotation and field must match")
