"""Problems worded as the API server words its field errors (``field.ErrorList``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fastpod.manifest.paths import FieldPath
from fastpod.manifest.problems import Problem


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def required(path: FieldPath, detail: str = "") -> Problem:
    """A field that must be set and is not."""
    return Problem(path, f"Required value: {detail}" if detail else "Required value")


def invalid(path: FieldPath, value: Any, detail: str) -> Problem:
    """A value that breaks a rule, with the rule."""
    return Problem(path, f"Invalid value: {_show(value)}: {detail}")


def invalid_each(path: FieldPath, value: Any, details: Iterable[str]) -> Iterator[Problem]:
    """One problem per broken rule, from a check in :mod:`fastpod.manifest.names`."""
    for detail in details:
        yield invalid(path, value, detail)


def unsupported(path: FieldPath, value: Any, supported: Iterable[str]) -> Problem:
    """A value outside an enumeration."""
    choices = ", ".join(_show(choice) for choice in supported)
    return Problem(path, f"Unsupported value: {_show(value)}: supported values: {choices}")


def duplicate(path: FieldPath, value: Any) -> Problem:
    """A value that must be unique and is not."""
    return Problem(path, f"Duplicate value: {_show(value)}")


def not_found(path: FieldPath, value: Any) -> Problem:
    """A reference to something the pod does not declare."""
    return Problem(path, f"Not found: {_show(value)}")


def forbidden(path: FieldPath, detail: str) -> Problem:
    """A field that may not be used here, and why."""
    return Problem(path, f"Forbidden: {detail}")
