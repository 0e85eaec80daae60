"""A pod's status as the kubelet reports it, from what one sync saw: phase, conditions, and
each container's state, last state and counts."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod
from fastpod.runtime.admission import Rejection
from fastpod.runtime.base import ContainerInfo, ContainerState, SandboxInfo
from fastpod.runtime.labels import CONTAINER_NAME
from fastpod.runtime.spec import CONTAINER_KIND, RESTART_COUNT
from fastpod.status.compute import Observed, pod_status
from fastpod.status.types import ContainerStatus, PodCondition, PodStatus, rfc3339
from tests.support import DATA, FILE, manifest_bytes

STATUS_DATA = DATA / "status"
T0 = 1_800_000_000.0
"""When fastpod took the pod in these tests: 2027-01-15T08:00:00Z."""
HOST_IP = "10.0.0.10"


def at(seconds: float) -> str:
    """The API time ``seconds`` after :data:`T0`."""
    return rfc3339(T0 + seconds)


def manifest(name: str, restart_policy: str | None = None) -> Pod:
    """``tests/data/status/<name>`` decoded and defaulted, with another restart policy."""
    pod = decode_pod((STATUS_DATA / name).read_bytes(), FILE, "node1").pod
    if restart_policy is None:
        return pod
    return msgspec.structs.replace(
        pod, spec=msgspec.structs.replace(pod.spec, restart_policy=restart_policy)
    )


def sandbox(*, ready: bool = True, created: float = 1) -> SandboxInfo:
    return SandboxInfo("s1", {}, ready, T0 + created)


def container(
    name: str,
    state: ContainerState,
    *,
    restarts: int = 0,
    exit_code: int | None = None,
    started: float | None = 2,
    finished: float | None = None,
    kind: str = "regular",
    reason: str = "",
    message: str = "",
) -> ContainerInfo:
    """A container as the runtime lists it; times in seconds after :data:`T0`."""
    labels = {CONTAINER_NAME: name, RESTART_COUNT: str(restarts), CONTAINER_KIND: kind}
    return ContainerInfo(
        id=f"{name}-{restarts}",
        sandbox_id="s1",
        labels=labels,
        state=state,
        exit_code=exit_code,
        created=T0 + (started or 0) - 0.5,
        started_at=None if started is None else T0 + started,
        finished_at=None if finished is None else T0 + finished,
        image_id=f"sha256:{name}",
        reason=reason,
        message=message,
    )


def observed(
    *containers: ContainerInfo,
    waiting: dict[str, str] | None = None,
    messages: dict[str, str] | None = None,
    sandboxes: list[SandboxInfo] | None = None,
) -> Observed:
    return Observed(
        sandboxes=[sandbox()] if sandboxes is None else sandboxes,
        containers=list(containers),
        waiting=waiting or {},
        messages=messages or {},
    )


def status_of(
    pod: Pod,
    seen: Observed | None,
    *,
    pod_ips: tuple[str, ...] = (),
    runtime_name: str = "docker",
) -> PodStatus:
    return pod_status(
        pod, seen, host_ip=HOST_IP, pod_ips=pod_ips, start_time=T0, runtime_name=runtime_name
    )


def conditions(status: PodStatus) -> dict[str, PodCondition]:
    return {condition.type: condition for condition in status.conditions}


def truths(status: PodStatus) -> dict[str, str]:
    return {condition.type: condition.status for condition in status.conditions}


def by_name(statuses: list[ContainerStatus] | None) -> dict[str, ContainerStatus]:
    return {status.name: status for status in statuses or ()}


def summary(status: ContainerStatus) -> str:
    """``kind:detail`` of a container's state, to compare tables of them at a glance."""
    state = status.state
    if state.running is not None:
        return "running"
    if state.terminated is not None:
        return f"terminated:{state.terminated.reason}:{state.terminated.exit_code}"
    assert state.waiting is not None
    return f"waiting:{state.waiting.reason}"


