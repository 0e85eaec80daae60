"""The runtime view of a container: expansion, downward API, mounts, resources, security."""

from __future__ import annotations

import msgspec
import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.model import (
    Container,
    EnvVar,
    EnvVarSource,
    KeySelector,
    ObjectFieldSelector,
    Pod,
    PodSource,
)
from fastpod.runtime.environment import environment, expand
from fastpod.runtime.labels import CONTAINER_NAME, POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.runtime.resources import Resources, resources
from fastpod.runtime.security import DEFAULT_NODE
from fastpod.runtime.spec import (
    CONTAINER_PORTS,
    PRE_STOP_HANDLER,
    RESTART_COUNT,
    TERMINATION_GRACE,
    TERMINATION_MESSAGE_PATH,
    TERMINATION_MESSAGE_POLICY,
    Mount,
    NodeAllocatable,
    PodContext,
    Security,
    container_hash,
    container_name,
    container_spec,
    mounts,
    restored_container,
    sandbox_name,
    security,
)

SOURCE = PodSource("file", "/etc/kubernetes/manifests/x.yaml")
CONTEXT = PodContext(host_ip="192.0.2.10", pod_ip="10.88.0.7", volumes_dir="/run/fastpod/pods/u")


def make_pod(manifest: str) -> Pod:
    """A pod decoded and defaulted as the kubelet does a manifest file."""
    return decode_pod(manifest.encode(), SOURCE, "node1").pod


def with_container(pod: Pod, **changes: object) -> Pod:
    """``pod`` with its first container changed."""
    first = msgspec.structs.replace((pod.spec.containers or [])[0], **changes)
    spec = msgspec.structs.replace(pod.spec, containers=[first])
    return msgspec.structs.replace(pod, spec=spec)


def first(pod: Pod) -> Container:
    return (pod.spec.containers or [])[0]


BASIC = make_pod(
    """
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  labels: {tier: control-plane, component: "kube-apiserver"}
  annotations: {"example.com/note": "hello world"}
spec:
  containers:
  - name: app
    image: "busybox:1.36"
"""
)


# --- $(VAR) expansion -----------------------------------------------------------------

VARIABLES = {"A": "alpha", "B": "beta", "EMPTY": "", "DOTTED.NAME-1": "dotted"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("$(A)", "alpha", id="defined"),
        pytest.param("x-$(A)-$(B)-y", "x-alpha-beta-y", id="in-text"),
        pytest.param("$(A)$(B)", "alphabeta", id="adjacent"),
        pytest.param("$(EMPTY)", "", id="defined-empty"),
        pytest.param("$(DOTTED.NAME-1)", "dotted", id="dots-and-dashes"),
        pytest.param("$(UNDEFINED)", "$(UNDEFINED)", id="undefined-left-as-is"),
        pytest.param("a $(UNDEFINED) $(A)", "a $(UNDEFINED) alpha", id="undefined-beside-defined"),
        pytest.param("$$(A)", "$(A)", id="escaped-reference"),
        pytest.param("$$", "$", id="escaped-dollar"),
        pytest.param("$$$$", "$$", id="two-escaped-dollars"),
        pytest.param("$$$(A)", "$alpha", id="escaped-dollar-then-reference"),
        pytest.param("$", "$", id="lone-dollar"),
        pytest.param("cost: $5", "cost: $5", id="dollar-not-a-reference"),
        pytest.param("$(A", "$(A", id="unclosed"),
        pytest.param("$A", "$A", id="shell-style-untouched"),
        pytest.param("${A}", "${A}", id="braces-untouched"),
        pytest.param("$()", "$()", id="empty-name"),
        pytest.param("$($(A))", "$(alpha)", id="nested-text"),
        pytest.param("", "", id="empty"),
        pytest.param("no references", "no references", id="plain"),
    ],
)
def test_expand_replaces_defined_references_only(text: str, expected: str) -> None:
    assert expand(text, VARIABLES) == expected


def test_expansion_is_not_applied_to_a_substituted_value() -> None:
    assert expand("$(A)", {"A": "$(B)", "B": "beta"}) == "$(B)"


