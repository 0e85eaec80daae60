"""Property tests of manifest decoding: whatever the bytes, a consistent pod or a ManifestError.

A static pod manifest is read by a process that must stay up whatever a file or URL holds, so
decoding may fail only with :class:`ManifestError`: any other exception, a crash or a hang is a
bug. When decoding succeeds, the pod carries the kubelet's static-pod identity: a
node-suffixed name, a namespace, a UID that is the manifest's own or a content hash, and the
``kubernetes.io/config.hash`` annotation equal to that UID; and the same bytes always decode to
the same pod.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fastpod.manifest.decode import DecodedPod, decode_pod, decode_pod_list
from fastpod.manifest.documents import MAX_MANIFEST_BYTES, Document, load_document
from fastpod.manifest.problems import ManifestError
from fastpod.manifest.yaml11 import KubeYamlLoader
from fastpod.model import PodSource
from tests.support.corpus import corpus_files, corpus_location, needs_corpus

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = corpus_location()
CORPUS_FILES = corpus_files()

FILE_SOURCE = PodSource("file", "/etc/kubernetes/manifests/x.yaml")
URL_SOURCE = PodSource("http", "http://127.0.0.1/pods")
NODE = "node1"
CONFIG_HASH = "kubernetes.io/config.hash"
LIST_KINDS = ("PodList",)
GENERATED_UID = re.compile(r"[0-9a-f]{32}")
HANG_SECONDS = 15.0
"""No single decode of the small inputs generated here may take this long."""

BASE = settings(deadline=None, database=None)
"""Every property: no per-example deadline (deep nesting is slow), no example database."""

Decoder = Callable[[bytes, PodSource, str], Any]
DECODERS: tuple[tuple[Decoder, PodSource], ...] = (
    (decode_pod, FILE_SOURCE),
    (decode_pod_list, URL_SOURCE),
)


class DecodeHang(Exception):
    """Decoding took longer than :data:`HANG_SECONDS`."""


@contextlib.contextmanager
def _no_hang(seconds: float = HANG_SECONDS) -> Iterator[None]:
    def _alarm(signum: int, frame: object) -> None:
        raise DecodeHang(f"decoding took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _decode(decoder: Decoder, data: bytes, source: PodSource) -> list[DecodedPod] | None:
    """The decoded pods, or None for a ManifestError; any other exception propagates."""
    with _no_hang():
        try:
            result = decoder(data, source, NODE)
        except ManifestError as raised:
            error = raised
        else:
            return result if isinstance(result, list) else [result]
    assert error.problems, "a ManifestError names at least one problem"
    for problem in error.problems:
        assert isinstance(problem.describe(), str)
    assert str(error).startswith(source.location)
    return None


def _manifest_uids(data: bytes, count: int) -> list[object]:
    """``metadata.uid`` of each pod as the manifest wrote it (None where absent)."""
    document = load_document(data)
    assert isinstance(document, Document)
    value = document.value
    items = (value.get("items") or []) if value.get("kind") in LIST_KINDS else [value]
    assert len(items) == count
    return [(item.get("metadata") or {}).get("uid") for item in items]


def _assert_consistent(
    data: bytes, pods: list[DecodedPod], decoder: Decoder, source: PodSource
) -> None:
    for decoded, manifest_uid in zip(pods, _manifest_uids(data, len(pods)), strict=True):
        metadata = decoded.pod.metadata
        assert metadata.name is not None
        assert metadata.name.endswith(f"-{NODE}")
        assert metadata.namespace
        assert metadata.uid is not None
        if manifest_uid:
            assert metadata.uid == manifest_uid
        else:
            assert GENERATED_UID.fullmatch(metadata.uid), metadata.uid
        assert metadata.annotations is not None
        assert metadata.annotations[CONFIG_HASH] == metadata.uid
        assert decoded.pod.spec.node_name == NODE
    again = _decode(decoder, data, source)
    assert again is not None, "the same bytes decoded once and failed the second time"
    if again != pods:
        # A NaN kept in an opaque field is never == itself; it still reads the same.
        assert repr(again) == repr(pods)


def _check(data: bytes) -> None:
    """Both decoders: a ManifestError, or pods that are consistent and decoded deterministically."""
    for decoder, source in DECODERS:
        pods = _decode(decoder, data, source)
        if pods is not None:
            _assert_consistent(data, pods, decoder, source)


# --- 1. Arbitrary bytes, text and YAML-like token soup -----------------------------------------

HUGE_HEX = "0x" + "f" * 4400
"""An integer of 5300 digits, more than ``str()`` converts; YAML hexadecimal can hold it."""

YAML_TOKENS = [
    *("{", "}", "[", "]", ":", ": ", ", ", "- ", "? ", "|\n", ">-\n", "'", '"', "# c\n"),
    *("&a ", "*a", "&b ", "*b", "<<: ", "<<: *a", "{<<: [*a, *b]}"),
    *("!!python/object:os.system ", "!!python/object/apply:os.system [x]", "!!python/name:os"),
    *("!!binary ", "!!set ", "!!omap ", "!!pairs ", "!!timestamp ", "!!int ", "!!float "),
    *("!!bool ", "!!null ", "!!str ", "!!map ", "!!seq ", "!local ", "!<tag:yaml.org,2002:int> "),
    *("%YAML 1.1\n", "%TAG !e! tag:e.com,2000:\n", "---\n", "--- ", "...\n"),
    *("\t", "\n", " ", "  ", "    ", "\r\n", "\\", '"\\u0000"', '"\\x', "\x00", "\ufeff"),
    *("\x85", "\u2028", "\x7f", "é", "😀", "a", "name", "web"),
    *("apiVersion: v1\n", "kind: Pod\n", "kind: PodList\n", "kind: List\n", "metadata:\n"),
    *("  name: web\n", "spec:\n", "  containers:\n", "  - name: c\n", "    image: nginx\n"),
    *("items:\n", "uid: ", "status: ", "labels: ", "cpu: ", "resources: {limits: {cpu: "),
    *("0", "1", "-1", "08", "0o17", "0x", "0b", "0x_", "0b2", "-_", "1_000", "1e3", "1e400"),
    *("-1e400", ".5", ".nan", ".inf", "-.inf", "~", "null", "true", "yes", "no", "y", "n"),
    *("on", "off", "12:30", "1:2:3", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "100m"),
    *("1Gi", "1e2147483648", "-", "+", ".", "_", "9" * 25, "9" * 5000, HUGE_HEX),
]
"""Fragments that steer a fuzzer into YAML's odd corners: flow and block syntax, anchors and
aliases, merge keys, tags (PyYAML's unsafe ones too), directives, document markers, tabs,
control characters, and scalars that go-yaml resolution treats specially."""

POD_YAML = (
    b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n"
    b"spec:\n  containers:\n  - name: c\n    image: nginx\n"
)
HOLE = b"<HOLE>"
IN_STATUS = POD_YAML + b"status: " + HOLE + b"\n"
TEMPLATES = [
    HOLE,
    IN_STATUS,
    POD_YAML + b"status:\n  " + HOLE + b"\n",
    POD_YAML.replace(b"  name: web\n", b"  name: web\n  labels: " + HOLE + b"\n"),
    POD_YAML.replace(b"spec:\n", b"spec:\n  affinity: " + HOLE + b"\n"),
    POD_YAML + b"    resources:\n      limits:\n        cpu: " + HOLE + b"\n",
    POD_YAML + b"    ports:\n    - containerPort: " + HOLE + b"\n",
    b"apiVersion: v1\nkind: PodList\nitems:\n- " + HOLE + b"\n",
    b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, '
    b'"spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": ' + HOLE + b"}",
]
"""Where a fragment lands: alone, or inside a valid pod, so it gets past parsing and into
conversion, defaulting, validation and the UID hash."""

yaml_token_soup = st.lists(
    st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=3)), max_size=30
).map("".join)


def _fill(template: bytes, fragment: str | bytes) -> bytes:
    return template.replace(HOLE, fragment.encode() if isinstance(fragment, str) else fragment)


@settings(BASE, max_examples=2000)
@given(st.binary(max_size=2048))
@example(b'{"\xff": 1}')  # JSON-looking, but not UTF-8
def test_arbitrary_bytes_decode_to_a_pod_or_a_manifest_error(data: bytes) -> None:
    _check(data)


@settings(BASE, max_examples=1000)
@given(st.text(max_size=500), st.sampled_from(["utf-8", "utf-16", "utf-32", "utf-8-sig"]))
def test_arbitrary_text_decodes_to_a_pod_or_a_manifest_error(text: str, encoding: str) -> None:
    _check(text.encode(encoding, errors="surrogatepass"))


@settings(BASE, max_examples=3000)
@given(st.sampled_from(TEMPLATES), yaml_token_soup)
@example(HOLE, "!!timestamp x")  # explicit tags on scalars their constructors cannot read
@example(HOLE, "!!float ''")
@example(HOLE, "!!bool x")
@example(IN_STATUS, "{1: a}")  # YAML keys that are not strings
@example(IN_STATUS, "{~: a}")
@example(IN_STATUS, HUGE_HEX)  # integers too long for str()
@example(HOLE, f"apiVersion: {HUGE_HEX}")
def test_yaml_like_token_soup_decodes_to_a_pod_or_a_manifest_error(
    template: bytes, soup: str
) -> None:
    _check(_fill(template, soup))


NESTING_SHAPES: dict[str, Callable[[int], str]] = {
    "flow-sequence": lambda depth: "[" * depth + "]" * depth,
    "flow-mapping": lambda depth: "{a: " * depth + "1" + "}" * depth,
    "json-object": lambda depth: '{"a": ' * depth + "1" + "}" * depth,
    "block-sequence": lambda depth: "- " * depth + "x",
    "block-mapping": lambda depth: "".join(" " * i + "a:\n" for i in range(min(depth, 300))),
    "unclosed": lambda depth: "[{" * (depth // 2),
    "anchored": lambda depth: "&a [" * depth + "]" * depth,
}


@settings(BASE, max_examples=100)
@given(
    st.sampled_from(TEMPLATES),
    st.sampled_from(sorted(NESTING_SHAPES)),
    st.one_of(st.integers(1, 64), st.sampled_from([500, 999, 1000, 1001, 2000, 5000])),
)
@example(IN_STATUS, "flow-sequence", 1000)
@example(HOLE, "json-object", 1000)
def test_deeply_nested_documents_decode_to_a_pod_or_a_manifest_error(
    template: bytes, shape: str, depth: int
) -> None:
    _check(_fill(template, NESTING_SHAPES[shape](depth)))


def test_an_oversized_manifest_is_a_manifest_error() -> None:
    for decoder, source in DECODERS:
        assert _decode(decoder, POD_YAML + b"#" * MAX_MANIFEST_BYTES, source) is None


# --- Crashes and runaway memory are looked for in a child process ------------------------------

CHILD = """
import faulthandler, resource, sys
faulthandler.enable()
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from fastpod.manifest.decode import decode_pod, decode_pod_list
from fastpod.manifest.problems import ManifestError
from fastpod.model import PodSource
data = open(sys.argv[1], "rb").read()
for decoder, source in (
    (decode_pod, PodSource("file", "/etc/kubernetes/manifests/x.yaml")),
    (decode_pod_list, PodSource("http", "http://127.0.0.1/pods")),
):
    try:
        decoder(data, source, "node1")
        print("pod", flush=True)
    except ManifestError:
        print("manifest-error", flush=True)
"""


def _decode_in_child(data: bytes, tmp_path: Path, *, timeout: float = 30.0) -> list[str]:
    """Decode in a child process with 1 GiB of address space; a crash or hang fails the test."""
    manifest = tmp_path / "manifest.yaml"
    manifest.write_bytes(data)
    try:
        child = subprocess.run(
            [sys.executable, "-c", CHILD, str(manifest), str(1 << 30)],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"decoding {len(data)} bytes hung for more than {timeout} s")
    assert child.returncode == 0, (
        f"decoding {len(data)} bytes ended with status {child.returncode}:\n{child.stderr[-3000:]}"
    )
    return child.stdout.split()


def test_very_deep_nesting_does_not_crash_the_process(tmp_path: Path) -> None:
    depth = 100_000  # 200 kB, far below the 10 MiB a manifest may be
    outcome = _decode_in_child(b"[" * depth + b"]" * depth, tmp_path)
    assert outcome == ["manifest-error", "manifest-error"]


def test_an_alias_bomb_is_refused_without_exhausting_memory(tmp_path: Path) -> None:
    # 10 levels of 10 aliases each: 500 bytes that expand to 10**10 strings, which go-yaml (and
    # so the kubelet) refuses as "excessive aliasing".
    lines = [b"  l0: &l0 [lol]"]
    lines += [
        b"  l%d: &l%d [%s]" % (i, i, b", ".join([b"*l%d" % (i - 1)] * 10)) for i in range(1, 11)
    ]
    outcome = _decode_in_child(POD_YAML + b"status:\n" + b"\n".join(lines) + b"\n", tmp_path)
    assert set(outcome) <= {"pod", "manifest-error"}


# --- 2. Mutations of real manifests --------------------------------------------------------------


@functools.cache
def _corpus_bytes(path: Path) -> bytes:
    return path.read_bytes()


@functools.cache
def _corpus_documents() -> list[Any]:
    """The first document of every corpus file PyYAML can read, when it is a mapping."""
    documents = []
    for path in CORPUS_FILES:
        try:
            document = next(yaml.safe_load_all(_corpus_bytes(path)), None)
        except yaml.YAMLError:
            continue
        if isinstance(document, dict):
            documents.append(document)
    return documents


corpus_file = st.sampled_from(CORPUS_FILES)


@st.composite
def byte_mutations(draw: st.DrawFn) -> bytes:
    """A corpus file with a few bytes flipped, inserted or deleted, or cut short."""
    data = bytearray(_corpus_bytes(draw(corpus_file)))
    for _ in range(draw(st.integers(1, 4))):
        operation = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "replace"]))
        position = draw(st.integers(0, len(data)))
        if operation == "flip" and position < len(data):
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif operation == "insert":
            data[position:position] = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=8), st.sampled_from(YAML_TOKENS).map(str.encode)
                )
            )
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        elif operation == "truncate":
            del data[position:]
        elif operation == "replace" and position < len(data):
            data[position] = draw(st.sampled_from(b"\t\n :-[]{}&*!|>'\"#%@`,?\x00\xff"))
    return bytes(data)


@needs_corpus
@settings(BASE, max_examples=1500)
@given(byte_mutations())
def test_byte_mutations_of_real_manifests_decode_to_a_pod_or_a_manifest_error(data: bytes) -> None:
    _check(data)


class _Dumper(yaml.SafeDumper):
    """Quotes every string that go-yaml would read as something else.

    PyYAML's own rules leave ``y`` or ``1e3`` plain, and fastpod, like the kubelet, reads them
    as a boolean and a float.
    """


def _quote_like_go_yaml() -> None:
    for first, resolvers in KubeYamlLoader.yaml_implicit_resolvers.items():
        for tag, pattern in resolvers:
            _Dumper.add_implicit_resolver(tag, pattern, [first])


_quote_like_go_yaml()


class HugeInt:
    """An integer too long for ``str()`` (over 4300 digits): only hexadecimal YAML holds it."""

    def __repr__(self) -> str:
        return "HugeInt()"


def _represent_huge_int(dumper: yaml.SafeDumper, value: HugeInt) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:int", HUGE_HEX)


_Dumper.add_representer(HugeInt, _represent_huge_int)


HUGE_INTEGERS = [2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**100, 10**1000]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(HUGE_INTEGERS).flatmap(lambda n: st.sampled_from([n, -n])),
    st.builds(HugeInt),
    st.floats(),  # NaN and the infinities included
    st.text(max_size=20),
    st.sampled_from(["", "v1", "Pod", "web", "100m", "1Gi", "Always", "TCP", "y", "0x1F", "~"]),
)
yaml_keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["name", "uid", "image", "cpu", "memory", "items", "<<"]),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
"""YAML mapping keys need not be strings: go-yaml makes them strings, PyYAML does not."""
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(yaml_keys, children, max_size=4)
    ),
    max_leaves=12,
)


def _slots(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) of a nested document, outermost first."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in list(items):
        yield value, key
        if isinstance(child, (dict, list)):
            yield from _slots(child)


@st.composite
def structural_mutations(draw: st.DrawFn) -> Any:
    """A corpus document with nested values replaced or added, or keys and items deleted."""
    document = copy.deepcopy(draw(st.sampled_from(_corpus_documents())))
    for _ in range(draw(st.integers(1, 3))):
        slots = list(_slots(document))
        operation = draw(st.sampled_from(["replace", "delete", "add"]))
        if not slots:
            document[draw(yaml_keys)] = draw(json_values)
            continue
        container, key = draw(st.sampled_from(slots))
        if operation == "replace":
            container[key] = draw(json_values)
        elif operation == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(yaml_keys)] = draw(json_values)
        else:
            container.insert(key, draw(json_values))
    return document


def _renderings(document: Any) -> Iterator[bytes]:
    yield yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True).encode()
    yield yaml.dump(document, Dumper=_Dumper, sort_keys=False, default_flow_style=True).encode()
    try:
        text = json.dumps(document, default=str)
    except (TypeError, ValueError):  # keys json cannot write
        return
    yield text.encode()


@needs_corpus
@settings(BASE, max_examples=500)
@given(structural_mutations())
def test_structural_mutations_of_real_manifests_decode_to_a_pod_or_a_manifest_error(
    document: Any,
) -> None:
    for data in _renderings(document):
        _check(data)


# --- 3. What a successful decode promises ---------------------------------------------------------


@needs_corpus
@pytest.mark.parametrize(
    "path", CORPUS_FILES, ids=[str(path.relative_to(CORPUS)) for path in CORPUS_FILES]
)
def test_real_manifests_decode_consistently_or_raise_a_manifest_error(path: Path) -> None:
    _check(_corpus_bytes(path))


dns_labels = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?", fullmatch=True)


@st.composite
def identity_mutations(draw: st.DrawFn) -> Any:
    """A valid corpus pod with its name, namespace, UID and hash annotation redrawn."""
    document = copy.deepcopy(draw(st.sampled_from(_valid_corpus_documents())))
    metadata = document.setdefault("metadata", {})
    metadata["name"] = draw(
        st.lists(dns_labels, min_size=1, max_size=3).map(".".join).filter(lambda n: len(n) < 200)
    )
    for field, values in (
        ("namespace", st.one_of(st.just(""), dns_labels)),
        ("uid", st.one_of(st.just(""), st.text(min_size=1, max_size=40))),
    ):
        choice = draw(st.sampled_from(["keep", "delete", "set", "null"]))
        if choice == "delete":
            metadata.pop(field, None)
        elif choice == "set":
            metadata[field] = draw(values)
        elif choice == "null":
            metadata[field] = None
    if draw(st.booleans()):
        annotations = metadata.get("annotations") or {}
        annotations[CONFIG_HASH] = draw(st.text(max_size=40))
        metadata["annotations"] = annotations
    return document


@functools.cache
def _valid_corpus_documents() -> list[Any]:
    valid = []
    for document in _corpus_documents():
        data = json.dumps(document, default=str).encode()
        with contextlib.suppress(Exception):  # a bug here is reported by the corpus test
            if _decode(decode_pod, data, FILE_SOURCE) is not None:
                valid.append(document)
    return valid


@needs_corpus
@settings(BASE, max_examples=300)
@given(identity_mutations(), st.booleans())
def test_a_decoded_pod_has_the_static_pod_identity(document: Any, as_json: bool) -> None:
    if as_json:
        data = json.dumps(document, default=str).encode()
    else:
        data = yaml.dump(document, Dumper=_Dumper, sort_keys=False).encode()
    for decoder, source in DECODERS:
        pods = _decode(decoder, data, source)
        assert pods is not None, "a valid pod with a valid name and namespace must decode"
        _assert_consistent(data, pods, decoder, source)
        (decoded,) = pods
        metadata = document["metadata"]
        assert decoded.pod.metadata.name == f"{metadata['name']}-{NODE}"
        assert decoded.pod.metadata.namespace == (metadata.get("namespace") or "default")
