"""PURE: every field of the Pod model, and whether fastpod honours it (nothing is silent).

Each field is named by its path in a manifest, with the API's names and ``[]`` for the items
of a list (``spec.containers[].resizePolicy``), and has one :class:`Honour`:

- **honoured**: fastpod does with it what the kubelet does;
- **partly**: some of it is done; the note says what is missing;
- **not honoured**: fastpod ignores it, or does less than the kubelet would;
- **no effect**: the kubelet itself does nothing with it on a static pod (what only a
  scheduler or the API server reads); the pod runs as a kubelet would run it, so it is no
  warning, only a line of the parity table;
- **refused**: validation rejects a manifest that sets it, with the reason.

Partly and not honoured fields that a manifest sets are warned about, by ``fastpod
validate``, in the worker's ``pod added`` log line and as a ``FeatureNotSupported`` event
(:mod:`fastpod.manifest.not_honoured` finds them). Some only when their value makes a
difference (``when``): a warning on every pod would teach operators to skip warnings.

Honoured and partly fields list their children; the other three cover everything under
them (a refusal under them is still listed). ``tests/manifest/test_honoured.py`` walks the
model and fails on any field without an entry, so a field added to the model later cannot
go silent; ``python -m tests.manifest.test_honoured`` writes the table of
``docs/kubelet-parity.md`` from this registry.

Whoever makes fastpod honour a field flips its entry here, and adds entries for its
children when it stops being a leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fastpod.manifest.static_pod_rules import NO_API_SERVER
from fastpod.manifest.volume_support import used_volume_names
from fastpod.model import Volume

Status = Literal["honoured", "partly", "not honoured", "no effect", "refused"]

When = Callable[[Any, Sequence[Any]], bool]
"""Whether a field's value makes a difference: called with the value and the objects that
enclose it, the pod first and the field's owner last."""


@dataclass(frozen=True, slots=True)
class Honour:
    """What fastpod does with one field, and why when it is not everything."""

    status: Status
    note: str = ""
    when: When | None = None

    @property
    def warns(self) -> bool:
        """A field the operator is told about when a manifest sets it."""
        return self.status in ("partly", "not honoured")

    @property
    def covers_children(self) -> bool:
        """Whether this entry speaks for everything under the field too."""
        return self.status in ("not honoured", "no effect", "refused")


HONOURED = Honour("honoured")


def partly(missing: str, when: When | None = None) -> Honour:
    """Some of the field is done; ``missing`` says what is not."""
    return Honour("partly", missing, when)


def not_honoured(reason: str, when: When | None = None) -> Honour:
    """fastpod ignores the field, or does less than the kubelet would: ``reason`` says so."""
    return Honour("not honoured", reason, when)


def no_effect(why: str) -> Honour:
    """The kubelet does nothing with the field on a static pod either: ``why``."""
    return Honour("no effect", why)


def refused(why: str) -> Honour:
    """Validation rejects a manifest that sets the field: ``why``."""
    return Honour("refused", why)


def _under(prefix: str, table: Mapping[str, Honour]) -> dict[str, Honour]:
    return {f"{prefix}.{path}": entry for path, entry in table.items()}


def _pod(enclosing: Sequence[Any]) -> Any:
    return enclosing[0]


def _without_host_network(_value: Any, enclosing: Sequence[Any]) -> bool:
    return not _pod(enclosing).spec.host_network


def _is_true(value: Any, _enclosing: Sequence[Any]) -> bool:
    return value is True


def _is_false(value: Any, _enclosing: Sequence[Any]) -> bool:
    return value is False


def _beyond_cpu_and_memory(value: Any, _enclosing: Sequence[Any]) -> bool:
    return any(name not in ("cpu", "memory") for name in value)


def _pod_user(pod: Any) -> int | None:
    context = pod.spec.security_context
    return context.run_as_user if context is not None else None


