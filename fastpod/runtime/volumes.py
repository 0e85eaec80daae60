"""The host side of a pod's volumes: hostPath checks and creation, emptyDir directories,
memory volumes' tmpfs, downwardAPI and projected files; all of it undone with the pod.

The kubelet's ``hostPath`` types (``pkg/volume/hostpath``): ``DirectoryOrCreate`` makes a
missing directory and its parents (0755), ``FileOrCreate`` an empty file (0644) in a
directory that must exist (``makeFile``: ``os.OpenFile`` with ``O_CREATE``, no parents);
the other types check what is there and block the pod with a clear error when it is not
what the manifest says.

An ``emptyDir`` is a directory of mode 0777 (``pkg/volume/emptydir``); with ``medium:
Memory``, and for every downwardAPI and projected volume, a tmpfs is mounted on it
(:mod:`.volume_layout` says of what size). A downwardAPI or projected volume's files are
written by :mod:`.atomic_writer`, and written again when the pod's labels or annotations
change (:func:`update_projected_volumes`), as the kubelet re-runs the volume's ``SetUp`` at
each sync of the pod. Every step is idempotent: a volume already mounted is not mounted
again, so a new sandbox of the same pod finds its memory volumes as they were.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat

from fastpod.model import Pod, Volume
from fastpod.runtime.atomic_writer import write_payload
from fastpod.runtime.ownership import set_volume_ownership
from fastpod.runtime.projection import ProjectionError, volume_payload
from fastpod.runtime.spec import PodContext
from fastpod.runtime.tmpfs import mount_tmpfs, unmount
from fastpod.runtime.volume_layout import (
    VOLUME_KIND_DIRECTORIES,
    tmpfs_size,
    volume_host_path,
    volume_in_memory,
    volume_is_projected,
)

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
        else:
            _pod_volume(pod, volume, context)


def update_projected_volumes(pod: Pod, context: PodContext) -> bool:
    """Write the downwardAPI and projected volumes of a running pod again, for a pod whose
    labels or annotations may have changed; whether any file changed. Raises
    :class:`VolumeError`."""
    changed = False
    for volume in pod.spec.volumes or ():
        if volume_is_projected(volume):
            changed = _pod_volume(pod, volume, context) or changed
    return changed


def has_projected_volumes(pod: Pod) -> bool:
    """Whether the pod has files fastpod writes for it (downwardAPI, projected volumes)."""
    return any(volume_is_projected(volume) for volume in pod.spec.volumes or ())


def remove_pod_dir(pod_dir: str) -> None:
    """Remove a pod's own directory: its volumes (each tmpfs unmounted first) and its
    containers' termination message files, never a hostPath. Raises :class:`VolumeError`
    when a tmpfs cannot be unmounted, leaving the directory for a later try."""
    volumes_dir = os.path.join(pod_dir, "volumes")
    for kind in VOLUME_KIND_DIRECTORIES:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for name in os.listdir(os.path.join(volumes_dir, kind)):
                path = os.path.join(volumes_dir, kind, name)
                while os.path.ismount(path):
                    try:
                        unmount(path)
                    except OSError as error:
                        raise VolumeError(f"volume {name}: {error.strerror}: {path}") from None
    shutil.rmtree(pod_dir, ignore_errors=True)


def _pod_volume(pod: Pod, volume: Volume, context: PodContext) -> bool:
    """Make an emptyDir, downwardAPI or projected volume's directory, its tmpfs and its
    files; whether a file was written."""
    path = volume_host_path(volume, context.volumes_dir)
    if path is None:
        return False
    name = volume.name or ""
    try:
        created = not os.path.isdir(path)
        os.makedirs(path, mode=0o777, exist_ok=True)
        if not os.path.ismount(path):
            os.chmod(path, 0o777)
            if volume_in_memory(volume):
                mount_tmpfs(path, tmpfs_size(pod, volume, context.allocatable.memory))
        fs_group = pod.spec.security_context.fs_group if pod.spec.security_context else None
        if created and fs_group is not None and volume.empty_dir is not None:
            # once, when the volume is set up, as the kubelet's emptyDir does
            set_volume_ownership(path, fs_group)
        if volume_is_projected(volume):
            written = write_payload(path, volume_payload(volume, pod, context))
            if fs_group is not None and (written or created):
                # each new version of the files, as the atomic writer's setPerms does
                set_volume_ownership(path, fs_group, read_only=True)
            return written
    except (OSError, ValueError, ProjectionError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise VolumeError(f"volume {name}: {reason}") from None
    return False


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
