"""httpGet probes, as the kubelet's pkg/probe/http (v1.32).

One GET per probe on a fresh connection (the kubelet's transport disables keep-alives), TLS
without certificate verification, no proxy, no compression. 200-399 succeeds; a redirect to
the same host is followed (up to 10 requests in all), a redirect elsewhere is not, and its
3xx is a success with a warning. At most 10 KiB of the body is read.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from contextvars import ContextVar
from typing import Any

import aiohttp
import msgspec
from multidict import CIMultiDict
from yarl import URL

from fastpod.model import HTTPGetAction
from fastpod.probes.netns import NamespaceError, NetworkNamespace, new_socket
from fastpod.probes.result import ProbeResult
from fastpod.probes.tcp import dial_error, join_host_port

USER_AGENT = "kube-probe/1.32"
MAX_BODY_BYTES = 10 * 1024
MAX_REQUESTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

_namespace: ContextVar[NetworkNamespace | None] = ContextVar("probe_namespace", default=None)


class HttpProbeRequest(msgspec.Struct, frozen=True):
    """The GET a probe sends: its URL and headers (the kubelet's NewRequestForHTTPGetAction)."""

    url: str
    headers: list[tuple[str, str]]


def http_probe_request(action: HTTPGetAction, port: int, pod_ip: str) -> HttpProbeRequest:
    """The request for ``action`` on ``port`` (already resolved), ``host`` defaulting to the pod IP.

    A header named in ``httpHeaders`` replaces the default: ``User-Agent`` (kube-probe/1.32),
    ``Accept`` (``*/*``; given empty, none is sent) and ``Host``.
    """
    scheme = (action.scheme or "http").lower()
    path = action.path or ""
    if path and not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{join_host_port(action.host or pod_ip, port)}{path}"
    given = [(h.name or "", h.value or "") for h in action.http_headers or ()]
    names = {name.lower() for name, _ in given}
    headers = [(name, value) for name, value in given if name.lower() != "accept" or value]
    if "user-agent" not in names:
        headers.append(("User-Agent", USER_AGENT))
    if "accept" not in names:
        headers.append(("Accept", "*/*"))
    return HttpProbeRequest(url, headers)


def _create_socket(address: tuple[Any, ...]) -> socket.socket:
    family, kind, proto, _, _ = address
    return new_socket(_namespace.get(), family, kind, proto)


class HttpProber:
    """The process's HTTP probe client: one session, its sockets made where each probe says.

    Made in the event loop that runs the probes; :meth:`close` when the process stops.
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            tls = ssl.create_default_context()
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
            connector = aiohttp.TCPConnector(
                ssl=tls, force_close=True, limit=0, socket_factory=_create_socket
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def close(self) -> None:
        """Close the session (no connection outlives its probe, so nothing is cut)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def probe(
        self,
        request: HttpProbeRequest,
        timeout: float,
        namespace: NetworkNamespace | None = None,
    ) -> ProbeResult:
        """GET ``request`` within ``timeout`` seconds, from ``namespace`` when given."""
        token = _namespace.set(namespace)
        try:
            return await self._probe(request, timeout)
        finally:
            _namespace.reset(token)

    async def _probe(self, request: HttpProbeRequest, timeout: float) -> ProbeResult:
        try:
            url = URL(request.url)
        except ValueError as error:
            return ProbeResult("unknown", f"parse {request.url!r}: {error}")
        first_host = url.host
        headers = CIMultiDict(request.headers)
        host_header = headers.popall("Host", [""])[0]
        location = request.url
        judging = False
        session = self._client()
        try:
            async with asyncio.timeout(timeout):
                for sent in range(1, MAX_REQUESTS + 1):
                    sending = CIMultiDict(headers)
                    if host_header:
                        sending["Host"] = host_header
                    async with session.get(url, headers=sending, allow_redirects=False) as response:
                        location = response.headers.get("Location", "")
                        if response.status not in REDIRECT_STATUSES or not location:
                            judging = True
                            return await _judge(response)
                        try:
                            target = URL(location)
                            following = url.join(target)
                        except ValueError as error:
                            return ProbeResult(
                                "failure",
                                f'Get "{location}": failed to parse Location header '
                                f'"{location}": {error}',
                            )
                        if following.host != first_host:
                            judging = True
                            return await _judge(response)
                        if sent == MAX_REQUESTS:
                            return ProbeResult(
                                "failure", f'Get "{location}": stopped after 10 redirects'
                            )
                        if target.is_absolute():
                            host_header = ""
                        url = following
                        location = str(url)
        except TimeoutError:
            if judging:
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
        except aiohttp.ClientConnectorDNSError:
            return ProbeResult(
                "failure", f'Get "{location}": dial tcp: lookup {url.host}: no such host'
            )
        except aiohttp.ClientConnectorError as error:
            address = join_host_port(error.host, error.port or 0)
            return ProbeResult(
                "failure", f'Get "{location}": {dial_error(address, error.os_error)}'
            )
        except aiohttp.ServerDisconnectedError:
            return ProbeResult("failure", f'Get "{location}": EOF')
        except (aiohttp.ClientError, OSError) as error:
            return ProbeResult("failure", f'Get "{location}": {error}')
        raise AssertionError("unreachable: the loop returns")


async def _judge(response: aiohttp.ClientResponse) -> ProbeResult:
    """The probe's result from its last response: the status, then up to 10 KiB of body."""
    try:
        body = await _read_capped(response)
    except aiohttp.ClientError as error:
        return ProbeResult("unknown", str(error))
    status = response.status
    if 200 <= status < 300:
        return ProbeResult("success", body)
    if 300 <= status < 400:
        return ProbeResult(
            "success", f"Probe terminated redirects, Response body: {body}", warning=True
        )
    return ProbeResult("failure", f"HTTP probe failed with statuscode: {status}")


async def _read_capped(response: aiohttp.ClientResponse) -> str:
    chunks: list[bytes] = []
    size = 0
    while size < MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
