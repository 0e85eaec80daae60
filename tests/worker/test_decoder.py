"""ManifestDecoder: manifest events in, the claims on pod names that changed out.

The kubelet's rules (reference §1.1 to 1.5): an identical rewrite changes nothing; a file that
becomes invalid keeps its pod until the next re-list (inotify) or loses it at once (re-list);
a bad URL body keeps the URL's pods and an empty one removes them all.
"""

from __future__ import annotations

import pytest

from fastpod.ipc.messages import ManifestChanged, PodClaim, shard_of
from fastpod.model import PodSource
from fastpod.worker.decoder import ManifestDecoder
from tests.support import FILE, URL, manifest_bytes
from tests.support.logs import LogCapture
from tests.support.pods import NODE, decoded, pod_document, pod_key, pod_list, pod_manifest

OTHER_FILE = PodSource("file", "/etc/kubernetes/manifests/other.yaml")
INVALID = pod_manifest("web", image="")


def changed(source: PodSource, body: bytes, *, relisted: bool = False) -> ManifestChanged:
    return ManifestChanged(source, body, relisted)


def summary(claims: list[PodClaim]) -> list[tuple[str, str | None]]:
    """Each claim as (pod key, pod UID or None for a release)."""
    return [(claim.pod_key, claim.pod.metadata.uid if claim.pod else None) for claim in claims]


def released(claims: list[PodClaim]) -> list[str]:
    return [claim.pod_key for claim in claims if claim.pod is None]


def test_a_valid_file_gives_one_claim_on_its_pod() -> None:
    decoder = ManifestDecoder(NODE)

    claims = decoder.changed(changed(FILE, manifest_bytes("minimal.yaml")))

    (claim,) = claims
    assert claim.pod_key == "default/web-node1"
    assert claim.source == FILE
    assert claim.pod == decoded(manifest_bytes("minimal.yaml"), FILE)
    assert claim.pod is not None
    assert claim.pod.metadata.name == "web-node1"


@pytest.mark.parametrize("relisted", [False, True])
def test_the_same_bytes_again_give_no_claims(relisted: bool) -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, manifest_bytes("minimal.yaml")))

    assert decoder.changed(changed(FILE, manifest_bytes("minimal.yaml"), relisted=relisted)) == []


def test_a_reformatted_but_equal_manifest_gives_no_claims() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))

    reformatted = pod_manifest("web").replace(b", ", b",\n  ")

    assert decoder.changed(changed(FILE, reformatted)) == []


def test_changed_content_gives_a_new_claim_on_the_same_name() -> None:
    decoder = ManifestDecoder(NODE)
    (first,) = decoder.changed(changed(FILE, pod_manifest("web")))

    (second,) = decoder.changed(changed(FILE, pod_manifest("web", image="busybox:1.37")))

    assert second.pod_key == first.pod_key == pod_key("web")
    assert second.pod is not None
    assert first.pod is not None
    assert second.pod.metadata.uid != first.pod.metadata.uid


def test_a_file_whose_pod_changes_name_releases_the_old_name_and_claims_the_new() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))

    claims = decoder.changed(changed(FILE, pod_manifest("api")))

    assert [(claim.pod_key, claim.pod is None) for claim in claims] == [
        (pod_key("web"), True),
        (pod_key("api"), False),
    ]


def test_a_removed_file_releases_its_pod() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))

    assert decoder.removed(FILE) == [PodClaim(pod_key("web"), FILE, None)]
    assert decoder.removed(FILE) == []


def test_removing_an_unknown_file_gives_no_claims() -> None:
    assert ManifestDecoder(NODE).removed(FILE) == []


def test_an_invalid_edit_seen_through_inotify_keeps_the_old_pod_until_the_relist(
    captured_logs: LogCapture,
) -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))

    assert decoder.changed(changed(FILE, INVALID, relisted=False)) == []

    (rejected,) = captured_logs.records("pod rejected")
    assert rejected["level"] == "error"
    assert rejected["source"] == FILE.location
    assert any("image" in error for error in rejected["errors"])
    assert decoder.relist_done(complete=False) == [PodClaim(pod_key("web"), FILE, None)]
    assert decoder.relist_done(complete=False) == []


def test_an_invalid_edit_confirmed_by_the_relist_releases_the_pod_once() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))
    decoder.changed(changed(FILE, INVALID, relisted=False))

    assert released(decoder.changed(changed(FILE, INVALID, relisted=True))) == [pod_key("web")]
    assert decoder.relist_done(complete=False) == []


def test_the_same_invalid_bytes_through_inotify_again_still_keep_the_old_pod() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))
    decoder.changed(changed(FILE, INVALID, relisted=False))

    assert decoder.changed(changed(FILE, INVALID, relisted=False)) == []
    assert released(decoder.relist_done(complete=False)) == [pod_key("web")]


def test_an_invalid_edit_fixed_before_the_relist_keeps_the_pod_without_a_claim() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))
    decoder.changed(changed(FILE, INVALID, relisted=False))

    assert decoder.changed(changed(FILE, pod_manifest("web"))) == []
    assert decoder.relist_done(complete=False) == []