def test_command_and_args_are_expanded_with_the_container_environment() -> None:
    pod = with_container(
        BASIC,
        command=["/bin/$(TOOL)", "$(MISSING)"],
        args=["--name=$(POD)", "$$(TOOL)"],
        env=[
            EnvVar(name="TOOL", value="server"),
            EnvVar(
                name="POD",
                value_from=EnvVarSource(field_ref=ObjectFieldSelector(field_path="metadata.name")),
            ),
        ],
    )

    spec = container_spec(pod, first(pod), 0, "regular", CONTEXT)

    assert spec.entrypoint == ["/bin/server", "$(MISSING)"]
    assert spec.arguments == ["--name=web-node1", "$(TOOL)"]


def test_command_and_args_not_given_are_left_to_the_image() -> None:
    spec = container_spec(BASIC, first(BASIC), 0, "regular", CONTEXT)

    assert spec.entrypoint is None
    assert spec.arguments is None


# --- environment ----------------------------------------------------------------------


def test_variables_keep_their_order_and_may_use_earlier_ones() -> None:
    pod = make_pod(
        """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - name: app
    image: busybox
    env:
    - {name: HOST, value: example.com}
    - {name: URL, value: "https://$(HOST)/$(PATH_PART)"}
    - {name: PATH_PART, value: api}
    - {name: AGAIN, value: "$(URL)|$(PATH_PART)"}
    - {name: ESCAPED, value: "$$(HOST)"}
    - {name: EMPTY}
"""
    )

    env = environment(pod, first(pod), CONTEXT)

    assert list(env) == ["HOST", "URL", "PATH_PART", "AGAIN", "ESCAPED", "EMPTY"]
    assert env == {
        "HOST": "example.com",
        "URL": "https://example.com/$(PATH_PART)",
        "PATH_PART": "api",
        "AGAIN": "https://example.com/$(PATH_PART)|api",
        "ESCAPED": "$(HOST)",
        "EMPTY": "",
    }


def test_a_later_variable_of_the_same_name_wins() -> None:
    pod = with_container(BASIC, env=[EnvVar(name="X", value="1"), EnvVar(name="X", value="2")])

    assert environment(pod, first(pod), CONTEXT) == {"X": "2"}


def field_ref_pod(path: str) -> Pod:
    return make_pod(
        f"""
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  labels: {{tier: control-plane, "app.kubernetes.io/name": etcd}}
  annotations: {{"example.com/note": "hello world"}}
spec:
  containers:
  - name: app
    image: busybox
    env:
    - name: VALUE
      valueFrom: {{fieldRef: {{fieldPath: "{path}"}}}}
"""
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("metadata.name", "web-node1"),
        ("metadata.namespace", "kube-system"),
        ("spec.nodeName", "node1"),
        ("status.hostIP", "192.0.2.10"),
        ("status.podIP", "10.88.0.7"),
        ("metadata.labels['tier']", "control-plane"),
        ("metadata.labels['app.kubernetes.io/name']", "etcd"),
        ("metadata.annotations['example.com/note']", "hello world"),
    ],
)
def test_field_refs_resolve_to_the_pod_on_this_node(path: str, expected: str) -> None:
    pod = field_ref_pod(path)

    assert environment(pod, first(pod), CONTEXT) == {"VALUE": expected}


def test_pod_ips_field_ref_joins_every_address_with_commas() -> None:
    """The kubelet's ``status.podIPs``: the addresses in order, comma-joined."""
    pod = field_ref_pod("status.podIPs")
    context = PodContext("192.0.2.10", "10.88.0.7", "/volumes", ("10.88.0.7", "fd00::7"))

    assert environment(pod, first(pod), context) == {"VALUE": "10.88.0.7,fd00::7"}


def test_pod_ip_field_refs_are_empty_for_a_pod_without_an_address() -> None:
    context = PodContext("192.0.2.10", "", "/volumes")
    for path in ("status.podIP", "status.podIPs"):
        pod = field_ref_pod(path)
        assert environment(pod, first(pod), context) == {"VALUE": ""}


def test_the_uid_field_ref_is_the_static_pods_uid() -> None:
    pod = field_ref_pod("metadata.uid")

    value = environment(pod, first(pod), CONTEXT)["VALUE"]

    assert value == pod.metadata.uid
    assert value


