"""Every manifest of the shared corpus is accepted or rejected as the expectation table says.

The corpus (``$FASTPOD_CORPUS``, by default ``../shared/corpus/pods`` beside the repository)
holds real Pod manifests copied from public repositories; without it these tests are skipped.
``tests/data/corpus_expectations.tsv`` says, file by file, whether fastpod must run it (and
under which name, or with which warning) or reject it (and with which message), and why. The
expectations come from reading the files, not from fastpod.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fastpod.manifest import not_honoured
from fastpod.manifest.decode import DecodedPod, decode_pod
from fastpod.manifest.problems import ManifestError
from fastpod.model import PodSource
from tests.support import DATA
from tests.support.corpus import CORPUS_METADATA

EXPECTATIONS = DATA / "corpus_expectations.tsv"

NODE_NAME = "node1"
OUTCOMES = ("accept", "reject")
POD_NAME = re.compile(r"[a-z0-9-]+/[a-z0-9.-]+-node1")
"""An ``expect`` of an accepted file that is a full pod name; anything else is a warning."""
SYNTAX_ERROR_AT = re.compile(r"\bat line (\d+) col \d+")
"""Where the corpus INDEX says the YAML parser gave up on a file."""


@dataclass(frozen=True)
class Expectation:
    """One row of the table: a corpus file, its outcome, what to look for, and why."""

    path: str
    outcome: str
    expect: str
    reason: str


@dataclass(frozen=True)
class IndexEntry:
    """One row of the corpus INDEX: whether PyYAML parses the file, and its quirks."""

    path: str
    docs: str
    parses: str
    kinds: str
    notes: str


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as table:
        return list(csv.DictReader(table, delimiter="\t", quoting=csv.QUOTE_NONE))


def load_expectations() -> list[Expectation]:
    return [Expectation(**row) for row in _read_tsv(EXPECTATIONS)]


def _params(rows: list[Expectation]) -> Iterator[object]:
    for row in rows:
        yield pytest.param(row, id=row.path)


EXPECTED = load_expectations()
EVERY_ROW = list(_params(EXPECTED))
REJECTED_ROWS = list(_params([row for row in EXPECTED if row.outcome == "reject"]))


@pytest.fixture(scope="session")
def index(corpus: Path) -> dict[str, IndexEntry]:
    return {row["path"]: IndexEntry(**row) for row in _read_tsv(corpus / "INDEX.tsv")}


def decode(corpus: Path, relative: str) -> DecodedPod | ManifestError:
    path = corpus / relative
    try:
        return decode_pod(path.read_bytes(), PodSource("file", str(path)), NODE_NAME)
    except ManifestError as error:
        return error


def rejection(corpus: Path, row: Expectation) -> ManifestError:
    result = decode(corpus, row.path)
    if not isinstance(result, ManifestError):
        metadata = result.pod.metadata
        pytest.fail(
            f"{row.path} was accepted as {metadata.namespace}/{metadata.name}, "
            f"but it must be rejected: {row.reason}"
        )
    return result


def test_expectation_table_is_well_formed() -> None:
    paths = [row.path for row in EXPECTED]
    duplicates = sorted({path for path in paths if paths.count(path) > 1})
    assert duplicates == []
    for row in EXPECTED:
        assert row.outcome in OUTCOMES, row
        assert row.expect, row
        assert row.reason, row


def test_expectations_cover_exactly_the_corpus_files(corpus: Path) -> None:
    on_disk = {
        path.relative_to(corpus).as_posix()
        for path in corpus.rglob("*")
        if path.is_file() and path.relative_to(corpus).as_posix() not in CORPUS_METADATA
    }
    listed = {row.path for row in EXPECTED}
    without_expectation = sorted(on_disk - listed)
    without_file = sorted(listed - on_disk)
    assert without_expectation == [], "corpus files without a row in the expectation table"
    assert without_file == [], "rows of the expectation table naming no corpus file"


def test_files_the_yaml_parser_cannot_read_are_expected_to_be_rejected(
    index: dict[str, IndexEntry],
) -> None:
    outcomes = {row.path: row.outcome for row in EXPECTED}
    unparsable = sorted(path for path, entry in index.items() if entry.parses == "no")
    assert unparsable, "the corpus INDEX lists no file that fails to parse"
    assert {path: outcomes.get(path) for path in unparsable} == dict.fromkeys(unparsable, "reject")


@pytest.mark.parametrize("row", EVERY_ROW)
def test_manifest_is_accepted_or_rejected_as_the_table_says(corpus: Path, row: Expectation) -> None:
    if row.outcome == "reject":
        error = rejection(corpus, row)
        assert error.source == str(corpus / row.path), "the error must name the file"
        messages = "; ".join(problem.describe() for problem in error.problems)
        assert row.expect in messages, f"{row.reason}; got: {messages}"
        return
    result = decode(corpus, row.path)
    assert not isinstance(result, ManifestError), f"{row.reason}; rejected: {result}"
    metadata = result.pod.metadata
    warnings = [warning.describe() for warning in result.warnings]
    if POD_NAME.fullmatch(row.expect):
        assert f"{metadata.namespace}/{metadata.name}" == row.expect
        assert warnings == [], "a file expected by its pod name must be accepted cleanly"
    else:
        warnings.extend(not_honoured.warnings(result.pod))
        assert any(row.expect in warning for warning in warnings), (
            f"no warning contains {row.expect!r}; warnings: {warnings}"
        )


@pytest.mark.parametrize("row", REJECTED_ROWS)
def test_rejection_points_at_the_line_of_each_problem(
    corpus: Path, index: dict[str, IndexEntry], row: Expectation
) -> None:
    problems = rejection(corpus, row).problems
    for problem in problems:
        if problem.path:
            assert problem.line is not None, problem.describe()
    entry = index.get(row.path)
    assert entry is not None, f"{row.path} is missing from the corpus INDEX"
    if entry.parses == "no":
        where = SYNTAX_ERROR_AT.search(entry.notes)
        assert where is not None, entry.notes
        [problem] = problems
        assert problem.path == ()
        assert problem.message.startswith("not valid YAML or JSON")
        assert problem.line == int(where.group(1)), problem.describe()
