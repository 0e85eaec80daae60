"""How far a run has got: a bar redrawn in place on a terminal, plain lines otherwise.

A log file or a CI job gets a line at most every :data:`LINE_PERIOD` seconds (and the last
one), not hundreds of carriage returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

BAR_WIDTH = 30
REDRAW_PERIOD = 0.1
LINE_PERIOD = 2.0


def bar(label: str, done: int, total: int, elapsed: float, width: int = BAR_WIDTH) -> str:
    """``label [#####.....] done/total  elapsed``: the bar as it is drawn (pure)."""
    filled = width if total <= 0 else min(width, width * done // total)
    return f"{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {elapsed:.1f} s"


def line(label: str, done: int, total: int, elapsed: float) -> str:
    """``label: done/total after elapsed``: one plain progress line (pure)."""
    return f"{label}: {done}/{total} after {elapsed:.1f} s"


class Progress:
    """Shows ``done/total`` of one phase (``label``) on ``stream``."""

    def __init__(
        self,
        stream: TextIO,
        label: str,
        total: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.clock = clock
        self.terminal = stream.isatty()
        self.began = clock()
        self._shown_at: float | None = None
        self._shown: int | None = None

    def update(self, done: int) -> None:
        """Show ``done`` if the last showing is old enough (or this is the end)."""
        now = self.clock()
        period = REDRAW_PERIOD if self.terminal else LINE_PERIOD
        due = self._shown_at is None or now - self._shown_at >= period
        if done == self._shown or not (due or done >= self.total):
            return
        self._shown_at, self._shown = now, done
        elapsed = now - self.began
        if self.terminal:
            self.stream.write("\r" + bar(self.label, done, self.total, elapsed))
        else:
            self.stream.write(line(self.label, done, self.total, elapsed) + "\n")
        self.stream.flush()

    def finish(self, done: int) -> None:
        """Show the final count and end the bar's line."""
        self.update(done)
        if self.terminal:
            self.stream.write("\n")
            self.stream.flush()
