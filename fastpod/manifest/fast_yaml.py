"""rapidyaml's parse for the plain manifests on which YAML 1.1 and 1.2 cannot disagree.

A cold start is spent parsing YAML: PyYAML's C loader takes about 360 µs for a 1.3 KB
manifest, rapidyaml (``ryml``) parses the same bytes and writes them out as JSON for
msgspec in about a tenth of that. rapidyaml reads YAML 1.2, the kubelet (go-yaml v2)
reads YAML 1.1, and the two differ only in places that can be seen in the bytes: plain
scalars such as ``yes``, ``on``, ``~``, ``0x1F``, ``010``, ``1_000`` or ``.inf``, tags,
anchors and aliases, merge keys, directives and document markers, and the finer points of
escapes and characters outside printable ASCII. :func:`in_doubt` looks for every one of
them, conservatively (a match inside a quoted string counts too); a document it doubts,
one rapidyaml cannot parse, or one whose JSON msgspec refuses, is left to libyaml, which
also words every error message. The identity of both paths is a test
(``tests/manifest/test_fast_yaml.py``) and a bench run over 100,000 generated documents
(``python -m bench.macro.parse identity``).
"""

from __future__ import annotations

import os
import re
from typing import Any

import msgspec

try:
    from ryml import Tree as _Tree
    from ryml import _ryml
except ImportError:  # pragma: no cover - rapidyaml has wheels for every Python fastpod runs on
    _ryml = None

FAST_BYTES = 16 * 1024
"""Larger documents go to libyaml, which measures their nesting first (see documents.py)."""

_ALLOWED = bytes(range(0x20, 0x7F)) + b"\n"
"""Printable ASCII and newlines: any other byte (tab, CR, control, non-ASCII, BOM) is doubt."""

_SPLIT = bytes.maketrans(b":,[]{}#", b"       ")
"""Turning these into spaces makes every whole plain scalar of a risky kind a fragment."""

_RISKY_WORDS = frozenset(
    b"y Y yes Yes YES n N no No NO True TRUE False FALSE on On ON off Off OFF".split()
    + b"~ Null NULL <<".split()
)
"""Plain scalars YAML 1.1 reads as booleans, null or a merge key and YAML 1.2 as strings."""

_PROPERTY_STARTS = frozenset(b"&*!@`%?")
"""Anchors, aliases, tags, reserved indicators, directives and explicit keys."""

_CHECKED_STARTS = frozenset(b"&*!@`%?|>-+.0123456789")
"""The first bytes of the fragments that need a closer look."""

_NUMBER_BYTES = frozenset(b".0123456789")

_NOT_A_NUMBER = (b"inf", b"nan")  # rapidyaml writes plain inf, nan or infinity as .inf, .nan

