"""The watcher's view of the manifest path: a stat cache that reads a file only when it changed."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.sources import files
from fastpod.sources.files import DirectorySource, FileChange, _read_at_most
from tests.support.logs import LogCapture


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths read from disk, in order: a file left unread is not in it."""
    seen: list[str] = []
    real = files._read_at_most

    def counting(path: str, expected_size: int) -> bytes:
        seen.append(path)
        return real(path, expected_size)

    monkeypatch.setattr(files, "_read_at_most", counting)
    return seen


def changes(source: DirectorySource) -> dict[str, bytes | None]:
    """One re-list, as ``{path: body}``; a path reported twice would be lost, so check it."""
    found = list(source.relist())
    paths = [change.path for change in found]
    assert len(paths) == len(set(paths)), found
    return dict(found)


def write(path: Path, body: bytes) -> str:
    path.write_bytes(body)
    return str(path)


def test_the_first_relist_reports_every_manifest_with_its_bytes(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", b"a: 1\n")
    b = write(tmp_path / "b.yaml", b"b: 2\n")
    source = DirectorySource(str(tmp_path))
    assert changes(source) == {a: b"a: 1\n", b: b"b: 2\n"}
    assert source.exists
    assert not source.single_file
    assert source.directory == str(tmp_path)
    assert source.known_paths() == [a, b]


def test_a_second_relist_with_nothing_changed_reports_nothing(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", b"a")
    write(tmp_path / "b.yaml", b"b")
    source = DirectorySource(str(tmp_path))
    assert len(changes(source)) == 2
    assert changes(source) == {}
    assert changes(source) == {}


def settled(path: str) -> str:
    """Date ``path`` back past the window in which its stat is not trusted; the path."""
    status = os.stat(path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns - 2 * files.RACY_WINDOW_NS))
    return path


def test_an_unchanged_file_is_not_read_again(tmp_path: Path, reads: list[str]) -> None:
    a = settled(write(tmp_path / "a.yaml", b"a"))
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    assert reads == [a]
    list(source.relist())
    list(source.relist())
    assert reads == [a]


def test_a_rewrite_with_identical_bytes_is_read_but_not_reported(
    tmp_path: Path, reads: list[str]
) -> None:
    """A new mtime makes the file worth a read; the same digest makes it no change."""
    a = settled(write(tmp_path / "a.yaml", b"same"))
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    before = os.stat(a)
    write(tmp_path / "a.yaml", b"same")
    os.utime(a, ns=(before.st_atime_ns, before.st_mtime_ns + files.RACY_WINDOW_NS // 2))
    assert changes(source) == {}
    assert reads == [a, a]
    assert changes(source) == {}
    assert reads == [a, a]


def test_changed_bytes_are_reported(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", b"old")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / "a.yaml", b"new and longer")
    assert changes(source) == {a: b"new and longer"}


def test_a_deleted_file_is_reported_gone(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", b"a")
    b = write(tmp_path / "b.yaml", b"b")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    os.unlink(a)
    assert changes(source) == {a: None}
    assert source.known_paths() == [b]
    assert changes(source) == {}


def test_dotfiles_are_never_read(tmp_path: Path, reads: list[str]) -> None:
    for name in (".pod.yaml.swp", ".hidden", "..data"):
        write(tmp_path / name, b"x")
    source = DirectorySource(str(tmp_path))
    assert changes(source) == {}
    assert reads == []
    assert source.known_paths() == []


def test_every_extension_is_read(tmp_path: Path) -> None:
    names = ("x", "x.yaml", "x.json", "x.bak", "x~")
    for name in names:
        write(tmp_path / name, name.encode())
    source = DirectorySource(str(tmp_path))
    assert changes(source) == {str(tmp_path / name): name.encode() for name in names}


def test_a_subdirectory_is_skipped_with_one_warning(
    tmp_path: Path, captured_logs: LogCapture
) -> None:
    """Not recursed into, and said once, not on every re-list."""
    nested = tmp_path / "nested"
    nested.mkdir()
    write(nested / "pod.yaml", b"x")
    source = DirectorySource(str(tmp_path))
    assert changes(source) == {}
    assert changes(source) == {}
    assert changes(source) == {}
    skipped = [line for line in captured_logs.records() if line["event"] == "manifest skipped"]
    assert len(skipped) == 1
    assert skipped[0]["level"] == "warning"
    assert skipped[0]["file"] == str(nested)
    assert skipped[0]["reason"] == "is a directory: not recursing"


def test_a_symlink_to_a_file_is_followed(tmp_path: Path) -> None:
    target = write(tmp_path / "target.yaml", b"linked")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "pod.yaml").symlink_to(target)
    source = DirectorySource(str(manifests))
    assert changes(source) == {str(manifests / "pod.yaml"): b"linked"}
    assert source.has_symlinks


def test_a_change_behind_an_unchanged_symlink_is_seen_at_the_next_relist(tmp_path: Path) -> None:
    target = tmp_path / "target.yaml"
    write(target, b"old")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    link = manifests / "pod.yaml"
    link.symlink_to(target)
    source = DirectorySource(str(manifests))
    list(source.relist())
    link_before = os.lstat(link)
    write(target, b"new, longer")
    assert os.lstat(link).st_mtime_ns == link_before.st_mtime_ns
    assert changes(source) == {str(link): b"new, longer"}


def test_a_symlink_to_a_directory_is_skipped(tmp_path: Path, captured_logs: LogCapture) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    write(target / "pod.yaml", b"x")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "dir-link").symlink_to(target)
    source = DirectorySource(str(manifests))
    assert changes(source) == {}
    assert source.has_symlinks
    assert [line["reason"] for line in captured_logs.records()] == ["is a directory: not recursing"]


def test_a_dangling_symlink_is_skipped(tmp_path: Path, captured_logs: LogCapture) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    source = DirectorySource(str(tmp_path))
    assert changes(source) == {}
    assert changes(source) == {}
    assert [(line["file"], line["reason"]) for line in captured_logs.records()] == [
        (str(tmp_path / "dangling"), "cannot stat: No such file or directory")
    ]


def test_a_dangling_symlink_whose_target_appears_is_read(tmp_path: Path) -> None:
    link = tmp_path / "manifests" / "pod.yaml"
    link.parent.mkdir()
    link.symlink_to(tmp_path / "later.yaml")
    source = DirectorySource(str(link.parent))
    assert changes(source) == {}
    write(tmp_path / "later.yaml", b"here now")
    assert changes(source) == {str(link): b"here now"}


def test_a_fifo_is_skipped_and_never_opened(
    tmp_path: Path, reads: list[str], captured_logs: LogCapture
) -> None:
    """Opening a fifo with no writer would block the watcher: it must not be read."""
    os.mkfifo(tmp_path / "fifo")
    source = DirectorySource(str(tmp_path))
    assert changes(source) == {}
    assert source.look(["fifo"]) == []
    assert reads == []
    assert [line["reason"] for line in captured_logs.records()] == ["is not a regular file"]


def test_a_file_turning_into_a_directory_is_reported_gone(tmp_path: Path) -> None:
    a = write(tmp_path / "a", b"a")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    os.unlink(a)
    os.mkdir(a)
    assert changes(source) == {a: None}


def test_a_single_file_path_is_the_only_manifest(tmp_path: Path) -> None:
    pod = write(tmp_path / "pod.yaml", b"pod")
    write(tmp_path / "other.yaml", b"other")
    source = DirectorySource(pod)
    assert changes(source) == {pod: b"pod"}
    assert source.single_file
    assert source.directory == str(tmp_path)
    assert source.known_paths() == [pod]
    assert changes(source) == {}


def test_a_single_file_path_looks_only_at_its_own_name(tmp_path: Path, reads: list[str]) -> None:
    pod = write(tmp_path / "pod.yaml", b"pod")
    source = DirectorySource(pod)
    list(source.relist())
    write(tmp_path / "other.yaml", b"other")
    assert source.look(["other.yaml"]) == []
    assert reads == [pod]
    write(tmp_path / "pod.yaml", b"changed")
    assert source.look(["other.yaml", "pod.yaml"]) == [FileChange(pod, b"changed")]


def test_a_relative_single_file_path_sees_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--pod-manifest-path pod.yaml``: the hint names ``pod.yaml`` in ``.``."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "pod.yaml", b"pod")
    source = DirectorySource("pod.yaml")
    assert changes(source) == {"pod.yaml": b"pod"}
    assert source.directory == "."
    write(tmp_path / "pod.yaml", b"changed")
    assert source.look(["pod.yaml"]) == [FileChange("pod.yaml", b"changed")]


def test_a_trailing_slash_is_stripped(tmp_path: Path) -> None:
    a = write(tmp_path / "a", b"a")
    source = DirectorySource(f"{tmp_path}/")
    assert changes(source) == {a: b"a"}
    assert source.directory == str(tmp_path)


def test_a_missing_path_does_not_exist_and_has_no_files(tmp_path: Path) -> None:
    source = DirectorySource(str(tmp_path / "missing"))
    assert changes(source) == {}
    assert not source.exists


def test_a_vanished_path_reports_every_known_file_gone(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    a = write(manifests / "a", b"a")
    b = write(manifests / "b", b"b")
    source = DirectorySource(str(manifests))
    list(source.relist())
    assert source.exists
    shutil.rmtree(manifests)
    assert changes(source) == {a: None, b: None}
    assert not source.exists
    assert source.known_paths() == []
    assert changes(source) == {}


@pytest.mark.parametrize(
    ("break_path", "reason"),
    [
        (lambda path: path.symlink_to(path), "cannot stat: Too many levels of symbolic links"),
        (lambda path: os.mkfifo(path), "not a directory or a regular file"),
    ],
    ids=["symlink loop", "fifo"],
)
def test_a_path_that_cannot_be_listed_keeps_every_file_until_it_can(
    tmp_path: Path,
    captured_logs: LogCapture,
    break_path: Callable[[Path], None],
    reason: str,
) -> None:
    """As the kubelet's listConfig, which sends nothing when its stat fails for another
    reason than absence, or finds neither a directory nor a file."""
    real = tmp_path / "real"
    real.mkdir()
    write(real / "a", b"a")
    manifests = tmp_path / "manifests"
    manifests.symlink_to(real)
    source = DirectorySource(str(manifests))
    list(source.relist())
    manifests.unlink()
    break_path(manifests)

    assert changes(source) == {}
    assert changes(source) == {}
    assert source.unreadable == reason
    assert source.known_paths() == [str(manifests / "a")]
    (said,) = captured_logs.records("manifest path unreadable")
    assert said["level"] == "error"
    assert said["path"] == str(manifests)
    assert said["reason"] == reason

    manifests.unlink()
    manifests.symlink_to(real)
    assert changes(source) == {}
    assert source.unreadable is None
    assert captured_logs.records("manifest path readable again")[0]["path"] == str(manifests)


def test_a_directory_appearing_later_is_picked_up_by_the_next_relist(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    source = DirectorySource(str(manifests))
    assert changes(source) == {}
    assert not source.exists
    manifests.mkdir()
    a = write(manifests / "a", b"a")
    assert changes(source) == {a: b"a"}
    assert source.exists
    assert not source.single_file


def test_a_directory_turning_into_a_file(tmp_path: Path) -> None:
    """The files under it are gone; the path itself becomes the one manifest."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    a = write(manifests / "a", b"a")
    b = write(manifests / "b", b"b")
    source = DirectorySource(str(manifests))
    list(source.relist())
    shutil.rmtree(manifests)
    write(manifests, b"single")
    assert changes(source) == {a: None, b: None, str(manifests): b"single"}
    assert source.single_file
    assert source.directory == str(tmp_path)
    assert source.known_paths() == [str(manifests)]


def test_a_file_turning_into_a_directory(tmp_path: Path) -> None:
    path = tmp_path / "manifests"
    write(path, b"single")
    source = DirectorySource(str(path))
    list(source.relist())
    assert source.single_file
    os.unlink(path)
    path.mkdir()
    a = write(path / "a", b"a")
    assert changes(source) == {str(path): None, a: b"a"}
    assert not source.single_file
    assert source.directory == str(path)


def configmap(directory: Path, version: str, body: bytes) -> None:
    """A ConfigMap-style volume: ``pod.yaml -> ..data/pod.yaml``, ``..data -> <version>``."""
    (directory / version).mkdir()
    write(directory / version / "pod.yaml", body)
    (directory / "..data").symlink_to(version)
    (directory / "pod.yaml").symlink_to("..data/pod.yaml")


def swap(directory: Path, version: str, body: bytes) -> None:
    """The atomic update: a new version directory, then ``..data`` replaced by a rename."""
    (directory / version).mkdir()
    write(directory / version / "pod.yaml", body)
    (directory / "..data_tmp").symlink_to(version)
    os.replace(directory / "..data_tmp", directory / "..data")


def test_a_configmap_data_swap_is_seen_at_the_next_relist(tmp_path: Path) -> None:
    configmap(tmp_path, "..v1", b"version: 1\n")
    source = DirectorySource(str(tmp_path))
    pod = str(tmp_path / "pod.yaml")
    assert changes(source) == {pod: b"version: 1\n"}
    assert source.has_symlinks
    swap(tmp_path, "..v2", b"version: 2\n")
    assert changes(source) == {pod: b"version: 2\n"}
    assert changes(source) == {}


def test_a_configmap_data_swap_to_identical_bytes_reports_nothing(tmp_path: Path) -> None:
    configmap(tmp_path, "..v1", b"same\n")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    swap(tmp_path, "..v2", b"same\n")
    assert changes(source) == {}


def test_has_symlinks_is_false_without_symlinks_and_clears_when_they_go(tmp_path: Path) -> None:
    write(tmp_path / "target", b"t")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    assert not source.has_symlinks
    (tmp_path / "link").symlink_to("target")
    list(source.relist())
    assert source.has_symlinks
    os.unlink(tmp_path / "link")
    list(source.relist())
    assert not source.has_symlinks


def test_a_symlinked_single_file_path_has_symlinks(tmp_path: Path) -> None:
    """A ConfigMap file given as the path: a ``..data`` swap in its parent must cause a re-list."""
    configmap(tmp_path, "..v1", b"version: 1\n")
    pod = str(tmp_path / "pod.yaml")
    source = DirectorySource(pod)
    assert changes(source) == {pod: b"version: 1\n"}
    assert source.single_file
    assert source.has_symlinks


def test_a_file_over_10_mib_is_read_to_one_byte_past_the_limit(tmp_path: Path) -> None:
    """The decoder rejects it by its length; the rest is never read."""
    big = tmp_path / "big.yaml"
    with open(big, "wb") as file:
        file.truncate(MAX_MANIFEST_BYTES + 4096)
    source = DirectorySource(str(tmp_path))
    body = changes(source)[str(big)]
    assert body is not None
    assert len(body) == MAX_MANIFEST_BYTES + 1


def test_a_file_of_exactly_10_mib_is_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with open(big, "wb") as file:
        file.truncate(MAX_MANIFEST_BYTES)
    body = changes(DirectorySource(str(tmp_path)))[str(big)]
    assert body is not None
    assert len(body) == MAX_MANIFEST_BYTES


def test_a_file_grown_since_its_stat_is_read_in_full(tmp_path: Path) -> None:
    body = bytes(range(256)) * 1000
    path = write(tmp_path / "grown", body)
    assert _read_at_most(path, 10) == body
    assert _read_at_most(path, 0) == body
    assert _read_at_most(path, len(body) - 1) == body


def test_a_file_grown_past_the_limit_since_its_stat_is_read_to_one_byte_past_it(
    tmp_path: Path,
) -> None:
    big = tmp_path / "big"
    with open(big, "wb") as file:
        file.truncate(MAX_MANIFEST_BYTES + 100_000)
    assert len(_read_at_most(str(big), 100)) == MAX_MANIFEST_BYTES + 1


def test_a_file_shrunk_since_its_stat_is_read_as_it_is(tmp_path: Path) -> None:
    path = write(tmp_path / "shrunk", b"short")
    assert _read_at_most(path, 1000) == b"short"
    assert _read_at_most(path, 5) == b"short"
    empty = write(tmp_path / "empty", b"")
    assert _read_at_most(empty, 0) == b""


def test_a_file_growing_between_stat_and_read_is_reported_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relist's stat saw a short file; the writer appended before the read."""
    path = tmp_path / "pod.yaml"
    write(path, b"short")
    real = files._read_at_most

    def append_first(name: str, expected_size: int) -> bytes:
        with open(name, "ab") as file:
            file.write(b" and then some more")
        return real(name, expected_size)

    monkeypatch.setattr(files, "_read_at_most", append_first)
    body = changes(DirectorySource(str(tmp_path)))[str(path)]
    assert body == b"short and then some more"


def test_look_reports_a_new_file(tmp_path: Path) -> None:
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    a = write(tmp_path / "a.yaml", b"new")
    assert source.look(["a.yaml"]) == [FileChange(a, b"new")]
    assert source.known_paths() == [a]
    assert changes(source) == {}


def test_look_reports_a_changed_file(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", b"old")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / "a.yaml", b"changed")
    assert source.look(["a.yaml"]) == [FileChange(a, b"changed")]
    assert source.look(["a.yaml"]) == []
    assert changes(source) == {}


def test_a_file_modified_within_the_racy_window_is_read_again_but_not_reported(
    tmp_path: Path, reads: list[str]
) -> None:
    """Another write in the same timestamp tick would leave the stat unchanged."""
    a = write(tmp_path / "a.yaml", b"a")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    assert changes(source) == {}
    assert reads == [a, a]
    settled(a)
    assert changes(source) == {}
    assert changes(source) == {}
    assert reads == [a, a, a]


def test_look_does_not_read_an_unchanged_file(tmp_path: Path, reads: list[str]) -> None:
    a = settled(write(tmp_path / "a.yaml", b"a"))
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    assert source.look(["a.yaml"]) == []
    assert reads == [a]


def test_look_reports_a_deleted_file_gone(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", b"a")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    os.unlink(a)
    assert source.look(["a.yaml"]) == [FileChange(a, None)]
    assert source.known_paths() == []
    assert changes(source) == {}


def test_look_ignores_a_dotfile(tmp_path: Path, reads: list[str]) -> None:
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / ".pod.yaml.swp", b"x")
    assert source.look([".pod.yaml.swp", "..data"]) == []
    assert reads == []
    assert source.known_paths() == []


def test_look_at_an_unknown_vanished_name_reports_nothing(tmp_path: Path) -> None:
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    assert source.look(["never-there.yaml"]) == []
    assert source.known_paths() == []


def test_look_at_a_subdirectory_reports_nothing(tmp_path: Path, reads: list[str]) -> None:
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    (tmp_path / "nested").mkdir()
    assert source.look(["nested"]) == []
    assert reads == []


def test_look_reports_a_renamed_file_gone_under_its_old_name_and_new_under_its_new(
    tmp_path: Path,
) -> None:
    old = write(tmp_path / "old.yaml", b"pod")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    new = str(tmp_path / "new.yaml")
    os.rename(old, new)
    assert sorted(source.look(["old.yaml", "new.yaml"])) == [
        FileChange(new, b"pod"),
        FileChange(old, None),
    ]


def test_reread_reports_files_even_if_unchanged(tmp_path: Path, reads: list[str]) -> None:
    """A restarted worker is sent its files again, whatever the cache says."""
    a = write(tmp_path / "a.yaml", b"a")
    b = write(tmp_path / "b.yaml", b"b")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    assert sorted(source.reread([a, b])) == [FileChange(a, b"a"), FileChange(b, b"b")]
    assert sorted(reads) == [a, a, b, b]
    assert source.known_paths() == [a, b]
    assert changes(source) == {}


def test_reread_reports_the_current_bytes(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", b"old")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / "a.yaml", b"new")
    assert list(source.reread([a])) == [FileChange(a, b"new")]
    assert changes(source) == {}


def refuse_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every read fails as an unreadable file's would (we are root: chmod cannot do it)."""

    def refuse(path: str, expected_size: int) -> bytes:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(files, "_read_at_most", refuse)


def test_an_unreadable_file_on_a_relist_has_no_pod(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    captured_logs: LogCapture,
) -> None:
    """As in the kubelet: a known file that cannot be read is gone, said once."""
    a = write(tmp_path / "a.yaml", b"a")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / "a.yaml", b"changed")
    refuse_reads(monkeypatch)
    assert changes(source) == {a: None}
    assert changes(source) == {}
    assert [(line["file"], line["reason"]) for line in captured_logs.records()] == [
        (a, "cannot read: Permission denied")
    ]
    monkeypatch.undo()
    assert changes(source) == {a: b"changed"}


def test_an_unreadable_file_on_a_hint_is_left_for_the_relist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write(tmp_path / "a.yaml", b"a")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / "a.yaml", b"changed")
    refuse_reads(monkeypatch)
    assert source.look(["a.yaml"]) == []
    assert source.known_paths() == [a]
    monkeypatch.undo()
    assert changes(source) == {a: b"changed"}


def test_a_file_removed_between_the_listing_and_its_stat_is_gone_without_a_warning(
    tmp_path: Path, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename or removal racing the re-list (found by the fault suite's churn)."""
    a = write(tmp_path / "a.yaml", b"a")
    write(tmp_path / "b.yaml", b"b")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    real = os.scandir

    class Listing(list[os.DirEntry[str]]):
        def __enter__(self) -> Listing:
            return self

        def __exit__(self, *_: object) -> None:
            pass

    def racing(path: str) -> Listing:
        entries = Listing(real(path))
        os.unlink(a)  # after the listing, before each entry is looked at
        return entries

    monkeypatch.setattr(os, "scandir", racing)

    assert changes(source) == {a: None}
    assert captured_logs.records("manifest skipped") == []


def test_a_file_removed_between_its_stat_and_its_read_is_gone_without_a_warning(
    tmp_path: Path, captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the fault suite's fuzz scenario, whose batches come and go during re-lists."""
    a = write(tmp_path / "a.yaml", b"a")
    source = DirectorySource(str(tmp_path))
    list(source.relist())
    write(tmp_path / "a.yaml", b"changed")

    def removed(path: str, expected_size: int) -> bytes:
        os.unlink(path)
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(files, "_read_at_most", removed)

    assert changes(source) == {a: None}
    assert captured_logs.records("manifest skipped") == []
