"""inotify on the manifest directory, against the real kernel: which names are worth a look."""

from __future__ import annotations

import os
import select
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fastpod.sources.inotify import DirectoryWatch, WatchBatch

QUEUE_LIMIT = Path("/proc/sys/fs/inotify/max_queued_events")


@pytest.fixture
def watched(tmp_path: Path) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    return directory


@pytest.fixture
def watch(watched: Path) -> Iterator[DirectoryWatch]:
    directory_watch = DirectoryWatch(str(watched))
    yield directory_watch
    directory_watch.close()


def collect(
    watch: DirectoryWatch, until: Callable[[WatchBatch], bool], timeout: float = 2.0
) -> WatchBatch:
    """Every batch read until ``until`` holds for what was read so far, or ``timeout`` passes."""
    names: set[str] = set()
    dot_names = overflow = lost = False
    deadline = time.monotonic() + timeout
    while True:
        batch = WatchBatch(names, dot_names, overflow, lost)
        remaining = deadline - time.monotonic()
        if until(batch) or remaining <= 0:
            return batch
        readable, _, _ = select.select([watch.fileno()], [], [], min(remaining, 1.0))
        if readable:
            read = watch.read()
            names = names | read.names
            dot_names = dot_names or read.dot_names
            overflow = overflow or read.overflow
            lost = lost or read.lost


def names_include(*wanted: str) -> Callable[[WatchBatch], bool]:
    return lambda batch: set(wanted) <= batch.names


def write(path: Path, body: bytes = b"x") -> None:
    with open(path, "wb") as file:
        file.write(body)


def test_a_file_written_and_closed_is_reported(watched: Path, watch: DirectoryWatch) -> None:
    write(watched / "pod.yaml")
    assert "pod.yaml" in collect(watch, names_include("pod.yaml")).names


def test_a_file_still_open_for_writing_is_not_reported_until_closed(
    watched: Path, watch: DirectoryWatch
) -> None:
    """A half-written manifest is never worth a look: only its close is."""
    with open(watched / "pod.yaml", "wb") as file:
        file.write(b"apiVersion: v1\n")
        file.flush()
        # a later, closed file: once it is seen, every earlier event has been read
        write(watched / "marker")
        batch = collect(watch, names_include("marker"))
        assert batch.names == {"marker"}
        file.write(b"kind: Pod\n")
        file.flush()
        write(watched / "marker2")
        assert collect(watch, names_include("marker2")).names == {"marker2"}
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_an_existing_file_rewritten_in_place_is_reported_at_its_close(
    watched: Path, watch: DirectoryWatch
) -> None:
    write(watched / "pod.yaml", b"old")
    collect(watch, names_include("pod.yaml"))
    with open(watched / "pod.yaml", "wb") as file:
        file.write(b"new")
        file.flush()
        write(watched / "marker")
        assert collect(watch, names_include("marker")).names == {"marker"}
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_replace_onto_a_name_reports_the_target_and_the_temporary_name(
    watched: Path, watch: DirectoryWatch
) -> None:
    write(watched / "pod.yaml", b"old")
    collect(watch, names_include("pod.yaml"))
    write(watched / "pod.yaml.tmp", b"new")
    os.replace(watched / "pod.yaml.tmp", watched / "pod.yaml")
    batch = collect(watch, names_include("pod.yaml", "pod.yaml.tmp"))
    assert batch.names == {"pod.yaml", "pod.yaml.tmp"}


def test_a_file_moved_in_from_another_directory_is_reported(
    tmp_path: Path, watched: Path, watch: DirectoryWatch
) -> None:
    write(tmp_path / "pod.yaml")
    os.rename(tmp_path / "pod.yaml", watched / "pod.yaml")
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_file_moved_out_to_another_directory_is_reported(
    tmp_path: Path, watched: Path, watch: DirectoryWatch
) -> None:
    write(watched / "pod.yaml")
    collect(watch, names_include("pod.yaml"))
    os.rename(watched / "pod.yaml", tmp_path / "pod.yaml")
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_an_unlinked_file_is_reported(watched: Path, watch: DirectoryWatch) -> None:
    write(watched / "pod.yaml")
    collect(watch, names_include("pod.yaml"))
    os.unlink(watched / "pod.yaml")
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_chmod_is_reported(watched: Path, watch: DirectoryWatch) -> None:
    write(watched / "pod.yaml")
    collect(watch, names_include("pod.yaml"))
    os.chmod(watched / "pod.yaml", 0o600)
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_symlink_is_reported_at_once(
    tmp_path: Path, watched: Path, watch: DirectoryWatch
) -> None:
    """A symlink has no close: its creation is the only event it ever gives."""
    write(tmp_path / "target.yaml")
    os.symlink(tmp_path / "target.yaml", watched / "pod.yaml")
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_dangling_symlink_is_reported_at_once(
    tmp_path: Path, watched: Path, watch: DirectoryWatch
) -> None:
    os.symlink(tmp_path / "not-yet", watched / "pod.yaml")
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_hard_link_is_reported_at_once(
    tmp_path: Path, watched: Path, watch: DirectoryWatch
) -> None:
    write(tmp_path / "target.yaml")
    os.link(tmp_path / "target.yaml", watched / "pod.yaml")
    assert collect(watch, names_include("pod.yaml")).names == {"pod.yaml"}