_YAML11_NUMBER = re.compile(
    rb"[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)"
    rb"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    rb"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
"""Every plain scalar go-yaml v2 reads as an int or a float (see ``yaml11.py``)."""

_SAME_INT = re.compile(rb"0|-?[1-9][0-9]{0,17}")
"""Decimal ints both parsers read as the same int, as a value and as a map key."""

_SAME_FLOAT = re.compile(rb"-?(?:0|[1-9][0-9]{0,14})\.[0-9]{1,15}")
"""Plain decimals both read as the same float; as a map key go-yaml would rewrite them."""

_ODD_STARTS = (b"...", b"|", b">", b":")

_TOP_LEVEL_BLOCK = re.compile(rb"---[ ]+[|>]")
"""A block scalar opening the document after its marker (with any number of spaces)."""

_ENTRIES_AFTER_NODES = tuple(
    re.compile(re.escape(end) + rb"[ ]*-(?=[ \n]|\Z)") for end in (b"'", b'"', b"]", b"}")
)
"""A sequence entry on the line of a quoted scalar or a flow collection: rapidyaml reads it
as a second entry, libyaml refuses it."""

_ODD_BLOCK_HEADERS = tuple(
    re.compile(indicator + rb"(?<=[ \n]" + indicator + rb")(?![-+]?(?:[ ]+#|[ ]*(?:\n|\Z)))")
    for indicator in (rb"\|", b">")
)
"""A | or > after a space that is no plain block scalar header (text after it on its line):
rapidyaml reads an empty scalar where libyaml refuses. Also any | or > in plain text."""

_PROPERTIES_AFTER_QUOTES = tuple(re.compile(quote + rb"[!&*]") for quote in (b"'", b'"'))
"""A tag right after a closing quote: rapidyaml drops it, libyaml refuses it."""

_ODD_LINE_START = re.compile(rb"\n(?:---|\.\.\.|[|>:])")
"""A document marker past the start, a top-level block scalar, a line opening with ":"."""

_ODD_COLON = re.compile(rb":(?:[,\]}]|(?<=[ \[{,]:))")
"""Colons YAML 1.1 refuses: a flow key with no value, a scalar opening with one."""

_LONG_FIRST_LINE = re.compile(rb"[^\n]{1024}")
_LONG_LINE = re.compile(rb"\n[^\n]{1024}")
"""A line of 1024 bytes or more; each try starts at a line break and stops at the next."""

# Each pattern opens with a literal byte, which the regex engine finds at C speed; one
# pattern with alternatives, or opening with a set of bytes, is tried at every byte.


def in_doubt(data: bytes) -> bool:
    """Whether a YAML 1.2 parser might read ``data`` otherwise than go-yaml v2 does.

    Conservative by design: a risky word anywhere (in a comment, inside quotes) counts.
    Written with bytes methods, not one large regular expression, which cost more than
    rapidyaml's own parse.
    """
    if data.translate(None, _ALLOWED) or data.startswith(_ODD_STARTS):
        return True
    if _TOP_LEVEL_BLOCK.match(data) is not None:
        return True
    if not data.endswith(b"\n") and (b"|" in data or b">" in data):
        return True  # a block scalar may end the bytes: the two chomp its last line apart
    if b"\\" in data:
        return True  # escapes: the two read some apart (\\n after \\, \\ before a line break)
    if (b"[" in data or b"{" in data) and _flow_across_lines(data):
        return True
    # Each search only where its opening byte occurs: finding one byte costs a tenth of it.
    if any(
        end in data and pattern.search(data) is not None
        for end, pattern in zip((b"'", b'"', b"]", b"}"), _ENTRIES_AFTER_NODES, strict=True)
    ):
        return True
    if any(
        indicator in data and pattern.search(data) is not None
        for indicator, pattern in zip((b"|", b">"), _ODD_BLOCK_HEADERS, strict=True)
    ):
        return True
    if (b"!" in data or b"&" in data or b"*" in data) and any(
        pattern.search(data) for pattern in _PROPERTIES_AFTER_QUOTES
    ):
        return True
    if _ODD_LINE_START.search(data) is not None or _ODD_COLON.search(data) is not None:
        return True
    if len(data) >= 1024 and (
        _LONG_FIRST_LINE.match(data) is not None or _LONG_LINE.search(data) is not None
    ):
        return True  # a line that long might be a plain key, which libyaml refuses
    if _stray_flow_end(data):
        return True
    fragments = set(data.translate(_SPLIT).split())
    if not _RISKY_WORDS.isdisjoint(fragments):
        return True
    lowered = data.lower()
    if (b"inf" in lowered or b"nan" in lowered) and any(
        fragment.lstrip(b"'\"+-.")[:3].lower() in _NOT_A_NUMBER for fragment in fragments
    ):
        return True  # quoted too: rapidyaml writes a quoted key '.NaN' as .nan
    return _any_doubtful_fragment(fragments - _SAFE_FRAGMENTS, data)


_SAFE_FRAGMENTS: set[bytes] = set()
"""Fragments found safe whatever document holds them: manifests repeat most of theirs, so
a set difference (in C) leaves only the few new ones to be looked at in Python."""

_SAFE_FRAGMENTS_KEPT = 8192
"""Names and paths make many fragments seen once: past this many, the set starts again."""


def _any_doubtful_fragment(fragments: set[bytes], data: bytes) -> bool:
    if len(_SAFE_FRAGMENTS) + len(fragments) > _SAFE_FRAGMENTS_KEPT:
        _SAFE_FRAGMENTS.clear()
    for fragment in fragments:
        if fragment[0] in _CHECKED_STARTS:
            if _doubtful_fragment(fragment, data):
                return True
            if _SAME_FLOAT.fullmatch(fragment) is not None:
                continue  # safe here, but a doubt where it is also a key: depends on data
        _SAFE_FRAGMENTS.add(fragment)
    return False


def _flow_across_lines(data: bytes) -> bool:
    # A flow collection left open at a line's end: rapidyaml joins plain keys across the
    # break that libyaml refuses. Counting brackets per line is conservative (quotes count);
    # only the lines holding an opening bracket are looked at, found with C-level finds.
    start = 0
    while True:
        found = [at for at in (data.find(b"[", start), data.find(b"{", start)) if at != -1]
        if not found:
            return False
        at = min(found)
        end = data.find(b"\n", at)
        end = len(data) if end == -1 else end
        line = data[data.rfind(b"\n", 0, at) + 1 : end]
        if line.count(b"[") + line.count(b"{") != line.count(b"]") + line.count(b"}"):
            return True
        if b"#" in line:
            return True  # libyaml ends a flow line at " #"; rapidyaml may read on in a scalar
        start = end


def _stray_flow_end(data: bytes) -> bool:
    # A ] or } opening a line or a value, with no flow collection to close: 1.1 refuses it.
    for end in b"]}":
        at = data.find(end)
        while at != -1:
            before = data[data.rfind(b"\n", 0, at) + 1 : at]
            stripped = before.rstrip(b" ")
            if not stripped or (stripped != before and stripped.endswith((b":", b"-"))):
                return True
            at = data.find(end, at + 1)
    return False


def _doubtful_fragment(fragment: bytes, data: bytes) -> bool:
    first = fragment[0]
    if first in _PROPERTY_STARTS:
        return True
    if first in b"|>":
        return fragment not in (b"|", b"|-", b">", b">-", b"|+", b">+")
    if fragment.isdigit():  # the common case, a plain decimal int
        return len(fragment) > 18 or (first == 0x30 and len(fragment) > 1)
    if first in b"+-" and (len(fragment) == 1 or fragment[1] not in _NUMBER_BYTES):
        return False  # a flag such as --port=80, or a dash
    if _YAML11_NUMBER.fullmatch(fragment) is None or _SAME_INT.fullmatch(fragment) is not None:
        return False
    return _SAME_FLOAT.fullmatch(fragment) is None or fragment + b":" in data


_decode = msgspec.json.Decoder().decode


def fast_load(data: bytes) -> Any | None:
    """The first document of ``data`` as plain values, or None to ask libyaml.

    None means: rapidyaml is missing, the document is large or :func:`in_doubt`, or
    rapidyaml or msgspec refused it (libyaml then says why, with its line and column).
    """
    if _ryml is None or len(data) > FAST_BYTES or not data.strip() or in_doubt(data):
        return None
    tree = _Tree()
    try:
        with _quiet_stderr():
            _ryml.parse_csubstr(data, tree)
            node = tree.root_id()
            if tree.is_stream(node):  # the bytes began with "---"
                if tree.num_children(node) != 1:
                    return None
                node = tree.first_child(node)
            emitted = _ryml.emit_json_malloc(tree, node)  # it too prints what it refuses
        return _decode(emitted)
    except Exception:
        return None


class _quiet_stderr:
    """rapidyaml prints its errors on the process's standard error before raising (a parse
    error; a tree deeper than its emitter goes, 64 levels); libyaml words them again for
    the user, so rapidyaml's copy is sent to /dev/null.

    fastpod's log lines are written by the event loop's thread, the one parsing, so none
    can be lost while the descriptor points elsewhere.
    """

    _null = os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC)

    def __enter__(self) -> None:
        self.saved = os.dup(2)
        os.dup2(self._null, 2)

    def __exit__(self, *exc: object) -> None:
        os.dup2(self.saved, 2)
        os.close(self.saved)