def test_an_invalid_file_found_by_a_relist_is_released_at_once(
    captured_logs: LogCapture,
) -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))

    claims = decoder.changed(changed(FILE, INVALID, relisted=True))

    assert claims == [PodClaim(pod_key("web"), FILE, None)]
    assert len(captured_logs.records("pod rejected")) == 1
    assert decoder.changed(changed(FILE, INVALID, relisted=True)) == []
    assert decoder.relist_done(complete=False) == []


def test_a_file_fixed_after_being_released_is_claimed_again() -> None:
    decoder = ManifestDecoder(NODE)
    (first,) = decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    decoder.changed(changed(FILE, INVALID, relisted=True))

    assert decoder.changed(changed(FILE, pod_manifest("web"), relisted=True)) == [first]


def test_a_new_invalid_file_gives_no_claims_and_a_fix_claims_its_pod() -> None:
    decoder = ManifestDecoder(NODE)

    assert decoder.changed(changed(FILE, INVALID, relisted=True)) == []
    assert decoder.relist_done(complete=False) == []
    assert summary(decoder.changed(changed(FILE, pod_manifest("web")))) == [
        (pod_key("web"), decoded(pod_manifest("web"), FILE).metadata.uid)
    ]


def test_an_invalid_file_does_not_touch_the_pods_of_other_files() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    decoder.changed(changed(OTHER_FILE, pod_manifest("api"), relisted=True))

    claims = decoder.changed(changed(OTHER_FILE, INVALID, relisted=True))

    assert released(claims) == [pod_key("api")]
    assert decoder.claims_for(shard_of(pod_key("web"), 1), 1) == [
        PodClaim(pod_key("web"), FILE, decoded(pod_manifest("web"), FILE))
    ]


def test_a_complete_relist_releases_the_files_it_did_not_mention() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    decoder.changed(changed(OTHER_FILE, pod_manifest("api"), relisted=True))
    decoder.relist_done(complete=False)

    # the watcher restarted: its first re-list sends every file it finds
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    claims = decoder.relist_done(complete=True)

    assert claims == [PodClaim(pod_key("api"), OTHER_FILE, None)]
    assert [claim.pod_key for claim in decoder.claims_for(0, 1)] == [pod_key("web")]


def test_a_complete_relist_releases_a_file_only_the_previous_watcher_mentioned() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    decoder.changed(changed(OTHER_FILE, pod_manifest("api"), relisted=True))
    decoder.relist_done(complete=False)
    # inotify shows an edit of the other file; the watcher dies, the file is deleted meanwhile
    decoder.changed(changed(OTHER_FILE, pod_manifest("api", image="busybox:1.37")))

    # the restarted watcher never knew the file: its first, complete re-list does not name it
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    claims = decoder.relist_done(complete=True)

    assert claims == [PodClaim(pod_key("api"), OTHER_FILE, None)]


def test_an_incomplete_relist_keeps_the_files_it_did_not_mention() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web"), relisted=True))
    decoder.relist_done(complete=False)

    assert decoder.relist_done(complete=False) == []
    assert [claim.pod_key for claim in decoder.claims_for(0, 1)] == [pod_key("web")]


def test_a_complete_relist_leaves_the_url_pods_alone() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(URL, pod_list(pod_document("one"))))
    decoder.relist_done(complete=False)

    assert decoder.relist_done(complete=True) == []


def test_a_url_pod_list_of_two_pods_gives_two_claims() -> None:
    decoder = ManifestDecoder(NODE)

    claims = decoder.changed(changed(URL, manifest_bytes("pod-list.yaml")))

    assert [claim.pod_key for claim in claims] == [pod_key("one"), pod_key("two")]
    assert all(claim.source == URL and claim.pod is not None for claim in claims)


def test_a_url_list_without_one_of_its_pods_releases_that_pod_only() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(URL, pod_list(pod_document("one"), pod_document("two"))))

    claims = decoder.changed(changed(URL, pod_list(pod_document("one"))))

    assert claims == [PodClaim(pod_key("two"), URL, None)]


def test_a_url_list_with_one_pod_changed_claims_that_pod_only() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(URL, pod_list(pod_document("one"), pod_document("two"))))

    claims = decoder.changed(
        changed(URL, pod_list(pod_document("one"), pod_document("two", image="busybox:1.37")))
    )

    assert [(claim.pod_key, claim.pod is None) for claim in claims] == [(pod_key("two"), False)]


def test_a_url_serving_a_single_pod_claims_it() -> None:
    decoder = ManifestDecoder(NODE)

    (claim,) = decoder.changed(changed(URL, pod_manifest("web")))

    assert claim.pod_key == pod_key("web")
    assert claim.pod == decoded(pod_manifest("web"), URL)


def test_an_empty_url_body_releases_all_its_pods(captured_logs: LogCapture) -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(URL, manifest_bytes("pod-list.yaml")))

    claims = decoder.changed(changed(URL, b""))

    assert claims == [PodClaim(pod_key("one"), URL, None), PodClaim(pod_key("two"), URL, None)]
    (warning,) = captured_logs.records("manifest URL empty: removing its pods")
    assert warning["url"] == URL.location
    assert decoder.changed(changed(URL, b"")) == []


