"""How long a CRI call may take, and what its failure means to fastpod."""

from __future__ import annotations

from typing import Any

import grpc

from fastpod.runtime.base import RuntimeCallError, RuntimeUnavailable

CALL_TIMEOUT = 120.0
"""Seconds one call may take (the kubelet's ``runtimeRequestTimeout``, 2 minutes)."""


def unreachable(error: grpc.aio.AioRpcError) -> bool:
    """Whether the runtime did not answer at all (not running, its socket gone)."""
    return error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def call_error(call: str, error: grpc.aio.AioRpcError) -> RuntimeCallError:
    """The failed ``call`` as fastpod's runtime error, naming the call and the status."""
    message = f"{call}: {error.code().name}: {error.details()}"
    if unreachable(error):
        return RuntimeUnavailable(f"{message} (is the CRI runtime running?)")
    return RuntimeCallError(message)


async def call(name: str, method: Any, request: Any) -> Any:
    """``method(request)`` within :data:`CALL_TIMEOUT`, its failure as :func:`call_error`
    (the generated stubs carry no types)."""
    try:
        return await method(request, timeout=CALL_TIMEOUT)
    except grpc.aio.AioRpcError as error:
        raise call_error(name, error) from None
