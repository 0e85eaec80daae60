"""Validation of one container, as the API server's pod creation checks it."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Set
from fractions import Fraction

from fastpod.manifest import names
from fastpod.manifest.field_errors import (
    duplicate,
    forbidden,
    invalid,
    invalid_each,
    not_found,
    required,
    unsupported,
)
from fastpod.manifest.paths import FieldPath, MapKey
from fastpod.manifest.probe_validation import validate_probes_and_hooks
from fastpod.manifest.problems import Problem
from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.model import (
    Container,
    EnvVar,
    ObjectFieldSelector,
    QuantityValue,
    ResourceFieldSelector,
    ResourceRequirements,
    SeccompProfile,
    SecurityContext,
)

PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
MOUNT_PROPAGATIONS = ("Bidirectional", "HostToContainer", "None")
SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
MAX_ID = 2147483647

ENV_FIELD_PATHS = frozenset(
    {
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.serviceAccountName",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
    }
)
"""Pod fields an environment variable may take (``metadata.labels['k']`` also works)."""

VOLUME_FIELD_PATHS = frozenset(
    {
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "metadata.labels",
        "metadata.annotations",
    }
)
"""Pod fields a downward API volume may write (``metadata.labels['k']`` also works): the
API server's ``validVolumeDownwardAPIFieldPathExpressions``."""

RESOURCE_FIELDS = frozenset(
    {
        "limits.cpu",
        "limits.memory",
        "limits.ephemeral-storage",
        "requests.cpu",
        "requests.memory",
        "requests.ephemeral-storage",
    }
)
_SUBSCRIPTED_FIELD = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")
_STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})


def validate_container(
    container: Container,
    path: FieldPath,
    *,
    volume_names: Set[str],
    container_names: Set[str],
    host_network: bool,
    is_init: bool,
) -> Iterator[Problem]:
    """Every problem with one container; ``container_names`` are all of the pod's."""
    if not container.image:
        yield required((*path, "image"))
    elif container.image != container.image.strip():
        yield invalid(
            (*path, "image"), container.image, "must not have leading or trailing whitespace"
        )
    if container.image_pull_policy not in PULL_POLICIES:
        yield unsupported((*path, "imagePullPolicy"), container.image_pull_policy, PULL_POLICIES)
    if container.termination_message_policy not in TERMINATION_MESSAGE_POLICIES:
        yield unsupported(
            (*path, "terminationMessagePolicy"),
            container.termination_message_policy,
            TERMINATION_MESSAGE_POLICIES,
        )
    yield from _restart_policy(container, path, is_init=is_init)
    yield from _ports(container, path, host_network=host_network)
    for index, variable in enumerate(container.env or ()):
        yield from _env_var(variable, (*path, "env", index), container_names)
    for index, source in enumerate(container.env_from or ()):
        here = (*path, "envFrom", index)
        chosen = (source.config_map_ref is not None) + (source.secret_ref is not None)
        if not chosen:
            yield invalid(here, "", "must specify one of: `configMapRef` or `secretRef`")
        elif chosen > 1:
            yield forbidden(here, "may not have more than one field specified at a time")
    yield from _volume_mounts(container, path, volume_names)
    if container.resources is not None:
        yield from validate_resources(container.resources, (*path, "resources"))
    yield from validate_probes_and_hooks(container, path, is_init=is_init)
    if container.security_context is not None:
        yield from _security_context(container.security_context, (*path, "securityContext"))


def _restart_policy(container: Container, path: FieldPath, *, is_init: bool) -> Iterator[Problem]:
    policy = container.restart_policy
    if policy is None:
        return
    if not is_init:
        yield forbidden((*path, "restartPolicy"), "may not be set for non-init containers")
    elif policy != "Always":
        yield unsupported((*path, "restartPolicy"), policy, ("Always",))


