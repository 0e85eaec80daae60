"""The core/v1 Pod, as far as static pods use it, as msgspec Structs.

Field names are the API's JSON names (camelCase). Every field is optional at decode time,
as in the Kubernetes API: what is required is checked by validation, which can then report
every problem at once. Parts of the API that static pods rarely use and fastpod does not act
on (affinity, topology spread, network-attached volume plugins, ...) are kept as opaque
values: they are known, so they do not raise unknown-field warnings, and they count towards
the pod's UID like everything else.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

IntOrString = int | str
"""A Kubernetes ``intOrString``: a port number or a port name."""

QuantityValue = str | int | float
"""A resource quantity as written (``"100m"``, ``1``, ``0.5``); parsed by validation."""

Opaque = Any
"""A part of the API that fastpod keeps as written without interpreting it."""


class ApiObject(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename="camel",
    repr_omit_defaults=True,
    gc=False,
):
    """Base for every API object: camelCase names, unset fields left out when encoded."""


class ObjectMeta(ApiObject):
    """``metadata``: the pod's identity, labels and annotations."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    creation_timestamp: Opaque = None
    deletion_timestamp: Opaque = None
    deletion_grace_period_seconds: int | None = None
    owner_references: list[Opaque] | None = None
    finalizers: list[str] | None = None
    resource_version: str | None = None
    generation: int | None = None
    self_link: str | None = None
    managed_fields: list[Opaque] | None = None


class KeyToPath(ApiObject):
    """One item projected from a ConfigMap or Secret into a volume."""

    key: str | None = None
    path: str | None = None
    mode: int | None = None


class ObjectFieldSelector(ApiObject):
    """A downward API reference to a field of the pod (``metadata.name``, ...)."""

    api_version: str | None = None
    field_path: str | None = None


class ResourceFieldSelector(ApiObject):
    """A downward API reference to a container's resource request or limit."""

    container_name: str | None = None
    resource: str | None = None
    divisor: QuantityValue | None = None


class KeySelector(ApiObject):
    """A key of a ConfigMap or Secret (forbidden in static pods, but decoded to say so)."""

    name: str | None = None
    key: str | None = None
    optional: bool | None = None


class EnvVarSource(ApiObject):
    """Where an environment variable's value comes from."""

    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None
    file_key_ref: Opaque = None


class EnvVar(ApiObject):
    """One environment variable of a container."""

    name: str | None = None
    value: str | None = None
    value_from: EnvVarSource | None = None


class EnvFromSource(ApiObject):
    """A whole ConfigMap or Secret as environment (forbidden in static pods)."""

    prefix: str | None = None
    config_map_ref: KeySelector | None = None
    secret_ref: KeySelector | None = None


class ContainerPort(ApiObject):
    """A port a container listens on, and its host port if any."""

    name: str | None = None
    container_port: int | None = None
    host_port: int | None = None
    host_ip: str | None = msgspec.field(default=None, name="hostIP")
    protocol: str | None = None


class ResourceRequirements(ApiObject):
    """CPU, memory and other resources a container asks for and is limited to."""

    limits: dict[str, QuantityValue] | None = None
    requests: dict[str, QuantityValue] | None = None
    claims: list[Opaque] | None = None


class VolumeMount(ApiObject):
    """Where a pod volume appears inside a container."""

    name: str | None = None
    mount_path: str | None = None
    read_only: bool | None = None
    sub_path: str | None = None
    sub_path_expr: str | None = None
    mount_propagation: str | None = None
    recursive_read_only: str | None = None


class ExecAction(ApiObject):
    """Run a command inside the container."""

    command: list[str] | None = None


class HTTPHeader(ApiObject):
    """A header sent with an HTTP probe or hook."""

    name: str | None = None
    value: str | None = None


class HTTPGetAction(ApiObject):
    """An HTTP GET against the container."""

    path: str | None = None
    port: IntOrString | None = None
    host: str | None = None
    scheme: str | None = None
    http_headers: list[HTTPHeader] | None = None


class TCPSocketAction(ApiObject):
    """A TCP connect to the container."""

    port: IntOrString | None = None
    host: str | None = None


class GRPCAction(ApiObject):
    """A gRPC health check against the container."""

    port: int | None = None
    service: str | None = None


class SleepAction(ApiObject):
    """A pause, used as a preStop hook."""

    seconds: int | None = None


class Probe(ApiObject):
    """A liveness, readiness or startup probe."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int | None = None
    timeout_seconds: int | None = None
    period_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


class LifecycleHandler(ApiObject):
    """What a postStart or preStop hook does."""

    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(ApiObject):
    """A container's lifecycle hooks."""

    post_start: LifecycleHandler | None = None
    pre_stop: LifecycleHandler | None = None
    stop_signal: str | None = None


class Capabilities(ApiObject):
    """Linux capabilities added to and dropped from a container."""

    add: list[str] | None = None
    drop: list[str] | None = None


