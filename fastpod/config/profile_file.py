"""Profiles: named presets of fastpod's own settings, chosen with ``--profile NAME|PATH``.

A profile is a small YAML mapping from Config field names (``resync_period``,
``backoff_max``...) to values; durations are Go strings (``1m30s``) or seconds. It tunes the
machinery, so it sets only what :data:`PROFILE_FIELDS` lists, never a source, a path or the
node name. A profile is strict, unlike the kubelet's config file: it is written for fastpod,
so an unknown key or a wrong type is an error naming the file, the line and the key.

Named profiles are the package's data, ``fastpod/config/profiles/*.yaml`` (read through
:mod:`importlib.resources`, so an installed fastpod has them too), or the ``*.yaml`` files of
``$FASTPOD_PROFILES``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fastpod.config import values
from fastpod.config.settings import RUNTIME_NAMES, ConfigError
from fastpod.logs import LOG_FORMATS
from fastpod.manifest.documents import SyntaxProblem, load_document
from fastpod.manifest.lines import locate

PROFILES_ENVIRONMENT = "FASTPOD_PROFILES"
"""The environment variable naming another directory of named profiles."""


def profiles_directory() -> Traversable:
    """Where ``--profile NAME`` looks: ``$FASTPOD_PROFILES``, else the profiles fastpod ships."""
    configured = os.environ.get(PROFILES_ENVIRONMENT)
    if configured:
        return Path(configured)
    return files("fastpod.config") / "profiles"


def profile_names(directory: Traversable) -> list[str]:
    """The named profiles in ``directory``: its ``*.yaml`` files, without the suffix."""
    if not directory.is_dir():
        return []
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in directory.iterdir()
        if entry.name.endswith(".yaml") and entry.is_file()
    )


def profile_path(choice: str) -> Traversable:
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


PROFILE_FIELDS: dict[str, Callable[[Any], Any]] = {
    "workers": values.count,
    "runtime": values.choice(*RUNTIME_NAMES),
    "log_format": values.choice(*LOG_FORMATS),
    "file_check_frequency": values.period,
    "http_check_frequency": values.period,
    "http_timeout": values.period,
    "missing_path_retry": values.period,
    "watch_retry_initial": values.period,
    "watch_retry_max": values.period,
    "event_settle": values.seconds,
    "container_log_monitor_interval": values.period,
    "batch_size": values.positive_count,
    "backoff_initial": values.period,
    "backoff_max": values.period,
    "backoff_reset": values.period,
    "resync_period": values.period,
    "cri_relist_period": values.period,
    "adopt_foreign_pods": values.boolean,
}
"""The Config fields a profile may set, each with how its value is checked and read."""
