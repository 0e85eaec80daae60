"""The ``fastpod`` command line: parse arguments, build options, call the command's ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fastpod import __version__, validate
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fastpod`` console script."""
    arguments = _parser().parse_args(argv)
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