def test_a_missing_label_subscript_is_empty() -> None:
    pod = field_ref_pod("metadata.labels['absent']")

    assert environment(pod, first(pod), CONTEXT) == {"VALUE": ""}


def resource_ref_pod(resources: str, resource: str, divisor: str | None) -> Pod:
    divisor_field = f", divisor: {divisor}" if divisor else ""
    return make_pod(
        f"""
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: default}}
spec:
  containers:
  - name: app
    image: busybox
    resources: {resources}
    env:
    - name: VALUE
      valueFrom: {{resourceFieldRef: {{resource: {resource}{divisor_field}}}}}
"""
    )


LIMITS = "{limits: {cpu: 1500m, memory: 128Mi}}"


@pytest.mark.parametrize(
    ("resources_yaml", "resource", "divisor", "expected"),
    [
        pytest.param(LIMITS, "limits.cpu", "1m", "1500", id="cpu-millicores"),
        pytest.param(LIMITS, "limits.cpu", None, "2", id="cpu-cores-rounded-up"),
        pytest.param(LIMITS, "limits.cpu", "1", "2", id="cpu-divisor-one"),
        pytest.param(LIMITS, "limits.memory", "1Mi", "128", id="memory-mebibytes"),
        pytest.param(LIMITS, "limits.memory", None, str(128 * 2**20), id="memory-bytes"),
        pytest.param(LIMITS, "limits.memory", "1Gi", "1", id="memory-rounded-up"),
        pytest.param(LIMITS, "limits.memory", "1M", "135", id="memory-decimal-divisor"),
        pytest.param(LIMITS, "requests.cpu", "1m", "1500", id="requests-default-to-limits"),
        pytest.param("{}", "requests.cpu", None, "0", id="requests-cpu-missing"),
        pytest.param("{}", "requests.memory", "1Mi", "0", id="requests-memory-missing"),
        pytest.param(
            "{requests: {cpu: 250m}}", "requests.cpu", "1m", "250", id="requests-cpu-given"
        ),
    ],
)
def test_resource_field_refs_divide_and_round_up(
    resources_yaml: str, resource: str, divisor: str | None, expected: str
) -> None:
    pod = resource_ref_pod(resources_yaml, resource, divisor)

    assert environment(pod, first(pod), CONTEXT) == {"VALUE": expected}


NODE = NodeAllocatable(cpu_millis=4000, memory=8 * 2**30, ephemeral_storage=90 * 10**9)


@pytest.mark.parametrize(
    ("resource", "divisor", "expected"),
    [
        pytest.param("limits.cpu", "1m", "4000", id="cpu"),
        pytest.param("limits.memory", "1Mi", "8192", id="memory"),
        pytest.param("limits.ephemeral-storage", "1G", "90", id="ephemeral-storage"),
    ],
)
def test_a_limit_the_container_leaves_unset_is_the_nodes_allocatable_amount(
    resource: str, divisor: str, expected: str
) -> None:
    """As the kubelet's ``MergeContainerResourceLimits`` fills it in."""
    pod = resource_ref_pod("{}", resource, divisor)
    context = msgspec.structs.replace(CONTEXT, allocatable=NODE)

    assert environment(pod, first(pod), context) == {"VALUE": expected}


def test_a_limit_left_unset_on_a_node_of_unknown_size_leaves_the_variable_out() -> None:
    pod = resource_ref_pod("{}", "limits.memory", None)

    assert environment(pod, first(pod), CONTEXT) == {}


def test_env_sources_a_node_cannot_resolve_are_left_out() -> None:
    secret = EnvVar(
        name="SECRET", value_from=EnvVarSource(secret_key_ref=KeySelector(name="s", key="k"))
    )
    pod = with_container(BASIC, env=[EnvVar(name="A", value="1"), secret])

    assert environment(pod, first(pod), CONTEXT) == {"A": "1"}


# --- mounts ---------------------------------------------------------------------------

