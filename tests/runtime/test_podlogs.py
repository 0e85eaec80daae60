"""Container log links where a kubelet node keeps them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fastpod.model import Pod
from fastpod.runtime.podlogs import PodLogs, containers_link_name
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest


def pod(name: str = "web", **options: object) -> Pod:
    return decoded(pod_manifest(name, namespace="kube-system", **options), FILE)


@pytest.fixture
def pod_logs(tmp_path: Path) -> PodLogs:
    return PodLogs(str(tmp_path / "log" / "pods"))


def runtime_log(tmp_path: Path, name: str) -> str:
    path = tmp_path / "runtime" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"output of {name}\n")
    return str(path)


def test_the_pod_dir_is_namespace_name_uid_under_the_pod_logs_dir(
    pod_logs: PodLogs, tmp_path: Path
) -> None:
    web = pod()

    assert pod_logs.pod_dir(web) == str(
        tmp_path / "log" / "pods" / f"kube-system_web-node1_{web.metadata.uid}"
    )
    assert pod_logs.containers_dir == str(tmp_path / "log" / "containers")


def test_create_pod_dir_makes_it_0755(pod_logs: PodLogs) -> None:
    web = pod()

    pod_logs.create_pod_dir(web)
    pod_logs.create_pod_dir(web)

    assert os.path.isdir(pod_logs.pod_dir(web))
    assert os.stat(pod_logs.pod_dir(web)).st_mode & 0o777 == 0o755


def test_a_link_points_restart_count_log_at_the_runtime_log_and_containers_at_that(
    pod_logs: PodLogs, tmp_path: Path
) -> None:
    web = pod()
    target = runtime_log(tmp_path, "abc.log")

    pod_logs.link(web, "app", 0, "abc123", target)

    pod_link = os.path.join(pod_logs.pod_dir(web), "app", "0.log")
    assert os.readlink(pod_link) == target
    container_link = os.path.join(pod_logs.containers_dir, "web-node1_kube-system_app-abc123.log")
    assert os.readlink(container_link) == pod_link
    assert Path(container_link).read_text() == "output of abc.log\n"


def test_a_link_again_replaces_the_old_one(pod_logs: PodLogs, tmp_path: Path) -> None:
    web = pod()
    pod_logs.link(web, "app", 2, "first", runtime_log(tmp_path, "first.log"))
    second = runtime_log(tmp_path, "second.log")

    pod_logs.link(web, "app", 2, "first", second)

    pod_link = os.path.join(pod_logs.pod_dir(web), "app", "2.log")
    assert os.readlink(pod_link) == second
    container_link = os.path.join(pod_logs.containers_dir, "web-node1_kube-system_app-first.log")
    assert Path(container_link).read_text() == "output of second.log\n"


def test_a_dangling_link_is_replaced_too(pod_logs: PodLogs, tmp_path: Path) -> None:
    web = pod()
    gone = runtime_log(tmp_path, "gone.log")
    pod_logs.link(web, "app", 0, "c1", gone)
    os.unlink(gone)
    target = runtime_log(tmp_path, "new.log")

    pod_logs.link(web, "app", 0, "c1", target)

    assert os.readlink(os.path.join(pod_logs.pod_dir(web), "app", "0.log")) == target


def test_no_target_links_nothing(pod_logs: PodLogs) -> None:
    web = pod()

    pod_logs.link(web, "app", 0, "c1", None)

    assert not os.path.exists(pod_logs.pod_dir(web))
    assert not os.path.exists(pod_logs.containers_dir)


def test_next_restart_count_is_zero_without_logs(pod_logs: PodLogs) -> None:
    web = pod()
    assert pod_logs.next_restart_count(web, "app") == 0
    pod_logs.create_pod_dir(web)
    assert pod_logs.next_restart_count(web, "app") == 0


def test_next_restart_count_is_one_more_than_the_highest_log(
    pod_logs: PodLogs, tmp_path: Path
) -> None:
    web = pod()
    target = runtime_log(tmp_path, "out.log")
    for count, container_id in ((0, "c0"), (3, "c3"), (1, "c1")):
        pod_logs.link(web, "app", count, container_id, target)
    directory = Path(pod_logs.pod_dir(web)) / "app"
    (directory / "notes.log").write_text("")
    (directory / "12.txt").write_text("")

    assert pod_logs.next_restart_count(web, "app") == 4
    # per container
    assert pod_logs.next_restart_count(web, "sidecar") == 0
    # per pod UID: a replaced pod starts over
    assert pod_logs.next_restart_count(pod(image="busybox:1.37"), "app") == 0


def test_remove_removes_the_pods_dir_and_its_container_links_only(
    pod_logs: PodLogs, tmp_path: Path
) -> None:
    web, api = pod("web"), pod("api")
    target = runtime_log(tmp_path, "out.log")
    pod_logs.create_pod_dir(web)
    pod_logs.link(web, "app", 0, "w0", target)
    pod_logs.link(web, "app", 1, "w1", target)
    pod_logs.link(web, "sidecar", 0, "w2", target)
    pod_logs.link(api, "app", 0, "a0", target)

    pod_logs.remove(web.metadata.namespace or "", web.metadata.name or "", web.metadata.uid or "")

    assert not os.path.exists(pod_logs.pod_dir(web))
    assert os.listdir(pod_logs.containers_dir) == ["api-node1_kube-system_app-a0.log"]
    assert os.path.isdir(pod_logs.pod_dir(api))
    # the runtime's own log file is not touched
    assert Path(target).exists()


def test_removing_a_pod_without_logs_does_nothing(pod_logs: PodLogs) -> None:
    gone = pod()
    pod_logs.remove(
        gone.metadata.namespace or "", gone.metadata.name or "", gone.metadata.uid or ""
    )


def test_a_containers_link_name_is_cut_to_a_file_name_as_the_kubelet_cuts_it() -> None:
    """``logSymlink``: ``<pod>_<ns>_<container>-<id>`` cut to 251 bytes, then ``.log``."""
    pod_name, namespace, container = "p" * 120, "n" * 63, "c" * 63
    container_id = "0123456789abcdef" * 4

    name = containers_link_name(pod_name, namespace, container, container_id)

    full = f"{pod_name}_{namespace}_{container}-{container_id}"
    assert name == full[:251] + ".log"
    assert len(name.encode()) == 255


def test_a_short_containers_link_name_is_left_whole() -> None:
    assert containers_link_name("web-node1", "default", "app", "abc") == (
        "web-node1_default_app-abc.log"
    )


def test_a_long_named_pods_links_are_made_and_removed(pod_logs: PodLogs, tmp_path: Path) -> None:
    long_name = "w" * 120
    web = decoded(pod_manifest(long_name, namespace="n" * 40, containers=["c" * 60]), FILE)
    target = runtime_log(tmp_path, "abc.log")

    pod_logs.link(web, "c" * 60, 0, "f" * 64, target)

    (link,) = os.listdir(pod_logs.containers_dir)
    assert len(link) == 255
    assert Path(pod_logs.containers_dir, link).read_text() == "output of abc.log\n"
    metadata = web.metadata
    pod_logs.remove(metadata.namespace or "", metadata.name or "", metadata.uid or "")
    assert os.listdir(pod_logs.containers_dir) == []
