"""A run's files: the JSON record and the Markdown report beside it (and its plots)."""

from __future__ import annotations

import os

from fastpod.bench.record import Record, encode
from fastpod.bench.report import markdown

RECORD_FILE = "record.json"
REPORT_FILE = "report.md"


def write_outputs(record: Record, directory: str) -> list[str]:
    """Write the record and the report into ``directory``; the paths written."""
    os.makedirs(directory, exist_ok=True)
    record_path = os.path.join(directory, RECORD_FILE)
    _write(record_path, encode(record))
    report_path = os.path.join(directory, REPORT_FILE)
    _write(report_path, markdown(record).encode())
    return [record_path, report_path]


def _write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: a reader never sees half a record."""
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