VOLUMES = make_pod(
    """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default}
spec:
  containers:
  - name: app
    image: busybox
    volumeMounts:
    - {name: certs, mountPath: /etc/ssl/certs, readOnly: true}
    - {name: data, mountPath: /var/lib/data}
    - {name: certs, mountPath: /ca.crt, subPath: ca.crt}
    - {name: scratch, mountPath: /scratch}
    - {name: scratch, mountPath: /scratch-sub, subPath: a/b, readOnly: false}
    - {name: shm, mountPath: /dev/shm}
    - {name: info, mountPath: /info, readOnly: false}
    - {name: bundle, mountPath: /bundle}
  volumes:
  - {name: certs, hostPath: {path: /etc/kubernetes/pki, type: DirectoryOrCreate}}
  - {name: data, hostPath: {path: /var/lib/etcd}}
  - {name: scratch, emptyDir: {}}
  - {name: shm, emptyDir: {medium: Memory}}
  - {name: info, downwardAPI: {items: []}}
  - {name: bundle, projected: {sources: []}}
"""
)


def test_mounts_bind_host_paths_and_the_pods_own_volumes_projected_ones_read_only() -> None:
    assert mounts(VOLUMES, first(VOLUMES), CONTEXT) == [
        Mount("/etc/kubernetes/pki", "/etc/ssl/certs", read_only=True),
        Mount("/var/lib/etcd", "/var/lib/data", read_only=False),
        Mount("/etc/kubernetes/pki/ca.crt", "/ca.crt", read_only=False),
        Mount("/run/fastpod/pods/u/empty-dir/scratch", "/scratch", read_only=False),
        Mount("/run/fastpod/pods/u/empty-dir/scratch/a/b", "/scratch-sub", read_only=False),
        Mount("/run/fastpod/pods/u/empty-dir/shm", "/dev/shm", read_only=False),
        Mount("/run/fastpod/pods/u/downward-api/info", "/info", read_only=True),
        Mount("/run/fastpod/pods/u/projected/bundle", "/bundle", read_only=True),
    ]


def test_a_container_without_mounts_has_none() -> None:
    assert mounts(BASIC, first(BASIC), CONTEXT) == []


# --- resources ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resources_yaml", "expected"),
    [
        pytest.param("{}", Resources(cpu_shares=2), id="none"),
        pytest.param(
            "{limits: {memory: 128Mi}}",
            Resources(memory_bytes=128 * 2**20, cpu_shares=2),
            id="memory-limit-only",
        ),
        pytest.param(
            "{limits: {memory: 1G, cpu: 500m}}",
            Resources(memory_bytes=10**9, nano_cpus=500_000_000, cpu_shares=512),
            id="limits-default-requests",
        ),
        pytest.param(
            "{limits: {cpu: '2'}, requests: {cpu: 250m}}",
            Resources(nano_cpus=2_000_000_000, cpu_shares=256),
            id="cpu-limit-and-request",
        ),
        pytest.param("{requests: {cpu: '1.5'}}", Resources(cpu_shares=1536), id="fractional-cores"),
        pytest.param("{requests: {cpu: 1m}}", Resources(cpu_shares=2), id="shares-at-least-2"),
        pytest.param("{requests: {cpu: 3m}}", Resources(cpu_shares=3), id="shares-rounded-down"),
        pytest.param("{requests: {cpu: '0'}}", Resources(cpu_shares=2), id="zero-request"),
        pytest.param(
            "{requests: {memory: 64Mi}}", Resources(cpu_shares=2), id="memory-request-is-no-limit"
        ),
        pytest.param("{requests: {cpu: 1500m}}", Resources(cpu_shares=1536), id="millicores"),
        pytest.param("{requests: {cpu: 300}}", Resources(cpu_shares=262144), id="at-most-262144"),
        pytest.param(
            "{requests: {cpu: 1500u}}", Resources(cpu_shares=2), id="rounded-up-to-millicores"
        ),
    ],
)
def test_resources_become_kernel_numbers(resources_yaml: str, expected: Resources) -> None:
    pod = make_pod(
        f"""
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: default}}
spec:
  containers:
  - name: app
    image: busybox
    resources: {resources_yaml}
"""
    )

    assert resources(first(pod)) == expected


# --- security -------------------------------------------------------------------------


def security_pod(pod_context: str, container_context: str) -> Pod:
    return make_pod(
        f"""
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: default}}
spec:
  securityContext: {pod_context}
  containers:
  - name: app
    image: busybox
    securityContext: {container_context}
"""
    )


