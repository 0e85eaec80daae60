"""What the host is, for the node's security decisions: read once when a worker starts.

The kubelet reads the same at its start (``apparmor.IsEnabled``, the kernel version for the
safe sysctls) and never again: a change needs a restart, of the kubelet and of fastpod.
"""

from __future__ import annotations

import os
import re

from fastpod.runtime.security import HostFacts

APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"
CAP_SYS_RESOURCE = 24

_RELEASE = re.compile(r"^(\d+(?:\.\d+)*)")


def host_facts() -> HostFacts:
    """The facts of this host; what cannot be read is taken as absent."""
    return HostFacts(
        kernel_version=kernel_version(os.uname().release),
        apparmor_enabled=_apparmor(),
        memory_capacity=memory_capacity(_read("/proc/meminfo")),
        oom_score_adj_floor=oom_score_adj_floor(
            _read("/proc/self/status"), _read("/proc/self/oom_score_adj")
        ),
    )


def kernel_version(release: str) -> tuple[int, ...]:
    """The numbers a kernel release starts with (``6.1.0-18-amd64`` → ``(6, 1, 0)``), as
    the kubelet's ``ParseGeneric`` reads them; empty when there are none."""
    found = _RELEASE.match(release)
    return tuple(int(part) for part in found.group(1).split(".")) if found else ()


def _apparmor() -> bool:
    """runc's ``apparmor.IsEnabled``: the module says ``Y``."""
    try:
        with open(APPARMOR_ENABLED, "rb") as file:
            return file.read(1) == b"Y"
    except OSError:
        return False


def memory_capacity(meminfo: str) -> int:
    """``MemTotal`` of ``/proc/meminfo`` in bytes, as cAdvisor gives the kubelet the node's
    memory capacity; 0 when it is not there."""
    for line in meminfo.splitlines():
        name, _, value = line.partition(":")
        if name == "MemTotal":
            amount, _, unit = value.strip().partition(" ")
            return int(amount) * (1024 if unit == "kB" else 1)
    return 0


def oom_score_adj_floor(status: str, own_adjust: str) -> int | None:
    """None when this process may lower OOM score adjustments (``CAP_SYS_RESOURCE`` is in
    its effective set, ``CapEff`` of ``/proc/self/status``), else its own adjustment, the
    lowest an unprivileged process and its children are sure to be allowed."""
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == "CapEff":
            if int(value.strip(), 16) >> CAP_SYS_RESOURCE & 1:
                return None
            break
    try:
        return int(own_adjust.strip())
    except ValueError:
        return 0


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            return file.read()
    except OSError:
        return ""
