"""``fastpod bench SCENARIO`` and ``fastpod bench compare``: the command line.

A scenario run prints progress on standard error and, at the end, where its record and
report are; ``compare`` prints one line per figure. Bad input, a runtime that cannot be
benchmarked or a fastpod that fails is one line on standard error and exit status 1 (2 for
usage); an interrupted run cleans up, writes what it measured, and exits with 130.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import time

from fastpod.bench.options import PEER_KEYS, BenchOptions, TargetSettings
from fastpod.config.settings import RUNTIME_NAMES


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fastpod bench`` and its scenarios on ``commands``."""
    bench = commands.add_parser(
        "bench",
        help="measure how fast pods start here, beside the runtime's floor and other tools",
        description="Start a fastpod of its own on the runtime, run a scenario's pods, and "
        "write a JSON record and a Markdown report (see docs/bench.md). Everything the run "
        "made is removed at the end, also on Ctrl-C.",
    )
    scenarios = bench.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    startup = scenarios.add_parser(
        "startup",
        help="N pods written at once → each running (the pod startup SLI)",
        description="Write N manifests at once and measure each pod from first seen to all "
        "its containers running: p50, p90, p99, and pods per second.",
    )
    _common(startup)
    restart = scenarios.add_parser(
        "restart",
        help="containers killed from the host → their replacements running",
        description="Run N pods, then kill every container's process from the host, round "
        "after round: exit → replacement running, the first restarts and the crash-loop "
        "restarts apart (docker or cri runtime).",
    )
    _common(restart)
    restart.add_argument(
        "--rounds",
        type=_positive,
        default=2,
        metavar="R",
        help="kills of every container: the first restarts, then R-1 rounds of crash-loop "
        "restarts, each after fastpod's back-off (default 2)",
    )
    churn = scenarios.add_parser(
        "churn",
        help="a sustained rate of manifest adds, edits and removals",
        description="Run N pods, then add, edit and remove manifests in turn at --rate a "
        "second for --duration seconds: write → new pod running (or stopped), over time.",
    )
    _common(churn)
    churn.add_argument(
        "--rate",
        dest="rates",
        type=_rates,
        default=(5.0,),
        metavar="PER_SECOND[,PER_SECOND...]",
        help="manifest changes a second (default 5); several, rising, are kept up in turn",
    )
    churn.add_argument(
        "--p99-bound",
        type=_positive_seconds,
        default=1.0,
        metavar="SECONDS",
        help="the p99 latency a rate must stay under to count as sustained (default 1)",
    )
    churn.add_argument(
        "--duration",
        type=_positive_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long the changes go on (default 30)",
    )
    density = scenarios.add_parser(
        "density",
        help="fastpod's and the runtime's memory and idle CPU per pod, at steps of N",
        description="Add pods step by step; at each step, once settled, measure fastpod's "
        "and the runtime's memory and idle CPU over --window seconds.",
    )
    _common(density)
    density.add_argument(
        "--steps",
        type=_steps,
        default=(100, 500, 1000),
        metavar="N,N,...",
        help="the numbers of pods measured, rising (default 100,500,1000; --pods unused)",
    )
    _window(density)
    probes = scenarios.add_parser(
        "probes",
        help="probes run per second, sustained, and their CPU",
        description="Run N pods with an exec readiness probe every second on each container; "
        "count the probes run and fastpod's CPU over --window seconds.",
    )
    _common(probes)
    probes.add_argument(
        "--probe-command",
        default="true",
        metavar="COMMAND",
        help="what each readiness probe runs in the container (default 'true'; a probe "
        "that fails is still a probe run)",
    )
    _window(probes)
    compare = scenarios.add_parser(
        "compare",
        help="each figure of record B beside record A's, with the ratio",
        description="Print each figure both records have, before → after, and after ÷ before.",
    )
    compare.add_argument("before", metavar="A.json")
    compare.add_argument("after", metavar="B.json")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        choices=RUNTIME_NAMES,
        help="the runtime (default docker; with --server, the running fastpod's)",
    )
    parser.add_argument(
        "--server",
        nargs="?",
        const="",
        metavar="'FLAGS'",
        help="measure the fastpod already running here, found from its `fastpod run` flags "
        "(e.g. --server '--config /etc/fastpod/kubelet.yaml'; none: its defaults): the pods "
        "are written to its manifest directory and removed at the end",
    )
    parser.add_argument(
        "--pods", type=_positive, default=100, metavar="N", help="pods (default 100)"
    )
    parser.add_argument(
        "--containers", type=_positive, default=1, metavar="N", help="containers a pod (default 1)"
    )
    parser.add_argument(
        "--image",
        metavar="IMAGE",
        help="the containers' image, present on the node (default: the pause image, "
        "which every node has)",
    )
    parser.add_argument(
        "--command",
        dest="container_command",
        metavar="COMMAND",
        help="the containers' command, for an image that needs one (e.g. 'sleep 3600')",
    )
    parser.add_argument(
        "--output",
        metavar="DIR",
        help="where the record, report and fastpod's log go (default bench-SCENARIO-TIME)",
    )
    parser.add_argument("--workers", type=_positive, metavar="N", help="fastpod's workers")
    parser.add_argument("--profile", metavar="NAME|PATH", help="fastpod's profile")
    parser.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=600.0,
        metavar="SECONDS",
        help="how long one phase (all pods running, all removed) may take (default 600)",
    )
    parser.add_argument(
        "--compare",
        nargs="+",
        choices=PEER_KEYS,
        metavar="PEER",
        help="the floor and peers measured beside fastpod, each its own column: "
        f"{', '.join(PEER_KEYS)} (default: every one that runs this scenario on this "
        "runtime; one named that cannot run here is reported with the reason)",
    )
    parser.add_argument(
        "--no-peers",
        dest="peers",
        action="store_false",
        help="measure fastpod alone, without the runtime's floor and the other tools",
    )
    parser.add_argument(
        "--fake-latency",
        type=_positive_seconds,
        metavar="SECONDS",
        help="with --runtime fake: how long each simulated runtime call takes (default 0)",
    )
    parser.add_argument(
        "--docker-socket", default="/var/run/docker.sock", metavar="PATH", help="Docker's socket"
    )
    parser.add_argument(
        "--container-runtime-endpoint",
        default="unix:///run/containerd/containerd.sock",
        metavar="URL",
        help="the CRI runtime's endpoint (default the kubelet's)",
    )


