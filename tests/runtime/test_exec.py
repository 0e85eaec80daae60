"""A command run in a container through fastpod's own adapters, on real Docker and real
containerd: how it ended, its output as the kubelet keeps it, its timeout, and its errors.

Each test starts one pod with the adapter (``DockerRuntime`` or ``CriRuntime``) against the
engine, then runs ``exec_sync`` in its container; the engine fixture removes what is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from fastpod.runtime.base import (
    MAX_EXEC_OUTPUT,
    ExecTimeout,
    Runtime,
    RuntimeCallError,
    combined_output,
)
from tests.support.engines import Engine, start_pod

Scenario = Callable[[Runtime, str], Awaitable[None]]


@pytest.mark.parametrize(
    ("stdout", "stderr", "kept"),
    [
        (b"out", b"err", b"outerr"),
        (b"o" * MAX_EXEC_OUTPUT, b"err", b"o" * MAX_EXEC_OUTPUT),
        (b"o" * (MAX_EXEC_OUTPUT + 5), b"", b"o" * MAX_EXEC_OUTPUT),
        (b"o" * 10, b"e" * MAX_EXEC_OUTPUT, b"o" * 10 + b"e" * (MAX_EXEC_OUTPUT - 10)),
    ],
)
def test_the_output_kept_is_stdout_then_stderr_up_to_10_KiB(
    stdout: bytes, stderr: bytes, kept: bytes
) -> None:
    assert combined_output(stdout, stderr) == kept


def test_a_timeout_names_the_command_as_the_kubelet_does() -> None:
    error = ExecTimeout(["sh", "-c", 'echo "hi"'], 1.0)
    assert str(error) == 'command "sh -c echo \\"hi\\"" timed out after 1s'
    assert isinstance(error, RuntimeCallError)


def in_a_running_container(engine: Engine, tmp_path: Path, scenario: Scenario) -> None:
    """Start a busybox pod (``sleep 3600``) through the adapter; run ``scenario`` with the
    adapter and its container's id."""

    async def main() -> None:
        runtime = engine.adapter(str(tmp_path / "logs"))
        try:
            _, _, container_id = await start_pod(runtime, tmp_path, "exec")
            await scenario(runtime, container_id)
        finally:
            await runtime.close()

    asyncio.run(main())


def test_a_command_that_succeeds_gives_exit_code_0_and_stdout_then_stderr(
    engine: Engine, tmp_path: Path
) -> None:
    async def scenario(runtime: Runtime, container_id: str) -> None:
        command = ["sh", "-c", "echo err >&2; echo out"]
        result = await runtime.exec_sync(container_id, command, timeout=10)
        assert result.exit_code == 0
        assert result.output == b"out\nerr\n", "stdout first, as the kubelet joins them"

    in_a_running_container(engine, tmp_path, scenario)


def test_a_command_that_fails_gives_its_exit_code_and_output(
    engine: Engine, tmp_path: Path
) -> None:
    async def scenario(runtime: Runtime, container_id: str) -> None:
        result = await runtime.exec_sync(container_id, ["sh", "-c", "echo no >&2; exit 3"], 10)
        assert (result.exit_code, result.output) == (3, b"no\n")
        hook = await runtime.exec_sync(container_id, ["false"], timeout=0)
        assert hook.exit_code == 1, "no timeout at all, as for a lifecycle hook"

    in_a_running_container(engine, tmp_path, scenario)


def test_the_output_is_cut_to_the_kubelets_10_KiB(engine: Engine, tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, container_id: str) -> None:
        much = "head -c 50000 /dev/zero | tr '\\0' a; head -c 50000 /dev/zero | tr '\\0' b >&2"
        result = await runtime.exec_sync(container_id, ["sh", "-c", much], 10)
        assert result.exit_code == 0, "the command is not blocked by what is dropped"
        assert result.output == b"a" * MAX_EXEC_OUTPUT
        some = "head -c 3000 /dev/zero | tr '\\0' a; head -c 50000 /dev/zero | tr '\\0' b >&2"
        result = await runtime.exec_sync(container_id, ["sh", "-c", some], 10)
        assert result.output == b"a" * 3000 + b"b" * (MAX_EXEC_OUTPUT - 3000)

    in_a_running_container(engine, tmp_path, scenario)


def test_a_command_that_outlives_its_timeout_is_reported_as_timed_out(
    engine: Engine, tmp_path: Path
) -> None:
    async def scenario(runtime: Runtime, container_id: str) -> None:
        with pytest.raises(ExecTimeout, match='command "sleep 5" timed out'):
            await runtime.exec_sync(container_id, ["sleep", "5"], timeout=1)
        after = await runtime.exec_sync(container_id, ["true"], timeout=10)
        assert after.exit_code == 0, "the container still answers"

    in_a_running_container(engine, tmp_path, scenario)


def test_a_missing_or_stopped_container_is_a_clear_error(engine: Engine, tmp_path: Path) -> None:
    async def scenario(runtime: Runtime, container_id: str) -> None:
        missing = "0" * 64
        with pytest.raises(RuntimeCallError, match=missing) as raised:
            await runtime.exec_sync(missing, ["true"], timeout=10)
        assert not isinstance(raised.value, ExecTimeout)
        await runtime.stop_container(container_id, 0)
        with pytest.raises(RuntimeCallError, match=container_id) as raised:
            await runtime.exec_sync(container_id, ["true"], timeout=10)
        assert not isinstance(raised.value, ExecTimeout)

    in_a_running_container(engine, tmp_path, scenario)
