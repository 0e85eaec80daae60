"""The ``fastpod`` command line: parse arguments, build options, call the command's ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fastpod import __version__
from fastpod.bench import command as bench_command
from fastpod.client import arguments as client_arguments
from fastpod.config import options
from fastpod.config.node import node_name
from fastpod.config.settings import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastpod", description="Run Kubernetes static pods, as the kubelet does, faster."
    )
    parser.add_argument("--version", action="version", version=f"fastpod {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Every subcommand is registered here.
    _add_validate(commands)
    options.add_run_command(commands)
    client_arguments.add_commands(commands)
    bench_command.add_command(commands)
    return parser


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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


def _run(arguments: argparse.Namespace, unrecognized: Sequence[str]) -> int:
    from fastpod.supervisor.supervisor import Supervisor

    try:
        config = options.run_config(arguments, unrecognized)
    except ConfigError as error:
        print(f"fastpod: {error}", file=sys.stderr)
        return 2
    return Supervisor(config).run()


def _validate(arguments: argparse.Namespace) -> int:
    from fastpod import validate

    try:
        validate_options = validate.ValidateOptions(
            paths=arguments.paths,
            node_name=node_name(arguments.node_name),
            output=arguments.output or "text",
        )
    except ValueError as error:
        print(f"fastpod: {error}", file=sys.stderr)
        return 2
    try:
        return validate.run(validate_options)
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastpod`` console script."""
    parser = _parser()
    # Only `run` takes unknown flags (the kubelet's, ignored with a warning); for any other
    # command they are the usage error parse_args would make of them.
    arguments, unrecognized = parser.parse_known_args(argv)
    if arguments.command == "run":
        return _run(arguments, unrecognized)
    if unrecognized:
        parser.error(f"unrecognized arguments: {' '.join(unrecognized)}")
    if arguments.command == "validate":
        return _validate(arguments)
    if arguments.command == "bench":
        return bench_command.run(arguments)
    # deferred: an HTTP client and kubectl's tables, which `fastpod run` does without
    from fastpod.client import commands as client_commands

    return client_commands.run(arguments)
