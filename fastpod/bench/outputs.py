"""A run's files: the JSON record, the plots (with matplotlib), the Markdown report."""

from __future__ import annotations

import os

from fastpod.bench import plots
from fastpod.bench.record import Record, encode
from fastpod.bench.report import markdown

RECORD_FILE = "record.json"
REPORT_FILE = "report.md"


def write_outputs(record: Record, directory: str) -> tuple[list[str], str | None]:
    """Write the record, the plots and the report into ``directory``; the paths written,
    and why there are no plots when there are none for that reason."""
    os.makedirs(directory, exist_ok=True)
    record_path = os.path.join(directory, RECORD_FILE)
    _write(record_path, encode(record))
    drawn: list[plots.Plot] = []
    missing = None
    if plots.available():
        drawn = plots.draw(record, directory)
    else:
        missing = f"no plots: {plots.MISSING}"
    report_path = os.path.join(directory, REPORT_FILE)
    _write(report_path, markdown(record, drawn).encode())
    written = [record_path, *(os.path.join(directory, name) for _, name in drawn), report_path]
    return written, missing


def _write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` whole: a reader never sees half a record."""
    temporary = f"{path}.tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)
