"""The watcher, end to end: real files, real inotify, a real ``fastpod run``.

Each test changes the manifest directory the way a tool does it and checks the pods the
workers end up holding, and that nothing changed on the way that should not have.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.http_server import Reply, Server
from tests.support.pods import pod_document, pod_key, pod_list, pod_manifest
from tests.support.running import RunningFastpod, write_atomically

pytestmark = pytest.mark.e2e


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    return directory


def start(path: Path, *extra: str, relist: str = "60") -> RunningFastpod:
    return RunningFastpod(
        ["--pod-manifest-path", str(path), "--file-check-frequency", relist, *extra]
    )


@pytest.fixture
def running(manifests: Path) -> Iterator[RunningFastpod]:
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    fastpod = start(manifests)
    fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
    yield fastpod
    fastpod.stop()


def test_pods_of_every_manifest_are_desired_at_start(manifests: Path) -> None:
    for name in ("a", "b", "c"):
        (manifests / f"{name}.yaml").write_bytes(pod_manifest(name))
    (manifests / ".hidden.yaml").write_bytes(pod_manifest("hidden"))
    (manifests / "sub").mkdir()
    (manifests / "sub" / "d.yaml").write_bytes(pod_manifest("d"))
    fastpod = start(manifests)
    try:
        fastpod.wait_for(lambda: len(fastpod.desired()) == 3)
        fastpod.wait_for_event("all sources seen", count=2)
        assert set(fastpod.desired()) == {pod_key("a"), pod_key("b"), pod_key("c")}
        assert fastpod.events("manifest skipped", reason="is a directory: not recursing")
    finally:
        fastpod.stop()


def test_a_new_file_is_picked_up_through_inotify_long_before_the_relist(
    manifests: Path, running: RunningFastpod
) -> None:
    write_atomically(str(manifests / "new.yaml"), pod_manifest("new"))
    running.wait_for(lambda: pod_key("new") in running.desired(), timeout=5)


def test_copy_move_in_move_out_and_delete(
    manifests: Path, running: RunningFastpod, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_bytes(pod_manifest("moved"))
    shutil.copy(outside, manifests / "copied.yaml")
    running.wait_for(lambda: pod_key("moved") in running.desired())
    os.rename(manifests / "copied.yaml", tmp_path / "away.yaml")
    running.wait_for(lambda: pod_key("moved") not in running.desired())
    os.rename(tmp_path / "away.yaml", manifests / "back.yaml")
    running.wait_for(lambda: pod_key("moved") in running.desired())
    (manifests / "back.yaml").unlink()
    running.wait_for(lambda: pod_key("moved") not in running.desired())
    assert pod_key("web") in running.desired()


def test_a_file_written_in_several_writes_changes_nothing_until_it_is_closed(
    manifests: Path, running: RunningFastpod
) -> None:
    body = pod_manifest("slow")
    mark = running.mark()
    with open(manifests / "slow.yaml", "wb") as file:
        file.write(body[: len(body) // 2])
        file.flush()
        time.sleep(0.5)
        assert running.since(mark, "pod added") == []
        assert running.since(mark, "pod rejected") == []
        file.write(body[len(body) // 2 :])
    running.wait_for(lambda: pod_key("slow") in running.desired())
    assert len(running.since(mark, "pod added")) == 1


def test_an_identical_rewrite_changes_nothing(manifests: Path, running: RunningFastpod) -> None:
    mark = running.mark()
    write_atomically(str(manifests / "web.yaml"), pod_manifest("web"))
    (manifests / "web.yaml").touch()
    write_atomically(str(manifests / "other.yaml"), pod_manifest("other"))
    running.wait_for(lambda: pod_key("other") in running.desired())
    assert [record["pod"] for record in running.since(mark, "pod added")] == [pod_key("other")]
    assert running.since(mark, "pod removed") == []


def test_an_edit_replaces_the_pod(manifests: Path, running: RunningFastpod) -> None:
    before = running.desired()[pod_key("web")]
    write_atomically(str(manifests / "web.yaml"), pod_manifest("web", image="busybox:1.37"))
    running.wait_for(lambda: running.desired().get(pod_key("web"), before) != before)
    removed = running.events("pod removed", pod=pod_key("web"))
    assert [record["uid"] for record in removed] == [before]


def test_an_invalid_edit_keeps_the_pod_until_the_next_relist(manifests: Path) -> None:
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    fastpod = start(manifests, relist="1.5")
    try:
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
        mark = fastpod.mark()
        write_atomically(str(manifests / "web.yaml"), b"apiVersion: v1\nkind: Pod\nspec: [\n")
        fastpod.wait_for(lambda: bool(fastpod.since(mark, "pod rejected")))
        assert pod_key("web") in fastpod.desired()
        rejected = fastpod.since(mark, "pod rejected")[0]
        assert rejected["source"] == str(manifests / "web.yaml")
        assert rejected["errors"][0].startswith("line 4: not valid YAML")
        fastpod.wait_for(lambda: pod_key("web") not in fastpod.desired(), timeout=5)
    finally:
        fastpod.stop()


def test_a_missing_directory_is_waited_for(tmp_path: Path) -> None:
    manifests = tmp_path / "later"
    fastpod = start(manifests)
    try:
        fastpod.wait_for_event("all sources seen", count=2)
        staging = tmp_path / "staging"
        staging.mkdir()
        (staging / "web.yaml").write_bytes(pod_manifest("web"))
        os.rename(staging, manifests)
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired(), timeout=5)
        # and the watch is there once it appeared: a new file comes through inotify
        write_atomically(str(manifests / "db.yaml"), pod_manifest("db"))
        fastpod.wait_for(lambda: pod_key("db") in fastpod.desired(), timeout=5)
    finally:
        fastpod.stop()


def test_a_deleted_and_recreated_directory_is_watched_again(manifests: Path) -> None:
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    fastpod = start(manifests)
    try:
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
        shutil.rmtree(manifests)
        fastpod.wait_for(lambda: pod_key("web") not in fastpod.desired(), timeout=5)
        assert fastpod.events("inotify watch lost")
        manifests.mkdir()
        (manifests / "web.yaml").write_bytes(pod_manifest("web"))
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired(), timeout=5)
    finally:
        fastpod.stop()


def test_a_configmap_style_data_swap_is_seen_without_waiting_for_the_relist(
    manifests: Path,
) -> None:
    (manifests / "..v1").mkdir()
    (manifests / "..v1" / "web.yaml").write_bytes(pod_manifest("web"))
    os.symlink("..v1", manifests / "..data")
    os.symlink("..data/web.yaml", manifests / "web.yaml")
    fastpod = start(manifests)
    try:
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
        before = fastpod.desired()[pod_key("web")]
        (manifests / "..v2").mkdir()
        (manifests / "..v2" / "web.yaml").write_bytes(pod_manifest("web", image="busybox:1.37"))
        os.symlink("..v2", manifests / "..data_tmp")
        os.replace(manifests / "..data_tmp", manifests / "..data")
        fastpod.wait_for(lambda: fastpod.desired().get(pod_key("web"), before) != before, timeout=5)
    finally:
        fastpod.stop()


def test_an_editor_save_through_a_backup_file_ends_with_the_new_pod_only(
    manifests: Path, running: RunningFastpod
) -> None:
    """vim's default save: rename to ``web.yaml~``, write the new file, delete the backup."""
    os.rename(manifests / "web.yaml", manifests / "web.yaml~")
    (manifests / ".web.yaml.swp").write_bytes(b"swap")
    with open(manifests / "web.yaml", "wb") as file:
        file.write(pod_manifest("web", image="busybox:1.37"))
        os.fsync(file.fileno())
    (manifests / "web.yaml~").unlink()
    write_atomically(str(manifests / "marker.yaml"), pod_manifest("marker"))
    running.wait_for(lambda: pod_key("marker") in running.desired())
    # the marker and web.yaml may belong to different workers, whose log lines can reach the
    # test in either order: wait (with a deadline) for web's last decision to arrive
    new = str(manifests / "web.yaml")
    running.wait_for(lambda: running.events("pod added", pod=pod_key("web"))[-1]["source"] == new)
    final = running.events("pod added", pod=pod_key("web"))[-1]
    assert final["source"] == new
    assert set(running.desired()) == {pod_key("web"), pod_key("marker")}


