"""What the host is, for its Node: read when the cluster process starts (the kubelet's
cAdvisor machine info and version info, read at its start too).

Each fact that cannot be read is left empty, never guessed: a Node with an empty
``machineID`` still registers.
"""

from __future__ import annotations

import contextlib
import os
import platform

from fastpod.cluster.node_object import NodeFacts
from fastpod.config.node import host_ip
from fastpod.config.settings import Config
from fastpod.runtime.host import memory_capacity

GOARCH = {
    "x86_64": "amd64",
    "aarch64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
    "i686": "386",
}
"""``uname -m`` → Go's ``GOARCH``, which the kubelet's labels and nodeInfo use."""


def node_facts(config: Config) -> NodeFacts:
    """This host's facts, with the node's address as configured (``--node-ip``) or its
    default route's."""
    machine = platform.machine()
    return NodeFacts(
        hostname=config.node_name,
        address=config.node_ip or host_ip(),
        operating_system="linux",
        architecture=GOARCH.get(machine, machine),
        kernel_version=os.uname().release,
        os_image=os_image(_read("/etc/os-release")),
        cpus=os.cpu_count() or 1,
        memory=memory_capacity(_read("/proc/meminfo")),
        ephemeral_storage=_filesystem_size(config.root_dir),
        machine_id=_read("/etc/machine-id").strip(),
        system_uuid=_read("/sys/class/dmi/id/product_uuid").strip().lower(),
        boot_id=_read("/proc/sys/kernel/random/boot_id").strip(),
    )


def os_image(os_release: str) -> str:
    """``PRETTY_NAME`` of ``/etc/os-release`` (cAdvisor's ``ContainerOsVersion``), else
    ``Linux``."""
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "PRETTY_NAME":
            return value.strip().strip('"').strip("'") or "Linux"
    return "Linux"


def _filesystem_size(root_dir: str) -> int:
    path = os.path.abspath(root_dir)
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    try:
        stats = os.statvfs(path)
    except OSError:
        return 0
    return stats.f_blocks * stats.f_frsize


def _read(path: str) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError), open(path) as file:
        return file.read()
    return ""
