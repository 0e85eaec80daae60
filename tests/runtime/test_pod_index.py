"""The pod index: what a CRI runtime holds for each pod, by id, and its statuses while they
hold."""

from __future__ import annotations

from fastpod.runtime.base import ContainerInfo, SandboxInfo
from fastpod.runtime.cri.pod_index import PodIndex
from fastpod.runtime.labels import POD_UID


def test_a_pod_has_the_sandboxes_and_containers_added_for_it_only() -> None:
    index = PodIndex()
    index.add_sandbox("uid-a", "sandbox-a")
    index.add_container("uid-a", "app-a", "sandbox-a")
    index.add_sandbox("uid-b", "sandbox-b")
    index.add_container("uid-b", "app-b", "sandbox-b")

    assert index.sandboxes("uid-a") == ["sandbox-a"]
    assert index.containers("uid-a") == [("app-a", "sandbox-a")]
    assert index.sandboxes("uid-unknown") == []
    assert index.containers("uid-unknown") == []


def test_adding_what_a_listing_shows_again_changes_nothing() -> None:
    index = PodIndex()
    for _ in range(2):
        index.add_sandbox("uid", "sandbox")
        index.add_container("uid", "app", "sandbox")

    assert index.sandboxes("uid") == ["sandbox"]
    assert index.containers("uid") == [("app", "sandbox")]
    assert len(index) == 2


def test_a_forgotten_id_leaves_the_pods_other_ids() -> None:
    index = PodIndex()
    index.add_sandbox("uid", "old")
    index.add_sandbox("uid", "new")
    index.add_container("uid", "app-0", "old")
    index.add_container("uid", "app-1", "new")

    index.forget("old")
    index.forget("app-0")
    index.forget("never-added")

    assert index.sandboxes("uid") == ["new"]
    assert index.containers("uid") == [("app-1", "new")]


def test_a_pod_whose_ids_are_all_forgotten_is_not_kept() -> None:
    index = PodIndex()
    index.add_sandbox("uid", "sandbox")
    index.add_container("uid", "app", "sandbox")

    index.forget("app")
    index.forget("sandbox")

    assert len(index) == 0
    assert index.sandboxes("uid") == []
    assert index.containers("uid") == []


def container(container_id: str = "app", uid: str = "uid") -> ContainerInfo:
    return ContainerInfo(container_id, "sandbox", {POD_UID: uid}, "running")


def test_a_status_read_is_kept_until_the_object_changes() -> None:
    index = PodIndex()
    index.add_container("uid", "app", "sandbox")
    info = container()

    index.remember(info, index.changes)
    assert index.known("app") is info

    index.changed("app")
    assert index.known("app") is None


def test_a_status_read_while_something_changed_is_not_kept() -> None:
    index = PodIndex()
    index.add_container("uid", "app", "sandbox")
    since = index.changes

    index.changed("app")  # say, a start while the read was under way
    index.remember(container(), since)

    assert index.known("app") is None


def test_a_change_to_a_pod_drops_its_statuses_only_and_none_drops_all() -> None:
    index = PodIndex()
    index.add_sandbox("uid-a", "sandbox-a")
    index.add_container("uid-a", "app-a", "sandbox-a")
    index.add_container("uid-b", "app-b", "sandbox-b")
    sandbox = SandboxInfo("sandbox-a", {POD_UID: "uid-a"}, True)
    for info in (sandbox, container("app-a", "uid-a"), container("app-b", "uid-b")):
        index.remember(info, index.changes)

    index.pod_changed("uid-a")
    assert index.known("sandbox-a") is None
    assert index.known("app-a") is None
    assert index.known("app-b") is not None

    index.pod_changed(None)
    assert index.known("app-b") is None


def test_the_status_of_an_id_not_in_the_index_is_not_kept() -> None:
    index = PodIndex()
    index.remember(container("stray"), index.changes)
    assert index.known("stray") is None


def test_a_forgotten_id_has_no_status() -> None:
    index = PodIndex()
    index.add_container("uid", "app", "sandbox")
    index.remember(container(), index.changes)

    index.forget("app")

    assert index.known("app") is None


def test_a_forgotten_sandbox_takes_its_containers_with_it() -> None:
    index = PodIndex()
    index.add_sandbox("uid", "old")
    index.add_sandbox("uid", "new")
    index.add_container("uid", "app-0", "old")
    index.add_container("uid", "app-1", "new")

    index.forget_sandbox("old")

    assert index.sandboxes("uid") == ["new"]
    assert index.containers("uid") == [("app-1", "new")]