def _container_group_without_user(_value: Any, enclosing: Sequence[Any]) -> bool:
    # a group is applied only with a user, the container's or the pod's
    return enclosing[-1].run_as_user is None and _pod_user(_pod(enclosing)) is None


def _pod_group_without_user(_value: Any, enclosing: Sequence[Any]) -> bool:
    spec = _pod(enclosing).spec
    containers = [*(spec.init_containers or ()), *(spec.containers or ())]
    return _pod_user(_pod(enclosing)) is None and all(
        container.security_context is None or container.security_context.run_as_user is None
        for container in containers
    )


GROUP_WITHOUT_USER = "not applied without a runAsUser (the container's or the pod's)"


_PROFILES = {
    "seccompProfile": HONOURED,
    "seccompProfile.type": HONOURED,
    "seccompProfile.localhostProfile": HONOURED,
    "appArmorProfile": HONOURED,
    "appArmorProfile.type": HONOURED,
    "appArmorProfile.localhostProfile": HONOURED,
    "seLinuxOptions": HONOURED,
    "seLinuxOptions.user": HONOURED,
    "seLinuxOptions.role": HONOURED,
    "seLinuxOptions.type": HONOURED,
    "seLinuxOptions.level": HONOURED,
}

_HTTP_GET = {
    "httpGet": HONOURED,
    "httpGet.path": HONOURED,
    "httpGet.port": HONOURED,
    "httpGet.host": HONOURED,
    "httpGet.scheme": HONOURED,
    "httpGet.httpHeaders": HONOURED,
    "httpGet.httpHeaders[].name": HONOURED,
    "httpGet.httpHeaders[].value": HONOURED,
}

_PROBE = {
    "exec": HONOURED,
    "exec.command": HONOURED,
    **_HTTP_GET,
    "tcpSocket": HONOURED,
    "tcpSocket.port": HONOURED,
    "tcpSocket.host": HONOURED,
    "grpc": HONOURED,
    "grpc.port": HONOURED,
    "grpc.service": HONOURED,
    "initialDelaySeconds": HONOURED,
    "timeoutSeconds": HONOURED,
    "periodSeconds": HONOURED,
    "successThreshold": HONOURED,
    "failureThreshold": HONOURED,
    "terminationGracePeriodSeconds": HONOURED,
}

_HOOK = {
    "exec": HONOURED,
    "exec.command": HONOURED,
    **_HTTP_GET,
    "httpGet.scheme": partly(
        "HTTPS is not tried again over HTTP when the server answers HTTP, as the kubelet does",
        lambda value, _: value == "HTTPS",
    ),
    "tcpSocket": not_honoured("a tcpSocket hook is not run: it fails, as on the kubelet"),
    "sleep": HONOURED,
    "sleep.seconds": HONOURED,
}

_SECURITY_CONTEXT = {
    "privileged": HONOURED,
    "runAsUser": HONOURED,
    "runAsGroup": partly(GROUP_WITHOUT_USER, _container_group_without_user),
    "runAsNonRoot": HONOURED,
    "readOnlyRootFilesystem": HONOURED,
    "allowPrivilegeEscalation": HONOURED,
    "capabilities": HONOURED,
    "capabilities.add": HONOURED,
    "capabilities.drop": HONOURED,
    **_PROFILES,
    "windowsOptions": no_effect("Windows only: ignored on Linux, as by the kubelet"),
    "procMount": HONOURED,
}

