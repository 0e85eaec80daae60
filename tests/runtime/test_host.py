"""The host's facts for security decisions, read from what the kernel says."""

from __future__ import annotations

from fastpod.runtime.host import kernel_version, memory_capacity, oom_score_adj_floor

MEMINFO = "MemTotal:       24683664 kB\nMemFree:         1000000 kB\n"


def test_the_kernel_release_is_read_as_numbers() -> None:
    assert kernel_version("6.1.0-18-amd64") == (6, 1, 0)
    assert kernel_version("4.19.316+") == (4, 19, 316)
    assert kernel_version("weird") == ()


def test_the_memory_capacity_is_memtotal_in_bytes() -> None:
    assert memory_capacity(MEMINFO) == 24683664 * 1024
    assert memory_capacity("") == 0


def test_without_cap_sys_resource_scores_cannot_go_below_the_processs_own() -> None:
    """Bit 24 of ``CapEff``."""
    with_cap = "Name:\tfastpod\nCapEff:\t000001ffffffffff\n"
    without = "Name:\tfastpod\nCapEff:\t000001fffeffffff\n"
    assert oom_score_adj_floor(with_cap, "-500\n") is None
    assert oom_score_adj_floor(without, "-500\n") == -500
    assert oom_score_adj_floor(without, "0\n") == 0
