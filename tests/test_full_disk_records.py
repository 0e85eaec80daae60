"""fastpod's own records on a full disk: the API record (``api.json``, how the CLI finds the
daemon) and the adoption records are written whole or not at all, a refusal is said once
naming the path and ``ENOSPC``, and the API record is written once the space returns."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

import msgspec
import pytest

from fastpod.api import discovery
from fastpod.api.discovery import ApiRecord
from fastpod.worker.adoptions import AdoptionRecords
from tests.support.full_disk import FullDisk, full_disk
from tests.support.logs import LogCapture

URL = "http://127.0.0.1:10255"


def test_the_api_record_refused_by_a_full_disk_is_written_when_space_returns(
    tmp_path: Path, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(discovery, "RECORD_RETRY", 0.02)
    root = tmp_path / "disk"
    record = ApiRecord(URL, os.getpid())

    async def scenario(disk: FullDisk) -> None:
        disk.fill()
        with pytest.raises(OSError, match="No space left") as refused:
            discovery.write_record(str(root), record)
        assert refused.value.errno == errno.ENOSPC
        later = asyncio.create_task(discovery.write_record_later(str(root), record, refused.value))
        await asyncio.sleep(0.1)
        assert not later.done()
        disk.free()
        await asyncio.wait_for(later, 5)

    with full_disk(root) as disk:
        asyncio.run(scenario(disk))
        assert sorted(os.listdir(root)) == ["api.json"]  # no half-written temporary left
        assert discovery.read_record(str(root)) == record

    (failed,) = captured_logs.records("API record not written")
    assert failed["path"] == str(root / "api.json")
    assert failed["errno"] == "ENOSPC"
    assert failed["level"] == "error"
    assert [r["path"] for r in captured_logs.records("API record written")] == [failed["path"]]


def test_an_adoption_record_refused_by_a_full_disk_leaves_nothing_and_is_written_later(
    tmp_path: Path,
) -> None:
    root = tmp_path / "disk"
    with full_disk(root) as disk:
        records = AdoptionRecords(str(root))
        records.save("default/a-node1", "kubelet-uid-a", "fastpod-uid-a")
        disk.fill()

        with pytest.raises(OSError, match="No space left") as refused:
            records.save("default/b-node1", "kubelet-uid-b", "fastpod-uid-b")

        assert refused.value.errno == errno.ENOSPC
        assert sorted(os.listdir(root / "adopted")) == ["fastpod-uid-a.json"]
        disk.free()
        records.save("default/b-node1", "kubelet-uid-b", "fastpod-uid-b")
        loaded = sorted(msgspec.structs.astuple(r)[:3] for r in AdoptionRecords(str(root)).load())
        assert loaded == [
            ("default/a-node1", "kubelet-uid-a", "fastpod-uid-a"),
            ("default/b-node1", "kubelet-uid-b", "fastpod-uid-b"),
        ]
