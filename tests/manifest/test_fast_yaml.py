"""rapidyaml's fast path reads exactly what libyaml reads, or leaves the bytes to libyaml.

The identity is checked on every corpus manifest and on generated documents (a quick run
here; ``python -m bench.macro.parse identity`` runs 100,000).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.manifests import manifest
from fastpod.manifest import fast_yaml
from fastpod.manifest.documents import Document, SyntaxProblem, load_document, load_yaml11
from fastpod.manifest.fast_yaml import fast_load, in_doubt
from tests.support.corpus import corpus_files, needs_corpus
from tests.support.yaml_documents import fast_path_differs, yaml_documents

PLAIN = b"""\
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web, tier: "1"}
spec:
  containers:
  - name: web
    image: nginx:1.27
    args: [--port=8080, "--verbose"]
    ports:
    - containerPort: 8080
    resources: {limits: {cpu: 0.5, memory: 64Mi}}
    command:
    - sh
    - -c
    - |
      echo started
      exec sleep 3600
"""


@needs_corpus
@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_every_corpus_manifest_reads_as_libyaml_reads_it(path: Path) -> None:
    data = path.read_bytes()
    assert fast_path_differs(data) is None
    assert load_document(data) == load_yaml11(data) or data.lstrip().startswith(b"{")


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(yaml_documents())
def test_generated_documents_read_as_libyaml_reads_them(data: bytes) -> None:
    assert fast_path_differs(data) is None


def test_a_plain_manifest_takes_the_fast_path() -> None:
    reference = load_yaml11(PLAIN)
    assert isinstance(reference, Document)
    assert fast_load(PLAIN) == reference.value
    assert fast_load(manifest(1)) is not None


@pytest.mark.parametrize(
    "value",
    [
        b"yes", b"No", b"on", b"OFF", b"y", b"N", b"True", b"FALSE", b"~", b"Null",
        b"0x1F", b"0b101", b"010", b"1_000", b"+1", b"1e3", b".5", b"1.", b".inf", b"-.Inf",
        b".NaN", b"inf", b"nan", b"99999999999999999999", b"&anchor x", b"*alias",
        b"!!str 1", b"!custom x", b"@reserved", b"`reserved",
    ],
)  # fmt: skip
def test_a_scalar_yaml_1_1_and_1_2_may_read_apart_goes_to_libyaml(value: bytes) -> None:
    data = b"metadata:\n  name: x\n  value: " + value + b"\n"
    assert in_doubt(data)
    assert fast_load(data) is None


@pytest.mark.parametrize(
    "data",
    [
        b"a: 1\n---\nb: 2\n",
        b"%YAML 1.1\n---\na: 1\n",
        b"base: &b {x: 1}\nother:\n  <<: *b\n",
        b"? complex\n: key\n",
        b"a: |2\n   indented\n",
        b"a: 1\r\nb: 2\r\n",
        b"a:\tb\n",
        b"name: caf\xc3\xa9\n",
        b"\xef\xbb\xbfa: 1\n",
        b"a: [b:, c]\n",
        b"1.50: a\n",
        b"'.NaN': 1\n",
        b'{k0: say "hi - , k1: say #hi"}\n',
        b'".Inf": 1\n',
        b"---   |\n# not a comment\n",
        b'a: "x\\\n\n  y"\n',
        b"- 'a' - b\n",
        b"- [a] - b\n",
        b'""!!str"\n',
        b"- >  -#x\n",
        b"- >\n  --flag=on",
        b"{a: 1, b\n  c: 2}\n",
        b"--- {k0: true, \\\nk1: true}\n",
    ],
)
def test_markers_properties_and_odd_bytes_go_to_libyaml(data: bytes) -> None:
    assert fast_load(data) is None


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_line_of_1024_bytes_goes_to_libyaml_and_one_of_1023_does_not(where: str) -> None:
    def document(length: int) -> bytes:
        line = b"k: " + b"v" * (length - 3)
        lines = {"first": [line, b"a: 1", b"b: 2"], "middle": [b"a: 1", line, b"b: 2"]}
        return b"\n".join(lines.get(where, [b"a: 1", b"b: 2", line])) + b"\n"

    assert in_doubt(document(1024))
    assert not in_doubt(document(1023))


def _verdicts_alone(documents: list[bytes]) -> list[bool]:
    verdicts = []
    for data in documents:
        fast_yaml._SAFE_FRAGMENTS.clear()
        verdicts.append(in_doubt(data))
    return verdicts


def _verdicts_after_all(documents: list[bytes]) -> list[bool]:
    for data in documents:
        in_doubt(data)  # each leaves the fragments it found safe
    return [in_doubt(data) for data in documents]


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(yaml_documents(), min_size=2, max_size=6))
def test_fragments_safe_in_one_document_hide_no_doubt_in_another(documents: list[bytes]) -> None:
    assert _verdicts_after_all(documents) == _verdicts_alone(documents)


@needs_corpus
def test_corpus_verdicts_do_not_depend_on_the_documents_read_before() -> None:
    documents = [path.read_bytes() for path in corpus_files()] + [manifest(1), PLAIN]
    assert _verdicts_after_all(documents) == _verdicts_alone(documents)


def test_a_decimal_safe_as_a_value_is_doubted_where_it_is_also_a_key() -> None:
    assert not in_doubt(b"a: 1.50\n")
    assert in_doubt(b"1.50: a\nb: 1.50\n")


def test_a_syntax_error_is_worded_by_libyaml_and_rapidyaml_prints_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    data = b"metadata:\n  name: a: b\n"
    assert not in_doubt(data)  # rapidyaml tries it, and fails
    problem = load_document(data)
    assert isinstance(problem, SyntaxProblem)
    assert (problem.line, problem.column) == (2, 10)
    assert "mapping values are not allowed in this context" in problem.message
    assert capfd.readouterr().err == ""


def test_without_rapidyaml_libyaml_reads_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_yaml, "_ryml", None)
    assert load_document(PLAIN) == load_yaml11(PLAIN)
