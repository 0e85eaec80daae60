"""What the kernel says of a container's process: ``/proc/<pid>/...`` read from the host."""

from __future__ import annotations

from pathlib import Path

from tests.support.engines import ContainerView

SECCOMP_NONE = "0"
SECCOMP_FILTER = "2"
"""``Seccomp:`` in ``/proc/<pid>/status``: 0 no seccomp, 2 a filter."""


def proc_status(container: ContainerView) -> dict[str, str]:
    """``/proc/<pid>/status`` of the container's process, field by field."""
    assert container.pid > 0, f"container {container.name} does not run"
    lines = Path(f"/proc/{container.pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)
