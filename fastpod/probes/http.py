"""httpGet probes, as the kubelet's pkg/probe/http (v1.32).

One GET per probe on a fresh connection (the kubelet's transport disables keep-alives), TLS
without certificate verification, no proxy, no compression. 200-399 succeeds; a redirect to
the same host is followed (up to 10 requests in all), a redirect elsewhere is not, and its
3xx is a success with a warning. At most 10 KiB of the body is read.

The exchange is plain HTTP/1.1 on an asyncio protocol: a probe is one request on one
connection that the response ends, and a general client (aiohttp) cost three times the
socket work, asyncio's streams a quarter more than the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import ssl
from typing import cast

import msgspec
from yarl import URL

from fastpod.model import HTTPGetAction
from fastpod.probes.netns import NamespaceError, NetworkNamespace, new_socket
from fastpod.probes.result import ProbeResult
from fastpod.probes.tcp import dial_error, join_host_port, resolve

USER_AGENT = "kube-probe/1.32"
HOOK_USER_AGENT = "kube-lifecycle/1.32"
MAX_BODY_BYTES = 10 * 1024
MAX_HEADER_BYTES = 1 << 20
MAX_REQUESTS = 10
MAX_INTERIM_RESPONSES = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class HttpProbeRequest(msgspec.Struct, frozen=True):
    """The GET a probe sends: its URL and headers (the kubelet's NewRequestForHTTPGetAction)."""

    url: str
    headers: list[tuple[str, str]]


def canonical_header_name(name: str) -> str:
    """``name`` as Go's http.Header stores it: ``user-agent`` → ``User-Agent``."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def http_probe_request(
    action: HTTPGetAction, port: int, pod_ip: str, user_agent: str = USER_AGENT
) -> HttpProbeRequest:
    """The request for ``action`` on ``port`` (already resolved), ``host`` defaulting to the pod IP.

    A header named in ``httpHeaders`` replaces the default: ``User-Agent`` (``kube-probe/1.32``
    for a probe, ``kube-lifecycle/1.32`` for a hook), ``Accept`` (``*/*``; given empty, none
    is sent) and ``Host``.
    """
    scheme = (action.scheme or "http").lower()
    path = action.path or ""
    if path and not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{join_host_port(action.host or pod_ip, port)}{path}"
    given = [
        (canonical_header_name(h.name or ""), h.value or "") for h in action.http_headers or ()
    ]
    names = {name for name, _ in given}
    headers = [(name, value) for name, value in given if name != "Accept" or value]
    if "User-Agent" not in names:
        headers.append(("User-Agent", user_agent))
    if "Accept" not in names:
        headers.append(("Accept", "*/*"))
    return HttpProbeRequest(url, headers)


class _Broken(Exception):
    """The connection broke or the server spoke no HTTP; the text is Go's error text."""


class _BodyError(Exception):
    """The response's body could not be read; the kubelet calls the probe errored."""


_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """TLS that verifies nothing (the kubelet's InsecureSkipVerify), made once per process."""
    global _tls
    if _tls is None:
        _tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        _tls.check_hostname = False
        _tls.verify_mode = ssl.CERT_NONE
        _tls.minimum_version = ssl.TLSVersion.TLSv1_2
        _tls.set_alpn_protocols(["http/1.1"])
    return _tls


async def probe_http(
    request: HttpProbeRequest,
    timeout: float | None,
    namespace: NetworkNamespace | None = None,
    *,
    any_status: bool = False,
) -> ProbeResult:
    """GET ``request`` within ``timeout`` seconds (None: no limit), from ``namespace`` when
    given. With ``any_status`` every response succeeds and its body is not read: a lifecycle
    hook fails only when no response comes (the kubelet's ``runHTTPHandler``)."""
    return await HttpProbe(request).run(timeout, namespace, any_status=any_status)


class HttpProbe:
    """An httpGet probe ready to run every period: its URL parsed, its headers checked and
    its first request written once, not at each run."""

    __slots__ = ("_first", "_headers", "_host_header", "_problem", "_url", "request")

    def __init__(self, request: HttpProbeRequest) -> None:
        self.request = request
        self._url = URL()
        self._problem: ProbeResult | None = None
        """Why the request cannot be sent at all."""
        try:
            self._url = URL(request.url)
        except ValueError as error:
            self._problem = ProbeResult("unknown", f"parse {request.url!r}: {error}")
        invalid = _invalid_header(request.headers)
        if invalid and self._problem is None:
            self._problem = ProbeResult("failure", f'Get "{request.url}": {invalid}')
        self._host_header = next((v for n, v in request.headers if n == "Host"), "")
        self._headers = [(n, v) for n, v in request.headers if n != "Host"]
        self._first = b""
        if self._problem is None:
            self._first = _request_bytes(self._url, self._host_header, self._headers)

    async def run(
        self,
        timeout: float | None,
        namespace: NetworkNamespace | None = None,
        *,
        any_status: bool = False,
    ) -> ProbeResult:
        """GET the request within ``timeout`` seconds, from ``namespace`` when given, as
        :func:`probe_http` does."""
        if self._problem is not None:
            return self._problem
        url = first = self._url
        host_header = self._host_header
        location = self.request.url
        reading_body = False
        try:
            async with asyncio.timeout(timeout):
                for sent in range(1, MAX_REQUESTS + 1):
                    message = (
                        self._first
                        if url is first
                        else _request_bytes(url, host_header, self._headers)
                    )
                    transport, exchange = await _connect(url, namespace, message)
                    try:
                        status, fields = await exchange.head()
                        redirect = fields.get("location", "")
                        if status in REDIRECT_STATUSES and redirect:
                            try:
                                target = URL(redirect)
                                following = url.join(target)
                            except ValueError as error:
                                return ProbeResult(
                                    "failure",
                                    f'Get "{redirect}": failed to parse Location header'
                                    f' "{redirect}": {error}',
                                )
                            if following.host == first.host:
                                if sent == MAX_REQUESTS:
                                    return ProbeResult(
                                        "failure", f'Get "{redirect}": stopped after 10 redirects'
                                    )
                                if target.is_absolute():
                                    host_header = ""
                                url = following
                                location = str(url)
                                continue
                        if any_status:
                            return ProbeResult("success", "")
                        reading_body = True
                        return _judge(status, await exchange.body())
                    finally:
                        transport.close()
        except TimeoutError:
            if reading_body:
                return ProbeResult(
                    "unknown",
                    "context deadline exceeded"
                    " (Client.Timeout or context cancellation while reading body)",
                )
            return ProbeResult(
                "failure",
                f'Get "{location}": context deadline exceeded'
                " (Client.Timeout exceeded while awaiting headers)",
            )
        except NamespaceError as error:
            return ProbeResult("unknown", str(error))
        except _BodyError as error:
            return ProbeResult("unknown", str(error))
        except _Broken as error:
            return ProbeResult("failure", f'Get "{location}": {error}')
        raise AssertionError("unreachable: the loop returns")


def _invalid_header(headers: list[tuple[str, str]]) -> str:
    """Go's complaint about a header it will not send (a name or value that breaks lines)."""
    for name, value in headers:
        if not name or any(c in name for c in " \t\r\n:"):
            return f'net/http: invalid header field name "{name}"'
        if "\r" in value or "\n" in value:
            return f'net/http: invalid header field value for "{name}"'
    return ""


def _judge(status: int, body: str) -> ProbeResult:
    """The probe's result from its last response (pkg/probe/http DoHTTPProbe)."""
    if 200 <= status < 300:
        return ProbeResult("success", body)
    if 300 <= status < 400:
        return ProbeResult(
            "success", f"Probe terminated redirects, Response body: {body}", warning=True
        )
    return ProbeResult("failure", f"HTTP probe failed with statuscode: {status}")


async def _connect(
    url: URL, namespace: NetworkNamespace | None, request: bytes
) -> tuple[asyncio.BaseTransport, _Exchange]:
    """A new connection to ``url``'s host, made from ``namespace``, sending ``request``.

    An address on the node's own network (no namespace) is connected by the event loop
    itself, in one call; a name is looked up first, and a socket for a namespace is made
    there and then connected.
    """
    host = url.host or ""
    port = url.port or 0
    loop = asyncio.get_running_loop()
    tls = _tls_context() if url.scheme == "https" else None
    literal = _is_ip(host)
    server_hostname = None if tls is None else "" if literal else host
    try:
        if namespace is None and literal:
            return await loop.create_connection(
                lambda: _Exchange(request), host, port, ssl=tls, server_hostname=server_hostname
            )
        try:
            family, sockaddr = await resolve(host, port)
        except OSError:
            raise _Broken(f"dial tcp: lookup {host}: no such host") from None
        connection = new_socket(namespace, family)
        try:
            await loop.sock_connect(connection, sockaddr)
            return await loop.create_connection(
                lambda: _Exchange(request),
                sock=connection,
                ssl=tls,
                server_hostname=server_hostname,
            )
        except BaseException:
            connection.close()
            raise
    except ssl.SSLError as error:
        raise _Broken(str(error)) from None
    except OSError as error:
        raise _Broken(dial_error(join_host_port(host, port), error)) from None


def _request_bytes(url: URL, host_header: str, headers: list[tuple[str, str]]) -> bytes:
    """The GET request, closing the connection after the response as the kubelet's does."""
    host = host_header or join_host_port(url.host or "", url.port or 0)
    lines = [f"GET {url.raw_path_qs or '/'} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1", "replace")


@functools.lru_cache(maxsize=1024)
def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


Head = tuple[int, dict[str, str]]
"""The final response's status and header fields (first value of each, names lowered)."""


class _Exchange(asyncio.Protocol):
    """One request on its own connection, and its response parsed as it arrives.

    A protocol rather than asyncio's streams: a probe reads one small response, and the
    streams' buffering and waiters cost more than the parsing. The response is parsed as
    Go's client would: at most five 1xx responses skipped, a head of at most 1 MiB, then up
    to 10 KiB of the body framed by chunks, a length, or the end of the connection.
    """

    def __init__(self, request: bytes) -> None:
        self._request = request
        loop = asyncio.get_running_loop()
        self._head: asyncio.Future[Head | _Broken] = loop.create_future()
        self._body: asyncio.Future[bytes | _BodyError] = loop.create_future()
        self._buffer = b""
        """Received and not yet parsed."""
        self._interim = 0
        self._framing = ""
        """How the body ends: ``chunked``, ``length`` or ``eof``; empty while in the head."""
        self._length = 0
        """``length``: the body's bytes to read; ``chunked``: what is left of this chunk to
        read, or what comes next (``_SIZE_NEXT``, ``_CRLF_NEXT``)."""
        self._received = bytearray()

    async def head(self) -> Head:
        """The final response's status and fields; ``_Broken`` if it did not come."""
        head = await self._head
        if isinstance(head, _Broken):
            raise head
        return head

    async def body(self) -> str:
        """Up to 10 KiB of the body, decoded; ``_BodyError`` if it could not be read."""
        body = await self._body
        if isinstance(body, _BodyError):
            raise body
        return body.decode("utf-8", "replace")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        cast(asyncio.WriteTransport, transport).write(self._request)

    def data_received(self, data: bytes) -> None:
        if self._body.done() or (self._head.done() and not self._framing):
            return  # read in full, or broken
        self._buffer += data
        if self._framing or self._parse_head():
            self._parse_body()

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    def _ended(self, error: Exception | None) -> None:
        """The connection ended (``error`` None: the server closed it) before the response
        was read in full."""
        if not self._head.done():
            if error is not None:
                self._head.set_result(_Broken(str(error) or "EOF"))
            else:
                self._head.set_result(_Broken("unexpected EOF" if self._buffer else "EOF"))
        elif self._framing and not self._body.done():
            if error is not None:
                self._body.set_result(_BodyError(str(error)))
            elif self._framing == "eof":
                self._body.set_result(bytes(self._received))
            else:
                self._body.set_result(_BodyError("unexpected EOF"))

    def _parse_head(self) -> bool:
        """Take the final response's head from the buffer once it is all in: whether it is."""
        while True:
            end, after = _head_end(self._buffer)
            if end == -1 and len(self._buffer) <= MAX_HEADER_BYTES:
                return False
            if end == -1 or end > MAX_HEADER_BYTES:
                return self._broken(
                    f"net/http: server response headers exceeded {MAX_HEADER_BYTES} bytes; aborted"
                )
            head, self._buffer = self._buffer[:end], self._buffer[after:]
            status_line, *field_lines = (
                line.removesuffix("\r") for line in head.decode("latin-1").split("\n")
            )
            parts = status_line.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                return self._broken(
                    "net/http: HTTP/1.x transport connection broken:"
                    f' malformed HTTP response "{status_line}"'
                )
            status = int(parts[1])
            if 100 <= status < 200 and status != 101:
                self._interim += 1
                if self._interim > MAX_INTERIM_RESPONSES:
                    return self._broken("net/http: too many 1xx informational responses")
                continue
            fields: dict[str, str] = {}
            for line in field_lines:
                name, colon, value = line.partition(":")
                if colon:
                    fields.setdefault(name.strip().lower(), value.strip())
            self._head.set_result((status, fields))
            self._frame(fields)
            return True

    def _broken(self, text: str) -> bool:
        self._head.set_result(_Broken(text))
        return False

    def _frame(self, fields: dict[str, str]) -> None:
        """How the body of the response with ``fields`` ends."""
        if "chunked" in fields.get("transfer-encoding", "").lower():
            self._framing, self._length = "chunked", _SIZE_NEXT
        elif "content-length" in fields:
            try:
                length = int(fields["content-length"])
            except ValueError:
                length = -1
            if length < 0:
                self._framing = "broken"
                self._body.set_result(_BodyError("net/http: malformed response body framing"))
            else:
                self._framing, self._length = "length", min(length, MAX_BODY_BYTES)
        else:
            self._framing = "eof"

    def _parse_body(self) -> None:
        """Move what the buffer holds of the body into it; resolve ``body`` at its end."""
        if self._body.done():
            return
        if self._framing == "length":
            self._received += self._buffer[: self._length - len(self._received)]
            self._buffer = b""
            if len(self._received) >= self._length:
                self._body.set_result(bytes(self._received))
        elif self._framing == "eof":
            self._received += self._buffer[: MAX_BODY_BYTES - len(self._received)]
            self._buffer = b""
            if len(self._received) >= MAX_BODY_BYTES:
                self._body.set_result(bytes(self._received))
        else:
            self._parse_chunks()

    def _parse_chunks(self) -> None:
        while True:
            if self._length == _SIZE_NEXT:
                end = self._buffer.find(b"\r\n")
                if end == -1 and len(self._buffer) - 1 <= MAX_HEADER_BYTES:
                    return
                size = -1
                if 0 <= end <= MAX_HEADER_BYTES:
                    line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
                    with contextlib.suppress(ValueError):
                        size = int(line.split(b";", 1)[0].strip(), 16)
                if size < 0:
                    self._body.set_result(_BodyError("net/http: malformed response body framing"))
                    return
                if size == 0:
                    self._body.set_result(bytes(self._received))
                    return
                self._length = min(size, MAX_BODY_BYTES - len(self._received))
            elif self._length == _CRLF_NEXT:
                if len(self._buffer) < 2:
                    return
                self._buffer = self._buffer[2:]
                self._length = _SIZE_NEXT
            else:
                taken = self._buffer[: self._length]
                self._buffer = self._buffer[len(taken) :]
                self._received += taken
                self._length -= len(taken)
                if self._length:
                    return
                if len(self._received) >= MAX_BODY_BYTES:
                    self._body.set_result(bytes(self._received))
                    return
                self._length = _CRLF_NEXT


def _head_end(buffer: bytes) -> tuple[int, int]:
    """Where the response head in ``buffer`` ends (before its last line's LF) and where what
    follows it starts; (-1, -1) while it is not all in. Lines may end in a bare LF, as Go's
    reader allows (busybox httpd passes a CGI script's headers so)."""
    bare = buffer.find(b"\n\n")
    crlf = buffer.find(b"\n\r\n")
    if crlf != -1 and (bare == -1 or crlf < bare):
        return crlf, crlf + 3
    if bare != -1:
        return bare, bare + 2
    return -1, -1


_SIZE_NEXT = -1
"""A chunked body's state: a chunk's size line comes next."""
_CRLF_NEXT = -2
"""A chunked body's state: the CRLF that closes a chunk comes next."""
