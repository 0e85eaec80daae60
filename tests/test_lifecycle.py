"""What to do with a pod now: the kubelet's ``computePodActions`` for static pods."""

from __future__ import annotations

import msgspec
import pytest

from fastpod.backoff import BackOff
from fastpod.lifecycle import (
    PodActions,
    active_deadline,
    backoff_key,
    compute_pod_actions,
    image_checked_before_create,
)
from fastpod.manifest.decode import decode_pod
from fastpod.model import Container, Pod, PodSource
from fastpod.runtime.base import ContainerInfo, ContainerState, SandboxInfo
from fastpod.runtime.labels import container_labels, sandbox_labels
from fastpod.runtime.spec import CONTAINER_HASH, CONTAINER_KIND, RESTART_COUNT, container_hash
from tests.test_backoff import default_backoff

SOURCE = PodSource("file", "/etc/kubernetes/manifests/x.yaml")
NOW = 10_000.0

TWO_CONTAINERS = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: kube-system}
spec:
  restartPolicy: {policy}
  containers:
  - {name: app, image: "busybox:1.36"}
  - {name: web, image: "nginx:1.27"}
"""

ONE_CONTAINER = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: kube-system}
spec:
  restartPolicy: {policy}
  containers:
  - {name: app, image: "busybox:1.36"}
"""

INIT_CONTAINERS = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: kube-system}
spec:
  restartPolicy: {policy}
  initContainers:
  - {name: init0, image: "busybox:1.36"}
  - {name: init1, image: "busybox:1.36"}
  containers:
  - {name: app, image: "busybox:1.36"}
  - {name: web, image: "nginx:1.27"}
"""

SIDECAR = """
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: kube-system}
spec:
  restartPolicy: {policy}
  initContainers:
  - {name: side, image: "envoy:1.30", restartPolicy: Always}
  - {name: init1, image: "busybox:1.36"}
  containers:
  - {name: app, image: "busybox:1.36"}