def test_a_running_pod_is_ready_with_every_condition_true() -> None:
    pod = manifest("two-containers.yaml")
    status = status_of(
        pod,
        observed(container("app", "running", started=3), container("web", "running", started=4)),
        pod_ips=("172.17.0.5",),
    )
    assert status.phase == "Running"
    assert [(c.type, c.status, c.last_transition_time) for c in status.conditions] == [
        ("PodReadyToStartContainers", "True", at(1)),
        ("Initialized", "True", at(0)),
        ("Ready", "True", at(4)),
        ("ContainersReady", "True", at(4)),
        ("PodScheduled", "True", at(0)),
    ]
    web = by_name(status.container_statuses)["web"]
    assert web == ContainerStatus(
        name="web",
        state=web.state,
        last_state=web.last_state,
        ready=True,
        restart_count=0,
        image="nginx:1.27",
        image_id="sha256:web",
        container_id="docker://web-0",
        started=True,
    )
    assert web.state.running is not None
    assert web.state.running.started_at == at(4)
    assert web.last_state == type(web.last_state)()
    assert (status.host_ip, status.pod_ip, status.start_time) == (HOST_IP, "172.17.0.5", at(0))
    assert [ip.ip for ip in status.host_ips or ()] == [HOST_IP]
    assert [ip.ip for ip in status.pod_ips or ()] == ["172.17.0.5"]
    assert status.init_container_statuses is None


def test_container_statuses_are_sorted_by_name_as_the_kubelet_sorts_them() -> None:
    """Init containers keep their spec order (they run in it); main containers do not."""
    status = status_of(manifest("two-containers.yaml"), observed())
    assert [s.name for s in status.container_statuses or ()] == ["app", "web"]
    init = status_of(manifest("init-containers.yaml"), observed())
    assert [s.name for s in init.init_container_statuses or ()] == ["init0", "init1"]


def test_a_host_network_pod_has_the_node_address() -> None:
    """kubeadm's etcd runs in the host's network: its podIP is the host's."""
    pod = decode_pod(manifest_bytes("kubeadm-etcd.yaml"), FILE, "node1").pod
    status = status_of(pod, observed(container("etcd", "running")))
    assert (status.pod_ip, [ip.ip for ip in status.pod_ips or ()]) == (HOST_IP, [HOST_IP])


def test_a_crash_looping_container_waits_and_shows_its_last_termination() -> None:
    message = "back-off 20s restarting failed container=web pod=web-node1_kube-system(1234)"
    seen = observed(
        container("app", "running", started=3),
        container("web", "exited", restarts=1, exit_code=1, started=2, finished=4),
        container("web", "exited", restarts=2, exit_code=2, started=6, finished=8),
        waiting={"web": "CrashLoopBackOff"},
        messages={"web": message},
    )
    status = status_of(manifest("two-containers.yaml"), seen)
    assert status.phase == "Running"
    web = by_name(status.container_statuses)["web"]
    assert web.state.waiting is not None
    assert (web.state.waiting.reason, web.state.waiting.message) == ("CrashLoopBackOff", message)
    terminated = web.last_state.terminated
    assert terminated is not None
    assert (terminated.exit_code, terminated.reason) == (2, "Error")
    assert (terminated.started_at, terminated.finished_at) == (at(6), at(8))
    assert terminated.container_id == "docker://web-2"
    assert (web.restart_count, web.ready, web.started, web.container_id) == (
        2,
        False,
        False,
        "docker://web-2",
    )
    ready = conditions(status)["Ready"]
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "ContainersNotReady",
        "containers with unready status: [web]",
    )
    assert ready.last_transition_time == at(8)
    assert conditions(status)["ContainersReady"] == msgspec.structs.replace(
        ready, type="ContainersReady"
    )


def test_a_restarted_container_runs_with_the_previous_one_as_its_last_state() -> None:
    seen = observed(
        container("app", "exited", exit_code=137, started=2, finished=5, reason="OOMKilled"),
        container("app", "running", restarts=1, started=6),
        container("web", "running"),
    )
    app = by_name(status_of(manifest("two-containers.yaml"), seen).container_statuses)["app"]
    assert summary(app) == "running"
    assert app.last_state.terminated is not None
    assert app.last_state.terminated.reason == "OOMKilled"
    assert app.restart_count == 1


