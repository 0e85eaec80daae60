"""``pods``, ``logs`` and ``inspect`` run against a real HTTP server serving canned answers."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, tzinfo
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiClient, V1PodList

from fastpod.api import discovery
from fastpod.api.discovery import ApiRecord
from fastpod.client import arguments, commands
from tests.support.http_server import Reply, Server
from tests.support.running import free_port

DATA = Path(__file__).parent.parent / "data" / "client"
POD_LIST = (DATA / "podlist.json").read_bytes()
INSPECTION = (DATA / "inspect-etcd.json").read_bytes()
NOW = datetime(2026, 12, 1, 14, 10, tzinfo=UTC)


class FrozenClock(datetime):
    """``datetime`` whose ``now`` is :data:`NOW`, so ages in the output are known."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> FrozenClock:
        return cls.fromtimestamp(NOW.timestamp(), tz)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(commands, "datetime", FrozenClock)
    monkeypatch.delenv("FASTPOD_SERVER", raising=False)


@pytest.fixture
def api(server: Server) -> Server:
    """The test server answering ``/pods`` with the canned pod list."""
    server.serve("/pods", Reply(body=POD_LIST))
    return server


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastpod")
    subcommands = parser.add_subparsers(dest="command", required=True)
    arguments.add_commands(subcommands)
    return parser


def fastpod(tmp_path: Path, *argv: str) -> int:
    """Run a command with its own empty root dir (never the real daemon's record)."""
    return commands.run(parser().parse_args([*argv, "--root-dir", str(tmp_path / "root")]))


def test_pods_prints_kubectls_columns_for_every_namespace(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "pods", "--server", api.url("")) == 0

    assert capsys.readouterr().out.splitlines() == [
        "NAMESPACE     NAME          READY   STATUS    RESTARTS   AGE",
        "default       cache-node1   1/1     Running   0          10m",
        "default       web-node1     1/2     Running   0          10m",
        "kube-system   etcd-node1    1/1     Running   0          10m",
        "staging       web-node1     1/1     Running   0          10m",
    ]