def test_two_files_claiming_one_pod_give_one_pod_from_the_later_file(manifests: Path) -> None:
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    (manifests / "web.yaml.bak").write_bytes(pod_manifest("web", image="busybox:1.37"))
    fastpod = start(manifests)
    try:
        fastpod.wait_for_event("all sources seen", count=2)
        fastpod.wait_for(lambda: bool(fastpod.events("duplicate pod name")))
        fastpod.wait_for(
            lambda: (
                fastpod.events("pod added", pod=pod_key("web"))[-1]["source"]
                == str(manifests / "web.yaml.bak")
            )
        )
        warning = fastpod.events("duplicate pod name")[-1]
        assert warning["ignored"] == [str(manifests / "web.yaml")]
        assert list(fastpod.desired()) == [pod_key("web")]
    finally:
        fastpod.stop()


def test_a_single_file_path_is_the_only_manifest(manifests: Path) -> None:
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    (manifests / "db.yaml").write_bytes(pod_manifest("db"))
    fastpod = start(manifests / "web.yaml")
    try:
        fastpod.wait_for_event("all sources seen", count=2)
        assert list(fastpod.desired()) == [pod_key("web")]
        before = fastpod.desired()[pod_key("web")]
        write_atomically(str(manifests / "web.yaml"), pod_manifest("web", image="busybox:1.37"))
        write_atomically(str(manifests / "other.yaml"), pod_manifest("other"))
        fastpod.wait_for(lambda: fastpod.desired().get(pod_key("web"), before) != before)
        assert list(fastpod.desired()) == [pod_key("web")]
    finally:
        fastpod.stop()


