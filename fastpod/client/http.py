"""Finding a running fastpod's API and calling it, with one-line errors for the user.

The standard library's ``http.client`` (what ``urllib.request`` runs on) keeps the CLI quick
to start, and lets a followed log wait for output as long as it takes while every other
wait is bounded by a timeout.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import msgspec

from fastpod.api import discovery

SERVER_ENV = "FASTPOD_SERVER"
TIMEOUT = 10.0
"""Seconds to connect and for each read of an answer (a followed log waits forever)."""

_HINT = "is `fastpod run` running? Say where with --server URL or FASTPOD_SERVER"
_CHUNK = 64 * 1024


class ClientError(Exception):
    """A failure to tell the user in one line, without a traceback (exit status 1)."""


def server_url(flag: str | None, root_dir: str, environ: Mapping[str, str]) -> str:
    """The API's base URL: ``--server``, else FASTPOD_SERVER, else the daemon's record."""
    if flag:
        return flag
    if environ.get(SERVER_ENV):
        return environ[SERVER_ENV]
    record = discovery.read_record(root_dir)
    return record.url if record is not None else discovery.DEFAULT_SERVER


def path(*segments: str) -> str:
    """An API path from its segments, each percent-encoded (a name never adds a level)."""
    return "".join("/" + quote(segment, safe="") for segment in segments)


class Api:
    """One fastpod API, at ``base_url``: GETs answered 200, or a :class:`ClientError`."""

    def __init__(self, base_url: str, timeout: float = TIMEOUT) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(f"not an http:// or https:// URL: {base_url!r}")
        try:
            self._port = parts.port
        except ValueError:
            raise ClientError(f"not a valid port in {base_url!r}") from None
        self.base_url = base_url.rstrip("/")
        self._parts = parts
        self._timeout = timeout

    def get_json(self, api_path: str) -> Any:
        """The decoded JSON answer to ``GET api_path``."""
        url = self.base_url + api_path
        body = b"".join(self.stream(api_path))
        try:
            return msgspec.json.decode(body)
        except msgspec.DecodeError as error:
            raise ClientError(f"{url} did not answer with JSON ({error})") from None

    def stream(
        self, api_path: str, query: Mapping[str, str] | None = None, *, follow: bool = False
    ) -> Iterator[bytes]:
        """The body of ``GET api_path?query``, chunk by chunk as it arrives.

        With ``follow`` the body may pause for as long as it likes (a followed log);
        otherwise every pause is bounded by the timeout.
        """
        target = self._parts.path.rstrip("/") + api_path
        if query:
            target += "?" + urlencode(query)
        url = self.base_url + api_path
        connection = self._connection()
        try:
            try:
                connection.request("GET", target, headers={"Accept": "application/json, */*"})
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                raise self._unreachable(error) from None
            if response.status != 200:
                raise ClientError(_refusal(response, url))
            if follow and connection.sock is not None:
                connection.sock.settimeout(None)
            while True:
                try:
                    chunk = response.read1(_CHUNK)
                except (OSError, http.client.HTTPException) as error:
                    raise ClientError(f"{url}: the answer broke off ({_reason(error)})") from None
                if not chunk:
                    return
                yield chunk
        finally:
            connection.close()

    def _connection(self) -> http.client.HTTPConnection:
        parts = self._parts
        kind = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        return kind(parts.hostname or "", self._port, timeout=self._timeout)

    def _unreachable(self, error: OSError | http.client.HTTPException) -> ClientError:
        if isinstance(error, TimeoutError):
            return ClientError(f"no answer from {self.base_url} within {self._timeout:g}s: {_HINT}")
        return ClientError(f"no fastpod answers at {self.base_url} ({_reason(error)}): {_HINT}")


def _refusal(response: http.client.HTTPResponse, url: str) -> str:
    """The server's own message for a non-200 answer, on one line."""
    try:
        text = response.read(4096).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        text = ""
    message = " ".join(text.split())
    status = f"HTTP {response.status} {response.reason}".rstrip()
    return f"{message} ({status})" if message else f"{url} answered {status}"


def _reason(error: BaseException) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, http.client.RemoteDisconnected):
        return "closed without an answer"
    if isinstance(error, http.client.BadStatusLine):
        return "not an HTTP server"
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host: {error.strerror or error}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__