"""


def make_pod(template: str, policy: str = "Always") -> Pod:
    """A pod decoded and defaulted as the kubelet does a manifest file."""
    return decode_pod(template.replace("{policy}", policy).encode(), SOURCE, "node1").pod


def spec_of(pod: Pod, name: str) -> Container:
    containers: list[Container] = [*(pod.spec.init_containers or ()), *(pod.spec.containers or ())]
    for container in containers:
        if container.name == name:
            return container
    raise KeyError(name)


def sandbox(
    pod: Pod, sandbox_id: str = "s1", *, ready: bool = True, attempt: int = 0
) -> SandboxInfo:
    return SandboxInfo(sandbox_id, sandbox_labels(pod), ready, attempt=attempt)


def container(
    pod: Pod,
    name: str,
    state: ContainerState = "running",
    *,
    restart_count: int = 0,
    sandbox_id: str = "s1",
    exit_code: int | None = None,
    finished_at: float | None = None,
    image: str | None = None,
    kind: str = "regular",
    container_id: str | None = None,
) -> ContainerInfo:
    """A container as the runtime would list it, labelled as fastpod creates them."""
    spec = spec_of(pod, name)
    if image is not None:
        spec = msgspec.structs.replace(spec, image=image)
    if state == "exited" and exit_code is None:
        exit_code = 0
    if state == "exited" and finished_at is None:
        finished_at = NOW - 1000.0 + restart_count
    labels = {
        **container_labels(pod, spec),
        CONTAINER_HASH: container_hash(spec),
        RESTART_COUNT: str(restart_count),
        CONTAINER_KIND: kind,
    }
    return ContainerInfo(
        id=container_id or f"{name}-{restart_count}",
        sandbox_id=sandbox_id,
        labels=labels,
        state=state,
        exit_code=exit_code,
        created=100.0 + restart_count,
        started_at=100.0 + restart_count,
        finished_at=finished_at,
    )


def starts(actions: PodActions) -> list[tuple[str | None, str, int]]:
    return [(start.container.name, start.kind, start.restart_count) for start in actions.start]


def compute(
    pod: Pod,
    sandboxes: list[SandboxInfo],
    containers: list[ContainerInfo],
    backoff: BackOff | None = None,
    now: float = NOW,
    starting: frozenset[str] = frozenset(),
) -> PodActions:
    return compute_pod_actions(
        pod, sandboxes, containers, backoff or default_backoff(), now, starting
    )


# --- a new pod ---------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_a_new_pod_gets_a_sandbox_and_all_its_regular_containers(policy: str) -> None:
    pod = make_pod(TWO_CONTAINERS, policy)

    actions = compute(pod, [], [])

    assert actions.create_sandbox
    assert not actions.kill_pod
    assert starts(actions) == [("app", "regular", 0), ("web", "regular", 0)]
    assert actions.start[0].container == spec_of(pod, "app")
    assert actions.kill == actions.remove == actions.remove_sandboxes == []


@pytest.mark.parametrize(
    ("template", "first"),
    [
        pytest.param(INIT_CONTAINERS, ("init0", "init", 0), id="init"),
        pytest.param(SIDECAR, ("side", "sidecar", 0), id="sidecar"),
    ],
)
def test_a_new_pod_with_init_containers_starts_only_the_first_one(
    template: str, first: tuple[str, str, int]
) -> None:
    actions = compute(make_pod(template), [], [])

    assert actions.create_sandbox
    assert not actions.kill_pod
    assert starts(actions) == [first]


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_a_running_pod_whose_containers_match_their_spec_needs_nothing(policy: str) -> None:
    pod = make_pod(TWO_CONTAINERS, policy)

    actions = compute(pod, [sandbox(pod)], [container(pod, "app"), container(pod, "web")])

    assert actions == PodActions(sandbox_id="s1")


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_a_container_created_but_never_started_is_started_again(policy: str) -> None:
    """``ShouldContainerBeRestarted``: a created container restarts whatever the policy,
    as a new container (one more restart), without the back-off; the created one is
    left for the collection, being the newest of its name not running."""
    pod = make_pod(TWO_CONTAINERS, policy)
    app = container(pod, "app", "created", restart_count=2)

    actions = compute(pod, [sandbox(pod)], [app, container(pod, "web")])

    assert starts(actions) == [("app", "regular", 3)]
    assert actions.kill == actions.remove == []
    assert actions.restarts == []
    assert not actions.kill_pod
    assert actions.waiting == {}


def test_an_older_created_container_is_collected_once_a_newer_one_exists() -> None:
    pod = make_pod(TWO_CONTAINERS)
    created = container(pod, "app", "created", restart_count=0)
    exited = container(pod, "app", "exited", restart_count=1)

    actions = compute(pod, [sandbox(pod)], [created, exited, container(pod, "web")])

    assert actions.remove == [created.id]


@pytest.mark.parametrize(
    ("template", "name", "kind"),
    [
        pytest.param(INIT_CONTAINERS, "init0", "init", id="init"),
        pytest.param(SIDECAR, "side", "sidecar", id="sidecar"),
    ],
)
def test_an_init_container_created_but_never_started_is_started_again(
    template: str, name: str, kind: str
) -> None:
    """``computeInitContainerActions``: the created state restarts any init container."""
    pod = make_pod(template)

    actions = compute(pod, [sandbox(pod)], [container(pod, name, "created", kind=kind)])

    assert starts(actions) == [(name, kind, 1)]
    assert actions.kill == []


def test_a_missing_container_in_a_ready_sandbox_is_started() -> None:
    pod = make_pod(TWO_CONTAINERS)

    actions = compute(pod, [sandbox(pod)], [container(pod, "app")])

    assert not actions.create_sandbox
    assert not actions.kill_pod
    assert starts(actions) == [("web", "regular", 0)]


# --- restart policy and the crash-loop back-off -----------------------------------------


@pytest.mark.parametrize(
    ("policy", "exit_code", "restarted"),
    [
        ("Always", 0, True),
        ("Always", 1, True),
        ("Always", 137, True),
        ("OnFailure", 0, False),
        ("OnFailure", 1, True),
        ("OnFailure", 137, True),
        ("Never", 0, False),
        ("Never", 1, False),
    ],
)
def test_an_exited_container_is_restarted_by_the_restart_policy(
    policy: str, exit_code: int, restarted: bool
) -> None:
    pod = make_pod(TWO_CONTAINERS, policy)
    dead = container(pod, "app", "exited", restart_count=2, exit_code=exit_code)

    actions = compute(pod, [sandbox(pod)], [dead, container(pod, "web")])

    assert not actions.kill_pod
    assert not actions.create_sandbox
    if restarted:
        assert starts(actions) == [("app", "regular", 3)]
        assert actions.restarts == [(backoff_key(pod, spec_of(pod, "app")), dead.finished_at)]
    else:
        assert actions.start == []
        assert actions.restarts == []
    assert actions.waiting == {}
    assert actions.retry_at is None


def test_the_first_crash_is_restarted_at_once_and_the_next_waits_ten_seconds() -> None:
    pod = make_pod(ONE_CONTAINER)
    backoff = default_backoff()
    key = backoff_key(pod, spec_of(pod, "app"))
    first = container(pod, "app", "exited", exit_code=1, finished_at=NOW - 1)

    actions = compute(pod, [sandbox(pod)], [first], backoff)

    assert starts(actions) == [("app", "regular", 1)]
    assert actions.restarts == [(key, NOW - 1)]
    assert actions.waiting == {}
    for restart_key, failed_at in actions.restarts:
        backoff.retried(restart_key, failed_at, NOW)

    crashed_at = NOW + 3
    second = container(pod, "app", "exited", restart_count=1, exit_code=1, finished_at=crashed_at)
    waiting = compute(pod, [sandbox(pod)], [first, second], backoff, now=crashed_at + 1)

    assert waiting.start == []
    assert waiting.restarts == []
    assert waiting.waiting == {"app": "CrashLoopBackOff"}
    assert waiting.retry_at == crashed_at + 10
    assert not waiting.kill_pod, "a container in back-off keeps its pod"
    assert waiting.remove == ["app-0"]

    due = compute(pod, [sandbox(pod)], [second], backoff, now=crashed_at + 10)

    assert starts(due) == [("app", "regular", 2)]
    assert due.restarts == [(key, crashed_at)]
    assert due.waiting == {}
    assert due.retry_at is None


def test_a_container_in_back_off_carries_the_kubelets_message_with_its_delay() -> None:
    pod = make_pod(TWO_CONTAINERS)
    backoff = default_backoff()
    key = backoff_key(pod, spec_of(pod, "app"))
    for _ in range(5):
        backoff.retried(key, NOW - 50, NOW - 50)
    dead = container(pod, "app", "exited", restart_count=5, exit_code=1, finished_at=NOW - 5)

    actions = compute(pod, [sandbox(pod)], [dead], backoff)

    metadata = pod.metadata
    assert actions.messages == {
        "app": f"back-off 2m40s restarting failed container=app "
        f"pod={metadata.name}_{metadata.namespace}({metadata.uid})"
    }


def test_retry_at_is_the_earliest_of_the_containers_in_back_off() -> None:
    pod = make_pod(TWO_CONTAINERS)
    backoff = default_backoff()
    for name, delays in (("app", 3), ("web", 1)):
        key = backoff_key(pod, spec_of(pod, name))
        for _ in range(delays):
            backoff.retried(key, NOW - 50, NOW - 50)
    dead = [
        container(pod, "app", "exited", restart_count=3, exit_code=1, finished_at=NOW - 5),
        container(pod, "web", "exited", restart_count=1, exit_code=1, finished_at=NOW - 2),
    ]

    actions = compute(pod, [sandbox(pod)], dead, backoff)

    assert actions.start == []
    assert actions.waiting == {"app": "CrashLoopBackOff", "web": "CrashLoopBackOff"}
    assert actions.retry_at == NOW - 2 + 10  # web waits 10 s, app 40 s


def test_a_container_that_exited_without_a_finish_time_fails_now() -> None:
    pod = make_pod(ONE_CONTAINER)
    dead = msgspec.structs.replace(container(pod, "app", "exited", exit_code=1), finished_at=None)

    actions = compute(pod, [sandbox(pod)], [dead])

    assert actions.restarts == [(backoff_key(pod, spec_of(pod, "app")), NOW)]


@pytest.mark.parametrize(
    ("policy", "exit_codes"),
    [
        pytest.param("OnFailure", (0, 0), id="on-failure-all-succeeded"),
        pytest.param("Never", (0, 0), id="never-all-succeeded"),
        pytest.param("Never", (0, 1), id="never-one-failed"),
        pytest.param("Never", (2, 1), id="never-all-failed"),
    ],
)
def test_a_pod_whose_containers_all_completed_is_killed_and_not_started_again(
    policy: str, exit_codes: tuple[int, int]
) -> None:
    pod = make_pod(TWO_CONTAINERS, policy)
    dead = [
        container(pod, name, "exited", exit_code=code)
        for name, code in zip(("app", "web"), exit_codes, strict=True)
    ]

    in_sandbox = compute(pod, [sandbox(pod)], dead)

    assert in_sandbox.kill_pod
    assert not in_sandbox.create_sandbox
    assert in_sandbox.start == []

    stopped = compute(pod, [sandbox(pod, ready=False)], dead)

    assert not stopped.create_sandbox
    assert stopped.start == []
    assert not stopped.kill_pod, "nothing is left running to kill"


# --- init containers ------------------------------------------------------------------


def init_done(pod: Pod, *names: str) -> list[ContainerInfo]:
    return [container(pod, name, "exited", exit_code=0, kind="init") for name in names]


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_init_containers_run_one_at_a_time_in_order(policy: str) -> None:
    pod = make_pod(INIT_CONTAINERS, policy)
    ready = [sandbox(pod)]

    assert starts(compute(pod, ready, [])) == [("init0", "init", 0)]
    assert compute(pod, ready, [container(pod, "init0", kind="init")]) == PodActions(
        sandbox_id="s1"
    )
    assert starts(compute(pod, ready, init_done(pod, "init0"))) == [("init1", "init", 0)]
    running = [*init_done(pod, "init0"), container(pod, "init1", kind="init")]
    assert compute(pod, ready, running) == PodActions(sandbox_id="s1")


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_regular_containers_start_only_once_every_init_container_succeeded(policy: str) -> None:
    pod = make_pod(INIT_CONTAINERS, policy)

    actions = compute(pod, [sandbox(pod)], init_done(pod, "init0", "init1"))

    assert starts(actions) == [("app", "regular", 0), ("web", "regular", 0)]
    assert not actions.kill_pod


def test_init_containers_are_not_run_again_once_regular_containers_run() -> None:
    pod = make_pod(INIT_CONTAINERS)
    running = [container(pod, "app"), container(pod, "web")]

    assert compute(pod, [sandbox(pod)], running) == PodActions(sandbox_id="s1")


@pytest.mark.parametrize("policy", ["Always", "OnFailure"])
def test_a_failed_init_container_is_retried_under_the_back_off(policy: str) -> None:
    pod = make_pod(INIT_CONTAINERS, policy)
    backoff = default_backoff()
    failed = [
        *init_done(pod, "init0"),
        container(pod, "init1", "exited", exit_code=1, kind="init", finished_at=NOW - 1),
    ]

    actions = compute(pod, [sandbox(pod)], failed, backoff)

    assert starts(actions) == [("init1", "init", 1)]
    assert actions.restarts == [(backoff_key(pod, spec_of(pod, "init1")), NOW - 1)]
    assert not actions.kill_pod

    backoff.retried(*actions.restarts[0], NOW)
    failed_again = [
        *init_done(pod, "init0"),
        container(
            pod, "init1", "exited", restart_count=1, exit_code=1, kind="init", finished_at=NOW + 1
        ),
    ]
    waiting = compute(pod, [sandbox(pod)], failed_again, backoff, now=NOW + 2)

    assert waiting.start == []
    assert waiting.waiting == {"init1": "CrashLoopBackOff"}
    assert waiting.retry_at == NOW + 11
    assert not waiting.kill_pod


def test_a_failed_init_container_under_never_fails_the_pod() -> None:
    pod = make_pod(INIT_CONTAINERS, "Never")
    failed = [container(pod, "init0", "exited", exit_code=1, kind="init")]

    actions = compute(pod, [sandbox(pod)], failed)

    assert actions.kill_pod
    assert actions.start == []
    assert actions.waiting == {"init0": "Init:Error"}

    stopped = compute(pod, [sandbox(pod, ready=False)], failed)

    assert not stopped.create_sandbox
    assert stopped.start == []


# --- sidecars -------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_a_sidecar_starts_first_and_the_next_init_container_once_it_runs(policy: str) -> None:
    pod = make_pod(SIDECAR, policy)
    ready = [sandbox(pod)]
    side = container(pod, "side", kind="sidecar")

    assert starts(compute(pod, ready, [])) == [("side", "sidecar", 0)]
    assert starts(compute(pod, ready, [side])) == [("init1", "init", 0)]
    assert compute(pod, ready, [side, container(pod, "init1", kind="init")]) == PodActions(
        sandbox_id="s1"
    )
    done = [side, container(pod, "init1", "exited", exit_code=0, kind="init")]
    assert starts(compute(pod, ready, done)) == [("app", "regular", 0)]
    assert compute(pod, ready, [*done, container(pod, "app")]) == PodActions(sandbox_id="s1")


def test_the_init_sequence_waits_for_a_running_sidecar_until_its_startup_probe_succeeds() -> None:
    pod = make_pod(SIDECAR, "Always")
    ready = [sandbox(pod)]
    side = container(pod, "side", kind="sidecar")

    waiting = compute(pod, ready, [side], starting=frozenset({"side"}))
    assert waiting == PodActions(sandbox_id="s1"), "nothing to do but wait"
    assert starts(compute(pod, ready, [side], starting=frozenset())) == [("init1", "init", 0)]
    done = [
        side,
        container(pod, "init1", "exited", exit_code=0, kind="init"),
        container(pod, "app"),
    ]
    assert compute(pod, ready, done, starting=frozenset({"side"})).start == [], (
        "once the regular containers run, a sidecar's startup no longer holds anything"
    )


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
@pytest.mark.parametrize("exit_code", [0, 1])
def test_a_sidecar_that_exits_is_restarted_whatever_the_restart_policy(
    policy: str, exit_code: int
) -> None:
    pod = make_pod(SIDECAR, policy)
    side = container(pod, "side", "exited", exit_code=exit_code, kind="sidecar", restart_count=4)
    init = container(pod, "init1", "exited", exit_code=0, kind="init")

    actions = compute(pod, [sandbox(pod)], [side, init, container(pod, "app")])

    assert starts(actions) == [("side", "sidecar", 5)]
    assert actions.restarts == [(backoff_key(pod, spec_of(pod, "side")), side.finished_at)]
    assert not actions.kill_pod


def test_a_sidecar_that_exits_before_initialization_is_restarted_first() -> None:
    pod = make_pod(SIDECAR)
    side = container(pod, "side", "exited", exit_code=1, kind="sidecar")

    actions = compute(pod, [sandbox(pod)], [side])

    assert starts(actions) == [("side", "sidecar", 1)]


def test_a_sidecar_is_not_restarted_when_no_regular_container_is_left() -> None:
    # kuberuntime_manager.go: "To prevent the restartable init containers to keep pod alive,
    # we should not restart them."
    pod = make_pod(SIDECAR, "OnFailure")
    side = container(pod, "side", "exited", exit_code=1, kind="sidecar")
    init = container(pod, "init1", "exited", exit_code=0, kind="init")
    app = container(pod, "app", "exited", exit_code=0)

    actions = compute(pod, [sandbox(pod)], [side, init, app])

    assert actions.kill_pod
    assert actions.start == []


def test_a_running_sidecar_does_not_keep_a_completed_pod_alive() -> None:
    pod = make_pod(SIDECAR, "Never")
    side = container(pod, "side", kind="sidecar")
    init = container(pod, "init1", "exited", exit_code=0, kind="init")
    app = container(pod, "app", "exited", exit_code=1)

    actions = compute(pod, [sandbox(pod)], [side, init, app])

    assert actions.kill_pod
    assert actions.start == []


def test_a_running_sidecar_whose_image_changed_is_replaced() -> None:
    pod = make_pod(SIDECAR)
    side = container(pod, "side", kind="sidecar", image="envoy:1.29")
    init = container(pod, "init1", "exited", exit_code=0, kind="init")

    actions = compute(pod, [sandbox(pod)], [side, init, container(pod, "app")])

    assert actions.kill == [side.id]
    assert starts(actions) == [("side", "sidecar", 1)]


# --- spec changes ---------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["Always", "OnFailure", "Never"])
def test_a_running_container_whose_image_changed_is_replaced(policy: str) -> None:
    pod = make_pod(TWO_CONTAINERS, policy)
    old = container(pod, "app", restart_count=2, image="busybox:1.35")

    actions = compute(pod, [sandbox(pod)], [old, container(pod, "web")])

    assert actions.kill == [old.id]
    assert starts(actions) == [("app", "regular", 3)]
    assert not actions.kill_pod
    assert not actions.create_sandbox


def test_a_running_container_whose_command_changed_is_kept() -> None:
    pod = make_pod(ONE_CONTAINER)
    running = container(pod, "app")
    changed = msgspec.structs.replace(
        pod,
        spec=msgspec.structs.replace(
            pod.spec,
            containers=[msgspec.structs.replace(spec_of(pod, "app"), command=["sleep", "1"])],
        ),
    )

    assert compute(changed, [sandbox(pod)], [running]) == PodActions(sandbox_id="s1")


def test_a_new_image_starts_the_back_off_over() -> None:
    pod = make_pod(ONE_CONTAINER)
    backoff = default_backoff()
    old_spec = msgspec.structs.replace(spec_of(pod, "app"), image="busybox:1.35")
    old_key = backoff_key(pod, old_spec)
    backoff.retried(old_key, NOW - 20, NOW - 20)
    backoff.retried(old_key, NOW - 10, NOW - 10)
    dead = container(pod, "app", "exited", exit_code=1, restart_count=2, finished_at=NOW - 1)

    actions = compute(pod, [sandbox(pod)], [dead], backoff)

    assert backoff_key(pod, spec_of(pod, "app")) != old_key
    assert starts(actions) == [("app", "regular", 3)]


# --- sandboxes ------------------------------------------------------------------------


def test_a_sandbox_that_is_not_ready_is_replaced_and_restart_counts_continue() -> None:
    pod = make_pod(TWO_CONTAINERS)
    containers = [
        container(pod, "app", "exited", exit_code=1, restart_count=2),
        container(pod, "app", "exited", exit_code=1, restart_count=3),
        container(pod, "web", restart_count=0),
    ]

    actions = compute(pod, [sandbox(pod, ready=False)], containers)

    assert actions.kill_pod
    assert actions.create_sandbox
    assert starts(actions) == [("app", "regular", 4), ("web", "regular", 1)]


def test_a_new_sandbox_takes_the_attempt_after_the_latest_whatever_was_removed() -> None:
    pod = make_pod(TWO_CONTAINERS)

    first = compute(pod, [], [])
    # attempt 0 was removed; attempt 1 died and is still there
    replacement = compute(pod, [sandbox(pod, "s1", ready=False, attempt=1)], [])

    assert first.sandbox_attempt == 0
    assert replacement.create_sandbox
    assert replacement.sandbox_attempt == 2


def test_containers_start_in_the_ready_sandbox() -> None:
    pod = make_pod(TWO_CONTAINERS)

    actions = compute(pod, [sandbox(pod, "old", ready=False), sandbox(pod, "s7")], [])

    assert not actions.create_sandbox
    assert actions.sandbox_id == "s7"
    assert actions.remove_sandboxes == ["old"]
    assert starts(actions) == [("app", "regular", 0), ("web", "regular", 0)]


def test_containers_left_from_a_removed_sandbox_keep_their_restart_counts() -> None:
    pod = make_pod(TWO_CONTAINERS)
    containers = [
        container(pod, "app", "exited", exit_code=0, restart_count=5, sandbox_id="gone"),
        container(pod, "web", "exited", exit_code=0, restart_count=1, sandbox_id="gone"),
    ]

    actions = compute(pod, [], containers)

    assert actions.create_sandbox
    assert not actions.kill_pod, "nothing runs"
    assert starts(actions) == [("app", "regular", 6), ("web", "regular", 2)]


def test_init_containers_run_again_from_the_first_in_a_new_sandbox() -> None:
    pod = make_pod(INIT_CONTAINERS)
    old = [
        *(
            container(pod, name, "exited", exit_code=0, kind="init", sandbox_id="s0")
            for name in ("init0", "init1")
        ),
        container(pod, "app", "exited", exit_code=1, sandbox_id="s0"),
        container(pod, "web", sandbox_id="s0"),
    ]

    recreated = compute(pod, [sandbox(pod, "s0", ready=False)], old)

    assert recreated.kill_pod
    assert recreated.create_sandbox
    assert starts(recreated) == [("init0", "init", 1)]

    ready = [sandbox(pod, "s0", ready=False), sandbox(pod, "s1")]
    in_new = compute(pod, ready, [*old[:3], container(pod, "web", "exited", sandbox_id="s0")])

    assert starts(in_new) == [("init0", "init", 1)]
    assert in_new.remove_sandboxes == ["s0"]


def test_two_ready_sandboxes_are_both_killed_and_one_created() -> None:
    pod = make_pod(ONE_CONTAINER)
    sandboxes = [sandbox(pod, "s1"), sandbox(pod, "s2")]

    actions = compute(pod, sandboxes, [container(pod, "app", sandbox_id="s2")])

    assert actions.kill_pod
    assert actions.create_sandbox
    assert starts(actions) == [("app", "regular", 1)]


def test_containers_still_running_in_an_old_sandbox_are_killed() -> None:
    pod = make_pod(ONE_CONTAINER)
    stray = container(pod, "app", sandbox_id="s0", restart_count=0)
    current = container(pod, "app", sandbox_id="s1", restart_count=1)

    actions = compute(pod, [sandbox(pod, "s0", ready=False), sandbox(pod, "s1")], [stray, current])

    assert actions.kill == [stray.id]
    assert actions.remove_sandboxes == ["s0"]
    assert actions.start == []
    assert not actions.kill_pod


@pytest.mark.parametrize("template", [ONE_CONTAINER, INIT_CONTAINERS])
def test_an_on_failure_pod_that_succeeded_gets_no_new_sandbox(template: str) -> None:
    # computePodActions: "We should not create a sandbox, and just kill the pod if
    # initialization is done and there is no container to start."
    pod = make_pod(template, "OnFailure")
    done = [
        container(pod, c.name or "", "exited", exit_code=0, kind="init")
        for c in pod.spec.init_containers or ()
    ] + [container(pod, c.name or "", "exited", exit_code=0) for c in pod.spec.containers or ()]

    actions = compute(pod, [sandbox(pod, ready=False)], done)

    assert not actions.create_sandbox
    assert actions.start == []


def test_a_container_that_succeeded_before_the_sandbox_died_is_not_run_again() -> None:
    # under OnFailure the kubelet skips succeeded containers when it recreates the sandbox,
    # and keeps skipping them once the new sandbox is ready: their status is the pod's
    pod = make_pod(TWO_CONTAINERS, "OnFailure")
    app = container(pod, "app", "exited", exit_code=0, sandbox_id="s0")
    web = container(pod, "web", "exited", exit_code=1, sandbox_id="s0")

    recreated = compute(pod, [sandbox(pod, "s0", ready=False)], [app, web])

    assert recreated.create_sandbox
    assert starts(recreated) == [("web", "regular", 1)]

    new_web = container(pod, "web", restart_count=1, sandbox_id="s1")
    ready = [sandbox(pod, "s0", ready=False), sandbox(pod, "s1")]
    in_new = compute(pod, ready, [app, web, new_web])

    assert in_new.start == []
    assert not in_new.kill_pod


# --- garbage collection ---------------------------------------------------------------


def test_all_dead_containers_but_the_newest_of_each_name_are_removed() -> None:
    pod = make_pod(TWO_CONTAINERS)
    dead = [container(pod, "app", "exited", restart_count=n, exit_code=1) for n in (2, 0, 1)]
    web = [container(pod, "web", "exited", restart_count=n, exit_code=1) for n in (0, 1)]

    actions = compute(pod, [sandbox(pod)], [*dead, *web])

    assert sorted(actions.remove) == ["app-0", "app-1", "web-0"]


def test_the_newest_dead_container_is_kept_even_beside_a_running_one() -> None:
    pod = make_pod(ONE_CONTAINER)
    dead = [container(pod, "app", "exited", restart_count=n, exit_code=1) for n in range(3)]
    running = container(pod, "app", restart_count=3)

    actions = compute(pod, [sandbox(pod)], [*dead, running])

    assert sorted(actions.remove) == ["app-0", "app-1"]
    assert actions.start == []
    assert actions.kill == []


def test_dead_containers_are_collected_when_the_pod_is_completed() -> None:
    pod = make_pod(ONE_CONTAINER, "Never")
    dead = [container(pod, "app", "exited", restart_count=n, exit_code=1) for n in range(3)]

    actions = compute(pod, [sandbox(pod, ready=False)], dead)

    assert sorted(actions.remove) == ["app-0", "app-1"]


def test_sandboxes_that_are_not_ready_are_removed_beside_a_ready_one() -> None:
    pod = make_pod(ONE_CONTAINER)
    sandboxes = [
        sandbox(pod, "s0", ready=False),
        sandbox(pod, "s1"),
        sandbox(pod, "s2", ready=False),
    ]

    actions = compute(pod, sandboxes, [container(pod, "app", sandbox_id="s1")])

    assert sorted(actions.remove_sandboxes) == ["s0", "s2"]
    assert not actions.kill_pod
    assert not actions.create_sandbox


def test_no_sandbox_is_removed_while_none_is_ready() -> None:
    pod = make_pod(ONE_CONTAINER)

    actions = compute(pod, [sandbox(pod, "s0", ready=False)], [])

    assert actions.remove_sandboxes == []
    assert actions.create_sandbox


@pytest.mark.parametrize(
    ("policy", "restart_count", "checked"),
    [
        ("IfNotPresent", 0, True),
        ("Never", 0, True),
        ("Always", 0, True),
        ("IfNotPresent", 1, False),
        ("Never", 3, False),
        ("Always", 1, True),
    ],
)
def test_only_a_restart_not_pulling_always_skips_the_image_check_before_create(
    policy: str, restart_count: int, checked: bool
) -> None:
    assert image_checked_before_create(policy, restart_count) is checked


# --- activeDeadlineSeconds ---------------------------------------------------------------


def test_a_pod_past_its_active_deadline_is_stopped_for_good() -> None:
    pod = make_pod(ONE_CONTAINER, "Always")
    ready = [sandbox(pod)]
    app = container(pod, "app")
    deadline = active_deadline(
        msgspec.structs.replace(
            pod, spec=msgspec.structs.replace(pod.spec, active_deadline_seconds=30)
        ),
        NOW - 10,
    )
    assert deadline == NOW + 20

    before = compute_pod_actions(pod, ready, [app], default_backoff(), NOW, deadline=deadline)
    assert (before.kill_pod, before.deadline_exceeded, before.retry_at) == (False, False, deadline)
    past = compute_pod_actions(pod, ready, [app], default_backoff(), NOW + 20, deadline=deadline)
    assert past == PodActions(kill_pod=True, deadline_exceeded=True)
    stopped = [container(pod, "app", "exited", exit_code=137)]
    after = compute_pod_actions(pod, [], stopped, default_backoff(), NOW + 30, deadline=deadline)
    assert after == PodActions(kill_pod=False, deadline_exceeded=True), "nothing is started again"


def test_a_pod_without_an_active_deadline_has_none() -> None:
    assert active_deadline(make_pod(ONE_CONTAINER, "Always"), NOW) is None