def _ports(container: Container, path: FieldPath, *, host_network: bool) -> Iterator[Problem]:
    seen_names: set[str] = set()
    for index, port in enumerate(container.ports or ()):
        here = (*path, "ports", index)
        if port.name:
            if errors := names.iana_service_name(port.name):
                yield from invalid_each((*here, "name"), port.name, errors)
            if port.name in seen_names:
                yield duplicate((*here, "name"), port.name)
            seen_names.add(port.name)
        if port.container_port is None:
            yield required((*here, "containerPort"))
        else:
            if errors := names.port_number(port.container_port):
                yield from invalid_each((*here, "containerPort"), port.container_port, errors)
        if port.host_port:
            if errors := names.port_number(port.host_port):
                yield from invalid_each((*here, "hostPort"), port.host_port, errors)
            if host_network and port.host_port != port.container_port:
                yield invalid(
                    (*here, "hostPort"),
                    port.host_port,
                    "must match `containerPort` when `hostNetwork` is true",
                )
        if port.protocol not in PROTOCOLS:
            yield unsupported((*here, "protocol"), port.protocol, PROTOCOLS)


def _env_var(variable: EnvVar, path: FieldPath, container_names: Set[str]) -> Iterator[Problem]:
    if not variable.name:
        yield required((*path, "name"))
    else:
        if errors := names.environment_variable_name(variable.name):
            yield from invalid_each((*path, "name"), variable.name, errors)
    source = variable.value_from
    if source is None:
        return
    here = (*path, "valueFrom")
    if variable.value:
        yield invalid(here, "", "may not be specified when `value` is not empty")
    chosen = [
        name
        for name, value in (
            ("fieldRef", source.field_ref),
            ("resourceFieldRef", source.resource_field_ref),
            ("configMapKeyRef", source.config_map_key_ref),
            ("secretKeyRef", source.secret_key_ref),
            ("fileKeyRef", source.file_key_ref),
        )
        if value is not None
    ]
    if not chosen:
        yield invalid(
            here,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, "
            "`configMapKeyRef` or `secretKeyRef`",
        )
    elif len(chosen) > 1:
        yield invalid(here, "", "may not have more than one field specified at a time")
    if source.field_ref is not None:
        yield from validate_field_ref(source.field_ref, (*here, "fieldRef"), ENV_FIELD_PATHS)
    if source.resource_field_ref is not None:
        yield from validate_resource_field_ref(
            source.resource_field_ref,
            (*here, "resourceFieldRef"),
            container_names,
            container_required=False,
        )


def validate_field_ref(
    selector: ObjectFieldSelector, path: FieldPath, supported: Set[str]
) -> Iterator[Problem]:
    """A downward API pod field reference: ``v1`` and a field the kubelet can fill."""
    if selector.api_version != "v1":
        yield unsupported((*path, "apiVersion"), selector.api_version, ("v1",))
    field_path = selector.field_path
    if not field_path:
        yield required((*path, "fieldPath"))
        return
    subscripted = _SUBSCRIPTED_FIELD.match(field_path)
    if subscripted is not None:
        if errors := names.qualified_name(subscripted.group(2)):
            yield from invalid_each((*path, "fieldPath"), field_path, errors)
    elif field_path not in supported:
        yield unsupported((*path, "fieldPath"), field_path, sorted(supported))


def validate_resource_field_ref(
    selector: ResourceFieldSelector,
    path: FieldPath,
    container_names: Set[str],
    *,
    container_required: bool,
) -> Iterator[Problem]:
    """A downward API reference to a container's resources."""
    if selector.container_name:
        if selector.container_name not in container_names:
            yield not_found((*path, "containerName"), selector.container_name)
    elif container_required:
        yield required((*path, "containerName"))
    if not selector.resource:
        yield required((*path, "resource"))
    elif selector.resource not in RESOURCE_FIELDS:
        yield unsupported((*path, "resource"), selector.resource, sorted(RESOURCE_FIELDS))
    if selector.divisor is not None:
        yield from quantity_problems((*path, "divisor"), selector.divisor)


def _volume_mounts(container: Container, path: FieldPath, volumes: Set[str]) -> Iterator[Problem]:
    mount_paths: set[str] = set()
    for index, mount in enumerate(container.volume_mounts or ()):
        here = (*path, "volumeMounts", index)
        if not mount.name:
            yield required((*here, "name"))
        elif mount.name not in volumes:
            yield not_found((*here, "name"), mount.name)
        if not mount.mount_path:
            yield required((*here, "mountPath"))
        elif mount.mount_path in mount_paths:
            yield invalid((*here, "mountPath"), mount.mount_path, "must be unique")
        else:
            mount_paths.add(mount.mount_path)
        if mount.sub_path:
            yield from relative_path_problems((*here, "subPath"), mount.sub_path)
            if mount.sub_path_expr:
                yield invalid(
                    (*here, "subPathExpr"),
                    mount.sub_path_expr,
                    "subPathExpr and subPath are mutually exclusive",
                )
        if mount.mount_propagation is not None:
            if mount.mount_propagation not in MOUNT_PROPAGATIONS:
                yield unsupported(
                    (*here, "mountPropagation"), mount.mount_propagation, MOUNT_PROPAGATIONS
                )
            elif mount.mount_propagation == "Bidirectional" and not _privileged(container):
                yield forbidden(
                    (*here, "mountPropagation"),
                    "Bidirectional mount propagation is available only to privileged containers",
                )