_CONTAINER = {
    "name": HONOURED,
    "image": HONOURED,
    "command": HONOURED,
    "args": HONOURED,
    "workingDir": HONOURED,
    "ports": HONOURED,
    "ports[].name": HONOURED,
    "ports[].containerPort": HONOURED,
    "ports[].hostPort": partly(
        "not published: a pod without hostNetwork has loopback only", _without_host_network
    ),
    "ports[].hostIP": not_honoured(
        "no port is published on the node's addresses", _without_host_network
    ),
    "ports[].protocol": no_effect("describes the port; only a published hostPort would use it"),
    "env": HONOURED,
    "env[].name": HONOURED,
    "env[].value": HONOURED,
    "env[].valueFrom": HONOURED,
    "env[].valueFrom.fieldRef": HONOURED,
    "env[].valueFrom.fieldRef.apiVersion": HONOURED,
    "env[].valueFrom.fieldRef.fieldPath": HONOURED,
    "env[].valueFrom.resourceFieldRef": HONOURED,
    "env[].valueFrom.resourceFieldRef.containerName": HONOURED,
    "env[].valueFrom.resourceFieldRef.resource": HONOURED,
    "env[].valueFrom.resourceFieldRef.divisor": HONOURED,
    "env[].valueFrom.configMapKeyRef": refused(
        f"static pods cannot read ConfigMaps: {NO_API_SERVER}"
    ),
    "env[].valueFrom.secretKeyRef": refused(f"static pods cannot read Secrets: {NO_API_SERVER}"),
    "env[].valueFrom.fileKeyRef": not_honoured(
        "the variable is left out: fastpod does not read it from a volume's file"
    ),
    "envFrom": refused(f"static pods cannot read ConfigMaps or Secrets: {NO_API_SERVER}"),
    "resources": HONOURED,
    "resources.limits": partly(
        "only cpu and memory are enforced: not ephemeral-storage, huge pages or extended resources",
        _beyond_cpu_and_memory,
    ),
    "resources.requests": partly(
        "only cpu (as CPU shares) and memory: ephemeral-storage, huge pages and extended "
        "resources are neither set aside nor checked against the node",
        _beyond_cpu_and_memory,
    ),
    "resources.claims": refused("static pods may not use ResourceClaims"),
    "resizePolicy": not_honoured(
        "containers are never resized in place: a new manifest is a new pod"
    ),
    "restartPolicy": HONOURED,
    "volumeMounts": HONOURED,
    "volumeMounts[].name": HONOURED,
    "volumeMounts[].mountPath": HONOURED,
    "volumeMounts[].readOnly": HONOURED,
    "volumeMounts[].subPath": HONOURED,
    "volumeMounts[].subPathExpr": not_honoured(
        "not expanded: the volume's root is mounted instead"
    ),
    "volumeMounts[].mountPropagation": not_honoured(
        "mounts are private: nothing propagates between the node and the container",
        lambda value, _: value != "None",
    ),
    "volumeMounts[].recursiveReadOnly": not_honoured(
        "a readOnly mount is not made read-only recursively",
        lambda value, _: value in ("Enabled", "IfPossible"),
    ),
    "volumeDevices": not_honoured("no block device is attached"),
    "livenessProbe": HONOURED,
    **_under("livenessProbe", _PROBE),
    "readinessProbe": HONOURED,
    **_under("readinessProbe", _PROBE),
    "startupProbe": HONOURED,
    **_under("startupProbe", _PROBE),
    "lifecycle": HONOURED,
    "lifecycle.postStart": HONOURED,
    **_under("lifecycle.postStart", _HOOK),
    "lifecycle.preStop": HONOURED,
    **_under("lifecycle.preStop", _HOOK),
    "lifecycle.stopSignal": not_honoured("the image's stop signal (or SIGTERM) is sent"),
    "terminationMessagePath": HONOURED,
    "terminationMessagePolicy": HONOURED,
    "imagePullPolicy": HONOURED,
    "securityContext": HONOURED,
    **_under("securityContext", _SECURITY_CONTEXT),
    "stdin": HONOURED,
    "stdinOnce": no_effect("nothing attaches to a container's stdin on a node alone"),
    "tty": HONOURED,
}

