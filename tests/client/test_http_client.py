"""Finding the daemon's API and calling it: precedence of the ways to say where, and errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from fastpod.api import discovery
from fastpod.api.discovery import ApiRecord
from fastpod.client.http import Api, ClientError, path, server_url
from tests.support.http_server import Reply, Server
from tests.support.running import free_port

FLAG = "http://127.0.0.1:1111"
ENVIRONMENT = "http://127.0.0.1:2222"
RECORDED = "http://127.0.0.1:3333"


@pytest.fixture
def recorded(tmp_path: Path) -> str:
    """A root dir holding the record of a daemon that is running (this test process)."""
    discovery.write_record(str(tmp_path), ApiRecord(url=RECORDED, pid=os.getpid()))
    return str(tmp_path)


def test_the_server_flag_comes_first(recorded: str) -> None:
    assert server_url(FLAG, recorded, {"FASTPOD_SERVER": ENVIRONMENT}) == FLAG


def test_the_environment_comes_before_the_record(recorded: str) -> None:
    assert server_url(None, recorded, {"FASTPOD_SERVER": ENVIRONMENT}) == ENVIRONMENT


def test_the_record_of_a_running_daemon_comes_before_the_default(recorded: str) -> None:
    assert server_url(None, recorded, {}) == RECORDED


def test_without_anything_the_kubelets_read_only_port_is_asked(tmp_path: Path) -> None:
    assert server_url(None, str(tmp_path), {}) == "http://127.0.0.1:10255"


def test_the_record_of_a_daemon_that_is_gone_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    discovery.write_record(str(tmp_path), ApiRecord(url=RECORDED, pid=gone.pid))

    assert server_url(None, str(tmp_path), {}) == discovery.DEFAULT_SERVER


def test_path_segments_are_encoded_so_a_name_never_adds_a_level() -> None:
    assert path("containerLogs", "default", "web node", "a/b") == (
        "/containerLogs/default/web%20node/a%2Fb"
    )


def test_a_server_that_does_not_answer_in_time_is_reported(server: Server) -> None:
    server.serve("/pods", Reply(body=b"{}", delay_before_headers=1.0))

    with pytest.raises(ClientError) as error:
        Api(server.url(""), timeout=0.1).get_json("/pods")

    assert str(error.value) == (
        f"no answer from {server.url('')} within 0.1s: is `fastpod run` running? "
        "Say where with --server URL or FASTPOD_SERVER"
    )


def test_nothing_listening_is_connection_refused() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ClientError, match=r"\(connection refused\)"):
        Api(url).get_json("/pods")


@pytest.mark.parametrize("url", ["ftp://127.0.0.1:21", "127.0.0.1:10255", "http://"])
def test_a_server_url_that_is_not_http_is_refused(url: str) -> None:
    with pytest.raises(ClientError, match="not an http:// or https:// URL"):
        Api(url)


def test_a_base_path_in_the_server_url_is_kept(server: Server) -> None:
    server.serve("/prefix/pods", Reply(body=b'{"items": []}'))

    assert Api(server.url("/prefix/")).get_json("/pods") == {"items": []}


def test_a_port_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(ClientError, match="not a valid port"):
        Api("http://127.0.0.1:http")


def test_a_server_that_does_not_speak_http_is_reported() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        def greet() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        greeter = threading.Thread(target=greet)
        greeter.start()
        with pytest.raises(ClientError) as error:
            Api(url).get_json("/pods")
        greeter.join()

    assert str(error.value).startswith(f"no fastpod answers at {url} (not an HTTP server): ")
