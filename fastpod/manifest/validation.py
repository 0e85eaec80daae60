"""Validation of a defaulted pod: the API server's pod-creation rules a static pod can break.

Every problem is reported, each at its field path, so one run of ``fastpod validate`` shows
everything to fix. Containers are checked in :mod:`container_validation`; what static pods
may not use at all (it needs an API server) in :mod:`static_pod_rules`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Generator, Iterator

from fastpod.manifest import names
from fastpod.manifest.container_validation import (
    MAX_ID,
    VOLUME_FIELD_PATHS,
    quantity_problems,
    relative_path_problems,
    validate_container,
    validate_field_ref,
    validate_resource_field_ref,
    validate_resources,
    validate_seccomp,
)
from fastpod.manifest.field_errors import (
    duplicate,
    forbidden,
    invalid,
    invalid_each,
    required,
    unsupported,
)
from fastpod.manifest.paths import FieldPath, MapKey
from fastpod.manifest.problems import Problem
from fastpod.manifest.security_validation import security_problems
from fastpod.manifest.static_pod_rules import static_pod_problems
from fastpod.manifest.volume_support import unprovided_volume_problems
from fastpod.model import (
    DownwardAPIVolumeSource,
    ObjectMeta,
    Pod,
    PodSecurityContext,
    PodSpec,
    Volume,
    volume_source_count,
)

RESTART_POLICIES = ("Always", "Never", "OnFailure")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
HOST_PATH_TYPES = (
    "",
    "BlockDevice",
    "CharDevice",
    "Directory",
    "DirectoryOrCreate",
    "File",
    "FileOrCreate",
    "Socket",
)
TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoExecute", "NoSchedule", "PreferNoSchedule")
ANNOTATIONS_MAX_BYTES = 256 * 1024
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_LIST_CHARS = 2048
"""The API server's limits on ``dnsConfig`` (``MaxDNSNameservers``, ``MaxDNSSearchPaths``,
``MaxDNSSearchListChars``): glibc's three nameservers, and the search list of
``ExpandedDNSConfig`` (GA in 1.28)."""
IP_ADDRESS_DETAIL = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def validate_pod(pod: Pod) -> list[Problem]:
    """Every reason the API server would refuse to create this (defaulted) pod."""
    return [
        *_metadata(pod.metadata),
        *_spec(pod.spec),
        *static_pod_problems(pod),
        *security_problems(pod),
        *unprovided_volume_problems(pod),
    ]


def _metadata(metadata: ObjectMeta) -> Iterator[Problem]:
    path: FieldPath = ("metadata",)
    if not metadata.name:
        yield required((*path, "name"), "name is needed for the pod")
    else:
        if errors := names.dns1123_subdomain(metadata.name):
            yield from invalid_each((*path, "name"), metadata.name, errors)
    if metadata.namespace and (errors := names.dns1123_label(metadata.namespace)):
        yield from invalid_each((*path, "namespace"), metadata.namespace, errors)
    for key, value in (metadata.labels or {}).items():
        if errors := names.qualified_name(key):
            yield from invalid_each((*path, "labels", MapKey(key)), key, errors)
        if errors := names.label_value(value):
            yield from invalid_each((*path, "labels", MapKey(key)), value, errors)
    annotations = metadata.annotations or {}
    for key in annotations:
        if errors := names.qualified_name(key):
            yield from invalid_each((*path, "annotations", MapKey(key)), key, errors)
    size = sum(len(key) + len(value) for key, value in annotations.items())
    if size > ANNOTATIONS_MAX_BYTES:
        yield Problem(
            (*path, "annotations"), f"Too long: must have at most {ANNOTATIONS_MAX_BYTES} bytes"
        )


def _spec(spec: PodSpec) -> Iterator[Problem]:
    path: FieldPath = ("spec",)
    container_names = {
        container.name
        for container in [*(spec.init_containers or ()), *(spec.containers or ())]
        if container.name
    }
    volume_names = yield from _volumes(spec.volumes or [], (*path, "volumes"), container_names)
    yield from _containers(spec, path, volume_names)
    if spec.restart_policy not in RESTART_POLICIES:
        yield unsupported((*path, "restartPolicy"), spec.restart_policy, RESTART_POLICIES)
    if spec.dns_policy not in DNS_POLICIES:
        yield unsupported((*path, "dnsPolicy"), spec.dns_policy, DNS_POLICIES)
    yield from _dns_config(spec, (*path, "dnsConfig"))
    grace = spec.termination_grace_period_seconds
    if grace is not None and grace < 0:
        yield invalid(
            (*path, "terminationGracePeriodSeconds"), grace, "must be greater than or equal to 0"
        )
    deadline = spec.active_deadline_seconds
    if deadline is not None and deadline < 1:
        yield invalid(
            (*path, "activeDeadlineSeconds"),
            deadline,
            "must be between 1 and 2147483647, inclusive",
        )
    for name in ("hostname", "subdomain"):
        value = getattr(spec, name)
        if value and (errors := names.dns1123_label(value)):
            yield from invalid_each((*path, name), value, errors)
    priority_class = spec.priority_class_name
    if priority_class and (errors := names.dns1123_subdomain(priority_class)):
        yield from invalid_each((*path, "priorityClassName"), priority_class, errors)
    for key, value in (spec.node_selector or {}).items():
        if errors := names.qualified_name(key):
            yield from invalid_each((*path, "nodeSelector", MapKey(key)), key, errors)
        if errors := names.label_value(value):
            yield from invalid_each((*path, "nodeSelector", MapKey(key)), value, errors)
    yield from _tolerations(spec, path)
    yield from _host_aliases(spec, path)
    if spec.security_context is not None:
        yield from _pod_security_context(spec.security_context, (*path, "securityContext"))
    if spec.resources is not None:
        yield from validate_resources(spec.resources, (*path, "resources"))
    if spec.ephemeral_containers:
        yield forbidden((*path, "ephemeralContainers"), "cannot be set on create")
    if spec.scheduling_gates and spec.node_name:
        yield forbidden(
            (*path, "schedulingGates"),
            "cannot be set when spec.nodeName is set, and the kubelet sets it on every static pod",
        )


def _containers(spec: PodSpec, path: FieldPath, volume_names: set[str]) -> Iterator[Problem]:
    if not spec.containers:
        yield required((*path, "containers"))
    groups = (("initContainers", spec.init_containers or []), ("containers", spec.containers or []))
    all_names = {container.name for _, group in groups for container in group if container.name}
    seen: set[str] = set()
    for field, group in groups:
        for index, container in enumerate(group):
            here = (*path, field, index)
            if not container.name:
                yield required((*here, "name"))
            else:
                if errors := names.dns1123_label(container.name):
                    yield from invalid_each((*here, "name"), container.name, errors)
                if container.name in seen:
                    yield duplicate((*here, "name"), container.name)
                seen.add(container.name)
            yield from validate_container(
                container,
                here,
                volume_names=volume_names,
                container_names=all_names,
                host_network=bool(spec.host_network),
                is_init=field == "initContainers",
            )


def _volumes(
    volumes: list[Volume], path: FieldPath, container_names: set[str]
) -> Generator[Problem, None, set[str]]:
    # Also returns the declared names, for volume mounts to refer to.
    declared: set[str] = set()
    for index, volume in enumerate(volumes):
        here = (*path, index)
        if not volume.name:
            yield required((*here, "name"))
        else:
            if errors := names.dns1123_label(volume.name):
                yield from invalid_each((*here, "name"), volume.name, errors)
            if volume.name in declared:
                yield duplicate((*here, "name"), volume.name)
            declared.add(volume.name)
        if volume_source_count(volume) > 1:
            yield forbidden(here, "may not specify more than 1 volume type")
        yield from _volume_source(volume, here, container_names)
    return declared


def _volume_source(volume: Volume, path: FieldPath, container_names: set[str]) -> Iterator[Problem]:
    if volume.host_path is not None:
        here = (*path, "hostPath")
        host_path = volume.host_path.path
        if not host_path:
            yield required((*here, "path"))
        elif ".." in host_path.split("/"):
            yield invalid((*here, "path"), host_path, "must not contain '..'")
        if volume.host_path.type not in HOST_PATH_TYPES:
            yield unsupported((*here, "type"), volume.host_path.type, HOST_PATH_TYPES)
    if volume.empty_dir is not None:
        here = (*path, "emptyDir")
        medium = volume.empty_dir.medium or ""
        if medium not in ("", "Memory") and not medium.startswith("HugePages"):
            yield unsupported((*here, "medium"), medium, ("", "Memory", "HugePages"))
        if volume.empty_dir.size_limit is not None:
            yield from quantity_problems((*here, "sizeLimit"), volume.empty_dir.size_limit)
    if volume.downward_api is not None:
        here = (*path, "downwardAPI")
        yield from _mode(volume.downward_api.default_mode, (*here, "defaultMode"))
        yield from _downward_api(volume.downward_api, here, container_names, set())
    if volume.projected is not None:
        yield from _mode(volume.projected.default_mode, (*path, "projected", "defaultMode"))
        paths: set[str] = set()
        for index, projection in enumerate(volume.projected.sources or ()):
            here = (*path, "projected", "sources", index)
            if projection.downward_api is not None:
                source = projection.downward_api
                yield from _downward_api(source, (*here, "downwardAPI"), container_names, paths)
    if volume.image is not None:
        here = (*path, "image")
        if not volume.image.reference:
            yield required((*here, "reference"))
        if volume.image.pull_policy not in (None, "Always", "IfNotPresent", "Never"):
            yield unsupported(
                (*here, "pullPolicy"), volume.image.pull_policy, ("Always", "IfNotPresent", "Never")
            )


def _downward_api(
    source: DownwardAPIVolumeSource, path: FieldPath, container_names: set[str], paths: set[str]
) -> Iterator[Problem]:
    """The items of a downwardAPI volume or projected source; ``paths`` are the ones taken
    by earlier sources of the same projected volume (updated)."""
    for index, item in enumerate(source.items or ()):
        here = (*path, "items", index)
        if not item.path:
            yield required((*here, "path"))
        else:
            yield from relative_path_problems((*here, "path"), item.path, reserved=True)
            if item.path in paths:
                yield invalid((*here, "path"), item.path, "conflicting duplicate paths")
            paths.add(item.path)
        if item.field_ref is not None and item.resource_field_ref is not None:
            yield invalid(
                here,
                "resource",
                "fieldRef and resourceFieldRef can not be specified simultaneously",
            )
        elif item.field_ref is None and item.resource_field_ref is None:
            yield required(here, "one of fieldRef and resourceFieldRef is required")
        if item.field_ref is not None:
            yield from validate_field_ref(item.field_ref, (*here, "fieldRef"), VOLUME_FIELD_PATHS)
        if item.resource_field_ref is not None:
            yield from validate_resource_field_ref(
                item.resource_field_ref,
                (*here, "resourceFieldRef"),
                container_names,
                container_required=True,
            )
        yield from _mode(item.mode, (*here, "mode"))


def _mode(mode: int | None, path: FieldPath) -> Iterator[Problem]:
    if mode is not None and not 0 <= mode <= 0o777:
        yield invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")


def _tolerations(spec: PodSpec, path: FieldPath) -> Iterator[Problem]:
    for index, toleration in enumerate(spec.tolerations or ()):
        here = (*path, "tolerations", index)
        operator = toleration.operator or "Equal"
        if toleration.key:
            if errors := names.qualified_name(toleration.key):
                yield from invalid_each((*here, "key"), toleration.key, errors)
        elif operator != "Exists":
            yield invalid(
                (*here, "operator"),
                operator,
                "operator must be Exists when `key` is empty, which means "
                '"match all values and all keys"',
            )
        if operator not in TOLERATION_OPERATORS:
            yield unsupported((*here, "operator"), operator, TOLERATION_OPERATORS)
        elif operator == "Exists" and toleration.value:
            yield invalid(
                (*here, "operator"),
                toleration.value,
                "value must be empty when `operator` is 'Exists'",
            )
        if toleration.effect and toleration.effect not in TAINT_EFFECTS:
            yield unsupported((*here, "effect"), toleration.effect, TAINT_EFFECTS)
        if toleration.toleration_seconds is not None and toleration.effect != "NoExecute":
            yield invalid(
                (*here, "effect"),
                toleration.effect or "",
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )


def _dns_config(spec: PodSpec, path: FieldPath) -> Iterator[Problem]:
    """The API server's ``validatePodDNSConfig``: the resolver's limits (those the kubelet
    enforces again on what it merges, :mod:`fastpod.runtime.dns`), IP nameservers, DNS
    subdomain search paths (a trailing dot allowed), named options."""
    config = spec.dns_config
    if spec.dns_policy == "None":
        if config is None:
            yield required(path, "must provide `dnsConfig` when `dnsPolicy` is None")
            return
        if not config.nameservers:
            yield required(
                (*path, "nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )
            return
    if config is None:
        return
    nameservers, searches = config.nameservers or [], config.searches or []
    if len(nameservers) > MAX_DNS_NAMESERVERS:
        yield invalid(
            (*path, "nameservers"),
            nameservers,
            f"must not have more than {MAX_DNS_NAMESERVERS} nameservers",
        )
    for index, nameserver in enumerate(nameservers):
        if not _is_ip(nameserver):
            yield invalid((*path, "nameservers", index), nameserver, IP_ADDRESS_DETAIL)
    if len(searches) > MAX_DNS_SEARCH_PATHS:
        yield invalid(
            (*path, "searches"),
            searches,
            f"must not have more than {MAX_DNS_SEARCH_PATHS} search paths",
        )
    if len(" ".join(searches)) > MAX_DNS_SEARCH_LIST_CHARS:
        yield invalid(
            (*path, "searches"),
            searches,
            f"must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including "
            "spaces) in the search list",
        )
    for index, search in enumerate(searches):
        trimmed = search.removesuffix(".")
        if errors := names.dns1123_subdomain(trimmed):
            yield from invalid_each((*path, "searches", index), trimmed, errors)
    for index, option in enumerate(config.options or ()):
        if not option.name:
            yield required((*path, "options", index), "must not be empty")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _host_aliases(spec: PodSpec, path: FieldPath) -> Iterator[Problem]:
    for index, alias in enumerate(spec.host_aliases or ()):
        here = (*path, "hostAliases", index)
        try:
            ipaddress.ip_address(alias.ip or "")
        except ValueError:
            yield invalid((*here, "ip"), alias.ip or "", "must be a valid IP address")
        for position, hostname in enumerate(alias.hostnames or ()):
            if errors := names.dns1123_subdomain(hostname):
                yield from invalid_each((*here, "hostnames", position), hostname, errors)


def _pod_security_context(context: PodSecurityContext, path: FieldPath) -> Iterator[Problem]:
    for name, value in (
        ("runAsUser", context.run_as_user),
        ("runAsGroup", context.run_as_group),
        ("fsGroup", context.fs_group),
    ):
        if value is not None and not 0 <= value <= MAX_ID:
            yield invalid((*path, name), value, f"must be between 0 and {MAX_ID}, inclusive")
    for index, group in enumerate(context.supplemental_groups or ()):
        if not 0 <= group <= MAX_ID:
            yield invalid(
                (*path, "supplementalGroups", index),
                group,
                f"must be between 0 and {MAX_ID}, inclusive",
            )
    if context.seccomp_profile is not None:
        yield from validate_seccomp(context.seccomp_profile, (*path, "seccompProfile"))
