"""The pods fastpod adopted from another agent, on record under ``--root-dir``.

An adopted pod keeps the kubelet's UID, while the pod fastpod decodes from the same
manifest has fastpod's: the record maps the one to the other, so that a fastpod (or a
worker) started again gives the manifest's pod the adopted UID at once and runs the same
pod, restarting nothing. One small JSON file per adopted pod,
``<root-dir>/adopted/<fastpod's UID>.json``, written whole under another name then renamed,
so a crash never leaves half a record; each worker writes only the records of its names.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re

import msgspec

from fastpod import logs
from fastpod.whole_file import replace_file

DIRECTORY = "adopted"

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


class Adoption(msgspec.Struct, frozen=True):
    """One adopted pod: its name, the UID it runs under, and the UID fastpod gives it."""

    pod: str
    """``namespace/name``."""
    uid: str
    """The UID it runs under: the agent's (the kubelet's)."""
    fastpod_uid: str
    """The UID fastpod gives the pod of its manifest, which now means ``uid``."""
    adopted_at: str = ""


_decoder = msgspec.json.Decoder(Adoption)


class AdoptionRecords:
    """The records of ``<root-dir>/adopted``."""

    def __init__(self, root_dir: str) -> None:
        self.directory = os.path.join(root_dir, DIRECTORY)
        self._made = False

    def load(self) -> list[Adoption]:
        """Every record; one that cannot be read is logged and skipped (its pod is then
        foreign again, and compared once more)."""
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        except OSError as error:
            logs.emit("adoptions not read", level="error", path=self.directory, error=str(error))
            return []
        found = []
        for name in names:
            if not name.endswith(".json"):
                continue
            path = os.path.join(self.directory, name)
            try:
                with open(path, "rb") as file:
                    found.append(_decoder.decode(file.read()))
            except (OSError, msgspec.DecodeError) as error:
                logs.emit("adoption not read", level="warning", path=path, error=str(error))
        return found

    def save(self, pod: str, uid: str, fastpod_uid: str) -> Adoption:
        """Record that the pod ``pod`` running under ``uid`` is fastpod's ``fastpod_uid``."""
        moment = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        adoption = Adoption(pod, uid, fastpod_uid, moment)
        if not self._made:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._made = True
        path = self._path(fastpod_uid)
        # a full disk keeps no empty record: the next try writes it
        replace_file(path, msgspec.json.encode(adoption), f"{path}.partial")
        return adoption

    def forget(self, fastpod_uid: str) -> None:
        """Drop a record: its pod is no longer what a source wants."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(fastpod_uid))

    def _path(self, fastpod_uid: str) -> str:
        # a manifest may set any metadata.uid: one unfit for a file name is hashed
        name = fastpod_uid if _SAFE_NAME.match(fastpod_uid) else _digest(fastpod_uid)
        return os.path.join(self.directory, f"{name}.json")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
