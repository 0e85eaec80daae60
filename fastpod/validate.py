"""``fastpod validate``: check manifests as the kubelet would read them, without running them."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TextIO

import msgspec
import yaml

from fastpod.manifest.decode import DecodedPod, decode_pod
from fastpod.manifest.defaults import stamp_first_seen
from fastpod.manifest.lines import locate
from fastpod.manifest.not_honoured import findings
from fastpod.manifest.problems import ManifestError, Problem
from fastpod.model import PodSource
from fastpod.sources.listing import list_manifests, read_manifest

OutputFormat = Literal["text", "json", "yaml"]


@dataclass(frozen=True, slots=True)
class ValidateOptions:
    """What to validate, for which node, and how to print it."""

    paths: list[str]
    node_name: str
    output: OutputFormat = "text"


def run(options: ValidateOptions, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Validate every manifest under the paths; 0 when all are valid, 1 otherwise."""
    out = out or sys.stdout
    report = (err or sys.stderr) if options.output != "text" else out
    pods: list[DecodedPod] = []
    failed = False
    for path in options.paths:
        try:
            listing = list_manifests(path)
        except OSError as error:
            print(f"{path}: error: {error.strerror or error}", file=report)
            failed = True
            continue
        for skipped, reason in listing.skipped:
            print(f"{skipped}: skipped: {reason}", file=report)
        for manifest in listing.files:
            decoded = _validate_file(manifest, options.node_name, report)
            if decoded is None:
                failed = True
            else:
                pods.append(decoded)
    if options.output != "text" and pods:
        out.write(_render(pods, options.output))
    return 1 if failed else 0


def _validate_file(path: str, node_name: str, report: TextIO) -> DecodedPod | None:
    try:
        data = read_manifest(path)
        decoded = decode_pod(data, PodSource("file", path), node_name)
    except OSError as error:
        print(f"{path}: error: {error.strerror or error}", file=report)
        return None
    except ManifestError as error:
        for problem in error.problems:
            print(_line(path, "error", problem), file=report)
        return None
    for warning in sorted([*decoded.warnings, *_not_honoured(decoded, data)], key=_line_order):
        print(_line(path, "warning", warning), file=report)
    print(f"{path}: OK ({decoded.pod.metadata.namespace}/{decoded.pod.metadata.name})", file=report)
    return decoded


def _not_honoured(decoded: DecodedPod, data: bytes) -> list[Problem]:
    """What the pod sets that fastpod does not honour, at the lines that set it."""
    found = findings(decoded.pod)
    positions = locate(data, [finding.path for finding in found]) if found else []
    return [
        Problem(finding.path, finding.message, *(position or (None, None)))
        for finding, position in zip(found, positions, strict=True)
    ]


def _line_order(problem: Problem) -> int:
    return problem.line if problem.line is not None else 1 << 30


def _line(path: str, severity: str, problem: Problem) -> str:
    where = f"{path}:{problem.line}" if problem.line is not None else path
    field = f"{problem.field}: " if problem.path else ""
    return f"{where}: {severity}: {field}{problem.message}"


def _render(pods: list[DecodedPod], output: OutputFormat) -> str:
    now = datetime.now(UTC)
    documents = []
    for decoded in pods:
        stamp_first_seen(decoded.pod.metadata, now)
        documents.append(msgspec.to_builtins(decoded.pod))
    if len(documents) == 1:
        document = documents[0]
    else:
        document = {"apiVersion": "v1", "kind": "List", "items": documents}
    if output == "json":
        return msgspec.json.format(msgspec.json.encode(document), indent=2).decode() + "\n"
    return yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
