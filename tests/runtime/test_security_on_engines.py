"""A pod's security on every real runtime, end to end through ``fastpod run``: Docker and
containerd, read back from the kernel (``/proc/<pid>/status`` of the container's process)
and from the OCI spec the runtime ran the container with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastpod.runtime.host import host_facts, memory_capacity
from fastpod.runtime.oom import allowed
from tests.support import docker_engine
from tests.support.engines import BUSYBOX, ContainerView, CriEngine, Engine, start, wait_until
from tests.support.mountinfo import unmount_under
from tests.support.pods import NODE
from tests.support.proc import SECCOMP_FILTER, SECCOMP_NONE, proc_status
from tests.support.running import free_port

DENY_MKDIR = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
}
"""A node's seccomp profile (Docker's format, which containerd reads too) that lets
everything through but making directories."""


def pod_yaml(name: str, containers: dict[str, str], *, command: str = "sleep 3600") -> bytes:
    """A static pod ``name`` with one busybox container per entry of ``containers``, each
    with the YAML of its ``securityContext``."""
    entries = "".join(
        f"""\
  - name: {container}
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "{command}"]
    securityContext: {context}
"""
        for container, context in containers.items()
    )
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 2
  containers:
{entries}""".encode()


@pytest.fixture(autouse=True)
def no_mounts_left(tmp_path: Path) -> Iterator[None]:
    """fastpod leaves its pods running when it stops, and their volumes mounted (a
    downwardAPI volume is a tmpfs): once the engine fixture has removed the containers,
    what is still mounted goes too."""
    yield
    unmount_under(str(tmp_path))


def running(engine: Engine, pod: str, names: list[str]) -> dict[str, ContainerView]:
    """The running containers of ``pod`` once every one of ``names`` runs."""
    found: dict[str, ContainerView] = {}

    def all_running() -> bool:
        found.clear()
        found.update({c.name: c for c in engine.containers(pod, running_only=True)})
        return set(names) <= set(found)

    wait_until(all_running, timeout=30)
    return found


