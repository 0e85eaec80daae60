"""The API server's rules for a pod's security settings: the old seccomp and AppArmor
annotations and their agreement with the fields (``ValidateSeccompPodAnnotations``,
``validateSeccompAnnotationsAndFields``, ``ValidateAppArmorPodAnnotations``,
``validateAppArmorAnnotationsAndFieldsMatchOnCreate``), AppArmor profiles, sysctl names and
``procMount``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from fastpod.manifest.container_validation import relative_path_problems
from fastpod.manifest.field_errors import duplicate, forbidden, invalid, required, unsupported
from fastpod.manifest.paths import FieldPath, MapKey
from fastpod.manifest.problems import Problem
from fastpod.model import (
    AppArmorProfile,
    Container,
    Pod,
    PodSecurityContext,
    SeccompProfile,
    SecurityContext,
)
from fastpod.runtime.admission import SYSCTL_MAX_LENGTH
from fastpod.runtime.security import (
    APPARMOR_CONTAINER_ANNOTATION,
    SECCOMP_CONTAINER_ANNOTATION,
    SECCOMP_POD_ANNOTATION,
)

_LOCALHOST = "localhost/"
_RUNTIME_DEFAULT = ("runtime/default", "docker/default")
_UNCONFINED = "unconfined"
APPARMOR_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
PROC_MOUNT_TYPES = ("Default", "Unmasked")
_SYSCTL_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
_SYSCTL_NAME = re.compile(rf"^({_SYSCTL_SEGMENT}[\./])*{_SYSCTL_SEGMENT}$")


def security_problems(pod: Pod) -> Iterator[Problem]:
    """Every reason the API server would refuse the pod's security settings."""
    annotations = pod.metadata.annotations or {}
    spec = pod.spec
    containers = _containers(pod)
    names = {container.name for _, container in containers}
    for key, value in annotations.items():
        here: FieldPath = ("metadata", "annotations", MapKey(key))
        if key == SECCOMP_POD_ANNOTATION or key.startswith(SECCOMP_CONTAINER_ANNOTATION):
            yield from _seccomp_annotation(value, here)
        elif key.startswith(APPARMOR_CONTAINER_ANNOTATION):
            name = key.removeprefix(APPARMOR_CONTAINER_ANNOTATION)
            if name not in names:
                yield invalid(here, name, "container not found")
            if value not in (_UNCONFINED, "runtime/default") and (
                not value.startswith(_LOCALHOST) or not value.removeprefix(_LOCALHOST)
            ):
                yield invalid(here, value, f"invalid AppArmor profile name: {_quoted(value)}")
    pod_context = spec.security_context
    path: FieldPath = ("spec", "securityContext")
    if pod_context is not None:
        if pod_context.seccomp_profile is not None and SECCOMP_POD_ANNOTATION in annotations:
            annotation = annotations[SECCOMP_POD_ANNOTATION]
            yield from _matching(annotation, pod_context.seccomp_profile, (*path, "seccompProfile"))
        if pod_context.app_armor_profile is not None:
            yield from _apparmor(pod_context.app_armor_profile, (*path, "appArmorProfile"))
        yield from _sysctls(pod_context, (*path, "sysctls"))
    for container_path, container in containers:
        context = container.security_context
        here = (*container_path, "securityContext")
        if context is not None:
            yield from _container_context(pod, container, context, here)
        yield from _apparmor_matching(pod, container, context, (*here, "appArmorProfile"))


def _containers(pod: Pod) -> list[tuple[FieldPath, Container]]:
    return [
        (("spec", kind, index), container)
        for kind, group in (
            ("initContainers", pod.spec.init_containers),
            ("containers", pod.spec.containers),
        )
        for index, container in enumerate(group or ())
    ]


def _container_context(
    pod: Pod, container: Container, context: SecurityContext, path: FieldPath
) -> Iterator[Problem]:
    annotation = (pod.metadata.annotations or {}).get(
        SECCOMP_CONTAINER_ANNOTATION + (container.name or "")
    )
    if context.seccomp_profile is not None and annotation is not None:
        yield from _matching(annotation, context.seccomp_profile, (*path, "seccompProfile"))
    if context.app_armor_profile is not None:
        yield from _apparmor(context.app_armor_profile, (*path, "appArmorProfile"))
    if context.proc_mount is not None:
        if context.proc_mount not in PROC_MOUNT_TYPES:
            yield unsupported((*path, "procMount"), context.proc_mount, PROC_MOUNT_TYPES)
        elif context.proc_mount == "Unmasked" and pod.spec.host_users is not False:
            yield invalid(
                (*path, "procMount"), "Unmasked", "`hostUsers` must be false to use `Unmasked`"
            )


def _apparmor(profile: AppArmorProfile, path: FieldPath) -> Iterator[Problem]:
    """``validateAppArmorProfileField``: a known type, a profile name exactly for Localhost."""
    if profile.type not in APPARMOR_TYPES:
        yield unsupported((*path, "type"), profile.type, APPARMOR_TYPES)
    elif profile.type == "Localhost" and not (profile.localhost_profile or "").strip():
        yield required((*path, "localhostProfile"), "must be set when AppArmor type is Localhost")
    elif profile.type != "Localhost" and profile.localhost_profile is not None:
        yield invalid(
            (*path, "localhostProfile"),
            profile.localhost_profile,
            "can only be set when AppArmor type is Localhost",
        )


def _apparmor_matching(
    pod: Pod, container: Container, context: SecurityContext | None, path: FieldPath
) -> Iterator[Problem]:
    """An AppArmor annotation and the container's profile (its own, else the pod's) agree."""
    profile = context.app_armor_profile if context is not None else None
    if profile is None and pod.spec.security_context is not None:
        profile = pod.spec.security_context.app_armor_profile
    annotation = (pod.metadata.annotations or {}).get(
        APPARMOR_CONTAINER_ANNOTATION + (container.name or "")
    )
    if profile is None or annotation is None:
        return
    if profile.type == "Localhost" and annotation.startswith(_LOCALHOST):
        if annotation.removeprefix(_LOCALHOST) != profile.localhost_profile:
            yield forbidden(
                (*path, "localhostProfile"), "apparmor profile in annotation and field must match"
            )
        return
    expected = {"Unconfined": _UNCONFINED, "RuntimeDefault": "runtime/default"}
    if annotation != expected.get(profile.type or "", _LOCALHOST):
        yield forbidden((*path, "type"), "apparmor type in annotation and field must match")


def _sysctls(context: PodSecurityContext, path: FieldPath) -> Iterator[Problem]:
    """``validateSysctls``: each name a sysctl's, each once."""
    seen: set[str] = set()
    for index, sysctl in enumerate(context.sysctls or ()):
        name = sysctl.name or ""
        here = (*path, index, "name")
        if not name:
            yield required(here)
        elif len(name) > SYSCTL_MAX_LENGTH or not _SYSCTL_NAME.match(name):
            yield invalid(
                here,
                name,
                f"must have at most {SYSCTL_MAX_LENGTH} characters and match regex "
                f"{_SYSCTL_NAME.pattern.strip('^$')}",
            )
        elif name in seen:
            yield duplicate(here, name)
        seen.add(name)


def _quoted(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


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