_POD_SECURITY_CONTEXT = {
    "runAsUser": HONOURED,
    "runAsGroup": partly(GROUP_WITHOUT_USER, _pod_group_without_user),
    "runAsNonRoot": _SECURITY_CONTEXT["runAsNonRoot"],
    "fsGroup": HONOURED,
    "fsGroupChangePolicy": no_effect(
        "the kubelet's emptyDir, downwardAPI and projected volumes change ownership "
        "whatever it says, and no other volume here is given the group"
    ),
    "supplementalGroups": HONOURED,
    "supplementalGroupsPolicy": no_effect(
        "alpha in 1.32 (SupplementalGroupsPolicy), off by default: the kubelet ignores it"
    ),
    **_PROFILES,
    "seLinuxChangePolicy": not_honoured("volumes are not relabelled with SELinux mount options"),
    "windowsOptions": _SECURITY_CONTEXT["windowsOptions"],
    "sysctls": HONOURED,
    "sysctls[].name": HONOURED,
    "sysctls[].value": HONOURED,
}

_EXTRA_VOLUME_SOURCES = (
    "csi",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "cephfs",
    "cinder",
    "fc",
    "flocker",
    "flexVolume",
    "azureFile",
    "azureDisk",
    "vsphereVolume",
    "quobyte",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
)
"""Volume sources that need a plugin fastpod does not have."""


def _unused_volume(_value: Any, enclosing: Sequence[Any]) -> bool:
    """Whether the volume holding the field is mounted by no container: never set up."""
    volume = next(item for item in reversed(enclosing) if isinstance(item, Volume))
    return volume.name not in used_volume_names(_pod(enclosing).spec)


def _on_disk(_value: Any, enclosing: Sequence[Any]) -> bool:
    empty_dir = enclosing[-1]
    return bool(empty_dir.medium != "Memory")


def _unmountable(why: str) -> Honour:
    """A volume source fastpod cannot provide: refused when a container mounts it (by
    :mod:`.volume_support` or :mod:`.static_pod_rules`), warned about when none does."""
    return not_honoured(f"{why}; refused when a container mounts it, {UNUSED}", _unused_volume)


UNUSED = "else never set up, as the kubelet skips an unused volume"

_DOWNWARD_API = {
    "items": HONOURED,
    "items[].path": HONOURED,
    "items[].fieldRef": HONOURED,
    "items[].fieldRef.apiVersion": HONOURED,
    "items[].fieldRef.fieldPath": HONOURED,
    "items[].resourceFieldRef": HONOURED,
    "items[].resourceFieldRef.containerName": HONOURED,
    "items[].resourceFieldRef.resource": HONOURED,
    "items[].resourceFieldRef.divisor": HONOURED,
    "items[].mode": HONOURED,
    "defaultMode": HONOURED,
}

_VOLUME = {
    "name": HONOURED,
    "hostPath": HONOURED,
    "hostPath.path": HONOURED,
    "hostPath.type": HONOURED,
    "emptyDir": HONOURED,
    "emptyDir.medium": HONOURED,
    "emptyDir.sizeLimit": partly(
        "bounds a memory volume's tmpfs; on disk the volume may outgrow it (a kubelet evicts "
        "the pod)",
        _on_disk,
    ),
    "downwardAPI": HONOURED,
    **_under("downwardAPI", _DOWNWARD_API),
    "projected": HONOURED,
    "projected.defaultMode": HONOURED,
    "projected.sources": HONOURED,
    "projected.sources[].downwardAPI": HONOURED,
    **_under("projected.sources[].downwardAPI", _DOWNWARD_API),
    "projected.sources[].downwardAPI.defaultMode": no_effect(
        "no field of the API's downwardAPI projection: the projected volume's defaultMode applies"
    ),
    "projected.sources[].secret": _unmountable(
        f"static pods cannot project Secrets: {NO_API_SERVER}"
    ),
    "projected.sources[].configMap": _unmountable(
        f"static pods cannot project ConfigMaps: {NO_API_SERVER}"
    ),
    "projected.sources[].serviceAccountToken": _unmountable(
        "static pods cannot use service account tokens: there is no API server to issue them"
    ),
    "projected.sources[].clusterTrustBundle": refused(
        "static pods may not use ClusterTrustBundle projected volume sources"
    ),
    "projected.sources[].podCertificate": _unmountable(
        "static pods cannot use pod certificates: there is no API server to sign them"
    ),
    "image": _unmountable("fastpod does not mount OCI images as volumes"),
    "secret": _unmountable(f"static pods cannot use Secret volumes: {NO_API_SERVER}"),
    "configMap": _unmountable(f"static pods cannot use ConfigMap volumes: {NO_API_SERVER}"),
    "persistentVolumeClaim": _unmountable(
        "static pods cannot use PersistentVolumeClaims: there is no API server to bind the claim"
    ),
    "ephemeral": _unmountable(
        "static pods cannot use ephemeral volumes: they are PersistentVolumeClaims created "
        "through the API server"
    ),
    **{
        source: _unmountable(f"fastpod has no {source} volume plugin")
        for source in _EXTRA_VOLUME_SOURCES
    },
}

