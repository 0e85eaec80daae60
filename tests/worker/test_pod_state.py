"""The per-pod state a worker's pod loops share: what forgetting a pod that is gone drops."""

from __future__ import annotations

import os
from pathlib import Path

from fastpod.lifecycle import backoff_key, image_backoff_key
from fastpod.model import Pod
from fastpod.worker.pod_state import PodState
from fastpod.worker.settings import WorkerSettings
from tests.support.pods import pod_key
from tests.support.worker import pod


def _failed_once(state: PodState, the_pod: Pod, log_target: str) -> None:
    """What a pod leaves in the state: a crashed container, a failed pull, a log link."""
    container = (the_pod.spec.containers or [])[0]
    state.crash_backoff.retried(backoff_key(the_pod, container), 0.0, 0.0)
    state.image_backoff.retried(image_backoff_key(the_pod, "busybox:1.36"), 0.0, 0.0)
    state.pod_logs.link(the_pod, container.name or "", 0, "c1", log_target)


def test_forgetting_a_pod_drops_its_back_offs_and_log_links_only(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    state = PodState(settings)
    target = tmp_path / "container.log"
    target.write_text("output\n")
    web, api = pod("web"), pod("api")
    for each in (web, api):
        _failed_once(state, each, str(target))

    state.forget(pod_key("web"), web.metadata.uid or "")

    container = (web.spec.containers or [])[0]
    assert state.crash_backoff.delay(backoff_key(web, container)) is None
    assert state.image_backoff.delay(image_backoff_key(web, "busybox:1.36")) is None
    assert not os.path.exists(state.pod_logs.pod_dir(web))
    assert state.crash_backoff.delay(backoff_key(api, container)) == settings.backoff_initial
    assert state.image_backoff.delay(image_backoff_key(api, "busybox:1.36")) is not None
    assert os.path.isdir(state.pod_logs.pod_dir(api))


def test_the_image_pull_back_off_is_the_kubelets_whatever_the_crash_loop_settings(
    settings: WorkerSettings,
) -> None:
    state = PodState(settings)
    web = pod("web")
    pull_key = image_backoff_key(web, "busybox:1.36")
    state.image_backoff.retried(pull_key, 0.0, 0.0)
    first = state.image_backoff.delay(pull_key)
    for _ in range(6):
        state.image_backoff.retried(pull_key, 0.0, 0.0)

    assert (settings.backoff_initial, settings.backoff_max) == (0.05, 0.2)
    assert (first, state.image_backoff.delay(pull_key)) == (10.0, 300.0)