@pytest.mark.parametrize(
    ("pod_context", "container_context", "identity"),
    [
        pytest.param("{}", "{}", (None, None), id="none"),
        pytest.param("{runAsUser: 1000}", "{}", (1000, None), id="pod-user"),
        pytest.param("{runAsUser: 1000, runAsGroup: 2000}", "{}", (1000, 2000), id="pod-both"),
        pytest.param("{}", "{runAsUser: 0}", (0, None), id="container-root"),
        pytest.param(
            "{runAsUser: 1000, runAsGroup: 2000}",
            "{runAsUser: 3000, runAsGroup: 4000}",
            (3000, 4000),
            id="container-over-pod",
        ),
        pytest.param(
            "{runAsUser: 1000, runAsGroup: 2000}",
            "{runAsUser: 3000}",
            (3000, 2000),
            id="container-user-pod-group",
        ),
        pytest.param(
            "{runAsUser: 1000, runAsGroup: 2000}",
            "{runAsGroup: 4000}",
            (1000, 4000),
            id="pod-user-container-group",
        ),
        pytest.param(
            "{runAsUser: 1000}", "{runAsUser: 0}", (0, None), id="container-root-over-pod"
        ),
        pytest.param("{runAsGroup: 2000}", "{}", (None, None), id="group-without-user"),
    ],
)
def test_the_containers_user_and_group_win_over_the_pods(
    pod_context: str, container_context: str, identity: tuple[int | None, int | None]
) -> None:
    pod = security_pod(pod_context, container_context)

    found = security(pod, first(pod), DEFAULT_NODE)
    assert (found.run_as_user, found.run_as_group) == identity


@pytest.mark.parametrize(
    ("container_context", "expected"),
    [
        pytest.param("{}", Security(), id="nothing"),
        pytest.param("{privileged: true}", Security(privileged=True), id="privileged"),
        pytest.param(
            "{capabilities: {add: [NET_ADMIN, SYS_TIME], drop: [ALL]}}",
            Security(capabilities_add=("NET_ADMIN", "SYS_TIME"), capabilities_drop=("ALL",)),
            id="capabilities",
        ),
        pytest.param(
            "{readOnlyRootFilesystem: true}", Security(read_only_root=True), id="read-only-root"
        ),
        pytest.param(
            "{allowPrivilegeEscalation: false}",
            Security(no_new_privileges=True),
            id="no-privilege-escalation",
        ),
        pytest.param("{allowPrivilegeEscalation: true}", Security(), id="privilege-escalation"),
    ],
)
def test_container_security_settings(container_context: str, expected: Security) -> None:
    pod = security_pod("{}", container_context)

    assert security(pod, first(pod), DEFAULT_NODE) == expected


# --- hash, labels, names --------------------------------------------------------------


def test_container_hash_is_fnv32a_of_name_and_image() -> None:
    container = Container(name="app", image="busybox:1.36")
    data = b'{"name":"app","image":"busybox:1.36"}'
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF

    assert container_hash(container) == f"{value:x}"


def test_container_hash_is_stable_and_covers_only_name_and_image() -> None:
    container = first(BASIC)

    assert container_hash(container) == container_hash(first(make_pod_again()))
    for change in (
        {"command": ["sleep", "1"]},
        {"args": ["-v"]},
        {"env": [EnvVar(name="X", value="1")]},
        {"working_dir": "/tmp"},
    ):
        assert container_hash(msgspec.structs.replace(container, **change)) == container_hash(
            container
        )
    assert container_hash(msgspec.structs.replace(container, image="busybox:1.37")) != (
        container_hash(container)
    )
    assert container_hash(msgspec.structs.replace(container, name="other")) != (
        container_hash(container)
    )


def make_pod_again() -> Pod:
    return make_pod(
        """
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: default}
spec:
  containers:
  - {name: app, image: "busybox:1.36", command: [sh]}
"""
    )