def test_a_dot_name_sets_dot_names_and_is_not_a_name(watched: Path, watch: DirectoryWatch) -> None:
    write(watched / ".pod.yaml.swp")
    batch = collect(watch, lambda batch: batch.dot_names)
    assert batch.dot_names
    assert batch.names == set()


def test_a_configmap_data_swap_sets_dot_names(watched: Path, watch: DirectoryWatch) -> None:
    """The swap touches only dot names: the caller re-lists if it follows symlinks."""
    (watched / "..v1").mkdir()
    os.symlink("..v1", watched / "..data")
    os.symlink("..data/pod.yaml", watched / "pod.yaml")
    collect(watch, names_include("pod.yaml"))
    (watched / "..v2").mkdir()
    os.symlink("..v2", watched / "..data_tmp")
    os.replace(watched / "..data_tmp", watched / "..data")
    write(watched / "marker")
    batch = collect(watch, names_include("marker"))
    assert batch.dot_names
    assert batch.names == {"marker"}


def test_a_subdirectory_is_not_a_name(tmp_path: Path, watched: Path, watch: DirectoryWatch) -> None:
    (watched / "nested").mkdir()
    (tmp_path / "moved").mkdir()
    os.rename(tmp_path / "moved", watched / "moved")
    os.rmdir(watched / "nested")
    write(watched / "marker")
    assert collect(watch, names_include("marker")).names == {"marker"}


def test_a_fifo_is_not_a_name(watched: Path, watch: DirectoryWatch) -> None:
    os.mkfifo(watched / "fifo")
    write(watched / "marker")
    assert collect(watch, names_include("marker")).names == {"marker"}


def test_nothing_happening_reads_an_empty_batch(watch: DirectoryWatch) -> None:
    assert watch.read() == WatchBatch(set(), dot_names=False, overflow=False, lost=False)


def test_deleting_the_watched_directory_loses_the_watch(
    watched: Path, watch: DirectoryWatch
) -> None:
    os.rmdir(watched)
    batch = collect(watch, lambda batch: batch.lost)
    assert batch.lost
    assert not batch.overflow


def test_renaming_the_watched_directory_loses_the_watch(
    tmp_path: Path, watched: Path, watch: DirectoryWatch
) -> None:
    os.rename(watched, tmp_path / "renamed")
    batch = collect(watch, lambda batch: batch.lost)
    assert batch.lost


def test_watching_a_missing_directory_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        DirectoryWatch(str(tmp_path / "missing"))


def test_watching_a_file_raises_not_a_directory(tmp_path: Path) -> None:
    """Single-file mode watches the file's directory, never the file."""
    write(tmp_path / "pod.yaml")
    with pytest.raises(NotADirectoryError):
        DirectoryWatch(str(tmp_path / "pod.yaml"))


@pytest.fixture
def small_queue_watch(watched: Path) -> Iterator[tuple[DirectoryWatch, int]]:
    """A watch whose queue holds few events, and that size.

    The kernel copies ``max_queued_events`` into an inotify instance when it is created, so the
    limit is lowered only while the watch is made and restored at once. Where the sysctl cannot
    be written, the watch gets the current limit and the test has to fill it all.
    """
    old = QUEUE_LIMIT.read_text()
    try:
        QUEUE_LIMIT.write_text("16\n")
    except OSError:
        directory_watch = DirectoryWatch(str(watched))
        limit = int(old)
    else:
        try:
            directory_watch = DirectoryWatch(str(watched))
        finally:
            QUEUE_LIMIT.write_text(old)
        limit = 16
    yield directory_watch, limit
    directory_watch.close()


def test_a_queue_overflow_sets_overflow(
    watched: Path, small_queue_watch: tuple[DirectoryWatch, int]
) -> None:
    watch, limit = small_queue_watch
    for index in range(limit + 1):
        write(watched / f"pod-{index}.yaml")
    batch = collect(watch, lambda batch: batch.overflow)
    assert batch.overflow
    assert not batch.lost