_BOOKKEEPING = no_effect("the API server's bookkeeping: nothing on a node reads it")
_NOT_SCHEDULED = no_effect("only a scheduler reads it: a static pod is bound to its node")

_NODE_LABELS = frozenset({("kubernetes.io/os", "linux"), ("beta.kubernetes.io/os", "linux")})


def _names_other_node_labels(value: Any, _enclosing: Sequence[Any]) -> bool:
    return any(item not in _NODE_LABELS for item in value.items())


def _requires_node_affinity(value: Any, _enclosing: Sequence[Any]) -> bool:
    node_affinity = value.get("nodeAffinity") if isinstance(value, dict) else None
    return isinstance(node_affinity, dict) and bool(
        node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    )


def _other_os(value: Any, _enclosing: Sequence[Any]) -> bool:
    return isinstance(value, dict) and value.get("name") not in (None, "linux")


def _finished_phase(value: Any, _enclosing: Sequence[Any]) -> bool:
    return isinstance(value, dict) and value.get("phase") in ("Failed", "Succeeded")


def _other_os_label(value: Any, _enclosing: Sequence[Any]) -> bool:
    return bool(value.get("kubernetes.io/os", "linux") != "linux")


DELETION = "the kubelet stops a pod marked for deletion; fastpod runs it"

