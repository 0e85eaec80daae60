"""httpGet probes, as the kubelet's pkg/probe/http (v1.32).

One GET per probe on a fresh connection (the kubelet's transport disables keep-alives), TLS
without certificate verification, no proxy, no compression. 200-399 succeeds; a redirect to
the same host is followed (up to 10 requests in all), a redirect elsewhere is not, and its
3xx is a success with a warning. At most 10 KiB of the body is read.

The exchange is plain HTTP/1.1 on asyncio streams: a probe is one request on one connection
that the response ends, and a general client (aiohttp) cost three times the socket work.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
from collections.abc import AsyncIterator

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
    try:
        url = URL(request.url)
    except ValueError as error:
        return ProbeResult("unknown", f"parse {request.url!r}: {error}")
    invalid = _invalid_header(request.headers)
    if invalid:
        return ProbeResult("failure", f'Get "{request.url}": {invalid}')
    first_host = url.host
    host_header = next((v for n, v in request.headers if n == "Host"), "")
    headers = [(n, v) for n, v in request.headers if n != "Host"]
    location = request.url
    reading_body = False
    try:
        async with asyncio.timeout(timeout):
            for sent in range(1, MAX_REQUESTS + 1):
                async with _connection(url, namespace) as (reader, writer):
                    writer.write(_request_bytes(url, host_header, headers))
                    status, fields = await _read_head(reader)
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
                        if following.host == first_host:
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
                    return _judge(status, await _read_body(reader, fields))
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


@contextlib.asynccontextmanager
async def _connection(
    url: URL, namespace: NetworkNamespace | None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A new connection to ``url``'s host, made from ``namespace``, closed when done."""
    host = url.host or ""
    port = url.port or 0
    address = join_host_port(host, port)
    loop = asyncio.get_running_loop()
    try:
        family, sockaddr = await resolve(host, port)
    except OSError:
        raise _Broken(f"dial tcp: lookup {host}: no such host") from None
    connection = new_socket(namespace, family)
    try:
        await loop.sock_connect(connection, sockaddr)
        tls = _tls_context() if url.scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            sock=connection,
            ssl=tls,
            server_hostname=(None if tls is None else "" if _is_ip(host) else host),
            limit=MAX_HEADER_BYTES,
        )
    except ssl.SSLError as error:
        connection.close()
        raise _Broken(str(error)) from None
    except OSError as error:
        connection.close()
        raise _Broken(dial_error(address, error)) from None
    except BaseException:
        connection.close()
        raise
    try:
        yield reader, writer
    except (OSError, ssl.SSLError) as error:
        raise _Broken(str(error) or "EOF") from None
    finally:
        writer.close()


def _request_bytes(url: URL, host_header: str, headers: list[tuple[str, str]]) -> bytes:
    """The GET request, closing the connection after the response as the kubelet's does."""
    host = host_header or join_host_port(url.host or "", url.port or 0)
    lines = [f"GET {url.raw_path_qs or '/'} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1", "replace")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The final response's status and header fields (first value of each, names lowered)."""
    for _ in range(MAX_INTERIM_RESPONSES + 1):
        status_line, *field_lines = await _head_lines(reader)
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _Broken(
                "net/http: HTTP/1.x transport connection broken:"
                f' malformed HTTP response "{status_line}"'
            )
        status = int(parts[1])
        if 100 <= status < 200 and status != 101:
            continue
        fields: dict[str, str] = {}
        for line in field_lines:
            name, colon, value = line.partition(":")
            if colon:
                fields.setdefault(name.strip().lower(), value.strip())
        return status, fields
    raise _Broken("net/http: too many 1xx informational responses")


async def _head_lines(reader: asyncio.StreamReader) -> list[str]:
    """The lines of one response head, up to the empty line that ends it. Lines may end in
    a bare LF, as Go's reader allows (busybox httpd passes a CGI script's headers so)."""
    lines: list[str] = []
    size = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as error:
            raise _Broken("unexpected EOF" if lines or error.partial else "EOF") from None
        except asyncio.LimitOverrunError:
            line = b""
            size = MAX_HEADER_BYTES
        size += len(line)
        if size > MAX_HEADER_BYTES:
            raise _Broken(
                f"net/http: server response headers exceeded {MAX_HEADER_BYTES} bytes; aborted"
            )
        text = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        if not text and lines:
            return lines
        lines.append(text.decode("latin-1"))


async def _read_body(reader: asyncio.StreamReader, fields: dict[str, str]) -> str:
    """Up to 10 KiB of the body, framed by chunks, a length, or the end of the connection."""
    try:
        if "chunked" in fields.get("transfer-encoding", "").lower():
            body = await _read_chunks(reader)
        elif "content-length" in fields:
            length = int(fields["content-length"])
            body = await reader.readexactly(min(length, MAX_BODY_BYTES))
        else:
            body = await _read_to_end(reader)
    except asyncio.IncompleteReadError:
        raise _BodyError("unexpected EOF") from None
    except (ValueError, asyncio.LimitOverrunError):
        raise _BodyError("net/http: malformed response body framing") from None
    except OSError as error:
        raise _BodyError(str(error)) from None
    return body.decode("utf-8", "replace")


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while len(body) < MAX_BODY_BYTES:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            break
        body += await reader.readexactly(min(size, MAX_BODY_BYTES - len(body)))
        if len(body) < MAX_BODY_BYTES:
            await reader.readexactly(2)
    return bytes(body)


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while len(body) < MAX_BODY_BYTES and (chunk := await reader.read(MAX_BODY_BYTES - len(body))):
        body += chunk
    return bytes(body)
