"""``fastpod bench startup``: N pods written at once → each pod running.

fastpod starts ready on an empty manifest directory, then the N manifests are written as
fast as the bench can write them; each pod's sample runs from the moment fastpod first saw
it to the moment all its containers ran (the kubelet's pod startup SLI), and also carries
when its manifest was written.
"""

from __future__ import annotations

from fastpod import __version__
from fastpod.bench.log_samples import startup_samples
from fastpod.bench.record import Run
from fastpod.bench.session import Bench


def measure_fastpod(bench: Bench) -> Run:
    """fastpod's startup samples, with its and the runtime's CPU and memory over the run."""
    options = bench.options
    with bench.fastpod("fastpod") as (subject, workspace, sampler):
        written = bench.start_pods(subject, workspace, bench.pod_names(options.pods))
        sampler.sample_now()
        samples = startup_samples(subject.records, written, bench.containers, bench.origin)
        usage = dict(sampler.usage)
    return Run(
        name="fastpod",
        role="subject",
        status="measured",
        version=__version__,
        samples=samples,
        usage={group: points for group, points in usage.items() if points},
    )
