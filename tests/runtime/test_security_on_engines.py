"""A pod's security on every real runtime, end to end through ``fastpod run``: Docker and
containerd, read back from the kernel (``/proc/<pid>/status`` of the container's process)
and from the OCI spec the runtime ran the container with."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.engines import BUSYBOX, ContainerView, Engine, start, wait_until
from tests.support.proc import SECCOMP_FILTER, SECCOMP_NONE, proc_status

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
