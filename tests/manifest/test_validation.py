"""Validation rules: each rule of pod creation a static pod can break, one case each."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from fastpod.manifest.decode import decode_pod
from fastpod.manifest.problems import ManifestError
from tests.support import FILE, manifest_bytes

BASE: dict[str, Any] = yaml.safe_load(manifest_bytes("minimal.yaml"))


def with_changes(**changes: Any) -> bytes:
    """The minimal manifest with dotted paths set (``spec.containers.0.image``)."""
    document = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target: Any = document
        for part in parents:
            target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
        target[int(last) if last.isdigit() else last] = value
    return json.dumps(document).encode()


def errors(data: bytes, node: str = "node1") -> list[str]:
    try:
        decode_pod(data, FILE, node)
    except ManifestError as error:
        return [f"{problem.field}: {problem.message}" for problem in error.problems]
    return []


C0 = "spec__containers__0__"

REJECTED = [
    (
        "name-too-long-with-node-suffix",
        {"metadata__name": "a" * 250},
        "metadata.name: Invalid value",
        "must be no more than 253 characters",
    ),
    (
        "namespace-not-a-label",
        {"metadata__namespace": "Kube_System"},
        "metadata.namespace: Invalid value",
        "RFC 1123 label",
    ),
    (
        "label-value",
        {"metadata__labels": {"app": "-bad-"}},
        "metadata.labels[app]: Invalid value",
        "a valid label must be an empty string",
    ),
    (
        "annotation-key",
        {"metadata__annotations": {"a/b/c": "x"}},
        "metadata.annotations[a/b/c]: Invalid value",
        "prefix part",
    ),
    ("no-containers", {"spec__containers": []}, "spec.containers: Required value", ""),
    (
        "container-name-not-a-label",
        {C0 + "name": "Web"},
        "spec.containers[0].name: Invalid value",
        "RFC 1123 label",
    ),
    (
        "init-and-regular-share-a-name",
        {"spec__initContainers": [{"name": "web", "image": "busybox:1.36"}]},
        "spec.containers[0].name: Duplicate value",
        '"web"',
    ),
    (
        "image-whitespace",
        {C0 + "image": " busybox"},
        "spec.containers[0].image: Invalid value",
        "leading or trailing whitespace",
    ),
    (
        "port-zero",
        {C0 + "ports": [{"containerPort": 0}]},
        "spec.containers[0].ports[0].containerPort: Invalid value: 0",
        "between 1 and 65535",
    ),
    (
        "port-name-too-long",
        {C0 + "ports": [{"containerPort": 80, "name": "a-very-long-port-name"}]},
        "spec.containers[0].ports[0].name: Invalid value",
        "no more than 15 characters",
    ),
    (
        "protocol",
        {C0 + "ports": [{"containerPort": 80, "protocol": "HTTP"}]},
        "spec.containers[0].ports[0].protocol: Unsupported value",
        '"SCTP", "TCP", "UDP"',
    ),
    (
        "host-port-differs-under-host-network",
        {"spec__hostNetwork": True, C0 + "ports": [{"containerPort": 80, "hostPort": 8080}]},
        "spec.containers[0].ports[0].hostPort: Invalid value: 8080",
        "must match `containerPort`",
    ),
    (
        "env-name-with-equals",
        {C0 + "env": [{"name": "A=B", "value": "x"}]},
        "spec.containers[0].env[0].name: Invalid value",
        "other than '='",
    ),
    (
        "env-value-and-value-from",
        {
            C0 + "env": [
                {
                    "name": "A",
                    "value": "x",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                }
            ]
        },
        "spec.containers[0].env[0].valueFrom: Invalid value",
        "when `value` is not empty",
    ),
    (
        "env-field-path",
        {C0 + "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.nope"}}}]},
        "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value",
        "spec.nodeName",
    ),
    (
        "env-resource-of-unknown-container",
        {
            C0 + "env": [
                {
                    "name": "A",
                    "valueFrom": {
                        "resourceFieldRef": {"containerName": "ghost", "resource": "limits.cpu"}
                    },
                }
            ]
        },
        "spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName: Not found",
        "ghost",
    ),
    (
        "mount-path-repeated",
        {
            "spec__volumes": [{"name": "a", "emptyDir": {}}],
            C0 + "volumeMounts": [
                {"name": "a", "mountPath": "/x"},
                {"name": "a", "mountPath": "/x"},
            ],
        },
        "spec.containers[0].volumeMounts[1].mountPath: Invalid value",
        "must be unique",
    ),
    (
        "sub-path-escapes",
        {
            "spec__volumes": [{"name": "a", "emptyDir": {}}],
            C0 + "volumeMounts": [{"name": "a", "mountPath": "/x", "subPath": "../etc"}],
        },
        "spec.containers[0].volumeMounts[0].subPath: Invalid value",
        "must not contain '..'",
    ),
    (
        "volume-names-repeat",
        {"spec__volumes": [{"name": "a", "emptyDir": {}}, {"name": "a", "emptyDir": {}}]},
        "spec.volumes[1].name: Duplicate value",
        '"a"',
    ),
    (
        "two-volume-sources",
        {"spec__volumes": [{"name": "a", "emptyDir": {}, "hostPath": {"path": "/tmp"}}]},
        "spec.volumes[0]: Forbidden",
        "more than 1 volume type",
    ),
    (
        "host-path-type",
        {"spec__volumes": [{"name": "a", "hostPath": {"path": "/x", "type": "Dir"}}]},
        "spec.volumes[0].hostPath.type: Unsupported value",
        "DirectoryOrCreate",
    ),
    (
        "host-path-dot-dot",
        {"spec__volumes": [{"name": "a", "hostPath": {"path": "/x/../y"}}]},
        "spec.volumes[0].hostPath.path: Invalid value",
        "must not contain '..'",
    ),
    (
        "probe-without-handler",
        {C0 + "livenessProbe": {"periodSeconds": 5}},
        "spec.containers[0].livenessProbe: Required value",
        "must specify a handler type",
    ),
    (
        "liveness-success-threshold",
        {C0 + "livenessProbe": {"exec": {"command": ["true"]}, "successThreshold": 2}},
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2",
        "must be 1",
    ),
    (
        "probe-port-name",
        {C0 + "readinessProbe": {"httpGet": {"port": "<port>"}}},
        "spec.containers[0].readinessProbe.httpGet.port: Invalid value",
        "alpha-numeric",
    ),
    (
        "hook-two-handlers",
        {C0 + "lifecycle": {"preStop": {"exec": {"command": ["x"]}, "sleep": {"seconds": 1}}}},
        "spec.containers[0].lifecycle.preStop.sleep: Forbidden",
        "more than 1 handler type",
    ),
    (
        "init-container-probe",
        {
            "spec__initContainers": [
                {
                    "name": "init",
                    "image": "busybox:1.36",
                    "livenessProbe": {"exec": {"command": ["x"]}},
                }
            ]
        },
        "spec.initContainers[0].livenessProbe: Forbidden",
        "restartPolicy=Always",
    ),
    (
        "regular-container-restart-policy",
        {C0 + "restartPolicy": "Always"},
        "spec.containers[0].restartPolicy: Forbidden",
        "non-init containers",
    ),
    (
        "sidecar-restart-policy",
        {
            "spec__initContainers": [
                {"name": "side", "image": "busybox:1.36", "restartPolicy": "OnFailure"}
            ]
        },
        "spec.initContainers[0].restartPolicy: Unsupported value",
        '"Always"',
    ),
    (
        "quantity",
        {C0 + "resources": {"limits": {"memory": "1GB"}}},
        "spec.containers[0].resources.limits[memory]: Invalid value",
        "",
    ),
    (
        "request-above-limit",
        {C0 + "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}}},
        "spec.containers[0].resources.requests[cpu]: Invalid value",
        "cpu limit of 500m",
    ),
    (
        "resource-name",
        {C0 + "resources": {"limits": {"gpu": "1"}}},
        "spec.containers[0].resources.limits[gpu]: Invalid value",
        "fully qualified",
    ),
    (
        "dns-policy",
        {"spec__dnsPolicy": "Host"},
        "spec.dnsPolicy: Unsupported value",
        '"ClusterFirst"',
    ),
    ("dns-none-needs-config", {"spec__dnsPolicy": "None"}, "spec.dnsConfig: Required value", ""),
    (
        "dns-none-needs-a-nameserver",
        {"spec__dnsPolicy": "None", "spec__dnsConfig": {"searches": ["example.com"]}},
        "spec.dnsConfig.nameservers: Required value",
        "at least one DNS nameserver",
    ),
    (
        "dns-nameservers-at-most-three",
        {"spec__dnsConfig": {"nameservers": ["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"]}},
        "spec.dnsConfig.nameservers: Invalid value",
        "must not have more than 3 nameservers",
    ),
    (
        "dns-nameserver-ip",
        {"spec__dnsConfig": {"nameservers": ["dns.example"]}},
        'spec.dnsConfig.nameservers[0]: Invalid value: "dns.example"',
        "must be a valid IP address",
    ),
    (
        "dns-searches-at-most-32",
        {"spec__dnsConfig": {"searches": [f"s{n}.example" for n in range(33)]}},
        "spec.dnsConfig.searches: Invalid value",
        "must not have more than 32 search paths",
    ),
    (
        "dns-search-list-at-most-2048-characters",
        {"spec__dnsConfig": {"searches": ["a" * 60 + f".s{n}.example" for n in range(32)]}},
        "spec.dnsConfig.searches: Invalid value",
        "must not have more than 2048 characters (including spaces) in the search list",
    ),
    (
        "dns-search-subdomain",
        {"spec__dnsConfig": {"searches": ["Not_A.Domain"]}},
        'spec.dnsConfig.searches[0]: Invalid value: "Not_A.Domain"',
        "RFC 1123 subdomain",
    ),
    (
        "dns-option-named",
        {"spec__dnsConfig": {"options": [{"value": "2"}]}},
        "spec.dnsConfig.options[0]: Required value",
        "must not be empty",
    ),
    (
        "negative-grace",
        {"spec__terminationGracePeriodSeconds": -1},
        "spec.terminationGracePeriodSeconds: Invalid value: -1",
        "",
    ),
    (
        "toleration-exists-with-value",
        {"spec__tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]},
        "spec.tolerations[0].operator: Invalid value",
        "value must be empty",
    ),
    (
        "host-alias-ip",
        {"spec__hostAliases": [{"ip": "not-an-ip", "hostnames": ["a"]}]},
        "spec.hostAliases[0].ip: Invalid value",
        "valid IP address",
    ),
    (
        "seccomp-localhost-without-profile",
        {"spec__securityContext": {"seccompProfile": {"type": "Localhost"}}},
        "spec.securityContext.seccompProfile.localhostProfile: Required value",
        "",
    ),
    (
        "run-as-user-range",
        {C0 + "securityContext": {"runAsUser": -1}},
        "spec.containers[0].securityContext.runAsUser: Invalid value: -1",
        "",
    ),
    (
        "privileged-without-escalation",
        {C0 + "securityContext": {"privileged": True, "allowPrivilegeEscalation": False}},
        "spec.containers[0].securityContext: Invalid value",
        "allowPrivilegeEscalation",
    ),
    (
        "ephemeral-containers",
        {"spec__ephemeralContainers": [{"name": "debug"}]},
        "spec.ephemeralContainers: Forbidden",
        "cannot be set on create",
    ),
    (
        "scheduling-gates",
        {"spec__schedulingGates": [{"name": "wait"}]},
        "spec.schedulingGates: Forbidden",
        "nodeName",
    ),
]


@pytest.mark.parametrize(
    ("changes", "field_and_kind", "detail"),
    [case[1:] for case in REJECTED],
    ids=[case[0] for case in REJECTED],
)
def test_manifests_breaking_a_rule_are_rejected_at_the_field(
    changes: dict[str, Any], field_and_kind: str, detail: str
) -> None:
    """The error names the field and what is wrong with it."""
    found = errors(with_changes(**changes))
    assert any(line.startswith(field_and_kind) and detail in line for line in found), found


def mounted(volume: dict[str, Any]) -> dict[str, Any]:
    """Changes declaring ``volume`` and mounting it in the container at ``/v``."""
    return {
        "spec__volumes": [volume],
        C0 + "volumeMounts": [{"name": volume["name"], "mountPath": "/v"}],
    }


FORBIDDEN_FOR_STATIC_PODS = [
    (
        "secret-volume",
        mounted({"name": "s", "secret": {"secretName": "x"}}),
        "spec.volumes[0].secret: Forbidden: static pods cannot use Secret volumes",
    ),
    (
        "config-map-volume",
        mounted({"name": "c", "configMap": {"name": "x"}}),
        "spec.volumes[0].configMap: Forbidden: static pods cannot use ConfigMap volumes",
    ),
    (
        "claim-volume",
        mounted({"name": "p", "persistentVolumeClaim": {"claimName": "x"}}),
        "spec.volumes[0].persistentVolumeClaim: Forbidden: static pods cannot use "
        "PersistentVolumeClaims",
    ),
    (
        "token-projection",
        mounted({"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}),
        "spec.volumes[0].projected.sources[0].serviceAccountToken: Forbidden: static pods "
        "cannot use service account tokens",
    ),
    (
        "optional-config-map-volume",
        mounted({"name": "c", "configMap": {"name": "x", "optional": True}}),
        "spec.volumes[0].configMap: Forbidden: static pods cannot use ConfigMap volumes: there "
        "is no API server to read it from (optional does not help",
    ),
    (
        "trust-bundle-even-unused",
        {
            "spec__volumes": [
                {
                    "name": "t",
                    "projected": {"sources": [{"clusterTrustBundle": {"name": "x", "path": "b"}}]},
                }
            ]
        },
        "spec.volumes[0].projected.sources[0].clusterTrustBundle: Forbidden: static pods may "
        "not use ClusterTrustBundle projected volume sources",
    ),
    (
        "secret-env",
        {C0 + "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
        "spec.containers[0].env[0].valueFrom.secretKeyRef: Forbidden: static pods cannot read "
        "Secrets",
    ),
    (
        "config-map-env-from",
        {C0 + "envFrom": [{"configMapRef": {"name": "c"}}]},
        "spec.containers[0].envFrom[0].configMapRef: Forbidden: static pods cannot read ConfigMaps",
    ),
    (
        "resource-claims",
        {"spec__resourceClaims": [{"name": "gpu"}]},
        "spec.resourceClaims: Forbidden: static pods may not use ResourceClaims",
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [case[1:] for case in FORBIDDEN_FOR_STATIC_PODS],
    ids=[case[0] for case in FORBIDDEN_FOR_STATIC_PODS],
)
def test_what_only_an_api_server_provides_is_rejected_with_the_reason(
    changes: dict[str, Any], expected: str
) -> None:
    """Secrets, ConfigMaps, claims and tokens cannot be resolved on a lone node; a
    ClusterTrustBundle is refused even when no container mounts it, as the kubelet does."""
    assert any(line.startswith(expected) for line in errors(with_changes(**changes)))


def test_an_uppercase_node_name_is_not_lowercased_by_validation() -> None:
    """The suffix counts: callers must pass the lowercased node name, as the kubelet does."""
    assert any(
        "metadata.name: Invalid value" in line
        for line in errors(manifest_bytes("minimal.yaml"), node="Node1")
    )


def test_a_valid_sidecar_with_probes_is_accepted() -> None:
    """Init containers with restartPolicy Always may have probes and hooks."""
    sidecar = {
        "name": "side",
        "image": "busybox:1.36",
        "restartPolicy": "Always",
        "startupProbe": {"exec": {"command": ["true"]}},
    }
    assert errors(with_changes(spec__initContainers=[sidecar])) == []


def test_a_full_dns_config_with_a_trailing_dot_search_is_accepted() -> None:
    """Three nameservers of either family, a fully qualified search path, a valueless option."""
    config = {
        "nameservers": ["10.96.0.10", "fd00::10", "192.0.2.53"],
        "searches": ["example.com.", "corp.example"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    }
    assert errors(with_changes(spec__dnsPolicy="None", spec__dnsConfig=config)) == []
