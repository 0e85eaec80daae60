"""The manifest URL (the kubelet's ``--manifest-url``), polled as the kubelet polls it.

Each poll is one ``GET``. Only a 200 with a new body is passed on: an unchanged body needs no
work, and a failed poll leaves the URL's pods as they are rather than removing them. A URL that
stays down would log a line every poll, so, like the kubelet, only the start of a failure streak
is logged. The configured headers carry tokens and the URL may carry a password: neither value
is ever logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aiohttp

from fastpod import logs
from fastpod.logs import without_userinfo
from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.sources.files import digest_of

LOGGED_FAILURES = 3
"""Consecutive failures logged in full before the poller goes quiet, as the kubelet does."""

QUIET_NOTE = "further consecutive failures are not logged until the URL is reachable again"
"""Said with the last failure logged, so a silent log is not mistaken for a healthy URL."""


class _PollFailed(Exception):
    """A response that was received but cannot be used: wrong status or an oversize body."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(slots=True)
class FailureStreak:
    """Consecutive failed polls, deciding which to log so an unreachable URL cannot flood the log.

    The kubelet logs the first three failures of a streak, drops the rest to debug level and
    says so once; it logs the recovery when the streak ends.
    """

    failures: int = 0

    def failed(self) -> Literal["log", "log-and-go-quiet", "quiet"]:
        """Count one failure and say whether to log it, and whether it is the last one logged."""
        self.failures += 1
        if self.failures <= LOGGED_FAILURES:
            return "log"
        if self.failures == LOGGED_FAILURES + 1:
            return "log-and-go-quiet"
        return "quiet"

    def succeeded(self) -> int:
        """End the streak; the number of failures it had, so a recovery is logged only after one."""
        failures, self.failures = self.failures, 0
        return failures


class UrlSource:
    """The manifest URL: polled by :meth:`fetch`, which returns only what the workers must see.

    One HTTP session is kept for all polls (connections are reused) and is created on the first
    :meth:`fetch`, inside the running event loop; :meth:`close` ends it.
    """

    def __init__(
        self, url: str, headers: Sequence[tuple[str, str]] = (), timeout: float = 10.0
    ) -> None:
        # a URL's user:password is Basic authentication unless an Authorization header is
        # given: that header wins, as Go's http.Client sends it (aiohttp refuses both)
        given = any(name.lower() == "authorization" for name, _ in headers)
        self._url = without_userinfo(url) if given else url
        # a list of pairs, not a dict: a header name given twice is sent twice, in order
        self._headers = list(headers)
        self._timeout = timeout
        self._shown_url = without_userinfo(url)
        self._session: aiohttp.ClientSession | None = None
        self._last_digest: bytes | None = None
        self._streak = FailureStreak()

    async def fetch(self) -> bytes | None:
        """The body to send to the workers, or None when nothing changes.

        An empty body is returned as ``b""``: the URL now lists no pods. None means the body
        is the one returned last, or the poll failed (the kubelet keeps the URL's pods then).
        Never raises for a network, HTTP or URL failure; those are logged instead.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout)
            )
            logs.emit(
                "manifest URL polled",
                url=self._shown_url,
                headers=[name for name, _ in self._headers],
            )
        try:
            body = await self._get(self._session)
        except _PollFailed as failure:
            self._failed(failure.reason, failure.status)
            return None
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as error:
            self._failed(self._describe(error), None)
            return None
        failures = self._streak.succeeded()
        if failures:
            logs.emit("manifest URL reachable again", url=self._shown_url, failures=failures)
        digest = digest_of(body)
        if digest == self._last_digest:
            return None
        # remembered even if the workers reject the body: the kubelet does not retry a bad body
        self._last_digest = digest
        if not body:
            logs.emit(
                "manifest URL empty",
                level="warning",
                url=self._shown_url,
                reason="zero-length data received",
            )
        return body

    async def close(self) -> None:
        """End the HTTP session and its connections; a later :meth:`fetch` starts a new one."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, session: aiohttp.ClientSession) -> bytes:
        async with session.get(self._url, headers=self._headers) as response:
            if response.status != 200:
                raise _PollFailed(f"status {response.status} {response.reason}", response.status)
            body = bytearray()
            async for chunk in response.content.iter_any():
                body += chunk
                # stop reading at the limit: a huge (or endless) body must not fill memory
                if len(body) > MAX_MANIFEST_BYTES:
                    raise _PollFailed(
                        f"body is more than the {MAX_MANIFEST_BYTES} bytes (10 MiB) allowed",
                        response.status,
                    )
            return bytes(body)

    def _describe(self, error: BaseException) -> str:
        text = str(error)
        if isinstance(error, TimeoutError) and not text:
            return f"no complete response within {self._timeout:g} s"
        # aiohttp puts the URL, password included, into some of its messages
        return without_userinfo(f"{type(error).__name__}: {text}" if text else type(error).__name__)

    def _failed(self, reason: str, status: int | None) -> None:
        verdict = self._streak.failed()
        if verdict == "quiet":
            return
        logs.emit(
            "manifest URL failed",
            level="error",
            url=self._shown_url,
            error=reason,
            status=status,
            note=QUIET_NOTE if verdict == "log-and-go-quiet" else None,
        )
