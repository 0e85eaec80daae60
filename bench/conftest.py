"""After the benchmark table: each decode_pod median beside its floor's, as a ratio.

A benchmark takes part by setting ``benchmark.extra_info["role"]`` to ``subject`` (what is
measured), ``floor`` (the bare parser it is compared with) or ``stage`` (a part of the
subject, shown for information), and ``label``; a subject may carry ``target_ratio``
(at most that many times its floor) or ``target_us`` (at most that many microseconds).
Benchmarks pair up by their group, whose name starts with the path (``yaml: ...``).
Targets are reported, never asserted.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

Groups = dict[str, dict[str, tuple[str, float, float, dict[str, Any]]]]
"""group → role → (label, median and min in seconds, extra_info)."""

_TIMES = pytest.StashKey[Groups]()


@pytest.hookimpl(wrapper=True)
def pytest_benchmark_group_stats(
    config: pytest.Config, benchmarks: list[Any], group_by: str
) -> Generator[None, Any, Any]:
    # pytest-benchmark calls this once, at session finish, with every benchmark that ran.
    groups: Groups = {}
    for bench in benchmarks:
        extra = bench["extra_info"] or {}
        role = extra.get("role")
        if role is not None and bench["group"]:
            label = extra.get("label", bench["name"])
            groups.setdefault(bench["group"], {})[role] = (
                label,
                bench["median"],
                bench["min"],
                extra,
            )
    config.stash[_TIMES] = groups
    return (yield)


def _us(seconds: float) -> str:
    micros = seconds * 1e6
    return f"{micros:.0f} µs" if micros >= 100 else f"{micros:.1f} µs"


def summary_lines(groups: Groups) -> list[str]:
    """One line per group that has a subject and a floor, e.g. ``yaml: decode_pod ...``."""
    lines = []
    for group, roles in groups.items():
        if "subject" not in roles or "floor" not in roles:
            continue
        path = group.split(":", 1)[0]
        label, median, fastest, extra = roles["subject"]
        floor_label, floor, floor_fastest, _ = roles["floor"]
        ratio = median / floor
        # The ratio of the minima too: on a busy machine it is the steadier of the two.
        by_min = f"by min {fastest / floor_fastest:.2f}x"
        if "target_ratio" in extra:
            target = extra["target_ratio"]
            verdict = "met" if ratio <= target else "MISSED"
            line = (
                f"{path}: {label} {_us(median)} vs {floor_label} {_us(floor)} = {ratio:.2f}x "
                f"({by_min}; target <= {target}x: {verdict})"
            )
        else:
            target_us = extra.get("target_us")
            goal = ""
            if target_us is not None:
                verdict = "met" if median * 1e6 <= target_us else "MISSED"
                goal = f" (target <= {target_us} µs: {verdict})"
            line = (
                f"{path}: {label} {_us(median)}{goal}, {floor_label} {_us(floor)} "
                f"= {ratio:.2f}x the floor ({by_min})"
            )
        if "stage" in roles:
            stage_label, stage, _, _ = roles["stage"]
            line += f"; {stage_label} alone {_us(stage)} = {stage / floor:.2f}x"
        lines.append(line)
    return lines


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = summary_lines(config.stash.get(_TIMES, {}))
    if lines:
        terminalreporter.write_sep("-", "decode_pod vs its floor (medians; targets not asserted)")
        for line in lines:
            terminalreporter.write_line(line)
