"""Each runtime says its name and version, which the Node's ``containerRuntimeVersion``
shows as ``<name>://<version>`` (the kubelet's ``VersionInfo`` setter)."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

from tests.support.engines import Engine


def test_the_runtime_gives_its_name_and_version(engine: Engine, tmp_path: Path) -> None:
    async def ask() -> tuple[str, str]:
        runtime = engine.adapter(str(tmp_path / "logs"))
        try:
            version = await runtime.version()
            return runtime.name, version
        finally:
            await runtime.close()

    name, version = asyncio.run(ask())

    assert name == engine.scheme
    assert re.fullmatch(r"v?\d+\.\d+\.\d+\S*", version), version
    if engine.runtime == "docker":
        server = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert version == server
