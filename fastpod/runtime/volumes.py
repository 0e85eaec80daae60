"""The host side of a pod's volumes: hostPath checks and creation, emptyDir directories.

The kubelet's ``hostPath`` types (``pkg/volume/hostpath``): ``DirectoryOrCreate`` makes a
missing directory and its parents (0755), ``FileOrCreate`` an empty file (0644) in a
directory that must exist (``makeFile``: ``os.OpenFile`` with ``O_CREATE``, no parents);
the other types check what is there and block the pod with a clear error when it is not
what the manifest says.
"""

from __future__ import annotations

import os
import shutil
import stat

from fastpod.model import Pod
from fastpod.runtime.spec import PodContext, volume_host_path

_CHECKS = {
    "Directory": (stat.S_ISDIR, "a directory"),
    "File": (stat.S_ISREG, "a file"),
    "Socket": (stat.S_ISSOCK, "a socket"),
    "CharDevice": (stat.S_ISCHR, "a character device"),
    "BlockDevice": (stat.S_ISBLK, "a block device"),
}


class VolumeError(Exception):
    """A volume cannot be provided; the message names the volume and why."""


def prepare_volumes(pod: Pod, context: PodContext) -> None:
    """Create what the pod's volumes need on the host, or raise :class:`VolumeError`."""
    for volume in pod.spec.volumes or ():
        if volume.host_path is not None and volume.host_path.path:
            _host_path(volume.name or "", volume.host_path.path, volume.host_path.type or "")
        elif volume.empty_dir is not None:
            path = volume_host_path(volume, context)
            if path is not None:
                os.makedirs(path, mode=0o777, exist_ok=True)
                os.chmod(path, 0o777)


def remove_pod_dir(pod_dir: str) -> None:
    """Remove a pod's own directory: its emptyDir volumes and its containers' termination
    message files, never a hostPath."""
    shutil.rmtree(pod_dir, ignore_errors=True)


def _host_path(name: str, path: str, kind: str) -> None:
    try:
        if kind == "DirectoryOrCreate":
            if not os.path.lexists(path):
                os.makedirs(path, mode=0o755, exist_ok=True)
            _expect(name, path, "Directory")
        elif kind == "FileOrCreate":
            if not os.path.lexists(path):
                # the kubelet's makeFile: its parent directory must exist already
                with open(path, "a"):
                    pass
                os.chmod(path, 0o644)
            _expect(name, path, "File")
        elif kind in _CHECKS:
            _expect(name, path, kind)
    except OSError as error:
        raise VolumeError(f"volume {name}: hostPath {path}: {error.strerror}") from None


def _expect(name: str, path: str, kind: str) -> None:
    check, what = _CHECKS[kind]
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise VolumeError(
            f"volume {name}: hostPath type check failed: {path} does not exist, "
            f"type {kind} needs {what}"
        ) from None
    if not check(mode):
        raise VolumeError(f"volume {name}: hostPath type check failed: {path} is not {what}")
