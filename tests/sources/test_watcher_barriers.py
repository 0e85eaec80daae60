"""The barriers a watcher sends, read from its outboxes (no worker listens in these tests)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile

import msgspec

from fastpod.config.settings import Config
from fastpod.ipc.messages import Barrier, Message
from fastpod.sources.watcher import Watcher

_frames = msgspec.msgpack.Decoder(list[Message])
CONFIG = Config(
    node_name="node1", pod_manifest_path="/x", manifest_url="http://127.0.0.1:1/", workers=2
)


def barriers(resync_all: bool, *sources: str) -> list[Barrier]:
    """What worker 0 is sent once ``sources`` are each seen for the first time."""

    async def main() -> list[Barrier]:
        run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
        watcher = Watcher(CONFIG, run_dir, resync_all=resync_all)
        try:
            for source in sources:
                watcher._source_seen(source)
            frames = [_frames.decode(frame[4:]) for frame in watcher.outboxes[0]._frames]
            return [m for batch in frames for m in batch if isinstance(m, Barrier)]
        finally:
            for outbox in watcher.outboxes:
                await outbox.close()
            await watcher._supervisor.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    return asyncio.run(main())


def test_a_first_watcher_sends_listing_barriers_that_resend_nothing() -> None:
    sent = barriers(False, "file", "http")

    assert [(b.sources_seen, b.resync_shards) for b in sent] == [
        (("file",), ()),
        (("file", "http"), ()),
    ]


def test_a_restarted_watcher_asks_every_worker_for_every_claim_at_each_source_seen() -> None:
    """A worker restarted with it waits for a barrier naming its shard, whether or not the
    URL ever answers."""
    sent = barriers(True, "file")

    assert [(b.sources_seen, b.resync_shards) for b in sent] == [(("file",), (0, 1))]