def _window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--window",
        type=_positive_seconds,
        default=10.0,
        metavar="SECONDS",
        help="how long each settled window is measured (default 10)",
    )


def _steps(text: str) -> tuple[int, ...]:
    steps = tuple(_positive(part.strip()) for part in text.split(",") if part.strip())
    if not steps or list(steps) != sorted(set(steps)):
        raise argparse.ArgumentTypeError(f"not rising numbers of pods: {text!r}")
    return steps


def _rates(text: str) -> tuple[float, ...]:
    rates = tuple(_positive_seconds(part.strip()) for part in text.split(",") if part.strip())
    if not rates or list(rates) != sorted(set(rates)):
        raise argparse.ArgumentTypeError(f"not rising rates: {text!r}")
    return rates


def _unique(keys: list[str] | None) -> tuple[str, ...] | None:
    return None if keys is None else tuple(dict.fromkeys(keys))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {value:g}")
    return value


def options(arguments: argparse.Namespace, now: datetime.datetime) -> BenchOptions:
    """The run's options from its arguments; ValueError (one line) for bad input."""
    from fastpod.bench.manifests import PAUSE_IMAGE

    server = None
    target = TargetSettings(
        arguments.runtime or "docker",
        arguments.docker_socket,
        arguments.container_runtime_endpoint,
    )
    if arguments.server is not None:
        from fastpod.bench.server import server_settings

        for flag, value in (
            ("--workers", arguments.workers),
            ("--profile", arguments.profile),
            ("--fake-latency", arguments.fake_latency),
        ):
            if value is not None:
                raise ValueError(f"{flag}: the running fastpod's own, not the bench's (--server)")
        server = server_settings(arguments.server)
        target = server.target
        if arguments.runtime not in (None, target.runtime):
            raise ValueError(
                f"--runtime {arguments.runtime}: the running fastpod's runtime is {target.runtime}"
            )

    try:
        command = tuple(shlex.split(arguments.container_command or ""))
    except ValueError as error:
        raise ValueError(f"--command: {error}") from None
    if target.runtime == "cri" and not target.container_runtime_endpoint.startswith("unix://"):
        raise ValueError(
            f"--container-runtime-endpoint: not a unix:// endpoint: "
            f"{target.container_runtime_endpoint}"
        )
    if arguments.fake_latency is not None and target.runtime != "fake":
        raise ValueError("--fake-latency: only with --runtime fake")
    try:
        probe = tuple(shlex.split(getattr(arguments, "probe_command", "") or ""))
    except ValueError as error:
        raise ValueError(f"--probe-command: {error}") from None
    if arguments.compare is not None and not arguments.peers:
        raise ValueError("--compare and --no-peers: choose one")
    if arguments.scenario == "restart" and target.runtime == "fake":
        raise ValueError("restart kills containers from the host: --runtime docker or cri")
    output = arguments.output or f"bench-{arguments.scenario}-{now:%Y%m%d-%H%M%S}"
    return BenchOptions(
        scenario=arguments.scenario,
        target=target,
        server=server,
        pods=arguments.steps[-1] if arguments.scenario == "density" else arguments.pods,
        containers=arguments.containers,
        image=arguments.image or PAUSE_IMAGE,
        command=command,
        output=os.path.abspath(output),
        workers=arguments.workers,
        profile=arguments.profile,
        timeout=arguments.timeout,
        compare=() if not arguments.peers else _unique(arguments.compare),
        fake_latency=arguments.fake_latency,
        rounds=getattr(arguments, "rounds", 2),
        rates=getattr(arguments, "rates", (5.0,)),
        p99_bound=getattr(arguments, "p99_bound", 1.0),
        duration=getattr(arguments, "duration", 30.0),
        steps=getattr(arguments, "steps", ()),
        window=getattr(arguments, "window", 10.0),
        probe=probe,
    )


