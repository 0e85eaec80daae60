"""PURE: the kubelet's client rate limit, ``kubeAPIQPS`` and ``kubeAPIBurst``.

client-go's ``flowcontrol.NewTokenBucketRateLimiter(qps, burst)``: a bucket of ``burst``
tokens, full at start, refilled at ``qps`` a second; each request takes one, waiting for it
when the bucket is empty. A QPS of 0 is client-go's default (``rest.DefaultQPS``, 5).
"""

from __future__ import annotations

DEFAULT_QPS = 5.0
"""client-go's ``DefaultQPS``, used when ``kubeAPIQPS`` is 0."""


class TokenBucket:
    """Requests may go ``burst`` at once, then ``qps`` a second; times are the caller's."""

    def __init__(self, qps: float, burst: int, now: float) -> None:
        self.qps = qps if qps > 0 else DEFAULT_QPS
        self.burst = max(burst, 1)
        self._tokens = float(self.burst)
        self._updated = now

    def try_take(self, now: float) -> bool:
        """Take a token for ``now`` if one is there (client-go's ``TryAccept``): False, and
        nothing taken, when the bucket is empty."""
        self._refill(now)
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def reserve(self, now: float) -> float:
        """Take a token for a request made at ``now``: the seconds it must wait first
        (0 when a token was there). Waits queue: each reservation takes the next token."""
        self._refill(now)
        self._tokens -= 1
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.qps

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + max(now - self._updated, 0.0) * self.qps)
        self._updated = max(now, self._updated)
