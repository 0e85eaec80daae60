"""Manifest bytes → plain documents, read exactly as the kubelet reads them.

Strict JSON takes msgspec's fast path; plain YAML that YAML 1.1 and 1.2 read alike takes
rapidyaml's (:mod:`fastpod.manifest.fast_yaml`); anything else is YAML 1.1, read by
:class:`~fastpod.manifest.yaml11.KubeYamlLoader`. Only the first YAML document of a stream is
read, as ``yaml.Unmarshal`` does. Bytes that are no YAML, or nest too deeply for libyaml's
recursive composer, give a :class:`SyntaxProblem`, never an exception.

Parsing is the cost of a cold scan, so the fast path keeps no positions; when a problem must
be reported, :func:`fastpod.manifest.lines.locate` parses again to find the line of a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import yaml

from fastpod.manifest.fast_yaml import fast_load
from fastpod.manifest.yaml11 import KubeYamlLoader

MAX_MANIFEST_BYTES = 10 * 1024 * 1024
"""The kubelet reads at most 10 MiB of a manifest file or URL body."""

MAX_NESTING = 1000
"""Deeper documents are refused before libyaml's recursive composer can overflow the stack."""

UNMEASURED_BYTES = 16 * 1024
"""Documents this small cannot nest deep enough to crash libyaml (about 25,000 levels with
an 8 MiB stack), and the builder stops them at Python's recursion limit, so their depth is
not measured first."""


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """Bytes that are not YAML or JSON at all, with where the parser gave up."""

    message: str
    line: int | None
    column: int | None


class Document(msgspec.Struct, frozen=True):
    """The first document of a manifest as plain Python values, and what else was there."""

    value: Any
    extra_documents: int = 0


def looks_like_json(data: bytes) -> bool:
    """Whether the bytes start like a JSON object, so the JSON fast path may try them."""
    return data.lstrip()[:1] == b"{"


def load_document(data: bytes) -> Document | SyntaxProblem:
    """Parse manifest bytes (YAML 1.1 or JSON) into the first document's plain values."""
    if looks_like_json(data):
        try:
            return Document(_go_numbers(msgspec.json.decode(data), data))
        except RecursionError:
            return SyntaxProblem("nested too deeply", None, None)
        except (msgspec.DecodeError, UnicodeDecodeError):
            pass  # Not strict JSON (comments, trailing commas...): YAML may still read it.
    fast = fast_load(data)
    if fast is not None:
        try:
            return Document(_go_numbers(fast, data))
        except RecursionError:
            return SyntaxProblem("nested too deeply", None, None)
    return load_yaml11(data)


_DIGITS_AS_ZEROS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
"""A ``bytes.translate`` table: each ASCII digit becomes ``0``, any other byte a space."""

_LONG_NUMBER = b"0" * 19
"""19 digits: the shortest integer outside 64 bits (2**63) has as many. Looked for in the
bytes translated by :data:`_DIGITS_AS_ZEROS`: two C-level passes, where a regular expression
``\\d{19}`` tried a match at every byte (30 µs for kube-apiserver's 4 KB, against 2)."""


def _go_numbers(value: Any, data: bytes) -> Any:
    """``value`` with every integer outside 64 bits as go-yaml reads it: a float, or its
    text when no float holds it (as :mod:`~fastpod.manifest.yaml11` reads YAML). msgspec's
    JSON (the JSON path, rapidyaml's) keeps such integers whole, and no pod holding one could
    be sent between fastpod's processes (msgpack's integers are 64 bits). Only walked when the
    bytes hold a run of 19 digits."""
    if _LONG_NUMBER not in data.translate(_DIGITS_AS_ZEROS):
        return value
    return _walk_numbers(value)


def _walk_numbers(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**64:
            return value
        try:
            return float(value)
        except OverflowError:
            return str(value)
    if isinstance(value, dict):
        return {key: _walk_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk_numbers(item) for item in value]
    return value


def load_yaml11(data: bytes) -> Document | SyntaxProblem:
    """Parse YAML with libyaml and go-yaml v2's resolution: the reference path, the slow one."""
    depth_problem = _nesting_problem(data)
    if depth_problem is not None:
        return depth_problem
    loader = KubeYamlLoader(data)
    try:
        value = loader.get_data() if loader.check_data() else None  # type: ignore[no-untyped-call]
        return Document(value, _count_documents(loader))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        message = " ".join(part for part in (error.context, error.problem) if part)
        if "maximum nesting depth" in message:
            # libyaml >= 0.2.6 (PyYAML 6.0.4's) stops at its own limit, which is ours
            message = f"nested more than {MAX_NESTING} levels deep"
        if mark is None:
            return SyntaxProblem(message, None, None)
        return SyntaxProblem(message, mark.line + 1, mark.column + 1)
    except yaml.YAMLError as error:
        return SyntaxProblem(str(error), None, None)
    except RecursionError:
        return SyntaxProblem("nested too deeply", None, None)
    except Exception as error:
        return SyntaxProblem(f"cannot read value: {error}", None, None)
    finally:
        loader.dispose()


def _nesting_problem(data: bytes) -> SyntaxProblem | None:
    # Each level of nesting takes at least one byte, so small documents are safe; larger
    # ones are measured with libyaml's event parser, which does not recurse.
    if len(data) <= UNMEASURED_BYTES:
        return None
    depth = 0
    try:
        for event in yaml.parse(data, Loader=yaml.CSafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    return SyntaxProblem(f"nested more than {MAX_NESTING} levels deep", line, None)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # The real parse reports it, with its position.
    return None


def _count_documents(loader: KubeYamlLoader) -> int:
    # The kubelet never reads past the first document, so a broken later one is no error;
    # it is still counted, to warn that it is ignored.
    count = 0
    try:
        while loader.check_node():
            loader.get_node()
            count += 1
    except Exception:
        count += 1
    return count
