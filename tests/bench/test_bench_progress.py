"""Progress: a bar redrawn in place on a terminal, a few plain lines otherwise."""

from __future__ import annotations

import io
import itertools

from fastpod.bench.progress import Progress, bar, line


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_bar_fills_with_the_share_done() -> None:
    assert bar("pods running", 5, 10, 1.25, width=10) == "pods running [#####.....] 5/10  1.2 s"
    assert bar("pods running", 0, 0, 0.0, width=4) == "pods running [####] 0/0  0.0 s"
    assert line("pods running", 3, 10, 2.0) == "pods running: 3/10 after 2.0 s"


def test_a_terminal_gets_the_bar_redrawn_in_place_and_a_newline_at_the_end() -> None:
    stream, clock = Terminal(), Clock()
    progress = Progress(stream, "pods", 4, clock=clock)
    progress.update(1)
    clock.now = 0.5
    progress.update(2)
    progress.finish(4)
    shown = stream.getvalue()
    assert shown.count("\r") == 3
    assert shown.endswith("4/4  0.5 s\n")


def test_a_file_gets_a_line_every_few_seconds_and_the_last_one() -> None:
    stream, clock = io.StringIO(), Clock()
    progress = Progress(stream, "pods", 100, clock=clock)
    for done in range(1, 100):
        clock.now = done * 0.1  # 10 s in all
        progress.update(done)
    clock.now = 10.0
    progress.finish(100)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "pods: 1/100 after 0.1 s"
    assert lines[-1] == "pods: 100/100 after 10.0 s"
    times = [float(text.split(" after ")[1].removesuffix(" s")) for text in lines]
    regular = times[:-1]
    assert all(b - a >= 1.95 for a, b in itertools.pairwise(regular))
    assert len(lines) == 6  # 10 s of updates: about one line each 2 s, and the last
    assert "\r" not in stream.getvalue()
