"""What the host is, for the node's security decisions: read once when a worker starts.

The kubelet reads the same at its start (``apparmor.IsEnabled``, the kernel version for the
safe sysctls) and never again: a change needs a restart, of the kubelet and of fastpod.
"""

from __future__ import annotations

import os
import re

from fastpod.runtime.security import HostFacts

APPARMOR_ENABLED = "/sys/module/apparmor/parameters/enabled"

_RELEASE = re.compile(r"^(\d+(?:\.\d+)*)")


def host_facts() -> HostFacts:
    """The facts of this host; what cannot be read is taken as absent."""
    return HostFacts(
        kernel_version=kernel_version(os.uname().release), apparmor_enabled=_apparmor()
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
