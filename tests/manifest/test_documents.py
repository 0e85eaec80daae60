"""Reading manifest bytes as the kubelet does: go-yaml v2 scalars, first document, limits."""

from __future__ import annotations

import pytest

from fastpod.manifest.documents import Document, SyntaxProblem, load_document


def value_of(text: str) -> object:
    document = load_document(f"value: {text}\n".encode())
    assert isinstance(document, Document)
    return document.value["value"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("on", True),
        ("Y", True),
        ("y", True),
        ("no", False),
        ("off", False),
        ("n", False),
        ("true", True),
        ("~", None),
        ("null", None),
        ("", None),
        ("80", 80),
        ("0x1F", 31),
        ("017", 15),
        ("0b101", 5),
        ("1_000", 1000),
        ("1e3", 1000.0),
        ("0.5", 0.5),
        (".5", 0.5),
    ],
)
def test_scalars_resolve_as_go_yaml_v2_does(text: str, expected: object) -> None:
    """YAML 1.1 booleans (including y/n), Go's number forms, and nulls."""
    assert value_of(text) == expected
    assert type(value_of(text)) is type(expected)


@pytest.mark.parametrize("text", ["12:30", "2001-12-14", "2001-12-14T21:59:43Z", "=", "0o17", "08"])
def test_timestamps_base_sixty_and_odd_numbers_stay_strings(text: str) -> None:
    """go-yaml v2 gives strings where PyYAML's defaults would build dates or base-60 ints."""
    assert value_of(text) == (8 if text == "08" else text)


def test_only_the_first_document_is_read_and_the_rest_counted() -> None:
    """yaml.Unmarshal reads one document; the others are reported, not used."""
    document = load_document(b"a: 1\n---\nb: 2\n---\nc: 3\n")
    assert document == Document({"a": 1}, extra_documents=2)


def test_a_broken_later_document_does_not_spoil_the_first() -> None:
    """The kubelet never parses past the first document."""
    document = load_document(b"a: 1\n---\n{ broken: [\n")
    assert document == Document({"a": 1}, extra_documents=1)


def test_strict_json_takes_the_fast_path_and_loose_json_falls_back_to_yaml() -> None:
    """JSON with a trailing comma is still valid YAML flow style."""
    assert load_document(b'{"a": [1, 2]}') == Document({"a": [1, 2]})
    assert load_document(b'{"a": [1, 2],}') == Document({"a": [1, 2]})


def test_syntax_errors_carry_the_line_and_column() -> None:
    """A malformed file names where the parser gave up."""
    problem = load_document(b"a: 1\nb: [1, 2\nc: 3\n")
    assert isinstance(problem, SyntaxProblem)
    assert problem.line == 3
    assert "expected ',' or ']'" in problem.message


def test_unsafe_tags_are_refused_not_executed() -> None:
    """Only the safe constructor runs: a python/object tag is an error, not code."""
    problem = load_document(b"a: !!python/object/apply:os.system ['true']\n")
    assert isinstance(problem, SyntaxProblem)


def test_anchors_aliases_and_merge_keys_build_what_pyyaml_builds() -> None:
    """The lean constructor shares aliased values and hands merges to PyYAML's."""
    data = b"base: &b {a: 1}\nsame: *b\nmerged:\n  <<: *b\n  c: 2\nlist: &l [1, 2]\nagain: *l\n"
    document = load_document(data)
    assert isinstance(document, Document)
    assert document.value == {
        "base": {"a": 1},
        "same": {"a": 1},
        "merged": {"a": 1, "c": 2},
        "list": [1, 2],
        "again": [1, 2],
    }


def test_explicit_tags_are_read_as_pyyaml_reads_them() -> None:
    """Sets and binary are PyYAML's business; they fail later as wrong types."""
    document = load_document(b"s: !!set {a, b}\nb: !!binary aGk=\n")
    assert isinstance(document, Document)
    assert document.value == {"s": {"a", "b"}, "b": b"hi"}


@pytest.mark.parametrize("data", [b"r: &r [*r]\n", b"m: &m {a: *m}\n"])
def test_an_anchor_containing_itself_is_refused(data: bytes) -> None:
    """go-yaml refuses recursive aliases; a cycle must never reach the encoder."""
    problem = load_document(data)
    assert isinstance(problem, SyntaxProblem)
    assert "contains itself" in problem.message


def test_an_alias_bomb_is_refused() -> None:
    """Nine levels of ten aliases would expand to a billion nodes."""
    lines = [b"a0: &a0 [x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]".encode() for n in range(1, 10)]
    problem = load_document(b"\n".join(lines))
    assert isinstance(problem, SyntaxProblem)
    assert "alias bomb" in problem.message


def test_non_string_keys_become_strings_as_in_go() -> None:
    """sigs.k8s.io/yaml writes every key as a JSON string."""
    assert load_document(b"1: a\ntrue: b\n~: c\n") == Document({"1": "a", "true": "b", "null": "c"})


def test_small_documents_nested_too_deeply_are_refused_by_the_builder() -> None:
    """Below the measured size, Python's recursion limit stops the build cleanly."""
    problem = load_document(b"[" * 4000 + b"]" * 4000)
    assert isinstance(problem, SyntaxProblem)
    # a libyaml with its own nesting limit (0.2.6, in PyYAML 6.0.4) refuses it first
    assert problem.message in ("nested too deeply", "nested more than 1000 levels deep")


def test_nesting_deeper_than_the_limit_is_refused_before_parsing() -> None:
    """libyaml's composer recurses in C: a deep document must not reach it."""
    problem = load_document(b"[" * 9000 + b"]" * 9000)
    assert isinstance(problem, SyntaxProblem)
    assert problem.message == "nested more than 1000 levels deep"


def test_unhashable_keys_are_a_syntax_problem() -> None:
    """A list used as a map key cannot be a manifest."""
    problem = load_document(b"? [a]\n: 1\n")
    assert isinstance(problem, SyntaxProblem)
    assert "unhashable" in problem.message
