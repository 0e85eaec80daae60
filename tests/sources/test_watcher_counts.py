"""The file events a watcher sends are counted, each kind apart, whatever the batching."""

from __future__ import annotations

import asyncio
import shutil
import tempfile

import msgspec

from fastpod.ipc.messages import ManifestChanged, ManifestRemoved, Message
from fastpod.metrics import recorder
from fastpod.sources.files import FileChange
from fastpod.sources.watcher import Watcher
from tests.sources.test_watcher_barriers import CONFIG

_frames = msgspec.msgpack.Decoder(list[Message])
EVENTS = ("fastpod_manifest_events_total", (("kind", "{}"), ("source", "file")))


def counted(kind: str) -> float:
    name, labels = EVENTS
    key = (name, tuple((label, value.format(kind)) for label, value in labels))
    return recorder._counters.get(key, 0.0)


def test_changed_and_removed_files_are_counted_as_sent_in_batches_of_any_size() -> None:
    changes = [FileChange(f"/m/{index}.yaml", b"x" if index % 3 else None) for index in range(50)]
    config = msgspec.structs.replace(CONFIG, batch_size=4)

    async def main() -> list[Message]:
        run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
        watcher = Watcher(config, run_dir)
        try:
            await watcher._send_changes(changes, relisted=True)
            frames = [
                _frames.decode(frame[4:]) for box in watcher.outboxes for frame in box._frames
            ]
            return [message for batch in frames for message in batch]
        finally:
            for outbox in watcher.outboxes:
                await outbox.close()
            await watcher._supervisor.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    changed, removed = counted("changed"), counted("removed")
    sent = asyncio.run(main())

    assert sum(isinstance(message, ManifestChanged) for message in sent) == 33
    assert sum(isinstance(message, ManifestRemoved) for message in sent) == 17
    assert counted("changed") - changed == 33
    assert counted("removed") - removed == 17
