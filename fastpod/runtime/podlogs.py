"""Container logs where a kubelet node keeps them, whatever the runtime writes.

``<pod logs dir>/<namespace>_<pod>_<uid>/<container>/<restartCount>.log`` links to the
runtime's log file, and ``<logs root>/containers/<pod>_<namespace>_<container>-<id>.log``
links to that, so log shippers configured for a kubelet node find fastpod's pods. The
highest ``N.log`` also carries the restart count across a runtime that lost its state.
"""

from __future__ import annotations

import contextlib
import os
import shutil

from fastpod.model import Pod

MAX_FILE_NAME = 255
"""The longest file name ext4 (and most Linux file systems) takes, in bytes: the kubelet's
``ext4MaxFileNameLen``."""

LOG_SUFFIX = ".log"


def containers_link_name(pod: str, namespace: str, container: str, container_id: str) -> str:
    """``<pod>_<namespace>_<container>-<id>.log``, cut before ``.log`` to fit a file name,
    as the kubelet's ``logSymlink`` cuts it (the container ID's end goes first).

    The kubelet cuts Go strings, which are bytes; so does this, on a character boundary.
    """
    stem = f"{pod}_{namespace}_{container}-{container_id}".encode()
    room = MAX_FILE_NAME - len(LOG_SUFFIX)
    return stem[:room].decode(errors="ignore") + LOG_SUFFIX


def _links_prefix(pod: str, namespace: str) -> str:
    """What every containers link of the pod starts with, cut as the names are."""
    prefix = f"{pod}_{namespace}_".encode()
    return prefix[: MAX_FILE_NAME - len(LOG_SUFFIX)].decode(errors="ignore")


class PodLogs:
    """The pod and container log links under one root (``/var/log/pods`` by default)."""

    def __init__(self, pod_logs_dir: str) -> None:
        self.pod_logs_dir = pod_logs_dir
        self._root = os.path.join(pod_logs_dir, "")
        self.containers_dir = os.path.join(os.path.dirname(pod_logs_dir), "containers")

    def pod_dir(self, pod: Pod) -> str:
        """``<namespace>_<pod>_<uid>`` under the pod logs directory."""
        metadata = pod.metadata
        # an f-string, not os.path.join: the log rotator asks for every pod at every look
        return f"{self._root}{metadata.namespace}_{metadata.name}_{metadata.uid}"

    def create_pod_dir(self, pod: Pod) -> None:
        """Make the pod's log directory (0755), as the kubelet does before its sandbox."""
        os.makedirs(self.pod_dir(pod), mode=0o755, exist_ok=True)

    def next_restart_count(self, pod: Pod, container: str) -> int:
        """One more than the highest ``N.log`` of the container, or 0."""
        try:
            names = os.listdir(os.path.join(self.pod_dir(pod), container))
        except OSError:
            return 0
        counts = [int(name[:-4]) for name in names if name.endswith(".log") and name[:-4].isdigit()]
        return max(counts) + 1 if counts else 0

    def link(
        self, pod: Pod, container: str, restart_count: int, container_id: str, target: str | None
    ) -> None:
        """Point ``<container>/<restartCount>.log`` and the containers link at ``target``
        (the runtime's log file, which a CRI runtime writes at that very path).

        Raises OSError when the host refuses a directory or a link: the container runs all
        the same, and the caller says so."""
        if target is None:
            return
        self.create_pod_dir(pod)
        directory = os.path.join(self.pod_dir(pod), container)
        os.makedirs(directory, mode=0o755, exist_ok=True)
        pod_link = os.path.join(directory, f"{restart_count}.log")
        # a CRI runtime writes the log right there itself; Docker's needs the link
        if os.path.abspath(target) != os.path.abspath(pod_link):
            _replace_link(target, pod_link)
        metadata = pod.metadata
        name = containers_link_name(
            metadata.name or "", metadata.namespace or "", container, container_id
        )
        os.makedirs(self.containers_dir, mode=0o755, exist_ok=True)
        _replace_link(pod_link, os.path.join(self.containers_dir, name))

    def remove(self, namespace: str, name: str, uid: str) -> None:
        """Remove a pod's log directory and its container links."""
        shutil.rmtree(
            os.path.join(self.pod_logs_dir, f"{namespace}_{name}_{uid}"), ignore_errors=True
        )
        prefix = _links_prefix(name, namespace)
        with contextlib.suppress(OSError):
            for name in os.listdir(self.containers_dir):
                if name.startswith(prefix):
                    with contextlib.suppress(OSError):
                        os.unlink(os.path.join(self.containers_dir, name))


def _replace_link(target: str, link: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(link)
    os.symlink(target, link)