def test_a_termination_message_shows_in_the_terminated_state_then_in_the_last_state() -> None:
    seen = observed(
        container("app", "exited", exit_code=1, started=2, finished=5, message="first words"),
        container("web", "exited", exit_code=0, started=2, finished=5, message="all done\n"),
    )
    pod = manifest("two-containers.yaml", restart_policy="OnFailure")
    statuses = by_name(status_of(pod, seen).container_statuses)
    assert statuses["web"].state.terminated is not None
    assert statuses["web"].state.terminated.message == "all done\n"

    restarted = observed(
        *seen.containers,
        container("app", "running", restarts=1, started=6),
    )
    app = by_name(status_of(pod, restarted).container_statuses)["app"]
    assert summary(app) == "running"
    assert app.last_state.terminated is not None
    assert app.last_state.terminated.message == "first words"


def test_termination_messages_share_12_kib_evenly_between_the_pods_containers() -> None:
    """Two containers: 6 KiB each, the start kept; a character cut in two is replaced."""
    long = "a" + "é" * 4000  # 8001 bytes
    seen = observed(
        container("app", "exited", exit_code=1, started=2, finished=5, message=long),
        container("app", "exited", restarts=1, exit_code=1, started=6, finished=7, message=long),
        container("web", "exited", exit_code=1, started=2, finished=5, message="short"),
        waiting={"app": "CrashLoopBackOff"},
    )
    statuses = by_name(status_of(manifest("two-containers.yaml"), seen).container_statuses)
    cut = "a" + "é" * 3071 + "\ufffd"  # 6144 bytes: the last "é" loses its second byte
    last = statuses["app"].last_state.terminated
    assert last is not None
    assert last.message == cut
    web = statuses["web"].state.terminated
    assert web is not None
    assert web.message == "short"


@pytest.mark.parametrize(
    ("policy", "app", "web", "waiting", "phase"),
    [
        ("Never", 0, 0, {}, "Succeeded"),
        ("OnFailure", 0, 0, {}, "Succeeded"),
        ("Never", 0, 1, {}, "Failed"),
        ("OnFailure", 0, 1, {"web": "CrashLoopBackOff"}, "Running"),
        ("Always", 0, 0, {"app": "CrashLoopBackOff", "web": "CrashLoopBackOff"}, "Running"),
    ],
)
def test_a_pod_whose_containers_all_ended_is_done_as_its_restart_policy_says(
    policy: str, app: int, web: int, waiting: dict[str, str], phase: str
) -> None:
    seen = observed(
        container("app", "exited", exit_code=app, started=2, finished=5),
        container("web", "exited", exit_code=web, started=2, finished=7),
        waiting=waiting,
        sandboxes=[sandbox(ready=False)],
    )
    assert status_of(manifest("two-containers.yaml", policy), seen).phase == phase


@pytest.mark.parametrize(
    ("exit_code", "phase", "reason", "summaries"),
    [
        (0, "Succeeded", "PodCompleted", ["terminated:Completed:0", "terminated:Completed:0"]),
        (3, "Failed", "PodFailed", ["terminated:Completed:0", "terminated:Error:3"]),
    ],
)
def test_a_finished_pod_is_not_ready_and_says_why(
    exit_code: int, phase: str, reason: str, summaries: list[str]
) -> None:
    seen = observed(
        container("app", "exited", exit_code=0, started=2, finished=5),
        container("web", "exited", exit_code=exit_code, started=2, finished=7),
        sandboxes=[sandbox(ready=False)],
    )
    status = status_of(manifest("two-containers.yaml", "Never"), seen)
    assert status.phase == phase
    assert [summary(s) for s in status.container_statuses or ()] == summaries
    assert [(c.type, c.status, c.reason) for c in status.conditions] == [
        ("PodReadyToStartContainers", "False", None),
        ("Initialized", "True", "PodCompleted" if phase == "Succeeded" else None),
        ("Ready", "False", reason),
        ("ContainersReady", "False", reason),
        ("PodScheduled", "True", None),
    ]
    assert conditions(status)["Ready"].last_transition_time == at(7)
    assert conditions(status)["PodReadyToStartContainers"].last_transition_time == at(7)


def test_an_oom_killed_container_says_so() -> None:
    seen = observed(
        container("app", "exited", exit_code=137, started=2, finished=9, reason="OOMKilled"),
        container("web", "running"),
    )
    app = by_name(status_of(manifest("two-containers.yaml", "Never"), seen).container_statuses)
    terminated = app["app"].state.terminated
    assert terminated is not None
    assert (terminated.reason, terminated.exit_code, terminated.finished_at) == (
        "OOMKilled",
        137,
        at(9),
    )