def test_container_labels_and_annotations_are_the_kubelets() -> None:
    spec = container_spec(BASIC, first(BASIC), 3, "sidecar", CONTEXT)

    assert spec.labels == {
        POD_NAME: "web-node1",
        POD_NAMESPACE: "kube-system",
        POD_UID: BASIC.metadata.uid,
        CONTAINER_NAME: "app",
        "io.fastpod.managed": "true",
    }, "the pod's labels go on the sandbox only"
    assert spec.annotations == {
        "io.kubernetes.container.hash": container_hash(first(BASIC)),
        "io.kubernetes.container.restartCount": "3",
        "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
        "io.kubernetes.container.terminationMessagePolicy": "File",
        "io.kubernetes.pod.terminationGracePeriod": "30",
        "io.fastpod.container.kind": "sidecar",
    }
    assert spec.labels_and_annotations == {**spec.labels, **spec.annotations}


def test_restart_count_and_grace_period_are_typed_as_their_annotations_say() -> None:
    pod = msgspec.structs.replace(
        BASIC, spec=msgspec.structs.replace(BASIC.spec, termination_grace_period_seconds=5)
    )

    spec = container_spec(pod, first(pod), 3, "regular", CONTEXT)

    assert (spec.restart_count, spec.termination_grace_period) == (3, 5)
    assert spec.annotations[RESTART_COUNT] == "3"
    assert spec.annotations[TERMINATION_GRACE] == "5"
    unset = container_spec(BASIC, first(BASIC), 0, "regular", CONTEXT)
    assert unset.termination_grace_period == 30, "the kubelet's default"


def test_termination_message_path_defaults_when_unset() -> None:
    pod = with_container(BASIC, termination_message_path=None, termination_message_policy=None)

    labels = container_spec(pod, first(pod), 0, "regular", CONTEXT).annotations

    assert labels[TERMINATION_MESSAGE_PATH] == "/dev/termination-log"
    assert labels[TERMINATION_MESSAGE_POLICY] == "File"


def test_termination_message_path_given_is_kept() -> None:
    pod = with_container(BASIC, termination_message_path="/tmp/done")

    labels = container_spec(pod, first(pod), 0, "regular", CONTEXT).annotations

    assert labels[TERMINATION_MESSAGE_PATH] == "/tmp/done"


def test_container_spec_carries_the_pieces() -> None:
    spec = container_spec(VOLUMES, first(VOLUMES), 0, "regular", CONTEXT)

    assert spec.name == "app"
    assert spec.image == "busybox"
    assert spec.mounts == mounts(VOLUMES, first(VOLUMES), CONTEXT)
    assert spec.resources == Resources(oom_score_adj=1000), "BestEffort"
    assert spec.security == Security()
    assert not spec.stdin
    assert not spec.tty


def test_names_are_dockershims() -> None:
    uid = BASIC.metadata.uid

    assert sandbox_name(BASIC, 2) == f"k8s_POD_web-node1_kube-system_{uid}_2"
    assert container_name(BASIC, "app", 4) == f"k8s_app_web-node1_kube-system_{uid}_4"


def probe_pod(field: str) -> Pod:
    return make_pod(
        f"""
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: default}}
spec:
  containers:
  - name: app
    image: busybox
    {field}
"""
    )


def test_a_containers_pre_stop_hook_and_ports_are_kept_in_its_annotations() -> None:
    pod = probe_pod(
        "ports: [{name: web, containerPort: 8080}]\n"
        "    lifecycle: {preStop: {httpGet: {path: /quit, port: web}}}"
    )
    container = (pod.spec.containers or [])[0]

    annotations = container_spec(pod, container, 0, "regular", CONTEXT).annotations

    # the kubelet's JSON, as restoreSpecsFromContainerLabels reads it
    assert annotations[PRE_STOP_HANDLER] == (
        '{"httpGet":{"path":"/quit","port":"web","scheme":"HTTP"}}'
    )
    assert annotations[CONTAINER_PORTS] == '[{"name":"web","containerPort":8080,"protocol":"TCP"}]'
    restored = restored_container("app", annotations)
    assert restored.lifecycle == container.lifecycle
    assert restored.ports == container.ports


def test_a_container_with_unreadable_annotations_is_restored_without_a_hook() -> None:
    restored = restored_container("app", {PRE_STOP_HANDLER: "{not json"})

    assert restored.name == "app"
    assert restored.lifecycle is None
