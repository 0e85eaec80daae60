"""``fastpod bench churn``: a sustained rate of manifest adds, edits and removals.

N pods run first; then, for ``--duration`` seconds, a manifest is written every
1/``--rate`` seconds, in turn an add (a new pod), an edit (a pod's manifest changed: a new
pod under the same name) and a removal, each on a pod with no change still pending (an
add instead, when there is none). Each sample runs from the write to the new pod running
(the stopped one, for a removal); their times of writing give the latency over time.
Several rates (``--rate 5,10,20``) are kept up in turn, each once the changes of the one
before are done: the highest whose p99 stays under ``--p99-bound`` is a figure.
"""

from __future__ import annotations

import time

from fastpod import __version__
from fastpod.bench.log_samples import ChurnTracker, Operation
from fastpod.bench.progress import Progress
from fastpod.bench.record import Run
from fastpod.bench.session import Bench
from fastpod.bench.subject import MeasuredFastpod, Workspace

CYCLE = ("add", "edit", "remove")


def measure_fastpod(bench: Bench) -> Run:
    """fastpod's churn samples, rate after rate, with its and the runtime's CPU and memory
    over the run."""
    options = bench.options
    with bench.fastpod("fastpod") as (subject, workspace, sampler):
        names = bench.pod_names(options.pods)
        bench.start_pods(subject, workspace, names)
        churn = _Churn(bench, subject, workspace, names)
        for rate in options.rates:
            if bench.interrupted():
                break
            churn.phase(rate)
        usage = dict(sampler.usage)
    return Run(
        name="fastpod",
        role="subject",
        status="measured",
        version=__version__,
        samples=churn.tracker.samples(bench.origin),
        usage={group: points for group, points in usage.items() if points},
    )


class _Churn:
    """The manifest changes of a run, and the pods they leave."""

    def __init__(
        self, bench: Bench, subject: MeasuredFastpod, workspace: Workspace, live: list[str]
    ):
        self.bench = bench
        self.subject = subject
        self.workspace = workspace
        self.live = live
        self.tracker = ChurnTracker(bench.containers)
        self.generations: dict[str, int] = {}
        self.added = 0
        self.fed = 0

    def feed(self) -> int:
        """Give the tracker the log records that came since the last time; how many
        changes are done."""
        records = self.subject.records[self.fed :]
        self.fed += len(records)
        self.tracker.feed(records)
        return len(self.tracker.done)

    def settled(self) -> bool:
        """Whether every change written is done (the log read so far)."""
        self.feed()
        return not self.tracker.pending

    def phase(self, rate: float) -> None:
        """``rate`` changes a second for ``--duration`` seconds, then until all are done."""
        bench = self.bench
        before = len(self.tracker.done)
        count = max(1, round(rate * bench.options.duration))
        progress = Progress(bench.stream, f"manifest changes at {rate:g}/s done", count)
        began = time.monotonic()
        for index in range(count):
            if bench.interrupted():
                break
            delay = began + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            progress.update(self.feed() - before)
            self.change(index, rate)
        pending = ", ".join(f"{op.kind} of {op.key}" for op in self.tracker.pending.values())
        self.subject.wait(
            bench.waiting(self.settled),
            bench.options.timeout,
            f"every manifest change carried out (pending when the writes ended: {pending})",
            bench.interrupted,
            tick=lambda: progress.update(self.feed() - before),
        )
        progress.finish(len(self.tracker.done) - before)

    def change(self, index: int, rate: float) -> None:
        """The ``index``-th change: in turn an add, an edit, a removal, each of a pod with
        no change pending (an add when there is none)."""
        bench, workspace = self.bench, self.workspace
        idle = [name for name in self.live if bench.key(name) not in self.tracker.pending]
        kind = CYCLE[index % len(CYCLE)] if idle else "add"
        if kind == "add":
            name = f"churn-add-{self.added:05d}"
            self.added += 1
            written = bench.write_pod(workspace, name)
            self.live.append(name)
        elif kind == "edit":
            name = idle[index % len(idle)]
            self.generations[name] = self.generations.get(name, 0) + 1
            written = bench.write_pod(workspace, name, self.generations[name])
        else:
            name = idle[0]
            written = bench.remove_pod(workspace, name)
            self.live.remove(name)
        self.tracker.wrote(Operation(kind, bench.key(name), written, rate))
