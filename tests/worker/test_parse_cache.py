"""The parse cache: a restart over unchanged manifests decodes nothing; a bad cache is ignored.

An entry is used only for the same bytes at the same path, from the same fastpod on the same
node; a truncated or foreign file is said in the log and ignored, never trusted.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from fastpod.config.settings import Config
from fastpod.ipc.messages import ManifestChanged, PodClaim, RelistDone
from fastpod.model import PodSource
from fastpod.worker import decoder as decoder_module
from fastpod.worker.decoder import ManifestDecoder
from fastpod.worker.parse_cache import ParseCache, worker_cache_path
from fastpod.worker.process import Worker
from tests.support import FILE
from tests.support.logs import LogCapture
from tests.support.pods import NODE, pod_manifest
from tests.support.worker import eventually

OTHER = PodSource("file", "/etc/kubernetes/manifests/other.yaml")
WEB = pod_manifest("web")
WEB_EXTRA = b"""\
apiVersion: v1
kind: Pod
bogus: 1
metadata:
  name: web
spec:
  containers:
  - name: app
    image: busybox:1.36
"""


def decoder(path: Path, node: str = NODE, version: str = "1") -> ManifestDecoder:
    return ManifestDecoder(node, cache=ParseCache(str(path), node, version))


def pods(claims: list[PodClaim]) -> list[object]:
    return [claim.pod for claim in claims]


def first_run(path: Path, *files: tuple[PodSource, bytes]) -> list[object]:
    """Decode ``files`` with an empty cache at ``path`` and save it, as a first start does."""
    cold = decoder(path)
    claims = [claim for source, body in files for claim in cold.changed(_event(source, body))]
    cold.save_cache()
    return pods(claims)


def _event(source: PodSource, body: bytes) -> ManifestChanged:
    return ManifestChanged(source, body, relisted=True)


def test_a_restart_over_unchanged_files_takes_every_pod_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "worker-0.msgpack"
    cold = first_run(path, (FILE, WEB_EXTRA), (OTHER, pod_manifest("db")))
    warm = decoder(path)

    def refuse(*args: object) -> None:
        raise AssertionError("decoded although the cache held it")

    monkeypatch.setattr(decoder_module, "decode_pod", refuse)

    claims = warm.changed(_event(FILE, WEB_EXTRA)) + warm.changed(_event(OTHER, pod_manifest("db")))

    assert pods(claims) == cold


def test_warnings_come_back_with_their_lines(tmp_path: Path, captured_logs: LogCapture) -> None:
    path = tmp_path / "worker-0.msgpack"
    first_run(path, (FILE, WEB_EXTRA))
    cold_warnings = [record["warning"] for record in captured_logs.records("manifest warning")]

    decoder(path).changed(_event(FILE, WEB_EXTRA))

    warnings = [record["warning"] for record in captured_logs.records("manifest warning")]
    assert warnings == cold_warnings * 2
    assert cold_warnings == ["line 3: bogus: unknown field, ignored"]


def test_a_changed_file_is_decoded_again(tmp_path: Path) -> None:
    path = tmp_path / "worker-0.msgpack"
    first_run(path, (FILE, WEB))
    edited = pod_manifest("web", image="busybox:1.37")

    claims = decoder(path).changed(_event(FILE, edited))

    images = [c.image for claim in claims if claim.pod for c in claim.pod.spec.containers or ()]
    assert images == ["busybox:1.37"]


def test_the_same_bytes_at_another_path_are_decoded_again(tmp_path: Path) -> None:
    path = tmp_path / "worker-0.msgpack"
    (cold,) = first_run(path, (FILE, WEB))

    (claim,) = decoder(path).changed(_event(OTHER, WEB))

    assert claim.pod is not None
    assert cold is not None
    assert claim.pod.metadata.uid != cold.metadata.uid  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("node", "version"), [(NODE, "2"), ("other-node", "1")], ids=["new fastpod", "other node"]
)
def test_a_cache_from_another_fastpod_or_node_is_not_read(
    tmp_path: Path, node: str, version: str, captured_logs: LogCapture
) -> None:
    path = tmp_path / "worker-0.msgpack"
    first_run(path, (FILE, WEB))

    cache = ParseCache(str(path), node, version)

    assert cache.get(next(iter(_digests(WEB))), FILE) is None
    assert captured_logs.records("parse cache from another fastpod or node, ignored")


@pytest.mark.parametrize("keep", [0, 10, -1], ids=["empty", "header only", "last byte cut"])
def test_a_truncated_cache_is_ignored_and_said(
    tmp_path: Path, keep: int, captured_logs: LogCapture
) -> None:
    path = tmp_path / "worker-0.msgpack"
    first_run(path, (FILE, WEB))
    path.write_bytes(path.read_bytes()[:keep])

    claims = decoder(path).changed(_event(FILE, WEB))

    assert [claim.pod_key for claim in claims] == [f"default/web-{NODE}"]
    (record,) = captured_logs.records("parse cache ignored")
    assert record["path"] == str(path)
    assert "corrupt" in record["reason"]


def test_a_corrupt_entry_is_decoded_again(tmp_path: Path) -> None:
    path = tmp_path / "worker-0.msgpack"
    first_run(path, (FILE, WEB))
    data = path.read_bytes()
    path.write_bytes(data.replace(b"kind", b"kin\xff"))

    claims = decoder(path).changed(_event(FILE, WEB))

    assert [claim.pod_key for claim in claims] == [f"default/web-{NODE}"]


def test_the_cache_keeps_only_the_files_held_when_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "worker-0.msgpack"
    first_run(path, (FILE, WEB), (OTHER, pod_manifest("db")))
    warm = decoder(path)
    warm.changed(_event(FILE, WEB))
    warm.changed(_event(OTHER, pod_manifest("db")))
    warm.removed(OTHER)
    warm.changed(_event(FILE, pod_manifest("web", image="busybox:1.37")))

    warm.save_cache()

    again = ParseCache(str(path), NODE, "1")
    assert again.get(next(iter(_digests(pod_manifest("db")))), OTHER) is None
    assert again.get(next(iter(_digests(WEB))), FILE) is None
    assert again.get(next(iter(_digests(pod_manifest("web", image="busybox:1.37")))), FILE)


def test_the_cache_lives_under_the_root_dir_and_only_root_reads_it(tmp_path: Path) -> None:
    path = Path(worker_cache_path(str(tmp_path), 1))
    first_run(path, (FILE, WEB))

    assert path == tmp_path / "parse-cache" / "worker-1.msgpack"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700


def _digests(*bodies: bytes) -> list[bytes]:
    from fastpod.sources.files import digest_of

    return [digest_of(body) for body in bodies]


def test_a_worker_writes_its_cache_outside_its_event_loop_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of entries take tens of milliseconds of I/O to write: no manifest event
    waits behind them. What the thread wrote, the next start reads."""
    config = Config(node_name=NODE, pod_manifest_path="/x", root_dir=str(tmp_path))
    writers: list[int] = []
    write = ParseCache.write

    def noting_thread(cache: ParseCache, content: bytes) -> OSError | None:
        writers.append(threading.get_ident())
        return write(cache, content)

    monkeypatch.setattr(ParseCache, "write", noting_thread)

    async def scenario() -> None:
        run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
        worker = Worker(config, 0, run_dir=run_dir)
        try:
            worker.receive([_event(FILE, WEB), RelistDone(complete=True)])
            worker._save_cache()
            await eventually(lambda: writers and worker._cache_writing is None, "the write")
            assert writers != [threading.get_ident()]
        finally:
            await worker.runner.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    asyncio.run(scenario())
    warm = ManifestDecoder(NODE, cache=ParseCache(worker_cache_path(str(tmp_path), 0), NODE))
    monkeypatch.setattr(decoder_module, "decode_pod", None)  # decoding would fail
    assert pods(warm.changed(_event(FILE, WEB)))
