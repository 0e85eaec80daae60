"""Process exits heard through pidfds: at once, once, and not after being forgotten."""

from __future__ import annotations

import asyncio
import subprocess

from fastpod.runtime.cri.exits import ExitWatch


def test_an_exit_is_reported_once_under_its_key() -> None:
    async def scenario() -> list[str]:
        exited: list[str] = []
        done = asyncio.Event()

        def on_exit(key: str) -> None:
            exited.append(key)
            done.set()

        watch = ExitWatch(on_exit)
        child = subprocess.Popen(["sleep", "0.2"])
        assert watch.watch("container-1", child.pid) == "watching"
        assert "container-1" in watch
        await asyncio.wait_for(done.wait(), 10)
        await asyncio.sleep(0.05)
        child.wait()
        assert "container-1" not in watch
        return exited

    assert asyncio.run(scenario()) == ["container-1"]


def test_a_forgotten_process_is_not_reported() -> None:
    async def scenario() -> list[str]:
        exited: list[str] = []
        watch = ExitWatch(exited.append)
        child = subprocess.Popen(["sleep", "0.1"])
        watch.watch("container-1", child.pid)
        watch.forget("container-1")
        child.wait()
        await asyncio.sleep(0.2)
        return exited

    assert asyncio.run(scenario()) == []


def test_a_process_that_is_already_gone_cannot_be_watched() -> None:
    async def scenario() -> str:
        child = subprocess.Popen(["true"])
        child.wait()
        return ExitWatch(lambda key: None).watch("container-1", child.pid)

    assert asyncio.run(scenario()) == "gone"
