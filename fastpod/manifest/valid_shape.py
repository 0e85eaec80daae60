"""The shape of a pod that is certainly valid, as Structs msgspec checks in one C-level pass.

Validation (:mod:`.validation` and the modules it calls) walks a decoded pod in Python to
name every problem at its field; it cost most of a JSON manifest's decode. Nearly every
manifest has no problem at all, so :func:`has_valid_shape` first asks msgspec to convert the
plain values into these mirrors of the model's Structs, whose fields carry the rules msgspec
checks in C (bounds, enumerations, required fields). A field whose rules are rare or span
fields is left out, and a mirror refuses fields it does not know: a manifest using one
simply takes the precise path. Strings are plain ``str`` here: msgspec would run a regular
expression per value (1-4 µs each, most of this check's cost), where
:mod:`.fast_validation` asks the validators' own name checks, which remember their answers.

Every value the mirror accepts keeps the rules it states; with
:func:`.fast_validation.certainly_valid` it answers "valid" only when validation would. A
field the validators never read is ``Any``, unless the model has a Struct there (whose
unknown fields are looked for): then a mirror of ``Any`` fields. The mirrors know only
fields the model knows, under the same JSON names, so a value they accept also has no
unknown field (tests compare both, and run both paths on the corpus and on mutated
manifests).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

Port = Annotated[int, Meta(ge=1, le=65535)]
Id = Annotated[int, Meta(ge=0, le=2147483647)]
NonNegative = Annotated[int, Meta(ge=0)]
Quantity = str | Annotated[int, Meta(ge=0, le=10**12)]
"""A plain non-negative quantity (the text's rule: :mod:`.fast_validation`)."""
ResourceName = Literal["cpu", "memory", "ephemeral-storage"]


class Shape(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True, gc=False):
    """Base of the mirrors (each ``<Name>Shape`` mirrors the model's ``<Name>``, or the
    Struct its field holds): the model's JSON names; any other field refuses."""


class MetadataShape(Shape, kw_only=True):
    name: Any = None  # the final name (node-suffixed) is checked after defaulting
    generate_name: Any = None
    namespace: str | None = None
    uid: Any = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None  # their size: after defaulting
    creation_timestamp: Any = None
    deletion_timestamp: Any = None
    deletion_grace_period_seconds: Any = None
    owner_references: Any = None
    finalizers: Any = None
    resource_version: Any = None
    generation: Any = None
    self_link: Any = None
    managed_fields: Any = None


class FieldRefShape(Shape, kw_only=True):
    api_version: Literal["v1"] | None = None
    field_path: Literal[
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "spec.nodeName",
        "spec.serviceAccountName",
        "status.hostIP",
        "status.hostIPs",
        "status.podIP",
        "status.podIPs",
    ]


class EnvSourceShape(Shape, kw_only=True):
    field_ref: FieldRefShape


class EnvVarShape(Shape, kw_only=True):
    name: str
    value: Any = None  # empty when valueFrom is set: after defaulting
    value_from: EnvSourceShape | None = None


class PortShape(Shape, kw_only=True):
    name: str | None = None  # unique in the container: after defaulting
    container_port: Port
    host_port: Annotated[int, Meta(ge=0, le=65535)] | None = None
    host_ip: Any = msgspec.field(default=None, name="hostIP")
    protocol: Literal["SCTP", "TCP", "UDP"] | None = None


class ResourcesShape(Shape, kw_only=True):
    limits: dict[ResourceName, Quantity] | None = None
    requests: dict[ResourceName, Quantity] | None = None


class MountShape(Shape, kw_only=True):
    name: Annotated[str, Meta(min_length=1)]  # a declared volume: after defaulting
    mount_path: Annotated[str, Meta(min_length=1)]
    read_only: Any = None
    mount_propagation: Literal["HostToContainer", "None"] | None = None
    recursive_read_only: Any = None


class ExecShape(Shape, kw_only=True):
    command: Annotated[list[str], Meta(min_length=1)]


class HeaderShape(Shape, kw_only=True):
    name: str
    value: Any = None


class HttpGetShape(Shape, kw_only=True):
    path: Any = None
    port: Port | str
    host: Any = None
    scheme: Literal["HTTP", "HTTPS"] | None = None
    http_headers: list[HeaderShape] | None = None


class TcpShape(Shape, kw_only=True):
    port: Port | str
    host: Any = None


class GrpcShape(Shape, kw_only=True):
    port: Port
    service: Any = None


class ProbeShape(Shape, kw_only=True):
    """A liveness or startup probe (one success counts); one handler: after defaulting."""

    exec: ExecShape | None = None
    http_get: HttpGetShape | None = None
    tcp_socket: TcpShape | None = None
    grpc: GrpcShape | None = None
    initial_delay_seconds: NonNegative | None = None
    timeout_seconds: NonNegative | None = None
    period_seconds: NonNegative | None = None
    success_threshold: Literal[0, 1] | None = None  # 0 is defaulted to 1
    failure_threshold: NonNegative | None = None
    termination_grace_period_seconds: Annotated[int, Meta(ge=1)] | None = None


class ReadinessProbeShape(ProbeShape, kw_only=True):
    success_threshold: NonNegative | None = None  # type: ignore[assignment]


class SleepShape(Shape, kw_only=True):
    seconds: Annotated[int, Meta(ge=1)]


class HandlerShape(Shape, kw_only=True):
    exec: ExecShape | None = None
    http_get: HttpGetShape | None = None
    tcp_socket: TcpShape | None = None
    sleep: SleepShape | None = None


class LifecycleShape(Shape, kw_only=True):
    post_start: HandlerShape | None = None
    pre_stop: HandlerShape | None = None
    stop_signal: Any = None


class SeccompShape(Shape, kw_only=True):
    type: Literal["RuntimeDefault", "Unconfined"]


class CapabilitiesShape(Shape, kw_only=True):
    add: Any = None
    drop: Any = None


class SELinuxShape(Shape, kw_only=True):
    level: Any = None
    role: Any = None
    type: Any = None
    user: Any = None


class SecurityContextShape(Shape, kw_only=True):
    privileged: Any = None  # never with allowPrivilegeEscalation false: after defaulting
    run_as_user: Id | None = None
    run_as_group: Id | None = None
    run_as_non_root: Any = None
    read_only_root_filesystem: Any = None
    allow_privilege_escalation: Any = None
    capabilities: CapabilitiesShape | None = None
    seccomp_profile: SeccompShape | None = None
    se_linux_options: SELinuxShape | None = None
    windows_options: Any = None


class InitContainerShape(Shape, kw_only=True):
    """An init container without probes, hooks or a restart policy (no sidecar)."""

    name: str  # unique in the pod: after defaulting
    image: str
    command: Any = None
    args: Any = None
    working_dir: Any = None
    ports: list[PortShape] | None = None
    env: list[EnvVarShape] | None = None
    resources: ResourcesShape | None = None  # requests within limits: after defaulting
    resize_policy: Any = None
    volume_mounts: list[MountShape] | None = None
    termination_message_path: Any = None
    termination_message_policy: Literal["File", "FallbackToLogsOnError"] | None = None
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = None
    security_context: SecurityContextShape | None = None
    stdin: Any = None
    stdin_once: Any = None
    tty: Any = None


class ContainerShape(InitContainerShape, kw_only=True):
    liveness_probe: ProbeShape | None = None
    readiness_probe: ReadinessProbeShape | None = None
    startup_probe: ProbeShape | None = None
    lifecycle: LifecycleShape | None = None


class HostPathShape(Shape, kw_only=True):
    path: str
    type: (
        Literal[
            "",
            "BlockDevice",
            "CharDevice",
            "Directory",
            "DirectoryOrCreate",
            "File",
            "FileOrCreate",
            "Socket",
        ]
        | None
    ) = None


class EmptyDirShape(Shape, kw_only=True):
    medium: Literal["", "Memory"] | None = None
    size_limit: Quantity | None = None


class VolumeShape(Shape, kw_only=True):
    """A hostPath or emptyDir volume (not both: after defaulting)."""

    name: str  # unique in the pod: after defaulting
    host_path: HostPathShape | None = None
    empty_dir: EmptyDirShape | None = None


class PodSecurityContextShape(Shape, kw_only=True):
    run_as_user: Id | None = None
    run_as_group: Id | None = None
    run_as_non_root: Any = None
    fs_group: Id | None = None
    fs_group_change_policy: Any = None
    supplemental_groups: list[Id] | None = None
    supplemental_groups_policy: Any = None
    seccomp_profile: SeccompShape | None = None
    se_linux_options: SELinuxShape | None = None
    se_linux_change_policy: Any = None
    windows_options: Any = None


class SpecShape(Shape, kw_only=True):
    containers: Annotated[list[ContainerShape], Meta(min_length=1)]
    init_containers: list[InitContainerShape] | None = None
    volumes: list[VolumeShape] | None = None
    restart_policy: Literal["Always", "Never", "OnFailure"] | None = None
    termination_grace_period_seconds: NonNegative | None = None
    active_deadline_seconds: Annotated[int, Meta(ge=1)] | None = None
    dns_policy: Literal["ClusterFirst", "ClusterFirstWithHostNet", "Default"] | None = None
    node_selector: dict[str, str] | None = None
    node_name: Any = None
    service_account_name: Any = None
    service_account: Any = None
    automount_service_account_token: Any = None
    host_network: Any = None
    host_pid: Any = msgspec.field(default=None, name="hostPID")
    host_ipc: Any = msgspec.field(default=None, name="hostIPC")
    host_users: Any = None
    share_process_namespace: Any = None
    security_context: PodSecurityContextShape | None = None
    image_pull_secrets: Any = None
    hostname: str | None = None
    subdomain: str | None = None
    set_hostname_as_fqdn: Any = msgspec.field(default=None, name="setHostnameAsFQDN")
    affinity: Any = None
    scheduler_name: Any = None
    priority_class_name: str | None = None
    priority: Any = None
    preemption_policy: Any = None
    readiness_gates: Any = None
    runtime_class_name: Any = None
    enable_service_links: Any = None
    overhead: Any = None
    topology_spread_constraints: Any = None
    os: Any = None


class PodShape(Shape, kw_only=True):
    api_version: Any = None
    kind: Any = None
    metadata: MetadataShape
    spec: SpecShape
    status: Any = None


def has_valid_shape(raw: Any) -> bool:
    """Whether the plain values of a Pod (already converted into the model without error)
    fit the mirrors: then no field is unknown, and every rule of a single field holds."""
    try:
        msgspec.convert(raw, PodShape)
    except msgspec.ValidationError:
        return False
    return True
