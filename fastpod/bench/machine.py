"""The facts of the machine a run is made on, for its record."""

from __future__ import annotations

import os
import platform
import socket

import psutil

from fastpod.bench.record import Machine


def this_machine() -> Machine:
    """Host name, OS, kernel, CPU model and count, memory, Python."""
    return Machine(
        hostname=socket.gethostname(),
        os=_os_name(),
        kernel=platform.release(),
        cpu_model=_cpu_model(),
        cpus=os.cpu_count() or 1,
        memory_bytes=psutil.virtual_memory().total,
        python=platform.python_version(),
    )


def _os_name() -> str:
    try:
        release = platform.freedesktop_os_release()
    except OSError:
        return platform.system()
    return release.get("PRETTY_NAME", platform.system())


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