def test_seccomp_profiles_are_applied_and_a_pod_naming_none_runs_unconfined(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """Without ``seccompDefault``, a container naming no profile runs unconfined (Docker's
    own default profile does not apply), ``RuntimeDefault`` gets the runtime's filter, and
    a ``Localhost`` profile is the node's file under ``<root-dir>/seccomp``: it refuses
    ``mkdir`` in that container only."""
    profiles = tmp_path / "root" / "seccomp" / "profiles"
    profiles.mkdir(parents=True)
    (profiles / "deny-mkdir.json").write_text(json.dumps(DENY_MKDIR))
    contexts = {
        "plain": "{}",
        "confined": "{seccompProfile: {type: RuntimeDefault}}",
        "local": "{seccompProfile: {type: Localhost, localhostProfile: profiles/deny-mkdir.json}}",
    }
    command = "if mkdir /tmp/made; then echo made; else echo refused; fi; sleep 3600"
    (manifests / "web.yaml").write_bytes(pod_yaml("web", contexts, command=command))
    fastpod = start(engine, manifests, tmp_path)
    try:
        containers = running(engine, "web", list(contexts))
        seccomp = {name: proc_status(c)["Seccomp"] for name, c in containers.items()}
        assert seccomp == {
            "plain": SECCOMP_NONE,
            "confined": SECCOMP_FILTER,
            "local": SECCOMP_FILTER,
        }
        assert "seccomp" not in engine.runtime_spec(containers["plain"])["linux"]
        wait_until(lambda: engine.output(containers["local"]).strip() == "refused")
        assert engine.output(containers["plain"]).strip() == "made"
    finally:
        fastpod.stop()


def test_seccomp_default_confines_a_pod_naming_no_profile(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """``--seccomp-default``: the runtime's default profile for a container naming none,
    still none for one that asks ``Unconfined``."""
    contexts = {"plain": "{}", "free": "{seccompProfile: {type: Unconfined}}"}
    (manifests / "web.yaml").write_bytes(pod_yaml("web", contexts))
    fastpod = start(engine, manifests, tmp_path, "--seccomp-default")
    try:
        containers = running(engine, "web", list(contexts))
        seccomp = {name: proc_status(c)["Seccomp"] for name, c in containers.items()}
        assert seccomp == {"plain": SECCOMP_FILTER, "free": SECCOMP_NONE}
    finally:
        fastpod.stop()


def test_a_container_without_a_cpu_request_gets_two_cpu_shares(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """The kubelet's 2 shares for no CPU request (a core's 1024 is the runtimes' own
    default), and 1024 a core of a request."""
    document = pod_yaml("web", {"plain": "{}", "asks": "{}"}).decode()
    document = document.replace(
        "  - name: asks\n", "  - name: asks\n    resources: {requests: {cpu: 250m}}\n"
    )
    (manifests / "web.yaml").write_text(document)
    fastpod = start(engine, manifests, tmp_path)
    try:
        containers = running(engine, "web", ["plain", "asks"])
        shares = {
            name: engine.runtime_spec(c)["linux"]["resources"]["cpu"]["shares"]
            for name, c in containers.items()
        }
        assert shares == {"plain": 2, "asks": 256}
    finally:
        fastpod.stop()


def pod_with(
    name: str, spec: str = "", *, command: str = "sleep 3600", metadata: str = ""
) -> bytes:
    """A static pod ``name`` with one busybox container ``main``; ``spec`` is more of the
    pod's spec (YAML at its indentation), ``metadata`` more of its metadata."""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
{metadata}spec:
  terminationGracePeriodSeconds: 2
{spec}  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "{command}"]
""".encode()


def sysctls(name: str, value: str) -> str:
    """A pod's ``securityContext`` setting one sysctl (YAML at the spec's indentation)."""
    return f"  securityContext:\n    sysctls: [{{name: {name}, value: '{value}'}}]\n"


REFUSED = {
    "unsafe": (
        pod_with(
            "unsafe", "  securityContext:\n    sysctls: [{name: kernel.msgmax, value: '9000'}]\n"
        ),
        "SysctlForbidden",
        'forbidden sysctl: "kernel.msgmax" not allowlisted',
    ),
    "hostnet": (
        pod_with(
            "hostnet",
            "  hostNetwork: true\n" + sysctls("net.ipv4.tcp_syncookies", "1"),
        ),
        "SysctlForbidden",
        'forbidden sysctl: "net.ipv4.tcp_syncookies" not allowed with host net enabled',
    ),
    "armored": (
        pod_with("armored", "  securityContext:\n    appArmorProfile: {type: RuntimeDefault}\n"),
        "AppArmor",
        "Cannot enforce AppArmor: AppArmor is not enabled on the host",
    ),
    "annotated": (
        pod_with(
            "annotated",
            metadata="  annotations:\n"
            "    container.apparmor.security.beta.kubernetes.io/main: localhost/k8s-deny\n",
        ),
        "AppArmor",
        "Cannot enforce AppArmor: AppArmor is not enabled on the host",
    ),
    "userns": (
        pod_with("userns", "  hostUsers: false\n"),
        "UserNamespacesNotSupported",
        "hostUsers: false needs a user namespace for the pod, which fastpod cannot give it "
        "on this runtime",
    ),
}
"""Pods the node refuses (this host has no AppArmor), with the reason and message."""


def test_a_pod_the_node_refuses_ends_failed_with_the_kubelets_reason_and_never_runs(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """Sysctls neither safe nor allowed, a pod-network sysctl of a hostNetwork pod, an
    AppArmor profile (field or annotation) on a host without AppArmor, ``hostUsers:
    false``: each pod is ``Failed`` in ``/pods`` with the admit handler's reason and "Pod
    was rejected: ...", as the kubelet's ``rejectPod`` leaves it, and nothing of it runs.
    A pod beside them that only sets safe sysctls runs."""
    assert not Path("/sys/module/apparmor/parameters/enabled").exists(), "a host with AppArmor"
    for name, (body, _, _) in REFUSED.items():
        (manifests / f"{name}.yaml").write_bytes(body)
    safe = sysctls("net.ipv4.ip_unprivileged_port_start", "80")
    (manifests / "safe.yaml").write_bytes(pod_with("safe", safe))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        running(engine, "safe", ["main"])

        def statuses() -> dict[str, dict[str, Any]]:
            served = fastpod.served_pods()
            return {name: served.get(f"{name}-{NODE}", {}).get("status", {}) for name in REFUSED}

        wait_until(lambda: all(s.get("phase") == "Failed" for s in statuses().values()))
        for name, status in statuses().items():
            _, reason, message = REFUSED[name]
            assert (status["reason"], status["message"]) == (reason, f"Pod was rejected: {message}")
            assert "containerStatuses" not in status
            assert engine.sandboxes(name) == [], name
            assert engine.containers(name) == [], name
        (event,) = fastpod.events("pod not admitted", pod=f"default/unsafe-{NODE}")
        assert event["reason"] == "SysctlForbidden"
    finally:
        fastpod.stop()


def test_sysctls_are_set_in_the_pods_namespaces_and_unsafe_ones_when_allowed(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """A safe sysctl, and an unsafe one the node allows (``--allowed-unsafe-sysctls`` with
    a pattern), both read back from the container's own /proc/sys; one written with
    slashes (``net/core/somaxconn``) as the kubelet converts it."""
    sysctls = (
        "  securityContext:\n    sysctls:\n"
        "    - {name: net.ipv4.ip_unprivileged_port_start, value: '80'}\n"
        "    - {name: net/core/somaxconn, value: '1234'}\n"
    )
    command = (
        "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/net/core/somaxconn; sleep 3600"
    )
    (manifests / "tuned.yaml").write_bytes(pod_with("tuned", sysctls, command=command))
    fastpod = start(engine, manifests, tmp_path, "--allowed-unsafe-sysctls", "net.core.*")
    try:
        (main,) = running(engine, "tuned", ["main"]).values()
        wait_until(lambda: engine.output(main).split() == ["80", "1234"])
    finally:
        fastpod.stop()


def test_selinux_options_and_an_unconfined_apparmor_profile_reach_the_runtime(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """This host enforces neither, so the runtime records them without applying them: the
    container's own label parts over the pod's, and AppArmor ``Unconfined`` (which needs no
    AppArmor on the host, so the pod is admitted)."""
    spec = (
        "  securityContext:\n"
        "    seLinuxOptions: {user: system_u, level: 's0:c1,c2'}\n"
        "    appArmorProfile: {type: Unconfined}\n"
    )
    (manifests / "labelled.yaml").write_bytes(pod_with("labelled", spec))
    fastpod = start(engine, manifests, tmp_path)
    try:
        (main,) = running(engine, "labelled", ["main"]).values()
        if engine.runtime == "docker":
            (inspected,) = json.loads(docker_engine.docker("inspect", main.id))
            options = inspected["HostConfig"]["SecurityOpt"]
            assert {"label=user:system_u", "label=level:s0:c1,c2", "apparmor=unconfined"} <= set(
                options
            )
        else:
            assert isinstance(engine, CriEngine)
            context = engine.runtime_config(main)["linux"]["security_context"]
            assert context["selinux_options"] == {"user": "system_u", "level": "s0:c1,c2"}
            assert (context["apparmor"], context["apparmor_profile"]) == (
                {"profile_type": 1},  # Unconfined
                "unconfined",
            )
    finally:
        fastpod.stop()


def test_groups_fs_group_ownership_and_oom_score_adjustments_reach_the_processes(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """``fsGroup`` and ``supplementalGroups`` are the process's groups; the emptyDir is the
    fsGroup's, setgid, so a file the container makes there is too, and so are the files of
    a downwardAPI volume; the OOM score
    adjustment follows the QoS class (BestEffort 1000, Burstable the kubelet's share of
    the node's memory), and a Guaranteed one's -997 is clamped where the host cannot lower
    scores, as here."""
    spec = "  securityContext:\n    fsGroup: 2000\n    supplementalGroups: [3000]\n"
    volume = """\
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: info, mountPath: /info}]
  volumes:
  - {name: scratch, emptyDir: {}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
"""
    command = "touch /scratch/made && stat -c %g /scratch/made /info/labels; sleep 3600"
    grouped_pod = pod_with("grouped", spec, command=command) + volume.encode()
    (manifests / "grouped.yaml").write_bytes(grouped_pod)
    burstable = "    resources: {requests: {memory: 1Gi}}\n"
    guaranteed = "    resources: {limits: {memory: 64Mi, cpu: 100m}}\n"
    (manifests / "burstable.yaml").write_bytes(pod_with("burstable") + burstable.encode())
    (manifests / "guaranteed.yaml").write_bytes(pod_with("guaranteed") + guaranteed.encode())
    fastpod = start(engine, manifests, tmp_path)
    try:
        (grouped,) = running(engine, "grouped", ["main"]).values()
        assert proc_status(grouped)["Groups"].split() == ["0", "2000", "3000"]
        wait_until(lambda: engine.output(grouped).split() == ["2000", "2000"])
        (scratch,) = (tmp_path / "root" / "pods").glob("*/volumes/empty-dir/scratch")
        assert scratch.stat().st_gid == 2000
        assert scratch.stat().st_mode & 0o2070 == 0o2070
        capacity = memory_capacity(Path("/proc/meminfo").read_text())
        expected = {
            "grouped": 1000,
            "burstable": max(3, 1000 - 1000 * 2**30 // capacity),
            "guaranteed": allowed(-997, host_facts().oom_score_adj_floor),
        }
        for name, adjust in expected.items():
            (main,) = running(engine, name, ["main"]).values()
            assert Path(f"/proc/{main.pid}/oom_score_adj").read_text().strip() == str(adjust), name
    finally:
        fastpod.stop()


def test_a_container_that_cannot_be_created_as_asked_waits_with_the_kubelets_reason(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """busybox's image names no user: with ``runAsNonRoot`` it would run as root, so the
    container waits as ``CreateContainerConfigError`` with the kubelet's message; given
    ``runAsUser: 1000`` it runs, as uid 1000. A container's ``Localhost`` seccomp profile
    that is not on the node: the runtime refuses the create, and the container waits as
    ``CreateContainerError`` with the runtime's word."""
    missing = "{seccompProfile: {type: Localhost, localhostProfile: gone.json}}"
    (manifests / "unloadable.yaml").write_bytes(pod_yaml("unloadable", {"main": missing}))
    non_root = "  securityContext: {runAsNonRoot: true}\n"
    (manifests / "rooted.yaml").write_bytes(pod_with("rooted", non_root))
    numeric = "  securityContext: {runAsNonRoot: true, runAsUser: 1000}\n"
    (manifests / "numeric.yaml").write_bytes(pod_with("numeric", numeric))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        (main,) = running(engine, "numeric", ["main"]).values()
        assert proc_status(main)["Uid"].split()[0] == "1000"

        def waiting(name: str = "rooted") -> dict[str, Any]:
            pod = fastpod.served_pods().get(f"{name}-{NODE}", {})
            statuses = pod.get("status", {}).get("containerStatuses") or [{}]
            return dict(statuses[0].get("state", {}).get("waiting") or {})

        wait_until(lambda: waiting("unloadable").get("reason") == "CreateContainerError")
        assert "seccomp profile" in waiting("unloadable")["message"]
        assert str(tmp_path / "root" / "seccomp" / "gone.json") in waiting("unloadable")["message"]
        wait_until(lambda: waiting().get("reason") == "CreateContainerConfigError")
        assert waiting()["message"].startswith(
            'container has runAsNonRoot and image will run as root (pod: "rooted-node1_default('
        )
        assert engine.containers("rooted") == []
    finally:
        fastpod.stop()