class SeccompProfile(ApiObject):
    """The seccomp profile of a pod or container."""

    type: str | None = None
    localhost_profile: str | None = None


# The next three were opaque values; their fields are declared in the order of their JSON
# names, as the UID's deterministic encoding sorted the opaque maps' keys, so that a pod's
# UID stays what it was.


class AppArmorProfile(ApiObject):
    """The AppArmor profile of a pod or container."""

    localhost_profile: str | None = None
    type: str | None = None


class SELinuxOptions(ApiObject):
    """The SELinux label given to a pod's or a container's processes."""

    level: str | None = None
    role: str | None = None
    type: str | None = None
    user: str | None = None


class Sysctl(ApiObject):
    """A namespaced kernel parameter set in the pod's namespaces."""

    name: str | None = None
    value: str | None = None


class SecurityContext(ApiObject):
    """A container's security settings."""

    privileged: bool | None = None
    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    read_only_root_filesystem: bool | None = None
    allow_privilege_escalation: bool | None = None
    capabilities: Capabilities | None = None
    seccomp_profile: SeccompProfile | None = None
    se_linux_options: SELinuxOptions | None = None
    app_armor_profile: AppArmorProfile | None = None
    windows_options: Opaque = None
    proc_mount: str | None = None


class PodSecurityContext(ApiObject):
    """The pod-wide security settings."""

    run_as_user: int | None = None
    run_as_group: int | None = None
    run_as_non_root: bool | None = None
    fs_group: int | None = None
    fs_group_change_policy: str | None = None
    supplemental_groups: list[int] | None = None
    supplemental_groups_policy: str | None = None
    seccomp_profile: SeccompProfile | None = None
    se_linux_options: SELinuxOptions | None = None
    se_linux_change_policy: str | None = None
    app_armor_profile: AppArmorProfile | None = None
    windows_options: Opaque = None
    sysctls: list[Sysctl] | None = None


class Container(ApiObject):
    """A container of the pod (regular, init, or sidecar)."""

    name: str | None = None
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    working_dir: str | None = None
    ports: list[ContainerPort] | None = None
    env: list[EnvVar] | None = None
    env_from: list[EnvFromSource] | None = None
    resources: ResourceRequirements | None = None
    resize_policy: list[Opaque] | None = None
    restart_policy: str | None = None
    volume_mounts: list[VolumeMount] | None = None
    volume_devices: list[Opaque] | None = None
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Lifecycle | None = None
    termination_message_path: str | None = None
    termination_message_policy: str | None = None
    image_pull_policy: str | None = None
    security_context: SecurityContext | None = None
    stdin: bool | None = None
    stdin_once: bool | None = None
    tty: bool | None = None


class HostPathVolumeSource(ApiObject):
    """A file or directory of the node mounted into the pod."""

    path: str | None = None
    type: str | None = None


class EmptyDirVolumeSource(ApiObject):
    """A scratch directory that lives as long as the pod."""

    medium: str | None = None
    size_limit: QuantityValue | None = None


class DownwardAPIVolumeFile(ApiObject):
    """One file of a downward API volume."""

    path: str | None = None
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None
    mode: int | None = None


class DownwardAPIVolumeSource(ApiObject):
    """Pod fields written as files."""

    items: list[DownwardAPIVolumeFile] | None = None
    default_mode: int | None = None


class ObjectVolumeSource(ApiObject):
    """A ConfigMap or Secret as a volume (forbidden in static pods, decoded to say so)."""

    name: str | None = None
    secret_name: str | None = None
    items: list[KeyToPath] | None = None
    default_mode: int | None = None
    optional: bool | None = None


class ServiceAccountTokenProjection(ApiObject):
    """A projected service account token (forbidden in static pods)."""

    audience: str | None = None
    expiration_seconds: int | None = None
    path: str | None = None


class VolumeProjection(ApiObject):
    """One source of a projected volume."""

    secret: ObjectVolumeSource | None = None
    config_map: ObjectVolumeSource | None = None
    downward_api: DownwardAPIVolumeSource | None = msgspec.field(default=None, name="downwardAPI")
    service_account_token: ServiceAccountTokenProjection | None = None
    cluster_trust_bundle: Opaque = None
    pod_certificate: Opaque = None


class ProjectedVolumeSource(ApiObject):
    """Several sources projected into one directory."""

    sources: list[VolumeProjection] | None = None
    default_mode: int | None = None


class ImageVolumeSource(ApiObject):
    """An OCI image mounted as a read-only volume."""

    reference: str | None = None
    pull_policy: str | None = None


