"""The ``fastpod`` command line: parse arguments, build options, call the command's ``run``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from fastpod import __version__, validate
from fastpod.config import Config, FakeLatencies
from fastpod.logs import LOG_FORMATS
from fastpod.node import node_name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastpod", description="Run Kubernetes static pods, as the kubelet does, faster."
    )
    parser.add_argument("--version", action="version", version=f"fastpod {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser(
        "validate",
        help="check manifests as the kubelet would read them",
        description="Check manifest files or directories (read as the kubelet reads them: "
        "sorted, no dotfiles, no recursion). Exit 0 when all are valid, 1 otherwise.",
    )
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument(
        "--node-name",
        "--hostname-override",
        dest="node_name",
        help="the node name pod names end with (default: this host's name, lowercased)",
    )
    check.add_argument(
        "-o",
        "--output",
        choices=("json", "yaml"),
        help="print the defaulted pods, as `kubectl create --dry-run -o` would",
    )
    _add_run(commands)
    return parser


def _add_run(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run the static pods of a manifest path and/or URL",
        description="Watch the manifest path and URL and run their pods until SIGTERM.",
    )
    run.add_argument("--pod-manifest-path", metavar="PATH", help="directory or file of manifests")
    run.add_argument("--manifest-url", metavar="URL", help="URL serving a Pod or a PodList")
    run.add_argument(
        "--manifest-url-header",
        action="append",
        default=[],
        metavar="KEY:VALUE",
        help="header sent with every URL request (repeatable)",
    )
    run.add_argument("--hostname-override", metavar="NODE", help="the node name")
    run.add_argument(
        "--file-check-frequency",
        type=_duration,
        default=20.0,
        metavar="SECONDS",
        help="how often the manifest path is re-listed (default 20)",
    )
    run.add_argument(
        "--http-check-frequency",
        type=_duration,
        default=20.0,
        metavar="SECONDS",
        help="how often the manifest URL is polled (default 20)",
    )
    run.add_argument(
        "--workers", type=int, default=0, help="worker processes (default: one per core)"
    )
    run.add_argument(
        "--runtime",
        choices=("docker", "fake"),
        default="docker",
        help="container runtime: the Docker Engine, or an in-memory fake (default docker)",
    )
    run.add_argument(
        "--pod-infra-container-image",
        default="registry.k8s.io/pause:3.10",
        metavar="IMAGE",
        help="the sandbox image holding each pod's namespaces",
    )
    run.add_argument(
        "--docker-socket", default="/var/run/docker.sock", help="the Docker Engine's socket"
    )
    run.add_argument(
        "--root-dir",
        default="/var/lib/fastpod",
        help="where pods' own directories (emptyDir volumes) live",
    )
    run.add_argument(
        "--pod-logs-dir",
        default="/var/log/pods",
        help="pod log links; container links go to ../containers beside it",
    )
    run.add_argument(
        "--restart-backoff",
        type=_duration,
        nargs=2,
        default=(10.0, 300.0),
        metavar=("INITIAL", "MAX"),
        help="crash-loop back-off: first delay and cap (default 10s 300s)",
    )
    run.add_argument(
        "--resync-period",
        type=_duration,
        default=10.0,
        metavar="SECONDS",
        help="how often each pod is compared with the runtime without an event (default 10)",
    )
    run.add_argument(
        "--fake-latency",
        type=_duration,
        default=0.0,
        metavar="SECONDS",
        help="simulated duration of each fake runtime call",
    )
    run.add_argument("--log-format", choices=LOG_FORMATS, default="text")


def _duration(text: str) -> float:
    """Seconds as a number, or with a Go-style unit (``20s``, ``500ms``, ``1m``)."""
    units = (("ms", 0.001), ("s", 1.0), ("m", 60.0))
    for unit, scale in units:
        if text.endswith(unit) and not (unit == "s" and text.endswith("ms")):
            text, factor = text[: -len(unit)], scale
            break
    else:
        factor = 1.0
    try:
        seconds = float(text) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r}") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return seconds


def _header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(":")
    if not separator or not name.strip():
        raise ValueError(f"--manifest-url-header {name.strip()!r}: expected KEY:VALUE")
    return name.strip(), value.strip()


def _run_config(arguments: argparse.Namespace) -> Config:
    if not arguments.pod_manifest_path and not arguments.manifest_url:
        raise ValueError("nothing to run: give --pod-manifest-path and/or --manifest-url")
    if arguments.workers < 0:
        raise ValueError("--workers must be 0 (one per core) or more")
    latency = arguments.fake_latency if arguments.fake_latency else 0.0
    return Config(
        node_name=node_name(arguments.hostname_override),
        pod_manifest_path=arguments.pod_manifest_path,
        manifest_url=arguments.manifest_url,
        manifest_url_headers=tuple(_header(text) for text in arguments.manifest_url_header),
        file_check_frequency=arguments.file_check_frequency,
        http_check_frequency=arguments.http_check_frequency,
        workers=arguments.workers,
        runtime=arguments.runtime,
        fake_latencies=FakeLatencies(
            run_sandbox=latency,
            create_container=latency,
            start_container=latency,
            stop_container=latency,
            remove=latency,
        ),
        log_format=arguments.log_format,
        pod_infra_container_image=arguments.pod_infra_container_image,
        docker_socket=arguments.docker_socket,
        root_dir=os.path.abspath(arguments.root_dir),
        pod_logs_dir=os.path.abspath(arguments.pod_logs_dir),
        backoff_initial=arguments.restart_backoff[0],
        backoff_max=arguments.restart_backoff[1],
        resync_period=arguments.resync_period,
    )


def _run(arguments: argparse.Namespace) -> int:
    from fastpod.supervisor import Supervisor

    try:
        config = _run_config(arguments)
    except ValueError as error:
        print(f"fastpod: {error}", file=sys.stderr)
        return 2
    return Supervisor(config).run()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastpod`` console script."""
    arguments = _parser().parse_args(argv)
    if arguments.command == "run":
        return _run(arguments)
    try:
        options = validate.ValidateOptions(
            paths=arguments.paths,
            node_name=node_name(arguments.node_name),
            output=arguments.output or "text",
        )
    except ValueError as error:
        print(f"fastpod: {error}", file=sys.stderr)
        return 2
    try:
        return validate.run(options)
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
