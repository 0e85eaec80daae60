"""What a record says, for people: the Markdown report and the comparison of two runs (pure).

The report's table has a row per figure and a column per run (fastpod, the floor, the
peers), then fastpod's ratio to each of the others; a run that could not be measured here
is listed with its reason, never left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastpod.bench.record import Figure, Record, Run

_KIB = 1024


def value_text(value: float, unit: str) -> str:
    """``value`` in ``unit`` as a person reads it: ms under a second, MiB for memory."""
    if unit == "s":
        if abs(value) < 0.001:
            return f"{value * 1e6:.1f} µs"
        return f"{value * 1000:.1f} ms" if abs(value) < 1 else f"{value:.2f} s"
    if unit == "B":
        if abs(value) >= _KIB**3:
            return f"{value / _KIB**3:.2f} GiB"
        return f"{value / _KIB**2:.1f} MiB" if abs(value) >= _KIB**2 else f"{value / _KIB:.1f} KiB"
    if unit == "s/s":
        return f"{value * 100:.2f} % of a core"
    if unit == "/s":
        return f"{value:.1f}/s"
    return f"{value:g}{unit}"


def ratio_text(subject: float, other: float) -> str:
    """``subject / other`` as ``1.23x``, or a dash when it has no meaning."""
    if other == 0:
        return "-"
    return f"{subject / other:.2f}x"


def title(record: Record) -> str:
    settings = record.settings
    return (
        f"fastpod bench {settings.scenario}: {settings.pods} pods on {settings.runtime}"
        f"{' (interrupted)' if record.interrupted else ''}"
    )


def machine_line(record: Record) -> str:
    machine = record.machine
    memory = machine.memory_bytes / _KIB**3
    return (
        f"{machine.hostname}: {machine.os}, kernel {machine.kernel}, {machine.cpus} x "
        f"{machine.cpu_model}, {memory:.1f} GiB, Python {machine.python}"
    )


def table(record: Record) -> list[str]:
    """The figures as a Markdown table: a column per measured run, then fastpod's ratios."""
    measured = [run for run in record.runs if run.status == "measured"]
    subject = next((run for run in measured if run.role == "subject"), None)
    others = [run for run in measured if run is not subject]
    names = _figure_names(measured)
    header = ["figure", *(_column(run) for run in measured)]
    if subject is not None:
        header += [f"fastpod ÷ {run.name}" for run in others]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        by_run = [_figure(run, name) for run in measured]
        cells = [name, *(value_text(f.value, f.unit) if f else "" for f in by_run)]
        if subject is not None:
            mine = _figure(subject, name)
            for run in others:
                theirs = _figure(run, name)
                if mine is None or theirs is None or not mine.unit:
                    cells.append("")  # a count has no ratio worth reading
                else:
                    cells.append(ratio_text(mine.value, theirs.value))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(record: Record, plots: Sequence[tuple[str, str]] = ()) -> str:
    """The whole report: title, when and where, settings, table, who could not run, plots
    (``(caption, file name)`` pairs, beside the report)."""
    versions = ", ".join(f"{name} {version}" for name, version in sorted(record.versions.items()))
    lines = [
        f"# {title(record)}",
        "",
        f"Run {record.started}, {record.seconds:.1f} s; {versions}.",
        "",
        f"Machine: {machine_line(record)}.",
        "",
        f"Settings: {_settings_text(record)}.",
        "",
        *table(record),
        "",
    ]
    unmeasured = [run for run in record.runs if run.status != "measured"]
    if unmeasured:
        lines += ["Not measured here:", ""]
        lines += [f"- {run.name} ({run.role}): cannot run here: {run.reason}" for run in unmeasured]
        lines.append("")
    if record.interrupted:
        lines += ["The run was interrupted: the figures are of the samples taken until then.", ""]
    for caption, name in plots:
        lines += [f"![{caption}]({name})", ""]
    return "\n".join(lines)


def compare(before: Record, after: Record) -> list[str]:
    """Each figure both records have, for the same run name: before, after, after ÷ before,
    and whether that is better or worse; a line first for each setting that differs."""
    lines = [f"{field}: {a} → {b} (the runs differ)" for field, a, b in _differences(before, after)]
    for run in after.runs:
        old = next((r for r in before.runs if r.name == run.name), None)
        if old is None or old.status != "measured" or run.status != "measured":
            continue
        for figure in run.figures:
            previous = _figure(old, figure.name)
            if previous is None:
                continue
            lines.append(
                f"{run.name}: {figure.name}: {value_text(previous.value, previous.unit)} → "
                f"{value_text(figure.value, figure.unit)}  "
                f"{ratio_text(figure.value, previous.value)}{_verdict(previous, figure)}"
            )
    return lines


def _verdict(before: Figure, after: Figure) -> str:
    if before.value == after.value:
        return ""
    lower = after.value < before.value
    return " (better)" if lower == (after.better == "lower") else " (worse)"


def _differences(before: Record, after: Record) -> list[tuple[str, object, object]]:
    pairs: list[tuple[str, object, object]] = [
        ("machine", before.machine.hostname, after.machine.hostname),
        ("scenario", before.settings.scenario, after.settings.scenario),
        ("runtime", before.settings.runtime, after.settings.runtime),
        ("pods", before.settings.pods, after.settings.pods),
    ]
    return [(field, a, b) for field, a, b in pairs if a != b]


def _settings_text(record: Record) -> str:
    settings = record.settings
    parts = [
        f"{settings.pods} pods of {settings.containers_per_pod} container(s), image "
        f"`{settings.image}`"
    ]
    for label, value in (
        ("workers", settings.workers),
        ("profile", settings.profile),
        ("rates a second", settings.rates),
        ("p99 bound (s)", settings.p99_bound),
        ("duration (s)", settings.duration),
        ("steps", settings.steps),
        ("rounds", settings.rounds),
        ("window (s)", settings.window),
        ("probe", settings.probe_command),
    ):
        if value is not None:
            parts.append(f"{label} {value}")
    return ", ".join(parts)


def _column(run: Run) -> str:
    return run.name if run.role == "subject" else f"{run.name} ({run.role})"


def _figure_names(runs: Sequence[Run]) -> list[str]:
    names: list[str] = []
    for run in runs:
        names.extend(f.name for f in run.figures if f.name not in names)
    return names


def _figure(run: Run, name: str) -> Figure | None:
    return next((f for f in run.figures if f.name == name), None)