INIT_STEPS = [
    pytest.param(
        [container("init0", "running", kind="init")],
        {},
        ["running", "waiting:PodInitializing"],
        "[init0 init1]",
        id="first-running",
    ),
    pytest.param(
        [
            container("init0", "exited", exit_code=0, finished=3, kind="init"),
            container("init1", "exited", exit_code=1, started=4, finished=5, kind="init"),
        ],
        {"init1": "CrashLoopBackOff"},
        ["terminated:Completed:0", "waiting:CrashLoopBackOff"],
        "[init1]",
        id="second-crash-looping",
    ),
    pytest.param(
        [container("init0", "created", started=None, kind="init")],
        {},
        ["waiting:None", "waiting:PodInitializing"],
        "[init0 init1]",
        id="first-created",
    ),
]


@pytest.mark.parametrize(("containers", "waiting", "init_states", "incomplete"), INIT_STEPS)
def test_a_pod_initializing_is_pending_and_not_initialized(
    containers: list[ContainerInfo],
    waiting: dict[str, str],
    init_states: list[str],
    incomplete: str,
) -> None:
    status = status_of(manifest("init-containers.yaml"), observed(*containers, waiting=waiting))
    assert status.phase == "Pending"
    assert [summary(s) for s in status.init_container_statuses or ()] == init_states
    assert [summary(s) for s in status.container_statuses or ()] == ["waiting:PodInitializing"]
    initialized = conditions(status)["Initialized"]
    assert (initialized.status, initialized.reason, initialized.message) == (
        "False",
        "ContainersNotInitialized",
        f"containers with incomplete status: {incomplete}",
    )
    assert initialized.last_transition_time == at(1)


def test_a_pod_is_initialized_when_its_last_init_container_completed() -> None:
    seen = observed(
        container("init0", "exited", exit_code=0, finished=3, kind="init"),
        container("init1", "exited", exit_code=0, started=4, finished=6, kind="init"),
        container("app", "running", started=7),
    )
    status = status_of(manifest("init-containers.yaml"), seen)
    assert status.phase == "Running"
    inits = status.init_container_statuses or []
    assert [(s.ready, s.started) for s in inits] == [(True, False), (True, False)]
    assert conditions(status)["Initialized"].status == "True"
    assert conditions(status)["Initialized"].last_transition_time == at(6)
    assert truths(status)["Ready"] == "True"


def test_an_init_container_the_runtime_lost_counts_as_completed_once_main_ones_exist() -> None:
    seen = observed(
        container("init1", "exited", exit_code=0, finished=6, kind="init"),
        container("app", "running", started=7),
    )
    init0 = (status_of(manifest("init-containers.yaml"), seen).init_container_statuses or [])[0]
    assert summary(init0) == "terminated:Completed:0"
    assert init0.state.terminated is not None
    assert "pod has been initialized" in (init0.state.terminated.message or "")
    assert init0.ready


def test_a_failed_init_container_fails_a_pod_that_never_restarts() -> None:
    seen = observed(
        container("init0", "exited", exit_code=2, finished=3, kind="init"),
        waiting={"init0": "Init:Error"},
        sandboxes=[sandbox(ready=False)],
    )
    status = status_of(manifest("init-containers.yaml", "Never"), seen)
    assert status.phase == "Failed"
    assert summary((status.init_container_statuses or [])[0]) == "terminated:Error:2"


def test_a_running_sidecar_is_started_and_ready_and_counts_for_readiness() -> None:
    seen = observed(
        container("proxy", "running", started=2, kind="sidecar"),
        container("app", "running", started=5),
    )
    status = status_of(manifest("sidecar.yaml"), seen)
    assert status.phase == "Running"
    proxy = (status.init_container_statuses or [])[0]
    assert (summary(proxy), proxy.ready, proxy.started) == ("running", True, True)
    assert truths(status) == dict.fromkeys(truths(status), "True")
    assert conditions(status)["Initialized"].last_transition_time == at(2)


