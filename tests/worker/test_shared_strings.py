"""Interning a pod's strings: the pod stays equal to what was decoded, and two pods' equal
strings become one object."""

from __future__ import annotations

import copy

import pytest

from fastpod.worker import shared_strings
from fastpod.worker.shared_strings import share_strings
from tests.support.worker import pod


def test_two_pods_hold_one_copy_of_their_equal_strings_and_stay_as_decoded() -> None:
    first, second = pod("web"), pod("api")
    first.metadata.labels = {"tier": "front" + "end"}
    second.metadata.labels = {"".join(["ti", "er"]): "".join(["front", "end"])}
    before = copy.deepcopy((first, second))
    assert first.metadata.labels is not None
    assert second.metadata.labels is not None
    assert next(iter(first.metadata.labels)) is not next(iter(second.metadata.labels))
    assert (first.spec.containers or [])[0].image is not (second.spec.containers or [])[0].image

    share_strings(first)
    share_strings(second)

    assert (first, second) == before
    first_image = (first.spec.containers or [])[0].image
    second_image = (second.spec.containers or [])[0].image
    assert first_image == second_image
    assert first_image is second_image
    assert first.metadata.namespace is second.metadata.namespace
    first_key, first_value = next(iter(first.metadata.labels.items()))
    second_key, second_value = next(iter(second.metadata.labels.items()))
    assert first_key is second_key
    assert first_value is second_value


def test_the_table_starts_again_once_full_so_a_removed_pods_strings_can_go(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shared_strings, "STRINGS_KEPT", 40)
    shared_strings._table.clear()
    share_strings(pod("web-0"))
    one_pod = len(shared_strings._table)
    for index in range(1, 50):
        share_strings(pod(f"web-{index}"))
    assert 0 < len(shared_strings._table) < 40 + one_pod
