"""Generated YAML documents for proving rapidyaml's fast path reads what libyaml reads.

The documents are manifests' YAML made awkward on purpose: every scalar style (plain, both
quotes with their escapes, literal and folded blocks with chomping), plain scalars YAML 1.1
and 1.2 resolve differently, flow and block collections nested in each other, comments,
odd indentation, and then random damage (a byte deleted, inserted or repeated) so that
broken documents are tried as well as good ones.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st

from fastpod.manifest.documents import Document, load_yaml11
from fastpod.manifest.fast_yaml import fast_load

WORDS = (
    "v1", "Pod", "nginx", "a b", "x:y", "12:30", "1:30:00", "a#b", "#x", "-", "--flag=on",
    "/bin/sh", "echo 'hi'", 'say "hi"', "", " ", "true", "false", "null", "True", "FALSE",
    "yes", "No", "on", "OFF", "y", "n", "Y", "~", "Null", "NULL", "<<", "=", "0", "1", "-1",
    "+1", "007", "08", "0x1F", "0o17", "0b101", "1_000", "1.5", "-0.25", "1.", ".5", "1e3",
    "1.0e+3", "6.02E23", "1e400", "-0", "-0.0", "99999999999999999999", "9223372036854775808",
    "18446744073709551616", ".inf", "-.Inf", ".NaN", "inf", "nan", "infinity", "2001-12-14",
    "2001-12-14t21:59:43.10-05:00", "@x", "`x", "%x", "&a", "*a", "!t", "!!str", "a\\b",
    "\\n", "it's", "[a]", "{a}", "a, b", "a,b", "? x", ": x", "a: b", "10.0.0.1/24", "500m",
    "1Gi", "=", "|", ">", "\u00e9", "\t", "a  b", "trailing ", " leading",
)  # fmt: skip
ESCAPES = ("\\n", "\\t", "\\\\", '\\"', "\\/", "\\x41", "\\u00e9", "\\0", "\\a", "\\e",
           "\\N", "\\_", "\\L", "\\P", "\\ ", "\\q", "\\\n")  # fmt: skip
INDENTS = (1, 2, 4)
DAMAGE = (b"", b" ", b"\n", b":", b"-", b" - ", b"'", b'"', b"#", b"[", b"]", b"\\\n")

words = st.sampled_from(WORDS)


@st.composite
def _scalar(draw: st.DrawFn, indent: int) -> str:
    text = draw(words)
    style = draw(st.sampled_from(("plain", "plain", "plain", "single", "double", "block")))
    if style == "plain":
        return text
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        extra = draw(st.lists(st.sampled_from(ESCAPES), max_size=2))
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + "".join(extra) + '"'
    header = draw(st.sampled_from(("|", "|-", "|+", ">", ">-", ">+")))
    pad = " " * (indent + draw(st.sampled_from(INDENTS)))
    lines = draw(st.lists(st.sampled_from((*WORDS[:12], "", "  more indented")), max_size=4))
    return header + "".join(f"\n{pad}{line}" if line else "\n" for line in lines)


@st.composite
def _node(draw: st.DrawFn, indent: int, depth: int) -> tuple[str, bool]:
    """YAML text for a value at ``indent``, and whether it is a block (starts a new line)."""
    kind = draw(st.sampled_from(("scalar", "scalar", "map", "seq", "flow")) if depth < 3 else
                st.just("scalar"))  # fmt: skip
    if kind == "scalar":
        return draw(_scalar(indent)), False
    if kind == "flow":
        items = draw(st.lists(st.sampled_from(WORDS[:40]), max_size=3))
        if draw(st.booleans()):
            return "[" + ", ".join(items) + "]", False
        return "{" + ", ".join(f"k{i}: {item}" for i, item in enumerate(items)) + "}", False
    step = draw(st.sampled_from(INDENTS))
    entries = draw(st.integers(1, 3))
    lines = []
    for index in range(entries):
        child, block = draw(_node(indent + step, depth + 1))
        comment = draw(st.sampled_from(("", "", " # note", "  #x")))
        if kind == "map":
            key = draw(st.sampled_from((f"key{index}", *WORDS[:60])))
            lead = f"{' ' * indent}{key}:"
        else:
            lead = f"{' ' * indent}-"
        lines.append(f"{lead}{comment}\n{child}" if block else f"{lead} {child}{comment}")
    return "\n".join(lines), True


@st.composite
def yaml_documents(draw: st.DrawFn) -> bytes:
    """A document of the kind described in the module docstring, as bytes."""
    body, _ = draw(_node(0, 0))
    text = draw(st.sampled_from(("", "", "---\n", "# head\n", "--- "))) + body + "\n"
    text += draw(st.sampled_from(("", "", "", "---\nb: 2\n", "...\n", "# tail\n")))
    data = text.encode()
    for _ in range(draw(st.sampled_from((0, 0, 0, 1, 2)))):
        at = draw(st.integers(0, len(data)))
        damage = draw(st.sampled_from(DAMAGE))
        cut = draw(st.sampled_from((0, 1)))
        data = data[:at] + damage + data[at + cut :]
    return data


def fast_path_differs(data: bytes) -> str | None:
    """Why the fast path's reading of ``data`` differs from libyaml's, or None if it does not.

    The fast path may decline (then libyaml reads the bytes anyway); what it returns must be
    libyaml's first document, with the same keys in the same order and the same types.
    """
    fast: Any = fast_load(data)
    if fast is None:
        return None
    reference = load_yaml11(data)
    if not isinstance(reference, Document):
        return f"libyaml refuses it ({reference.message}), rapidyaml read {fast!r}"
    if reference.extra_documents:
        return f"libyaml found {reference.extra_documents} more document(s)"
    if msgspec.json.encode(reference.value) != msgspec.json.encode(fast):
        return f"libyaml read {reference.value!r}, rapidyaml {fast!r}"
    return None
