"""The pod index: what a CRI runtime holds for each pod, by id."""

from __future__ import annotations

from fastpod.runtime.pod_index import PodIndex


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
    assert index.sandboxes("uid") == index.containers("uid") == []