def test_the_manifest_url_is_polled_with_the_kubelet_semantics(server: Server) -> None:
    server.serve("/pods", Reply(200, pod_list(pod_document("a"), pod_document("b"))))
    fastpod = RunningFastpod(
        [
            "--manifest-url",
            server.url("/pods"),
            "--manifest-url-header",
            "Authorization:Bearer s3cret",
            "--http-check-frequency",
            "0.2",
        ]
    )
    try:
        fastpod.wait_for(lambda: set(fastpod.desired()) == {pod_key("a"), pod_key("b")})
        fastpod.wait_for_event("all sources seen", count=2)
        assert server.requests[0].headers["Authorization"] == "Bearer s3cret"
        server.serve("/pods", Reply(500, b"oops"), Reply(200, b"garbage: ["))
        fastpod.wait_for(lambda: bool(fastpod.events("pod rejected")))
        assert fastpod.events("manifest URL failed", status=500)
        assert set(fastpod.desired()) == {pod_key("a"), pod_key("b")}, "errors keep the pods"
        server.serve("/pods", Reply(200, pod_list(pod_document("b"), pod_document("c"))))
        fastpod.wait_for(lambda: set(fastpod.desired()) == {pod_key("b"), pod_key("c")})
        mark = fastpod.mark()
        server.serve("/pods", Reply(200, b""))
        fastpod.wait_for(lambda: fastpod.desired() == {})
        assert {record["pod"] for record in fastpod.since(mark, "pod removed")} == {
            pod_key("b"),
            pod_key("c"),
        }
        assert b"s3cret" not in b"".join(fastpod.raw_lines)
    finally:
        fastpod.stop()


def test_an_unreachable_url_at_start_holds_back_the_all_sources_seen(
    manifests: Path, server: Server
) -> None:
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    server.serve("/pods", Reply(503))
    fastpod = start(
        manifests, "--manifest-url", server.url("/pods"), "--http-check-frequency", "0.2"
    )
    try:
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
        fastpod.wait_for(lambda: len(fastpod.events("manifest URL failed")) >= 2)
        assert fastpod.events("all sources seen") == []
        server.serve("/pods", Reply(200, pod_list(pod_document("api"))))
        fastpod.wait_for_event("all sources seen", count=2)
        assert set(fastpod.desired()) == {pod_key("web"), pod_key("api")}
    finally:
        fastpod.stop()


QUEUE_LIMIT = Path("/proc/sys/fs/inotify/max_queued_events")


