"""Profiles: named presets of fastpod's own settings, chosen with ``--profile NAME|PATH``.

A profile is a small YAML mapping from Config field names (``resync_period``,
``backoff_max``...) to values; durations are Go strings (``1m30s``) or seconds. It tunes the
machinery, so it sets only what :data:`PROFILE_FIELDS` lists, never a source, a path or the
node name. A profile is strict, unlike the kubelet's config file: it is written for fastpod,
so an unknown key or a wrong type is an error naming the file, the line and the key.

Named profiles live in the repository's ``profiles/`` directory, or in ``$FASTPOD_PROFILES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastpod
from fastpod.config.settings import ConfigError, parse_seconds
from fastpod.logs import LOG_FORMATS
from fastpod.manifest.documents import SyntaxProblem, load_document
from fastpod.manifest.lines import locate

PROFILES_ENVIRONMENT = "FASTPOD_PROFILES"
"""The environment variable naming another directory of named profiles."""


def profiles_directory() -> Path:
    """Where ``--profile NAME`` looks: ``$FASTPOD_PROFILES``, else the repository's profiles."""
    configured = os.environ.get(PROFILES_ENVIRONMENT)
    if configured:
        return Path(configured)
    return Path(fastpod.__file__).parent.parent / "profiles"


def profile_names(directory: Path) -> list[str]:
    """The named profiles in ``directory``: its ``*.yaml`` files, without the suffix."""
    return sorted(path.stem for path in directory.glob("*.yaml"))


def profile_path(choice: str) -> Path:
    """The file ``--profile`` means: a path as given, or a name's file in the profiles directory.

    A choice with a ``/`` or a YAML suffix is a path; anything else is a name.
    """
    if os.sep in choice or choice.endswith((".yaml", ".yml")):
        return Path(choice)
    directory = profiles_directory()
    path = directory / f"{choice}.yaml"
    if not path.is_file():
        known = ", ".join(profile_names(directory)) or "none"
        raise ConfigError(
            f"unknown profile {choice!r}: the profiles in {directory} are {known}; "
            "or give the path of a profile file"
        )
    return path


def load_profile(choice: str) -> dict[str, Any]:
    """The Config fields the profile ``choice`` sets; ConfigError if it cannot be used."""
    path = profile_path(choice)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read profile {path}: {error.strerror}") from None
    document = load_document(data)
    if isinstance(document, SyntaxProblem):
        where = f"{path}:{document.line}" if document.line else str(path)
        raise ConfigError(f"{where}: not YAML: {document.message}")
    return profile_settings(document.value, str(path), data)


def profile_settings(document: Any, path: str, data: bytes) -> dict[str, Any]:
    """The Config fields a decoded profile sets, each checked; ``data`` gives error lines."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(
            f"{path}: a profile is a mapping of settings, not a {type(document).__name__}"
        )
    settings: dict[str, Any] = {}
    for key, value in document.items():
        read = PROFILE_FIELDS.get(key)
        try:
            if read is None:
                raise ValueError(f"not a profile setting (known: {', '.join(PROFILE_FIELDS)})")
            settings[key] = read(value)
        except ValueError as error:
            position = locate(data, [(key,)])[0]
            where = f"{path}:{position[0]}" if position is not None else path
            raise ConfigError(f"{where}: {key}: {error}") from None
    return settings


def _pause(value: Any) -> float:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"must be a duration (20s, 1m30s) or seconds, not {value!r}")
    seconds = parse_seconds(value)
    if seconds < 0:
        raise ValueError(f"{value!r} must not be negative")
    return seconds


def _duration(value: Any) -> float:
    seconds = _pause(value)
    if seconds == 0:
        raise ValueError(f"{value!r} must be more than zero")
    return seconds


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number, 0 or more, not {value!r}")
    return value


def _positive_count(value: Any) -> int:
    if _count(value) == 0:
        raise ValueError("must be 1 or more")
    return int(value)


def _choice(*choices: str) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    return read


PROFILE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "workers": _count,
    "runtime": _choice("docker", "cri", "fake"),
    "log_format": _choice(*LOG_FORMATS),
    "file_check_frequency": _duration,
    "http_check_frequency": _duration,
    "http_timeout": _duration,
    "missing_path_retry": _duration,
    "watch_retry_initial": _duration,
    "watch_retry_max": _duration,
    "event_settle": _pause,
    "batch_size": _positive_count,
    "backoff_initial": _duration,
    "backoff_max": _duration,
    "backoff_reset": _duration,
    "resync_period": _duration,
    "cri_relist_period": _duration,
}
"""The Config fields a profile may set, each with how its value is checked and read."""
