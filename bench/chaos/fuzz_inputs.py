"""The fuzzed manifests of scenario 6: mutations of the corpus and hypothesis' inventions.

Four kinds, in fixed shares of each batch (:data:`SHARES`):

- **bytes**: a corpus manifest with its bytes mutated (bits flipped, ranges deleted,
  repeated or moved, YAML's special tokens inserted, cut short, spliced with another
  manifest, re-encoded, indentation broken);
- **structure**: a corpus manifest loaded, its tree mutated (keys deleted or renamed,
  values replaced by other types, huge or negative numbers, NaN, long strings, deep
  nesting, lists repeated, container names doubled) and written back as YAML or JSON;
- **hypothesis**: hypothesis' own data: arbitrary bytes, YAML token soup dropped into a
  valid pod, and pod-shaped documents whose every field is drawn from a wide strategy;
- **bomb**: an alias bomb (a billion laughs), now and then: a few bytes that expand a lot.

Everything is seeded: one seed, one sequence of inputs.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

Input = tuple[str, bytes]
"""An input's kind and its bytes."""

SHARES = (("bytes", 0.40), ("structure", 0.35), ("hypothesis", 0.245), ("bomb", 0.005))

TOKENS = (
    *(b"{", b"}", b"[", b"]", b":", b": ", b", ", b"- ", b"? ", b"|\n", b">-\n", b"'", b'"'),
    *(b"&a ", b"*a", b"<<: ", b"<<: *a", b"!!python/object/apply:os.system [x]", b"!!binary "),
    *(b"!!set ", b"!!omap ", b"!!int ", b"!!float ", b"!!timestamp ", b"!local ", b"%YAML 1.1\n"),
    *(b"---\n", b"...\n", b"\t", b"\n", b"\r\n", b"\x00", b"\xef\xbb\xbf", b"\xc2\x85", b"\xff"),
    *(b"\xe2\x80\xa8", b"~", b"null", b"yes", b"no", b"on", b".nan", b"-.inf", b"1e400", b"0x"),
    *(b"0o17", b"08", b"1_000", b"12:30", b"2001-12-14", b"9" * 40, b"-1", b"100m", b"1Gi"),
    *(b"\\u0000", b"\xf0\x9f\x98\x80", b"#", b"%", b"@", b"`", b"|", b">"),
)
"""What a byte mutation inserts: YAML syntax, tags, directives, control and odd
characters, and scalars YAML 1.1 resolves specially."""

_WEIRD_SCALARS: tuple[Any, ...] = (
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 10**40, 1.5, float("nan"), float("inf"),
    "", " ", "x" * 5000, "\x00", "é😀", "../../etc/passwd", "a" * 64, "1e3", "100m", "-1Gi",
    "Always", "Never", "TCP", "/", "0.0.0.0", [], {}, [None], {"": None},
)  # fmt: skip


def load_corpus(location: Path) -> list[bytes]:
    """Every manifest of the corpus, as bytes (its bookkeeping files left out)."""
    return [
        path.read_bytes()
        for path in sorted(location.rglob("*"))
        if path.is_file() and path.name not in ("INDEX.tsv", "SOURCES.tsv")
    ]


class Fuzzer:
    """Batches of fuzzed manifests from the corpus, for one seed."""

    def __init__(self, corpus: list[bytes], seed: int) -> None:
        self.corpus = corpus
        self.seed = seed
        self.rng = random.Random(seed)
        self._trees = [_tree(body) for body in corpus]
        self._batches = 0

    def batch(self, count: int) -> list[Input]:
        """``count`` inputs, in the kinds' shares, shuffled."""
        self._batches += 1
        counts = {kind: int(count * share) for kind, share in SHARES}
        counts["bytes"] += count - sum(counts.values())
        inputs: list[Input] = [("bytes", self._bytes()) for _ in range(counts["bytes"])]
        inputs += [("structure", self._structure()) for _ in range(counts["structure"])]
        inputs += [("bomb", _bomb(self.rng)) for _ in range(counts["bomb"])]
        inputs += [
            ("hypothesis", data)
            for data in drawn(counts["hypothesis"], self.seed * 100_003 + self._batches)
        ]
        self.rng.shuffle(inputs)
        return inputs

    def _bytes(self) -> bytes:
        data = bytearray(self.rng.choice(self.corpus))
        for _ in range(self.rng.randint(1, 4)):
            data = bytearray(self.rng.choice(_BYTE_MUTATIONS)(self, data))
        return bytes(data)

    def _structure(self) -> bytes:
        rng = self.rng
        candidates = [tree for tree in self._trees if isinstance(tree, dict)]
        tree = json.loads(json.dumps(rng.choice(candidates), default=str))
        for _ in range(rng.randint(1, 4)):
            tree = _mutate_tree(rng, tree)
        if rng.random() < 0.5:
            return json.dumps(tree).encode()
        return yaml.dump(tree, Dumper=yaml.CSafeDumper, allow_unicode=rng.random() < 0.5).encode()