def test_an_invalid_url_body_keeps_the_old_pods_and_is_logged(
    captured_logs: LogCapture,
) -> None:
    decoder = ManifestDecoder(NODE)
    good = pod_list(pod_document("one"), pod_document("two"))
    decoder.changed(changed(URL, good))
    bad = pod_list(pod_document("one"), pod_document("two", image=""))

    assert decoder.changed(changed(URL, bad)) == []
    assert decoder.changed(changed(URL, bad)) == []

    (rejected,) = captured_logs.records("pod rejected")
    assert rejected["source"] == URL.location
    assert rejected["errors"]
    assert decoder.relist_done(complete=False) == []
    assert decoder.relist_done(complete=True) == []
    assert [claim.pod_key for claim in decoder.claims_for(0, 1)] == [pod_key("one"), pod_key("two")]
    # the good body again: nothing changed for the pods
    assert decoder.changed(changed(URL, good)) == []


def test_an_invalid_first_url_body_gives_no_claims_and_a_good_one_claims_them() -> None:
    decoder = ManifestDecoder(NODE)

    assert decoder.changed(changed(URL, b"{not yaml")) == []
    assert len(decoder.changed(changed(URL, manifest_bytes("pod-list.yaml")))) == 2


def test_duplicate_names_in_one_url_list_keep_the_first_and_warn(
    captured_logs: LogCapture,
) -> None:
    decoder = ManifestDecoder(NODE)
    first = pod_document("one")
    second = pod_document("one", image="busybox:1.37")

    (claim,) = decoder.changed(changed(URL, pod_list(first, second)))

    assert claim.pod == decoded(pod_list(first), URL)
    (warning,) = captured_logs.records("duplicate pod name, ignoring")
    assert warning["level"] == "warning"
    assert warning["pod"] == pod_key("one")
    assert warning["source"] == URL.location


def test_pods_in_other_namespaces_have_other_keys() -> None:
    decoder = ManifestDecoder(NODE)

    claims = decoder.changed(
        changed(URL, pod_list(pod_document("one"), pod_document("one", namespace="kube-system")))
    )

    assert [claim.pod_key for claim in claims] == [pod_key("one"), pod_key("one", "kube-system")]


def test_manifest_warnings_are_logged_once_with_their_source(
    captured_logs: LogCapture,
) -> None:
    decoder = ManifestDecoder(NODE)
    body = pod_manifest("web", extra_metadata={"bogus": 1})

    decoder.changed(changed(FILE, body))
    decoder.changed(changed(FILE, body, relisted=True))

    (warning,) = captured_logs.records("manifest warning")
    assert warning["level"] == "warning"
    assert warning["source"] == FILE.location
    assert warning["pod"] == pod_key("web")
    assert "metadata.bogus" in warning["warning"]
    assert "unknown field" in warning["warning"]


@pytest.mark.parametrize("shards", [1, 2, 3, 5])
def test_claims_for_a_shard_are_exactly_those_whose_key_hashes_to_it(shards: int) -> None:
    decoder = ManifestDecoder(NODE)
    names = [f"pod{index}" for index in range(12)]
    decoder.changed(changed(URL, pod_list(*(pod_document(name) for name in names[:6]))))
    for name in names[6:]:
        decoder.changed(changed(PodSource("file", f"/manifests/{name}.yaml"), pod_manifest(name)))

    found: list[str] = []
    for shard in range(shards):
        claims = decoder.claims_for(shard, shards)
        assert all(shard_of(claim.pod_key, shards) == shard for claim in claims)
        assert all(claim.pod is not None for claim in claims)
        found.extend(claim.pod_key for claim in claims)

    assert sorted(found) == sorted(pod_key(name) for name in names)


def test_claims_for_leaves_out_released_pods() -> None:
    decoder = ManifestDecoder(NODE)
    decoder.changed(changed(FILE, pod_manifest("web")))
    decoder.changed(changed(OTHER_FILE, pod_manifest("api")))
    decoder.removed(OTHER_FILE)

    assert [claim.pod_key for claim in decoder.claims_for(0, 1)] == [pod_key("web")]


def test_claims_on_pods_another_process_owns_are_kept_encoded_and_resent_whole() -> None:
    """Only the owner holds the pod object; the decoder keeps the claim's encoding."""
    decoder = ManifestDecoder(NODE, owned_here=lambda key: False)
    (sent,) = decoder.changed(changed(FILE, pod_manifest("web")))

    assert decoder.changed(changed(OTHER_FILE, pod_manifest("db"))) != []
    reformatted = pod_manifest("web") + b"# the same pod, other bytes\n"
    assert decoder.changed(changed(FILE, reformatted, relisted=True)) == []
    (resent,) = [claim for claim in decoder.claims_for(0, 1) if claim.source == FILE]
    assert resent == sent
    (edited,) = decoder.changed(changed(FILE, pod_manifest("web", image="busybox:1.37")))
    assert edited.pod is not None
    assert edited.pod.spec.containers is not None
    assert edited.pod.spec.containers[0].image == "busybox:1.37"
