"""DesiredPods: the kubelet's config merge for one shard of pod names (reference §1.5).

Claims in, ``added`` / ``updated`` / ``removed`` out: a new UID replaces a pod, the same UID
with a semantic difference updates it, anything else changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from fastpod.ipc.messages import PodClaim
from fastpod.manifest.defaults import CONFIG_SEEN, CONFIG_SOURCE, format_seen
from fastpod.model import Pod, PodSource
from fastpod.worker.desired import DesiredPods, Duplicate, PodChange, differs_semantically
from tests.support import FILE, URL
from tests.support.pods import decoded, pod_key, pod_manifest
from tests.support.worker import LATER, NOW, claim, release

A_FILE = PodSource("file", "/etc/kubernetes/manifests/a.yaml")
A_BACKUP = PodSource("file", "/etc/kubernetes/manifests/a.yaml.bak")


def kinds(changes: list[PodChange]) -> list[tuple[str, str | None]]:
    """Each change as (kind, pod UID)."""
    return [(change.kind, change.pod.metadata.uid) for change in changes]


def pod_of(pod_claim: PodClaim) -> Pod:
    assert pod_claim.pod is not None
    return pod_claim.pod


def uid_of(pod_claim: PodClaim) -> str | None:
    return pod_of(pod_claim).metadata.uid


def test_a_new_claim_adds_its_pod_stamped_with_the_time_first_seen() -> None:
    desired = DesiredPods()
    web = claim(FILE, "web")

    changes, duplicate = desired.apply(web, NOW)

    assert changes == [PodChange("added", pod_of(web), FILE)]
    assert duplicate is None
    assert web.pod is not None
    assert (web.pod.metadata.annotations or {})[CONFIG_SEEN] == format_seen(NOW)
    assert desired.pods[pod_key("web")].pod is web.pod
    assert desired.pods[pod_key("web")].source == FILE


def test_pods_taken_hold_one_copy_of_the_strings_they_repeat() -> None:
    desired = DesiredPods()
    web, api = claim(FILE, "web"), claim(A_FILE, "api")
    web_image = (pod_of(web).spec.containers or [])[0].image
    api_image = (pod_of(api).spec.containers or [])[0].image
    assert web_image == api_image
    assert web_image is not api_image

    desired.apply(web, NOW)
    desired.apply(api, NOW)

    held = [(desired.pods[pod_key(name)].pod.spec.containers or [])[0] for name in ("web", "api")]
    assert held[0].image is held[1].image


def test_the_same_claim_again_changes_nothing() -> None:
    desired = DesiredPods()
    web = claim(FILE, "web")
    desired.apply(web, NOW)

    assert desired.apply(web, LATER) == ([], None)
    assert desired.apply(claim(FILE, "web"), LATER) == ([], None)


def test_a_content_change_without_a_uid_removes_the_old_pod_then_adds_the_new() -> None:
    desired = DesiredPods()
    old = claim(FILE, "web")
    desired.apply(old, NOW)
    new = claim(FILE, "web", image="busybox:1.37")

    changes, _ = desired.apply(new, LATER)

    assert uid_of(old) != uid_of(new)
    assert kinds(changes) == [("removed", uid_of(old)), ("added", uid_of(new))]
    assert changes[0].pod is old.pod
    assert new.pod is not None
    assert (new.pod.metadata.annotations or {})[CONFIG_SEEN] == format_seen(LATER)
    assert desired.pods[pod_key("web")].pod is new.pod


def test_a_spec_change_with_an_explicit_uid_updates_the_pod_and_keeps_its_first_seen() -> None:
    desired = DesiredPods()
    old = claim(FILE, "web", uid="fixed-uid")
    desired.apply(old, NOW)
    new = claim(FILE, "web", uid="fixed-uid", image="busybox:1.37")

    changes, _ = desired.apply(new, LATER)

    assert changes == [PodChange("updated", pod_of(new), FILE, old.pod)]
    assert new.pod is not None
    assert (new.pod.metadata.annotations or {})[CONFIG_SEEN] == format_seen(NOW)
    assert desired.pods[pod_key("web")].pod is new.pod


def test_a_label_change_with_an_explicit_uid_updates_the_pod() -> None:
    desired = DesiredPods()
    desired.apply(claim(FILE, "web", uid="fixed-uid", labels={"tier": "a"}), NOW)

    changes, _ = desired.apply(claim(FILE, "web", uid="fixed-uid", labels={"tier": "b"}), LATER)

    assert kinds(changes) == [("updated", "fixed-uid")]
    assert changes[0].previous is not None
    assert changes[0].previous.metadata.labels == {"tier": "a"}


def test_an_annotation_change_with_an_explicit_uid_updates_the_pod() -> None:
    desired = DesiredPods()
    desired.apply(claim(FILE, "web", uid="fixed-uid", annotations={"team": "a"}), NOW)

    changes, _ = desired.apply(
        claim(FILE, "web", uid="fixed-uid", annotations={"team": "b"}), LATER
    )

    assert kinds(changes) == [("updated", "fixed-uid")]


@pytest.mark.parametrize(
    "local",
    [
        {CONFIG_SEEN: "2020-01-01T00:00:00.000000000Z"},
        {CONFIG_SOURCE: "http"},
        {"kubernetes.io/config.mirror": "abc"},
    ],
    ids=["config.seen", "config.source", "config.mirror"],
)
def test_a_change_only_in_local_annotations_changes_nothing(local: dict[str, str]) -> None:
    desired = DesiredPods()
    first = claim(FILE, "web", uid="fixed-uid")
    desired.apply(first, NOW)
    again = claim(FILE, "web", uid="fixed-uid")
    assert again.pod is not None
    again.pod.metadata.annotations = {**(again.pod.metadata.annotations or {}), **local}

    assert desired.apply(again, LATER) == ([], None)
    assert desired.pods[pod_key("web")].pod is first.pod
    assert first.pod is not None
    assert (first.pod.metadata.annotations or {})[CONFIG_SEEN] == format_seen(NOW)


def test_a_release_removes_the_pod() -> None:
    desired = DesiredPods()
    web = claim(FILE, "web")
    desired.apply(web, NOW)

    changes, duplicate = desired.apply(release(FILE, "web"), LATER)

    assert changes == [PodChange("removed", pod_of(web), FILE)]
    assert duplicate is None
    assert desired.pods == {}


def test_releasing_a_pod_never_claimed_changes_nothing() -> None:
    desired = DesiredPods()

    assert desired.apply(release(FILE, "web"), NOW) == ([], None)
    assert desired.pods == {}


@pytest.mark.parametrize("order", ["backup last", "backup first"])
def test_two_files_claiming_one_pod_run_the_later_path_in_sorted_order(order: str) -> None:
    desired = DesiredPods()
    original = claim(A_FILE, "web")
    backup = claim(A_BACKUP, "web", image="busybox:1.37")
    claims = [original, backup] if order == "backup last" else [backup, original]

    desired.apply(claims[0], NOW)
    changes, duplicate = desired.apply(claims[1], LATER)

    assert desired.pods[pod_key("web")].source == A_BACKUP
    assert desired.pods[pod_key("web")].pod is backup.pod
    assert duplicate == Duplicate(pod_key("web"), A_BACKUP, (A_FILE,))
    if order == "backup last":
        assert kinds(changes) == [("removed", uid_of(original)), ("added", uid_of(backup))]
    else:
        assert changes == []


def test_removing_the_winning_file_falls_back_to_the_other() -> None:
    desired = DesiredPods()
    original = claim(A_FILE, "web")
    backup = claim(A_BACKUP, "web", image="busybox:1.37")
    desired.apply(original, NOW)
    desired.apply(backup, NOW)

    changes, duplicate = desired.apply(release(A_BACKUP, "web"), LATER)

    assert kinds(changes) == [("removed", uid_of(backup)), ("added", uid_of(original))]
    assert duplicate is None
    assert desired.pods[pod_key("web")].source == A_FILE


def test_removing_the_losing_file_changes_nothing() -> None:
    desired = DesiredPods()
    desired.apply(claim(A_FILE, "web"), NOW)
    desired.apply(claim(A_BACKUP, "web"), NOW)

    assert desired.apply(release(A_FILE, "web"), LATER) == ([], None)
    assert desired.pods[pod_key("web")].source == A_BACKUP


def test_three_claims_name_every_ignored_source() -> None:
    desired = DesiredPods()
    third = PodSource("file", "/etc/kubernetes/manifests/a.yaml~")
    desired.apply(claim(A_FILE, "web"), NOW)
    desired.apply(claim(URL, "web"), NOW)

    _, duplicate = desired.apply(claim(third, "web"), NOW)

    assert duplicate == Duplicate(pod_key("web"), third, (A_FILE, URL))


@pytest.mark.parametrize("order", ["url first", "file first"])
def test_a_file_beats_the_url_for_the_same_pod_name(order: str) -> None:
    desired = DesiredPods()
    from_file = claim(FILE, "web")
    from_url = claim(URL, "web")
    first, second = (from_url, from_file) if order == "url first" else (from_file, from_url)
    desired.apply(first, NOW)

    _, duplicate = desired.apply(second, LATER)

    assert desired.pods[pod_key("web")].pod is from_file.pod
    assert duplicate == Duplicate(pod_key("web"), FILE, (URL,))


def _pod(**options: Any) -> Pod:
    return decoded(pod_manifest("web", uid="fixed-uid", **options), FILE)


def _with(change: Callable[[Pod], None]) -> Pod:
    pod = _pod()
    change(pod)
    return pod


def _annotate(key: str, value: str) -> Callable[[Pod], None]:
    def change(pod: Pod) -> None:
        pod.metadata.annotations = {**(pod.metadata.annotations or {}), key: value}

    return change


def _set_status(pod: Pod) -> None:
    pod.status = {"phase": "Running"}


def _set_deletion_timestamp(pod: Pod) -> None:
    pod.metadata.deletion_timestamp = "2026-01-01T00:00:00Z"


def _set_grace(pod: Pod) -> None:
    pod.metadata.deletion_grace_period_seconds = 5


def _set_host_network(pod: Pod) -> None:
    pod.spec.host_network = True


@pytest.mark.parametrize(
    ("new", "differs"),
    [
        pytest.param(_pod(), False, id="equal"),
        pytest.param(_pod(image="busybox:1.37"), True, id="image"),
        pytest.param(_pod(containers=("app", "sidecar")), True, id="containers"),
        pytest.param(_with(_set_host_network), True, id="spec field"),
        pytest.param(_pod(labels={"tier": "web"}), True, id="labels"),
        pytest.param(_pod(annotations={"team": "a"}), True, id="annotation"),
        pytest.param(_with(_set_deletion_timestamp), True, id="deletionTimestamp"),
        pytest.param(_with(_set_grace), True, id="deletionGracePeriodSeconds"),
        pytest.param(_with(_annotate(CONFIG_SEEN, "x")), False, id="config.seen"),
        pytest.param(_with(_annotate(CONFIG_SOURCE, "http")), False, id="config.source"),
        pytest.param(_with(_annotate("kubernetes.io/config.mirror", "x")), False, id="mirror"),
        pytest.param(_with(_set_status), False, id="status"),
    ],
)
def test_differs_semantically_as_the_kubelet_compares_pods(new: Pod, differs: bool) -> None:
    old = _pod()

    assert differs_semantically(old, new) is differs
    assert differs_semantically(new, old) is differs
    assert differs_semantically(copy.deepcopy(new), new) is False


def test_a_restarted_decoders_claims_not_held_any_more_are_dropped() -> None:
    """Its predecessor claimed ``gone``; the file went while no decoder knew of it."""
    desired = DesiredPods()
    kept, gone = claim(A_FILE, "kept"), claim(A_BACKUP, "gone")
    other = claim(URL, "other")
    for each in (kept, gone, other):
        desired.apply(each, NOW)

    changes = desired.drop_unheld(
        lambda source: source.kind == "file", {(kept.pod_key, A_FILE)}, LATER
    )

    assert kinds(changes) == [("removed", uid_of(gone))]
    assert sorted(desired.pods) == sorted([kept.pod_key, other.pod_key])


def test_dropping_a_restarted_decoders_claim_lets_another_source_win() -> None:
    desired = DesiredPods()
    from_url, from_file = claim(URL, "web"), claim(A_FILE, "web")
    desired.apply(from_url, NOW)
    desired.apply(from_file, NOW)

    changes = desired.drop_unheld(lambda source: source == A_FILE, set(), LATER)

    assert kinds(changes) == [("removed", uid_of(from_file)), ("added", uid_of(from_url))]
