"""fastpod's log of one test, read as records (see :func:`fastpod.logs.capture`)."""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]


class LogCapture:
    """The records fastpod logged during a test, as its JSON lines decode."""

    def __init__(self, captured: list[Record]) -> None:
        self.captured = captured

    def records(self, event: str | None = None) -> list[Record]:
        """Every record so far, or those of ``event``."""
        return [record for record in self.captured if event is None or record["event"] == event]