def test_a_sidecar_crash_looping_after_start_keeps_the_pod_running_but_unready() -> None:
    seen = observed(
        container("proxy", "exited", restarts=3, exit_code=1, finished=8, kind="sidecar"),
        container("app", "running", started=5),
        waiting={"proxy": "CrashLoopBackOff"},
    )
    status = status_of(manifest("sidecar.yaml", "Never"), seen)
    assert status.phase == "Running"
    assert summary((status.init_container_statuses or [])[0]) == "waiting:CrashLoopBackOff"
    assert truths(status)["Initialized"] == "True"
    assert conditions(status)["Ready"].message == "containers with unready status: [proxy]"


def test_a_pod_not_synced_yet_is_pending_with_every_container_being_created() -> None:
    status = status_of(manifest("two-containers.yaml"), None)
    assert status.phase == "Pending"
    assert [summary(s) for s in status.container_statuses or ()] == [
        "waiting:ContainerCreating",
        "waiting:ContainerCreating",
    ]
    app = (status.container_statuses or [])[0]
    assert (app.restart_count, app.image, app.image_id, app.container_id) == (
        0,
        "busybox:1.36",
        "",
        None,
    )
    assert [(c.type, c.status, c.last_transition_time) for c in status.conditions] == [
        ("PodReadyToStartContainers", "False", at(0)),
        ("Initialized", "True", at(0)),
        ("Ready", "False", at(0)),
        ("ContainersReady", "False", at(0)),
        ("PodScheduled", "True", at(0)),
    ]
    assert conditions(status)["Ready"].message == "containers with unready status: [web app]"


def test_a_pod_with_init_containers_not_synced_yet_is_initializing() -> None:
    status = status_of(manifest("init-containers.yaml"), None)
    waiting = [
        summary(s)
        for s in [*(status.init_container_statuses or ()), *(status.container_statuses or ())]
    ]
    assert waiting == ["waiting:PodInitializing"] * 3
    assert (status.phase, truths(status)["Initialized"]) == ("Pending", "False")


def test_a_pod_blocked_by_a_host_path_check_is_being_created_with_the_reason() -> None:
    problem = "hostPath type check failed: /etc/ssl/certs is not a directory"
    status = status_of(
        manifest("two-containers.yaml"), observed(messages={"": problem}, sandboxes=[])
    )
    assert status.phase == "Pending"
    for container_status in status.container_statuses or ():
        assert container_status.state.waiting is not None
        assert container_status.state.waiting.reason == "ContainerCreating"
        assert container_status.state.waiting.message == problem


def test_an_image_problem_before_any_container_exists_is_the_waiting_reason() -> None:
    message = 'Container image "nginx:1.27" is not present with pull policy of Never'
    seen = observed(
        container("app", "running"),
        waiting={"web": "ErrImageNeverPull"},
        messages={"web": message},
    )
    status = status_of(manifest("two-containers.yaml"), seen)
    web = by_name(status.container_statuses)["web"]
    assert web.state.waiting is not None
    assert (web.state.waiting.reason, web.state.waiting.message) == ("ErrImageNeverPull", message)
    assert web.last_state.terminated is None
    assert status.phase == "Pending"


def test_a_running_container_ignores_a_waiting_reason() -> None:
    seen = observed(container("app", "running"), waiting={"app": "CrashLoopBackOff"})
    app = by_name(status_of(manifest("two-containers.yaml"), seen).container_statuses)["app"]
    assert summary(app) == "running"


def test_a_completed_container_that_stays_so_ignores_a_waiting_reason() -> None:
    seen = observed(
        container("app", "exited", exit_code=0, finished=4),
        waiting={"app": "CrashLoopBackOff"},
    )
    status = status_of(manifest("two-containers.yaml", "OnFailure"), seen)
    assert summary(by_name(status.container_statuses)["app"]) == "terminated:Completed:0"


def test_a_container_whose_image_changed_shows_the_image_it_runs() -> None:
    """As the kubelet: the runtime's image until the lifecycle replaces the container."""
    info = msgspec.structs.replace(container("web", "running"), image="nginx:1.26")
    web = by_name(status_of(manifest("two-containers.yaml"), observed(info)).container_statuses)
    assert web["web"].image == "nginx:1.26"