REGISTRY: dict[str, Honour] = {
    "apiVersion": HONOURED,
    "kind": HONOURED,
    "metadata": HONOURED,
    "metadata.name": HONOURED,
    "metadata.generateName": no_effect("a static pod is named by metadata.name"),
    "metadata.namespace": HONOURED,
    "metadata.uid": HONOURED,
    "metadata.labels": partly(
        "a kubernetes.io/os label other than linux does not refuse the pod, as the kubelet's "
        "admission does",
        _other_os_label,
    ),
    "metadata.annotations": HONOURED,
    "metadata.creationTimestamp": _BOOKKEEPING,
    "metadata.deletionTimestamp": not_honoured(DELETION),
    "metadata.deletionGracePeriodSeconds": not_honoured(DELETION),
    "metadata.ownerReferences": _BOOKKEEPING,
    "metadata.finalizers": _BOOKKEEPING,
    "metadata.resourceVersion": _BOOKKEEPING,
    "metadata.generation": _BOOKKEEPING,
    "metadata.selfLink": _BOOKKEEPING,
    "metadata.managedFields": _BOOKKEEPING,
    "spec": HONOURED,
    "spec.containers": HONOURED,
    **_under("spec.containers[]", _CONTAINER),
    "spec.containers[].restartPolicy": refused("may not be set for non-init containers"),
    "spec.initContainers": HONOURED,
    **_under("spec.initContainers[]", _CONTAINER),
    "spec.ephemeralContainers": refused("cannot be set on create"),
    "spec.volumes": HONOURED,
    **_under("spec.volumes[]", _VOLUME),
    "spec.restartPolicy": HONOURED,
    "spec.terminationGracePeriodSeconds": HONOURED,
    "spec.activeDeadlineSeconds": HONOURED,
    "spec.dnsPolicy": HONOURED,
    "spec.dnsConfig": HONOURED,
    "spec.dnsConfig.nameservers": HONOURED,
    "spec.dnsConfig.searches": HONOURED,
    "spec.dnsConfig.options": HONOURED,
    "spec.dnsConfig.options[].name": HONOURED,
    "spec.dnsConfig.options[].value": HONOURED,
    "spec.nodeSelector": not_honoured(
        "not matched against the node's labels: the kubelet refuses a pod whose nodeSelector "
        "the node does not match (NodeAffinity); fastpod runs it",
        _names_other_node_labels,
    ),
    "spec.nodeName": HONOURED,
    "spec.serviceAccountName": not_honoured(
        "a static pod runs without a service account or its token"
    ),
    "spec.serviceAccount": no_effect("the old name of serviceAccountName, copied to it"),
    "spec.automountServiceAccountToken": no_effect(
        "a static pod gets no token to mount, from the kubelet either"
    ),
    "spec.hostNetwork": HONOURED,
    "spec.hostPID": HONOURED,
    "spec.hostIPC": HONOURED,
    "spec.hostUsers": partly(
        "false is refused when the pod is admitted (UserNamespacesNotSupported): neither "
        "runtime here gives a pod a user namespace of its own",
        _is_false,
    ),
    "spec.shareProcessNamespace": HONOURED,
    "spec.securityContext": HONOURED,
    **_under("spec.securityContext", _POD_SECURITY_CONTEXT),
    "spec.imagePullSecrets": not_honoured(
        "static pods cannot read Secrets; give the container runtime registry credentials on "
        "the node instead"
    ),
    "spec.hostname": HONOURED,
    "spec.subdomain": HONOURED,
    "spec.setHostnameAsFQDN": HONOURED,
    "spec.affinity": not_honoured(
        "required node affinity is not matched against the node's labels, as the kubelet's "
        "admission matches it; the rest only concerns a scheduler",
        _requires_node_affinity,
    ),
    "spec.schedulerName": _NOT_SCHEDULED,
    "spec.tolerations": no_effect(
        "the kubelet admits a static pod whatever the node's taints "
        "(pkg/kubelet/lifecycle/predicate.go)"
    ),
    "spec.hostAliases": HONOURED,
    "spec.hostAliases[].ip": HONOURED,
    "spec.hostAliases[].hostnames": HONOURED,
    "spec.priorityClassName": HONOURED,
    "spec.priority": no_effect(
        "the kubelet treats every static pod as critical, whatever its priority"
    ),
    "spec.preemptionPolicy": _NOT_SCHEDULED,
    "spec.readinessGates": HONOURED,
    "spec.runtimeClassName": not_honoured("the runtime's default handler runs the pod"),
    "spec.enableServiceLinks": no_effect("there are no services to link without an API server"),
    "spec.overhead": not_honoured("not added to the pod's resources: there is no pod cgroup"),
    "spec.topologySpreadConstraints": _NOT_SCHEDULED,
    "spec.os": not_honoured(
        "the kubelet refuses a pod for another OS (PodOSNotSupported); fastpod runs it", _other_os
    ),
    "spec.schedulingGates": refused(
        "cannot be set when spec.nodeName is set, and the kubelet sets it on every static pod"
    ),
    "spec.resourceClaims": refused("static pods may not use ResourceClaims"),
    "spec.resources": not_honoured("pod-level resources are not applied: there is no pod cgroup"),
    "status": not_honoured(
        "a manifest's status is ignored: the kubelet does not start a pod whose status.phase "
        "is Failed or Succeeded",
        _finished_phase,
    ),
}
"""Every field of :class:`~fastpod.model.Pod`, by path, and what fastpod does with it."""
