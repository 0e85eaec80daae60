"""The arguments of ``fastpod pods``/``ps``, ``logs`` and ``inspect``
(:mod:`fastpod.client.commands` runs them).

Apart from the commands, so that every ``fastpod`` command line can offer them without
importing an HTTP client and kubectl's tables: ``fastpod run`` pays its imports before it
starts its first pods.
"""

from __future__ import annotations

import argparse

from fastpod.api import discovery
from fastpod.config.settings import DEFAULT_ROOT_DIR

GONE = "Terminated"
"""STATUS of the row printed once more, under ``--watch``, for a pod that disappeared."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pods`` (alias ``ps``), ``logs`` and ``inspect`` on ``commands``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--server",
        metavar="URL",
        help="the API of the fastpod to ask (default: $FASTPOD_SERVER, else the URL the "
        f"daemon recorded under --root-dir, else {discovery.DEFAULT_SERVER})",
    )
    common.add_argument(
        "--root-dir",
        default=DEFAULT_ROOT_DIR,
        metavar="DIR",
        help="the running daemon's --root-dir, where it records its URL "
        f"(default {DEFAULT_ROOT_DIR})",
    )
    pods = commands.add_parser(
        "pods",
        aliases=["ps"],
        parents=[common],
        help="list the pods of a running fastpod, as `kubectl get pods` does",
        description="List the pods with kubectl's columns. Every namespace unless -n; "
        "--watch prints a row again whenever a pod changes, and once more with STATUS "
        f"{GONE} when a pod goes away.",
    )
    pods.add_argument(
        "-o", "--output", choices=("wide", "json", "yaml"), help="more columns, or the PodList"
    )
    pods.add_argument(
        "-w", "--watch", action="store_true", help="keep printing changed pods until Ctrl-C"
    )
    pods.add_argument("-n", "--namespace", help="only the pods of this namespace")
    pods.add_argument(
        "-A", "--all-namespaces", action="store_true", help="every namespace (the default)"
    )
    logs = commands.add_parser(
        "logs",
        parents=[common],
        help="print a container's log, as `kubectl logs` does",
        description="Print the log of a container of POD (its name as listed, or NAMESPACE/NAME).",
    )
    logs.add_argument("pod", metavar="POD")
    logs.add_argument("-c", "--container", help="the container (needed when POD has several)")
    logs.add_argument(
        "-f", "--follow", action="store_true", help="keep printing until the container ends"
    )
    logs.add_argument(
        "-p", "--previous", action="store_true", help="the log of the previous instance"
    )
    logs.add_argument(
        "--tail", type=_tail_lines, default=-1, metavar="N", help="only the last N lines"
    )
    logs.add_argument("-n", "--namespace", help="the namespace of POD")
    inspect = commands.add_parser(
        "inspect",
        parents=[common],
        help="describe a pod: containers, source file, conditions and events",
        description="Describe POD (its name as listed, or NAMESPACE/NAME); with -o, print "
        "the whole document instead.",
    )
    inspect.add_argument("pod", metavar="POD")
    inspect.add_argument("-n", "--namespace", help="the namespace of POD")
    inspect.add_argument(
        "-o", "--output", choices=("json", "yaml"), help="the whole document, not a summary"
    )


def _tail_lines(text: str) -> int:
    try:
        lines = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of lines: {text!r}") from None
    if lines < -1:
        raise argparse.ArgumentTypeError("must be -1 (everything) or more")
    return lines
