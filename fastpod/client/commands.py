"""``fastpod pods``/``ps``, ``logs`` and ``inspect``: a running fastpod seen as kubectl sees a node.

Each command reads the daemon's read-only API (:mod:`fastpod.client.http`) and prints what
kubectl would print for the same pods. Failures are one line on standard error and exit
status 1; Ctrl-C ends ``--watch`` and ``--follow`` with status 0, anything else with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import os
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

import msgspec

from fastpod.client import table
from fastpod.client.arguments import GONE
from fastpod.client.http import Api, ClientError, path, server_url
from fastpod.client.summary import summary

WATCH_PERIOD = 1.0
"""Seconds between two looks at ``/pods`` under ``--watch``."""

DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"

PodKey = tuple[str, str]


def run(arguments: argparse.Namespace) -> int:
    """Run the command ``arguments.command`` names; its exit status."""
    command = _COMMANDS[arguments.command]
    try:
        return command(arguments)
    except ClientError as error:
        print(f"fastpod: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except KeyboardInterrupt:
        asked_to_go_on = getattr(arguments, "watch", False) or getattr(arguments, "follow", False)
        return 0 if asked_to_go_on else 130


def _api(arguments: argparse.Namespace) -> Api:
    return Api(server_url(arguments.server, arguments.root_dir, os.environ))


def _pods(arguments: argparse.Namespace) -> int:
    api = _api(arguments)
    namespace = None if arguments.all_namespaces else arguments.namespace
    if arguments.watch:
        _watch(api, namespace, arguments.output)
    pod_list = _pod_list(api)
    items = [pod for pod in pod_list["items"] if _in_namespace(pod, namespace)]
    if arguments.output in ("json", "yaml"):
        _print_document({**pod_list, "items": items}, arguments.output)
        return 0
    if not items:
        where = f" in {namespace} namespace." if namespace else ""
        print(f"No resources found{where}", file=sys.stderr)
        return 0
    wide, with_namespace = arguments.output == "wide", namespace is None
    now = datetime.now(UTC)
    lines = [table.header(wide=wide, with_namespace=with_namespace)]
    lines += [
        table.pod_row(pod, now).cells(wide=wide, with_namespace=with_namespace)
        for pod in sorted(items, key=_key)
    ]
    for line in table.render(lines):
        print(line)
    return 0


def _watch(api: Api, namespace: str | None, output: str | None) -> NoReturn:
    """Print the header once, then a row per new, changed or gone pod, every second."""
    wide, with_namespace = output == "wide", namespace is None
    seen: dict[PodKey, Mapping[str, Any]] = {}
    widths: list[int] = []
    first = True
    while True:
        current = {
            _key(pod): pod for pod in _pod_list(api)["items"] if _in_namespace(pod, namespace)
        }
        changed = sorted(key for key, pod in current.items() if seen.get(key) != pod)
        if output in ("json", "yaml"):
            for key in changed:
                _print_document(current[key], output, separate=True)
        else:
            now = datetime.now(UTC)
            rows = [table.pod_row(current[key], now) for key in changed]
            rows += [
                dataclasses.replace(table.pod_row(seen[key], now), status=GONE)
                for key in sorted(seen.keys() - current.keys())
            ]
            lines = [row.cells(wide=wide, with_namespace=with_namespace) for row in rows]
            if first:
                lines.insert(0, table.header(wide=wide, with_namespace=with_namespace))
            widths = [
                max(pair)
                for pair in itertools.zip_longest(widths, table.column_widths(lines), fillvalue=0)
            ]
            for cells in lines:
                print(table.layout(cells, widths))
        sys.stdout.flush()
        seen, first = current, False
        time.sleep(WATCH_PERIOD)


def _logs(arguments: argparse.Namespace) -> int:
    api = _api(arguments)
    pod = _find_pod(api, arguments.pod, arguments.namespace)
    namespace, name = _key(pod)
    container = arguments.container or _default_container(pod)
    query = {}
    if arguments.follow:
        query["follow"] = "true"
    if arguments.previous:
        query["previous"] = "true"
    if arguments.tail >= 0:
        query["tailLines"] = str(arguments.tail)
    log_path = path("containerLogs", namespace, name, container)
    out = sys.stdout.buffer
    for chunk in api.stream(log_path, query, follow=arguments.follow):
        out.write(chunk)
        out.flush()
    return 0


def _inspect(arguments: argparse.Namespace) -> int:
    api = _api(arguments)
    namespace, name = _split(arguments.pod, arguments.namespace)
    if namespace is None:
        namespace, name = _key(_find_pod(api, name, None))
    document = api.get_json(path("fastpod", "v1", "pods", namespace, name))
    if not isinstance(document, dict) or not isinstance(document.get("pod"), dict):
        raise ClientError(f"{api.base_url} did not answer with a pod inspection")
    if arguments.output:
        _print_document(document, arguments.output)
    else:
        sys.stdout.write(summary(document, datetime.now(UTC)))
    return 0


def _pod_list(api: Api) -> dict[str, Any]:
    answer: object = api.get_json("/pods")
    items = answer.get("items") if isinstance(answer, dict) else None
    listed = isinstance(items, list) and all(isinstance(item, dict) for item in items)
    if not isinstance(answer, dict) or not listed:
        raise ClientError(f"{api.base_url}/pods did not answer with a PodList")
    return answer


def _find_pod(api: Api, text: str, namespace: str | None) -> Mapping[str, Any]:
    """The pod POD names, in ``namespace`` or in the only namespace that has one so named."""
    namespace, name = _split(text, namespace)
    matches: list[Mapping[str, Any]] = [
        pod
        for pod in _pod_list(api)["items"]
        if _key(pod)[1] == name and _in_namespace(pod, namespace)
    ]
    if not matches:
        where = f' in namespace "{namespace}"' if namespace else ""
        raise ClientError(f'pod "{name}" not found{where}')
    if len(matches) > 1:
        namespaces = ", ".join(sorted(_key(pod)[0] for pod in matches))
        raise ClientError(
            f'pod "{name}" is in several namespaces ({namespaces}): '
            f"say which with -n NAMESPACE or NAMESPACE/{name}"
        )
    return matches[0]


def _split(text: str, namespace: str | None) -> tuple[str | None, str]:
    """POD as ``(namespace, name)``: ``NAMESPACE/NAME``, else ``-n`` and the name."""
    prefix, slash, name = text.rpartition("/")
    if not slash:
        return namespace, text
    if not prefix or not name:
        raise ClientError(f"not a pod: {text!r} (expected NAME or NAMESPACE/NAME)")
    if namespace is not None and namespace != prefix:
        raise ClientError(f"{text} is not in namespace {namespace} (-n)")
    return prefix, name


def _default_container(pod: Mapping[str, Any]) -> str:
    """kubectl's choice without ``-c``: the only container, or the annotated default."""
    spec = pod.get("spec") or {}
    names = [str(c.get("name")) for c in spec.get("containers") or []]
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    if annotations.get(DEFAULT_CONTAINER_ANNOTATION) in names:
        return str(annotations[DEFAULT_CONTAINER_ANNOTATION])
    if len(names) == 1:
        return names[0]
    init = [str(c.get("name")) for c in spec.get("initContainers") or []]
    message = (
        f"a container name must be specified for pod {_key(pod)[1]}, "
        f"choose one of: [{' '.join(names)}]"
    )
    if init:
        message += f" or one of the init containers: [{' '.join(init)}]"
    raise ClientError(message)


def _key(pod: Mapping[str, Any]) -> PodKey:
    metadata = pod.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


def _in_namespace(pod: Mapping[str, Any], namespace: str | None) -> bool:
    return namespace is None or _key(pod)[0] == namespace


def _print_document(document: Any, output: str, *, separate: bool = False) -> None:
    """JSON indented as kubectl indents it, or YAML with sorted keys as kubectl prints it.

    ``separate`` starts each YAML document with ``---``, for a stream of them (``--watch``).
    """
    if output == "json":
        text = msgspec.json.format(msgspec.json.encode(document), indent=4).decode()
        sys.stdout.write(text + "\n")
        return
    import yaml  # only here: PyYAML would cost every other command start-up time

    if separate:
        sys.stdout.write("---\n")
    sys.stdout.write(yaml.safe_dump(document, default_flow_style=False, allow_unicode=True))


def _silence_stdout() -> None:
    """After the reader went away, let the interpreter's final flush write nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "pods": _pods,
    "ps": _pods,
    "logs": _logs,
    "inspect": _inspect,
}
