"""``fastpod bench churn``: a sustained rate of manifest adds, edits and removals.

N pods run first; then, for ``--duration`` seconds, a manifest is written every
1/``--rate`` seconds, in turn an add (a new pod), an edit (a pod's manifest changed: a new
pod under the same name) and a removal, each on a pod with no change still pending (an
add instead, when there is none). Each sample runs from the write to the new pod running
(the stopped one, for a removal); their times of writing give the latency over time.
"""

from __future__ import annotations

import time

from fastpod import __version__
from fastpod.bench.log_samples import ChurnTracker, Operation
from fastpod.bench.progress import Progress
from fastpod.bench.record import Run
from fastpod.bench.session import Bench
from fastpod.bench.subject import Subject, Workspace

CYCLE = ("add", "edit", "remove")


def measure_fastpod(bench: Bench) -> Run:
    """fastpod's churn samples, with its and the runtime's CPU and memory over the run."""
    options = bench.options
    with bench.fastpod("fastpod") as (subject, workspace, sampler):
        names = bench.pod_names(options.pods)
        bench.start_pods(subject, workspace, names)
        tracker = ChurnTracker(bench.containers)
        _churn(bench, subject, workspace, tracker, names)
        usage = dict(sampler.usage)
    return Run(
        name="fastpod",
        role="subject",
        status="measured",
        version=__version__,
        samples=tracker.samples(bench.origin),
        usage={group: points for group, points in usage.items() if points},
    )


def _churn(
    bench: Bench, subject: Subject, workspace: Workspace, tracker: ChurnTracker, live: list[str]
) -> None:
    options = bench.options
    total = max(1, round(options.rate * options.duration))
    progress = Progress(bench.stream, "manifest changes done", total)
    generations: dict[str, int] = {}
    fed = 0
    began = time.monotonic()
    added = 0

    def feed() -> int:
        nonlocal fed
        records = subject.records[fed:]
        fed += len(records)
        tracker.feed(records)
        return len(tracker.done)

    for index in range(total):
        if bench.interrupted():
            break
        delay = began + index / options.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        feed()
        progress.update(len(tracker.done))
        idle = [name for name in live if bench.key(name) not in tracker.pending]
        kind = CYCLE[index % len(CYCLE)] if idle else "add"
        if kind == "add":
            name = f"churn-add-{added:05d}"
            added += 1
            written = bench.write_pod(workspace, name)
            live.append(name)
        elif kind == "edit":
            name = idle[index % len(idle)]
            generations[name] = generations.get(name, 0) + 1
            written = bench.write_pod(workspace, name, generations[name])
        else:
            name = idle[0]
            written = bench.remove_pod(workspace, name)
            live.remove(name)
        tracker.wrote(Operation(kind, bench.key(name), written))
    waiting = ", ".join(f"{op.kind} of {op.key}" for op in tracker.pending.values())
    subject.wait(
        bench.waiting(lambda: feed() >= total),
        options.timeout,
        f"every manifest change carried out (waiting: {waiting})",
        bench.interrupted,
        tick=lambda: progress.update(len(tracker.done)),
    )
    progress.finish(len(tracker.done))