# --- byte mutations ---------------------------------------------------------------------------


def _flip(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    for _ in range(fuzzer.rng.randint(1, 8)):
        if data:
            data[fuzzer.rng.randrange(len(data))] ^= 1 << fuzzer.rng.randrange(8)
    return data


def _span(fuzzer: Fuzzer, data: bytearray) -> tuple[int, int]:
    start = fuzzer.rng.randrange(len(data) + 1)
    return start, min(len(data), start + fuzzer.rng.randint(1, 64))


def _delete(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    start, end = _span(fuzzer, data)
    del data[start:end]
    return data


def _repeat(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    start, end = _span(fuzzer, data)
    at = fuzzer.rng.randrange(len(data) + 1)
    data[at:at] = data[start:end] * fuzzer.rng.randint(1, 8)
    return data


def _insert(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    at = fuzzer.rng.randrange(len(data) + 1)
    data[at:at] = fuzzer.rng.choice(TOKENS)
    return data


def _cut(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    return data[: fuzzer.rng.randrange(len(data) + 1)]


def _splice(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    other = fuzzer.rng.choice(fuzzer.corpus)
    return data[: fuzzer.rng.randrange(len(data) + 1)] + other[fuzzer.rng.randrange(len(other)) :]


def _random_bytes(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    start, end = _span(fuzzer, data)
    data[start:end] = fuzzer.rng.randbytes(end - start)
    return data


def _indent(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    lines = bytes(data).split(b"\n")
    index = fuzzer.rng.randrange(len(lines))
    lines[index] = fuzzer.rng.choice((b"\t", b" ", b"   ", b"")) + lines[index].lstrip(b" ")
    return bytearray(b"\n".join(lines))


def _encode(fuzzer: Fuzzer, data: bytearray) -> bytearray:
    text = bytes(data).decode("utf-8", errors="replace")
    return bytearray(text.encode(fuzzer.rng.choice(("utf-16", "utf-16-le", "utf-32", "latin-1")),
                                 errors="replace"))  # fmt: skip


_BYTE_MUTATIONS: tuple[Callable[[Fuzzer, bytearray], bytearray], ...] = (
    *(_flip, _delete, _repeat, _insert, _insert, _insert, _cut, _splice, _random_bytes),
    *(_indent, _indent, _encode),
)


# --- structure mutations ----------------------------------------------------------------------


def _tree(body: bytes) -> Any:
    try:
        return yaml.load(body, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None


def _nodes(tree: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every node with the path to it (keys and indexes), the root first, down to a depth
    of 30 (a deep nesting made before is not walked into)."""
    yield path, tree
    if len(path) >= 30:
        return
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _nodes(value, (*path, index))


def _mutate_tree(rng: random.Random, tree: Any) -> Any:
    nodes = list(_nodes(tree))
    path, node = rng.choice(nodes)
    choice = rng.randrange(8)
    if choice == 0 and isinstance(node, dict) and node:
        del node[rng.choice(list(node))]
    elif choice == 1 and isinstance(node, dict) and node:
        key = rng.choice(list(node))
        node[rng.choice(("", "x" * 300, key.upper(), f"{key}s", "status", "uid"))] = node.pop(key)
    elif choice == 2 and isinstance(node, list) and node:
        node.extend(copy.deepcopy(rng.choice(node)) for _ in range(rng.randint(1, 3)))
    elif choice == 3:
        deep: Any = copy.deepcopy(rng.choice(_WEIRD_SCALARS))
        for _ in range(rng.randint(10, 200)):
            deep = [deep] if rng.random() < 0.5 else {"a": deep}
        return _replace(tree, path, deep)
    elif choice == 4 and isinstance(node, dict):
        node["name"] = rng.choice(("", "Web", "a" * 254, "fuzz-" + str(rng.randrange(10**6))))
    else:
        return _replace(tree, path, copy.deepcopy(rng.choice(_WEIRD_SCALARS)))
    return tree


def _replace(tree: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = tree
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return tree


def _bomb(rng: random.Random) -> bytes:
    """A billion laughs inside a pod's labels: nine levels of nine aliases."""
    levels = rng.randint(3, 9)
    lines = ['a0: &a0 "lol"']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    body = "\n".join(f"    {line}" for line in lines)
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bomb\n  labels:\n"
        f"{body}\nspec:\n  containers:\n  - name: c\n    image: busybox\n"
    ).encode()


# --- hypothesis -------------------------------------------------------------------------------

_POD_YAML = (
    b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: fuzz\n"
    b"spec:\n  containers:\n  - name: c\n    image: busybox\n"
)
_HOLE = b"<HOLE>"
_TEMPLATES = (
    _HOLE,
    _POD_YAML + b"status: " + _HOLE + b"\n",
    _POD_YAML.replace(b"  name: fuzz\n", b"  name: fuzz\n  labels: " + _HOLE + b"\n"),
    _POD_YAML.replace(b"spec:\n", b"spec:\n  affinity: " + _HOLE + b"\n"),
    _POD_YAML + b"    resources:\n      limits:\n        cpu: " + _HOLE + b"\n",
    _POD_YAML + b"    ports:\n    - containerPort: " + _HOLE + b"\n",
    _POD_YAML + b"  volumes:\n  - name: v\n    " + _HOLE + b"\n",
    _POD_YAML + b"    livenessProbe: " + _HOLE + b"\n",
)

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from([s for s in _WEIRD_SCALARS if isinstance(s, str)]),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
_names = st.from_regex(r"\Afuzz-[a-z0-9-]{0,20}\Z") | st.text(max_size=12)
_container = st.fixed_dictionaries(
    {"name": _names, "image": st.sampled_from(["busybox", "", "a b", "x:y@z"])},
    optional={
        "command": st.lists(st.text(max_size=10), max_size=3) | _json_values,
        "ports": st.lists(st.fixed_dictionaries({"containerPort": st.integers()}), max_size=2),
        "resources": st.fixed_dictionaries({"limits": st.dictionaries(
            st.sampled_from(["cpu", "memory", "x"]), _json_values, max_size=2)}),
        "env": st.lists(st.fixed_dictionaries({"name": _names, "value": _json_values}), max_size=2),
        "livenessProbe": _json_values,
        "securityContext": _json_values,
    },
)  # fmt: skip
_pod = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["v1", "v2", ""]),
        "kind": st.sampled_from(["Pod", "PodList", "List", "pod"]),
        "metadata": st.fixed_dictionaries(
            {"name": _names}, optional={"namespace": _names, "labels": _json_values}
        ),
        "spec": st.fixed_dictionaries(
            {"containers": st.lists(_container, max_size=3)},
            optional={
                "initContainers": st.lists(_container, max_size=2),
                "volumes": _json_values,
                "hostNetwork": _json_values,
                "restartPolicy": _json_values,
                "terminationGracePeriodSeconds": _json_values,
            },
        ),
    }
)
_token_soup = st.lists(st.sampled_from(TOKENS) | st.binary(max_size=3), max_size=30).map(b"".join)
_documents = st.one_of(
    st.binary(max_size=2048),
    st.tuples(st.sampled_from(_TEMPLATES), _token_soup).map(lambda t: t[0].replace(_HOLE, t[1])),
    _pod.map(lambda pod: json.dumps(pod).encode()),
    _pod.map(lambda pod: yaml.dump(pod, Dumper=yaml.CSafeDumper).encode()),
)


def drawn(count: int, seed: int) -> list[bytes]:
    """``count`` documents from hypothesis, generated only (no shrinking, no database)."""
    found: list[bytes] = []
    if count <= 0:
        return found

    @hypothesis_seed(seed)
    @settings(
        max_examples=count,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_documents)
    def collect(document: bytes) -> None:
        found.append(document)

    collect()
    return found[:count]
