"""fastpod as ``pip install`` leaves it: a wheel in a fresh venv runs every shipped profile.

The wheel is built from a copy of the project's sources, without build isolation (nothing is
downloaded: the build backend is this environment's setuptools, a dev dependency), and
installed into a new venv. The venv sees this environment's site-packages for fastpod's
dependencies only, through a ``.pth`` line, which adds the directory to ``sys.path`` without
running its own ``.pth`` files, so the editable install of the checkout stays out of it.
Every command runs outside the checkout and without ``PYTHONPATH``: what runs is the wheel.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).parents[1]
SHIPPED_PROFILES = sorted(
    path.stem for path in (CHECKOUT / "fastpod/config/profiles").glob("*.yaml")
)
GUARD = 120.0
"""Seconds after which a hung command is killed, so that the test fails instead of hanging."""


def _environment() -> dict[str, str]:
    hidden = ("PYTHONPATH", "PYTHONHOME", "FASTPOD_PROFILES", "VIRTUAL_ENV")
    return {name: value for name, value in os.environ.items() if name not in hidden}


def _run(command: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    completed = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )
    assert completed.returncode == 0, f"{command}:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the project's wheel installed; its directory."""
    setuptools = importlib.metadata.version("setuptools")
    assert int(setuptools.split(".")[0]) >= 77, (
        f"setuptools {setuptools} cannot build fastpod (77 or later reads its license): "
        "install the dev dependencies again, pip install -e '.[dev]'"
    )
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(
        CHECKOUT / "fastpod", source / "fastpod", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (CHECKOUT / name).exists():
            shutil.copy(CHECKOUT / name, source / name)
    wheels = work / "wheels"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            wheels,
            source,
        ],
        cwd=work,
    )
    (wheel,) = wheels.glob("fastpod-*.whl")
    environment = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", environment], cwd=work)
    python = environment / "bin" / "python"
    get_paths = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site_packages = Path(_run([python, "-c", get_paths], cwd=work, env=_environment()).strip())
    dependencies = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    (site_packages / "dependencies.pth").write_text("".join(f"{path}\n" for path in dependencies))
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ],
        cwd=work,
        env=_environment(),
    )
    return environment


def test_the_installed_package_is_the_wheel_with_its_profiles(venv: Path) -> None:
    """Not the checkout: fastpod and its profile data come from the venv's site-packages."""
    where = (
        "import fastpod, importlib.resources as r; print(fastpod.__file__); "
        "print(sorted(p.name for p in (r.files('fastpod.config') / 'profiles').iterdir()))"
    )
    output = _run([venv / "bin" / "python", "-c", where], cwd=venv, env=_environment())
    module, data = output.splitlines()
    assert Path(module).is_relative_to(venv)
    assert data == str(sorted(["README.md", *(f"{name}.yaml" for name in SHIPPED_PROFILES)]))


@pytest.mark.parametrize("profile", SHIPPED_PROFILES)
def test_the_installed_fastpod_runs_each_shipped_profile(
    venv: Path, profile: str, tmp_path: Path
) -> None:
    """``fastpod run --profile NAME`` gets ready, and stops on SIGTERM with status 0."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    command = [
        str(venv / "bin" / "fastpod"),
        "run",
        "--profile",
        profile,
        "--runtime",
        "fake",
        "--pod-manifest-path",
        str(manifests),
        "--root-dir",
        str(tmp_path / "root"),
        "--pod-logs-dir",
        str(tmp_path / "logs"),
        "--read-only-port",
        "0",
        "--hostname-override",
        "node1",
        "--log-format",
        "json",
    ]
    fastpod = subprocess.Popen(
        command, cwd=tmp_path, env=_environment(), stderr=subprocess.PIPE, text=True
    )
    guard = threading.Timer(GUARD, fastpod.kill)
    guard.start()
    try:
        assert fastpod.stderr is not None
        log = []
        for line in fastpod.stderr:
            log.append(line)
            if line.startswith("{") and json.loads(line).get("event") == "fastpod ready":
                break
        else:
            pytest.fail(f"fastpod exited {fastpod.wait()} before it was ready:\n{''.join(log)}")
        fastpod.send_signal(signal.SIGTERM)
        rest = fastpod.stderr.read()
        assert fastpod.wait() == 0, "".join(log) + rest
        assert "Traceback" not in rest
    finally:
        guard.cancel()
        if fastpod.poll() is None:
            fastpod.kill()
            fastpod.wait()
