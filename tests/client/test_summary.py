"""Container states in ``fastpod inspect``'s words."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fastpod.client.summary import state_text

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