def test_an_inotify_queue_overflow_relists_and_watches_again(manifests: Path) -> None:
    """The kernel copies the queue limit into a watch when it is made: lowered only then."""
    old_limit = QUEUE_LIMIT.read_text()
    QUEUE_LIMIT.write_text("16\n")
    try:
        fastpod = start(manifests)
        fastpod.wait_for_event("all sources seen", count=2)
    finally:
        QUEUE_LIMIT.write_text(old_limit)
    try:
        watcher = fastpod.child_pid("watcher")
        os.kill(watcher, signal.SIGSTOP)
        for index in range(40):
            (manifests / f"pod-{index}.yaml").write_bytes(pod_manifest(f"pod-{index}"))
        os.kill(watcher, signal.SIGCONT)
        fastpod.wait_for(lambda: len(fastpod.desired()) == 40, timeout=5)
        assert fastpod.events("inotify queue overflowed")
        # watched again (after the 1 s back-off): a new file comes without a re-list
        time.sleep(1.2)
        write_atomically(str(manifests / "late.yaml"), pod_manifest("late"))
        fastpod.wait_for(lambda: pod_key("late") in fastpod.desired(), timeout=5)
    finally:
        fastpod.stop()


def test_a_semantically_identical_rewrite_changes_nothing(
    manifests: Path, running: RunningFastpod
) -> None:
    """Reformatted YAML, even JSON: the same pod, so the same UID and no restart."""
    mark = running.mark()
    body = json.dumps(yaml.safe_load(pod_manifest("web")), indent=4).encode()
    write_atomically(str(manifests / "web.yaml"), body)
    write_atomically(str(manifests / "marker.yaml"), pod_manifest("marker"))
    running.wait_for(lambda: pod_key("marker") in running.desired())
    assert [record["pod"] for record in running.since(mark, "pod added")] == [pod_key("marker")]
    assert running.since(mark, "pod removed") == []


def test_a_manifest_directory_every_user_can_write_is_warned_about_at_start(
    manifests: Path,
) -> None:
    """Anyone who can put a file there can run a privileged pod as root."""
    manifests.chmod(0o777)
    (manifests / "web.yaml").write_bytes(pod_manifest("web"))
    fastpod = start(manifests)
    try:
        (warning,) = fastpod.wait_for_event("manifest path writable by others")
        assert warning["process"] == "watcher"
        assert warning["path"] == str(manifests)
        assert warning["mode"] == "0777 (drwxrwxrwx)"
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
    finally:
        fastpod.stop()


def swap_symlink(path: Path, target: Path) -> None:
    """Point the symlink ``path`` at ``target`` in one rename."""
    staged = path.with_name(path.name + ".new")
    staged.symlink_to(target)
    staged.replace(path)


def test_a_manifest_path_that_cannot_be_listed_keeps_its_pods(tmp_path: Path) -> None:
    """A symlink loop where the directory was: its pods run on, as the kubelet keeps them
    when it cannot stat the path, until it can be listed again."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "web.yaml").write_bytes(pod_manifest("web"))
    path = tmp_path / "manifests"
    path.symlink_to(real)
    fastpod = start(path, relist="1")
    try:
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
        # each swap in one rename: a path that does not exist at all is a directory with
        # no manifests, as the kubelet takes it, and its pods would go
        swap_symlink(path, path)
        fastpod.wait_for_event("manifest path unreadable", path=str(path))
        time.sleep(2)  # two listings that fail
        assert pod_key("web") in fastpod.desired()
        swap_symlink(path, real)
        fastpod.wait_for_event("manifest path readable again")
        assert fastpod.events("pod removed") == []
    finally:
        fastpod.stop()


def test_a_manifest_path_unreadable_at_start_is_not_seen_until_it_can_be_listed(
    tmp_path: Path,
) -> None:
    """Nothing that runs may be taken for an orphan while the manifests cannot be read."""
    path = tmp_path / "manifests"
    path.symlink_to(path)
    fastpod = start(path, relist="1")
    try:
        fastpod.wait_for_event("manifest path unreadable")
        time.sleep(1.5)  # a retry of the listing, which fails again
        assert fastpod.events("all sources seen") == []
        path.unlink()
        path.mkdir()
        (path / "web.yaml").write_bytes(pod_manifest("web"))
        fastpod.wait_for_event("all sources seen", 2)
        fastpod.wait_for(lambda: pod_key("web") in fastpod.desired())
    finally:
        fastpod.stop()