@pytest.mark.parametrize("runtime_name", ["docker", "containerd"])
def test_container_ids_carry_the_runtime_prefix(runtime_name: str) -> None:
    seen = observed(
        container("app", "exited", exit_code=1, finished=4),
        container("app", "running", restarts=1, started=5),
    )
    status = status_of(manifest("two-containers.yaml"), seen, runtime_name=runtime_name)
    app = by_name(status.container_statuses)["app"]
    assert app.container_id == f"{runtime_name}://app-1"
    assert app.last_state.terminated is not None
    assert app.last_state.terminated.container_id == f"{runtime_name}://app-0"


def test_image_ids_are_the_runtime_s_image_reference_as_it_gives_it() -> None:
    """The kubelet reports the CRI's ``imageRef`` with no scheme: containerd's repo digest."""
    reference = "docker.io/library/busybox@sha256:" + "7b3ccabf" * 8
    info = msgspec.structs.replace(container("app", "running"), image_id=reference)
    status = status_of(manifest("two-containers.yaml"), observed(info), runtime_name="containerd")
    app = by_name(status.container_statuses)["app"]
    assert (app.container_id, app.image_id) == ("containerd://app-0", reference)


@pytest.mark.parametrize(
    "path", sorted((STATUS_DATA / "qos").glob("*.yaml")), ids=lambda path: path.stem
)
def test_the_qos_class_follows_requests_and_limits(path: Path) -> None:
    """Each file's name starts with the class the kubelet gives it."""
    pod = decode_pod(path.read_bytes(), FILE, "node1").pod
    assert status_of(pod, None).qos_class == path.stem.split("-")[0]


def test_a_readiness_gate_keeps_a_static_pod_unready() -> None:
    status = status_of(manifest("readiness-gate.yaml"), observed(container("app", "running")))
    ready = conditions(status)["Ready"]
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "ReadinessGatesNotReady",
        'corresponding condition of pod readiness gate "example.com/load-balancer" does not exist.',
    )
    assert truths(status)["ContainersReady"] == "True"


def test_transition_times_are_never_before_fastpod_took_the_pod() -> None:
    """Containers adopted from an earlier run started before ``start_time``."""
    seen = observed(
        container("app", "running", started=-500),
        container("web", "running", started=-400),
        sandboxes=[sandbox(created=-600)],
    )
    status = status_of(manifest("two-containers.yaml"), seen)
    assert {c.last_transition_time for c in status.conditions} == {at(0)}
    running = by_name(status.container_statuses)["app"].state.running
    assert running is not None
    assert running.started_at == at(-500)


def test_times_are_rfc3339_utc_at_whole_seconds() -> None:
    assert rfc3339(T0 + 0.999) == "2027-01-15T08:00:00Z"
    assert rfc3339(0) == "1970-01-01T00:00:00Z"


def test_fields_the_api_requires_are_encoded_even_when_false_or_empty() -> None:
    status = status_of(
        manifest("init-containers.yaml"),
        observed(container("init0", "exited", exit_code=0, finished=3, kind="init")),
    )
    encoded = msgspec.json.decode(msgspec.json.encode(status))
    init0, init1 = encoded["initContainerStatuses"]
    assert init0["state"]["terminated"]["exitCode"] == 0
    assert {key: init1[key] for key in ("ready", "restartCount", "imageID", "started")} == {
        "ready": False,
        "restartCount": 0,
        "imageID": "",
        "started": False,
    }
    assert init1["lastState"] == {}
    assert "containerID" not in init1
    assert all({"type", "status"} <= condition.keys() for condition in encoded["conditions"])


def test_a_pod_the_node_refused_is_failed_with_the_handlers_reason_and_nothing_else() -> None:
    """The kubelet's ``rejectPod``: phase, reason, "Pod was rejected: " and the message, the
    QoS class and the start time; no condition, no container status."""
    refusal = Rejection("SysctlForbidden", 'forbidden sysctl: "kernel.msgmax" not allowlisted')
    status = status_of(manifest("two-containers.yaml"), Observed([], [], {}, rejection=refusal))
    assert status == PodStatus(
        phase="Failed",
        conditions=[],
        reason="SysctlForbidden",
        message='Pod was rejected: forbidden sysctl: "kernel.msgmax" not allowlisted',
        start_time=at(0),
        qos_class=status.qos_class,
    )
    assert status.qos_class == "BestEffort"
