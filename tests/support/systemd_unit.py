"""The command line a systemd unit and its drop-ins run, as systemd builds it.

Enough of ``systemd.exec`` and ``systemd.service`` for the kubelet's units: ``Environment=``
(quoted assignments), ``EnvironmentFile=`` (``-`` for optional; ``KEY=value`` lines, values
quoted or not; read after ``Environment=`` and overriding it), ``ExecStart=`` (an empty
one resets the list) and its expansion: ``$NAME`` alone as a word becomes the value split at
whitespace (none when empty), ``${NAME}`` is replaced in place as one word.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

_VARIABLE = re.compile(r"\$\{(\w+)\}")


def _lines(text: str) -> list[str]:
    """Logical lines: comments dropped, backslash continuations joined."""
    joined: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith(("#", ";"))):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    return joined


def environment_file(text: str) -> dict[str, str]:
    """The variables of an ``EnvironmentFile=``."""
    variables = {}
    for line in _lines(text):
        name, equals, value = line.partition("=")
        if equals:
            words = shlex.split(value) if value.strip() else [""]
            variables[name.strip()] = " ".join(words)
    return variables


def exec_start(units: Sequence[str], read: Callable[[str], str | None]) -> list[str]:
    """The arguments the service's ``ExecStart=`` runs, from the unit's text and its drop-ins'
    (in systemd's order); ``read`` gives an environment file's text by its path, None when
    it is missing."""
    environment: dict[str, str] = {}
    files: list[tuple[str, bool]] = []
    starts: list[str] = []
    section = ""
    for text in units:
        for line in _lines(text):
            if line.startswith("["):
                section = line
                continue
            if section != "[Service]":
                continue
            key, _, value = line.partition("=")
            if key == "Environment":
                for assignment in shlex.split(value):
                    name, _, setting = assignment.partition("=")
                    environment[name] = setting
            elif key == "EnvironmentFile":
                files.append((value.removeprefix("-"), value.startswith("-")))
            elif key == "ExecStart":
                starts = [value] if value else []
    for path, optional in files:
        found = read(path)
        if found is None:
            if not optional:
                raise FileNotFoundError(path)
            continue
        environment.update(environment_file(found))
    (command,) = starts
    arguments: list[str] = []
    for word in shlex.split(command):
        if word.startswith("$") and word[1:].isidentifier():
            arguments.extend(environment.get(word[1:], "").split())
        else:
            arguments.append(_VARIABLE.sub(lambda m: environment.get(m.group(1), ""), word))
    return arguments


def under(root: Path) -> Callable[[str], str | None]:
    """A ``read`` for :func:`exec_start` finding absolute paths under ``root``."""

    def read(path: str) -> str | None:
        file = root / path.lstrip("/")
        return file.read_text() if file.exists() else None

    return read