def test_ps_with_a_namespace_lists_only_it_in_wide_columns(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("ps", "-n", "kube-system", "-o", "wide", "--server", api.url(""))
    assert fastpod(tmp_path, *argv) == 0

    assert capsys.readouterr().out.splitlines() == [
        "NAME         READY   STATUS    RESTARTS   AGE   IP             NODE    NOMINATED NODE   "
        "READINESS GATES",
        "etcd-node1   1/1     Running   0          10m   192.168.1.10   node1   <none>           "
        "<none>",
    ]


def test_all_namespaces_overrides_a_namespace(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "pods", "-A", "-n", "kube-system", "--server", api.url("")) == 0

    assert len(capsys.readouterr().out.splitlines()) == 5


def test_a_namespace_without_pods_says_so_on_standard_error(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "pods", "-n", "nowhere", "--server", api.url("")) == 0

    assert capsys.readouterr() == ("", "No resources found in nowhere namespace.\n")


def test_pods_as_json_is_the_pod_list_the_server_sent_and_the_kubernetes_client_reads(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "pods", "-o", "json", "--server", api.url("")) == 0

    out = capsys.readouterr().out
    assert json.loads(out) == json.loads(POD_LIST)
    assert out.startswith('{\n    "kind": "PodList",\n')

    pod_list: V1PodList = ApiClient().deserialize(out, "V1PodList", "application/json")
    assert [pod.metadata.name for pod in pod_list.items] == [
        "etcd-node1",
        "web-node1",
        "web-node1",
        "cache-node1",
    ]


def test_pods_as_yaml_holds_the_same_pods(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "pods", "-o", "yaml", "-n", "staging", "--server", api.url("")) == 0

    document = yaml.safe_load(capsys.readouterr().out)
    assert [pod["metadata"]["namespace"] for pod in document["items"]] == ["staging"]


def test_the_environment_says_where_the_server_is(
    api: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTPOD_SERVER", api.url(""))

    assert fastpod(tmp_path, "pods") == 0
    assert [request.path for request in api.requests] == ["/pods"]


def test_the_running_daemons_record_says_where_the_server_is(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    discovery.write_record(str(tmp_path / "root"), ApiRecord(url=api.url(""), pid=os.getpid()))

    assert fastpod(tmp_path, "pods") == 0
    assert "etcd-node1" in capsys.readouterr().out


def test_the_server_flag_beats_the_environment(
    api: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTPOD_SERVER", f"http://127.0.0.1:{free_port()}")

    assert fastpod(tmp_path, "pods", "--server", api.url("")) == 0


def test_nothing_listening_is_one_clear_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"

    assert fastpod(tmp_path, "pods", "--server", url) == 1

    assert capsys.readouterr() == (
        "",
        f"fastpod: no fastpod answers at {url} (connection refused): is `fastpod run` "
        "running? Say where with --server URL or FASTPOD_SERVER\n",
    )


def test_an_error_answer_prints_the_servers_message(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.serve("/fastpod/v1/pods/kube-system/gone", Reply(404, b"no pod kube-system/gone\n"))

    assert fastpod(tmp_path, "inspect", "kube-system/gone", "--server", api.url("")) == 1

    assert capsys.readouterr().err == ("fastpod: no pod kube-system/gone (HTTP 404 Not Found)\n")


def test_an_answer_that_is_not_json_is_reported(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.serve("/pods", Reply(body=b"<html>a proxy page</html>"))

    assert fastpod(tmp_path, "pods", "--server", server.url("")) == 1

    error = capsys.readouterr().err
    assert error.startswith(f"fastpod: {server.url('/pods')} did not answer with JSON (")
    assert error.count("\n") == 1


def test_json_that_is_not_a_pod_list_is_reported(
    server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.serve("/pods", Reply(body=b'{"items": [1, 2]}'))

    assert fastpod(tmp_path, "pods", "--server", server.url("")) == 1
    assert capsys.readouterr().err == (
        f"fastpod: {server.url('')}/pods did not answer with a PodList\n"
    )


def test_watch_prints_the_header_once_then_changed_new_and_gone_pods(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pods = json.loads(POD_LIST)["items"]
    etcd, web, _, cache = pods
    crashing = json.loads(json.dumps(cache))
    crashing["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "Error"}}
    server.serve(
        "/pods",
        *(
            Reply(body=json.dumps({"items": items}).encode())
            for items in (
                [cache, web],
                [cache, web],
                [crashing, web, etcd],
                [crashing, etcd],
            )
        ),
    )
    sleeps = stop_after_sleeps(monkeypatch, 4)

    assert fastpod(tmp_path, "pods", "-w", "-n", "default", "--server", server.url("")) == 0

    assert sleeps == [1.0] * 4
    assert capsys.readouterr().out.splitlines() == [
        "NAME          READY   STATUS    RESTARTS   AGE",
        "cache-node1   1/1     Running   0          10m",
        "web-node1     1/2     Running   0          10m",
        "cache-node1   0/1     Error     0          10m",
        "web-node1     1/2     Terminated   0          10m",
    ]


def test_watch_as_yaml_prints_each_new_or_changed_pod_as_a_document(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, web, _, cache = json.loads(POD_LIST)["items"]
    server.serve(
        "/pods",
        Reply(body=json.dumps({"items": [cache]}).encode()),
        Reply(body=json.dumps({"items": [cache, web]}).encode()),
    )
    stop_after_sleeps(monkeypatch, 3)

    assert fastpod(tmp_path, "pods", "-w", "-o", "yaml", "--server", server.url("")) == 0

    assert list(yaml.safe_load_all(capsys.readouterr().out)) == [cache, web]


def stop_after_sleeps(monkeypatch: pytest.MonkeyPatch, count: int) -> list[float]:
    """Make the command's ``count``-th sleep a Ctrl-C (the server thread sleeps for real)."""
    real_sleep = time.sleep
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        if threading.current_thread() is not threading.main_thread():
            real_sleep(seconds)
            return
        sleeps.append(seconds)
        if len(sleeps) == count:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)
    return sleeps


def test_logs_of_a_pod_with_one_container_need_no_container_name(
    api: Server, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    api.serve("/containerLogs/default/cache-node1/cache", Reply(body=b"ready\n\xff raw bytes\n"))

    assert fastpod(tmp_path, "logs", "cache-node1", "--server", api.url("")) == 0

    assert capsysbinary.readouterr().out == b"ready\n\xff raw bytes\n"


def test_logs_of_a_name_in_several_namespaces_ask_which(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "logs", "web-node1", "--server", api.url("")) == 1

    assert capsys.readouterr().err == (
        'fastpod: pod "web-node1" is in several namespaces (default, staging): say which '
        "with -n NAMESPACE or NAMESPACE/web-node1\n"
    )


def test_logs_of_a_pod_with_several_containers_name_them_as_kubectl_does(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "logs", "web-node1", "-n", "default", "--server", api.url("")) == 1

    assert capsys.readouterr().err == (
        "fastpod: a container name must be specified for pod web-node1, "
        "choose one of: [migrate web]\n"
    )


def test_logs_of_an_unknown_pod_say_so(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fastpod(tmp_path, "logs", "kube-system/web-node1", "--server", api.url("")) == 1

    assert capsys.readouterr().err == (
        'fastpod: pod "web-node1" not found in namespace "kube-system"\n'
    )


def test_logs_forward_tail_previous_and_follow(
    api: Server, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    base = "/containerLogs/default/web-node1/web"
    api.serve(f"{base}?previous=true&tailLines=5", Reply(body=b"the previous instance\n"))
    api.serve(f"{base}?follow=true", Reply(body=b"line 1\nline 2\n", delay_mid_body=0.05))
    server = ("--server", api.url(""))

    assert (
        fastpod(tmp_path, "logs", "default/web-node1", "-c", "web", "-p", "--tail", "5", *server)
        == 0
    )
    assert fastpod(tmp_path, "logs", "web-node1", "-n", "default", "-c", "web", "-f", *server) == 0

    assert capsysbinary.readouterr().out == b"the previous instance\nline 1\nline 2\n"
    assert [r.path for r in api.requests if r.path.startswith(base)] == [
        f"{base}?previous=true&tailLines=5",
        f"{base}?follow=true",
    ]


def test_a_negative_tail_other_than_minus_one_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_status:
        fastpod(tmp_path, "logs", "web-node1", "--tail", "-2")

    assert exit_status.value.code == 2


def test_inspect_summarises_the_pod_its_source_and_its_events(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    api.serve("/fastpod/v1/pods/kube-system/etcd-node1", Reply(body=INSPECTION))

    assert fastpod(tmp_path, "inspect", "etcd-node1", "--server", api.url("")) == 0

    assert capsys.readouterr().out == (DATA / "inspect-etcd.txt").read_text()


@pytest.mark.parametrize("output", ["json", "yaml"])
def test_inspect_prints_the_whole_document_on_request(
    api: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    api.serve("/fastpod/v1/pods/kube-system/etcd-node1", Reply(body=INSPECTION))

    argv = ("inspect", "etcd-node1", "-n", "kube-system", "-o", output, "--server", api.url(""))
    assert fastpod(tmp_path, *argv) == 0

    assert yaml.safe_load(capsys.readouterr().out) == json.loads(INSPECTION)
    assert [r.path for r in api.requests] == ["/fastpod/v1/pods/kube-system/etcd-node1"]


@pytest.mark.parametrize(
    ("argv", "status"),
    [(("pods",), 130), (("pods", "-w"), 0), (("logs", "web-node1", "-f"), 0)],
)
def test_ctrl_c_is_130_except_for_a_watch_or_a_follow_that_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], status: int
) -> None:
    def interrupted(*_: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "server_url", interrupted)

    assert fastpod(tmp_path, *argv) == status


def test_a_reader_that_goes_away_ends_the_command_quietly(api: Server, tmp_path: Path) -> None:
    api.serve("/containerLogs/default/cache-node1/cache", Reply(body=b"output\n" * 100_000))
    program = (
        "import argparse, sys\n"
        "from fastpod.client import arguments, commands\n"
        "parser = argparse.ArgumentParser()\n"
        "arguments.add_commands(parser.add_subparsers(dest='command'))\n"
        "sys.exit(commands.run(parser.parse_args(sys.argv[1:])))\n"
    )
    argv = ["logs", "cache-node1", "--server", api.url(""), "--root-dir", str(tmp_path)]
    child = subprocess.Popen(
        [sys.executable, "-c", program, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.read(10)
    child.stdout.close()

    assert (child.wait(), child.stderr.read()) == (0, b"")
    child.stderr.close()


def test_the_client_commands_import_neither_aiohttp_nor_yaml() -> None:
    program = (
        "import sys\n"
        "import fastpod.client.commands\n"
        "print(sorted({'aiohttp', 'yaml'} & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )

    assert result.stdout == "[]\n"