def run(arguments: argparse.Namespace) -> int:
    """Run ``fastpod bench ...``; its exit status."""
    if arguments.scenario == "compare":
        return _compare(arguments.before, arguments.after)
    try:
        bench_options = options(arguments, datetime.datetime.now())
    except ValueError as error:
        print(f"fastpod bench: {error}", file=sys.stderr)
        return 2
    return _run_scenario(bench_options)


def _run_scenario(bench_options: BenchOptions) -> int:
    from fastpod.bench import scenarios
    from fastpod.bench.outputs import write_outputs
    from fastpod.bench.session import Bench, Interruption
    from fastpod.bench.subject import SubjectError
    from fastpod.bench.target import TargetError

    interruption = Interruption()
    began = time.monotonic()
    with interruption.installed():
        bench = Bench(bench_options, interruption)
        try:
            runs, versions = scenarios.run(bench)
        except (TargetError, SubjectError, OSError) as error:
            bench.say(f"error: {error}")
            return 1
        record = scenarios.record(bench, runs, versions, time.monotonic() - began)
        paths, missing = write_outputs(record, bench_options.output)
    if missing:
        bench.say(missing)
    bench.say(("interrupted; " if interruption else "") + f"wrote {', '.join(paths)}")
    return 130 if interruption else 0


def _compare(before_path: str, after_path: str) -> int:
    from fastpod.bench.record import RecordError, decode
    from fastpod.bench.report import compare

    try:
        before = decode(_read(before_path), before_path)
        after = decode(_read(after_path), after_path)
    except OSError as error:
        print(f"fastpod bench: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    except RecordError as error:
        print(f"fastpod bench: {error}", file=sys.stderr)
        return 1
    for line in compare(before, after):
        print(line)
    return 0


def _read(path: str) -> bytes:
    with open(path, "rb") as file:
        return file.read()
