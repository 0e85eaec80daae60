"""Container states and the mirror pod in ``fastpod inspect``'s words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fastpod.client.summary import state_text, summary

NOW = datetime(2026, 12, 1, 14, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "text"),
    [
        (
            {"running": {"startedAt": "2026-12-01T14:09:30Z"}},
            "Running since 2026-12-01T14:09:30Z (30s ago)",
        ),
        (
            {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 20s"}},
            "Waiting (CrashLoopBackOff: back-off 20s)",
        ),
        ({"waiting": {}}, "Waiting"),
        (
            {"terminated": {"exitCode": 137, "signal": 9, "finishedAt": "2026-12-01T14:05:00Z"}},
            "Terminated (exit code 137, signal 9) at 2026-12-01T14:05:00Z (5m ago)",
        ),
        (
            {"terminated": {"exitCode": 0, "reason": "Completed"}},
            "Terminated (Completed, exit code 0)",
        ),
        (None, "Waiting"),
    ],
)
def test_a_state_reads_as_a_few_words(state: dict[str, Any] | None, text: str) -> None:
    assert state_text(state, NOW) == text


@pytest.mark.parametrize(
    ("mirror", "line"),
    [
        ({"state": "created", "uid": "u-1"}, "Mirror Pod:     created (uid u-1)"),
        (
            {"state": "failing", "reason": "create mirror pod: 403 Forbidden: no"},
            "Mirror Pod:     failing: create mirror pod: 403 Forbidden: no",
        ),
        (
            {"state": "pending", "reason": "waiting for the Node to be registered"},
            "Mirror Pod:     pending: waiting for the Node to be registered",
        ),
    ],
)
def test_the_mirror_pod_state_is_one_line(mirror: dict[str, Any], line: str) -> None:
    document = {"pod": {"metadata": {"name": "web-node1"}}, "mirror": mirror}
    assert line in summary(document, NOW).splitlines()


def test_without_a_kubeconfig_there_is_no_mirror_pod_line() -> None:
    text = summary({"pod": {"metadata": {"name": "web-node1"}}}, NOW)
    assert "Mirror Pod" not in text