def _privileged(container: Container) -> bool:
    return bool(container.security_context and container.security_context.privileged)


def relative_path_problems(
    path: FieldPath, value: str, *, reserved: bool = False
) -> Iterator[Problem]:
    """A path inside a volume: relative, and never climbing out of it with ``..``; with
    ``reserved``, not starting with ``..`` either (the names the atomic writer keeps for
    itself: ``ValidateLocalNonReservedPath``)."""
    if value.startswith("/"):
        yield invalid(path, value, "must be a relative path")
    if ".." in value.split("/"):
        yield invalid(path, value, "must not contain '..'")
    elif reserved and value.startswith(".."):
        yield invalid(path, value, "must not start with '..'")


def validate_resources(resources: ResourceRequirements, path: FieldPath) -> Iterator[Problem]:
    """Resource names, quantities, and requests no larger than limits."""
    limits: dict[str, Fraction] = {}
    for section in ("limits", "requests"):
        values = getattr(resources, section) or {}
        for name, raw in values.items():
            here = (*path, section, MapKey(name))
            if not _resource_name_ok(name):
                yield invalid(here, name, "must be a standard resource type or fully qualified")
                continue
            amount = yield from quantity_problems(here, raw)
            if amount is None:
                continue
            if section == "limits":
                limits[name] = amount
            elif name in limits and amount > limits[name]:
                yield invalid(
                    here,
                    str(raw),
                    f"must be less than or equal to {name} limit of "
                    f"{(resources.limits or {})[name]}",
                )


def _resource_name_ok(name: str) -> bool:
    if name in _STANDARD_RESOURCES or name.startswith("hugepages-"):
        return True
    return "/" in name and not names.qualified_name(name)


def quantity_problems(
    path: FieldPath, raw: QuantityValue
) -> Generator[Problem, None, Fraction | None]:
    """A quantity's problems; the generator returns the parsed amount for comparisons."""
    try:
        amount = parse_quantity(raw)
    except QuantityError as error:
        yield invalid(path, str(raw), str(error))
        return None
    if amount < 0:
        yield invalid(path, str(raw), "must be greater than or equal to 0")
    return amount


def _security_context(context: SecurityContext, path: FieldPath) -> Iterator[Problem]:
    for name, value in (("runAsUser", context.run_as_user), ("runAsGroup", context.run_as_group)):
        if value is not None and not 0 <= value <= MAX_ID:
            yield invalid((*path, name), value, f"must be between 0 and {MAX_ID}, inclusive")
    if context.privileged and context.allow_privilege_escalation is False:
        yield invalid(
            path, "", "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"
        )
    if context.seccomp_profile is not None:
        yield from validate_seccomp(context.seccomp_profile, (*path, "seccompProfile"))


def validate_seccomp(profile: SeccompProfile, path: FieldPath) -> Iterator[Problem]:
    """A seccomp profile: a known type; a localhost profile exactly when type is Localhost."""
    if profile.type not in SECCOMP_TYPES:
        yield unsupported((*path, "type"), profile.type, SECCOMP_TYPES)
    elif profile.type == "Localhost" and not profile.localhost_profile:
        yield required((*path, "localhostProfile"), "must be set when seccomp type is Localhost")
    elif profile.type == "Localhost" and profile.localhost_profile:
        # a file under the node's seccomp root, never outside it
        yield from relative_path_problems((*path, "localhostProfile"), profile.localhost_profile)
    elif profile.type != "Localhost" and profile.localhost_profile:
        yield invalid(
            (*path, "localhostProfile"),
            profile.localhost_profile,
            "can only be set when seccomp type is Localhost",
        )