class Volume(ApiObject):
    """A named volume of the pod; exactly one source is set."""

    name: str | None = None
    host_path: HostPathVolumeSource | None = None
    empty_dir: EmptyDirVolumeSource | None = None
    downward_api: DownwardAPIVolumeSource | None = msgspec.field(default=None, name="downwardAPI")
    projected: ProjectedVolumeSource | None = None
    image: ImageVolumeSource | None = None
    secret: ObjectVolumeSource | None = None
    config_map: ObjectVolumeSource | None = None
    persistent_volume_claim: Opaque = None
    ephemeral: Opaque = None
    csi: Opaque = None
    nfs: Opaque = None
    iscsi: Opaque = None
    glusterfs: Opaque = None
    rbd: Opaque = None
    cephfs: Opaque = None
    cinder: Opaque = None
    fc: Opaque = None
    flocker: Opaque = None
    flex_volume: Opaque = None
    azure_file: Opaque = None
    azure_disk: Opaque = None
    vsphere_volume: Opaque = None
    quobyte: Opaque = None
    photon_persistent_disk: Opaque = None
    portworx_volume: Opaque = None
    scale_io: Opaque = msgspec.field(default=None, name="scaleIO")
    storageos: Opaque = None
    gce_persistent_disk: Opaque = None
    aws_elastic_block_store: Opaque = None
    git_repo: Opaque = None


VOLUME_SOURCES: tuple[str, ...] = Volume.__struct_encode_fields__[1:]
"""The API names of every volume source (``hostPath``, ...), in declaration order."""


def volume_sources(volume: Volume) -> tuple[Any, ...]:
    """The values of every volume source of ``volume``, in :data:`VOLUME_SOURCES` order."""
    return msgspec.structs.astuple(volume)[1:]


def volume_source_count(volume: Volume) -> int:
    """How many volume sources ``volume`` sets (counted in C: a pod decode asks per volume)."""
    values = msgspec.structs.astuple(volume)  # the name, then the sources
    return len(values) - values.count(None) - (volume.name is not None)


class Toleration(ApiObject):
    """A taint the pod tolerates."""

    key: str | None = None
    operator: str | None = None
    value: str | None = None
    effect: str | None = None
    toleration_seconds: int | None = None


class HostAlias(ApiObject):
    """An extra ``/etc/hosts`` entry."""

    ip: str | None = None
    hostnames: list[str] | None = None


class PodDNSConfigOption(ApiObject):
    """One resolver option (``ndots``, ``edns0``...), with its value when it takes one."""

    name: str | None = None
    value: str | None = None


class PodDNSConfig(ApiObject):
    """``dnsConfig``: nameservers, search paths and options merged into the pod's resolver
    configuration (its whole configuration under ``dnsPolicy: None``)."""

    nameservers: list[str] | None = None
    searches: list[str] | None = None
    options: list[PodDNSConfigOption] | None = None


class PodSpec(ApiObject):
    """``spec``: the containers and how the pod runs them."""

    containers: list[Container] | None = None
    init_containers: list[Container] | None = None
    ephemeral_containers: list[Opaque] | None = None
    volumes: list[Volume] | None = None
    restart_policy: str | None = None
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str | None = None
    dns_config: PodDNSConfig | None = None
    node_selector: dict[str, str] | None = None
    node_name: str | None = None
    service_account_name: str | None = None
    service_account: str | None = None
    automount_service_account_token: bool | None = None
    host_network: bool | None = None
    host_pid: bool | None = msgspec.field(default=None, name="hostPID")
    host_ipc: bool | None = msgspec.field(default=None, name="hostIPC")
    host_users: bool | None = None
    share_process_namespace: bool | None = None
    security_context: PodSecurityContext | None = None
    image_pull_secrets: list[Opaque] | None = None
    hostname: str | None = None
    subdomain: str | None = None
    set_hostname_as_fqdn: bool | None = msgspec.field(default=None, name="setHostnameAsFQDN")
    affinity: Opaque = None
    scheduler_name: str | None = None
    tolerations: list[Toleration] | None = None
    host_aliases: list[HostAlias] | None = None
    priority_class_name: str | None = None
    priority: int | None = None
    preemption_policy: str | None = None
    readiness_gates: list[Opaque] | None = None
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    overhead: dict[str, QuantityValue] | None = None
    topology_spread_constraints: list[Opaque] | None = None
    os: Opaque = None
    scheduling_gates: list[Opaque] | None = None
    resource_claims: list[Opaque] | None = None
    resources: ResourceRequirements | None = None


class Pod(ApiObject):
    """A Pod manifest: what a static pod file or URL holds."""

    api_version: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: Opaque = None


class PodList(ApiObject):
    """A ``v1`` PodList (or a ``List`` of Pods): what a manifest URL may serve."""

    api_version: str | None = None
    kind: str | None = None
    metadata: Opaque = None
    items: list[Pod] | None = None


class PodSource(msgspec.Struct, frozen=True):
    """Where a manifest came from: a file path, or the manifest URL."""

    kind: Literal["file", "http"]
    location: str
