"""Manifest bytes → a defaulted, validated Pod, as the kubelet's file and URL sources do it.

``decode_pod`` is the file source's rule (exactly one Pod per file); ``decode_pod_list`` is
the URL source's (a Pod, or a PodList of Pods, all valid or none taken). A v1 ``List`` is
refused by both: the kubelet's ``tryDecodePodList`` decodes it as the API's ``List`` type,
which is no ``PodList``, and answers "invalid pods list" (``pkg/kubelet/config/common.go``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from fastpod.manifest.defaults import apply_api_defaults, apply_static_pod_defaults
from fastpod.manifest.documents import MAX_MANIFEST_BYTES, Document, SyntaxProblem, load_document
from fastpod.manifest.fast_validation import certainly_valid
from fastpod.manifest.hints import pod_hints
from fastpod.manifest.lines import locate
from fastpod.manifest.paths import FieldPath, from_msgspec
from fastpod.manifest.problems import ManifestError, Problem
from fastpod.manifest.unknown_fields import unknown_fields
from fastpod.manifest.valid_shape import has_valid_shape
from fastpod.manifest.validation import validate_pod
from fastpod.model import Pod, PodSource

LIST_KINDS = ("PodList",)
GENERIC_LIST = "List"
"""The v1 ``List`` kind (``kubectl get -o yaml`` writes it), which the kubelet refuses."""


class DecodedPod(msgspec.Struct, frozen=True):
    """A pod ready to run, and what the manifest did that deserves a warning."""

    pod: Pod
    warnings: list[Problem]


def decode_pod(data: bytes, source: PodSource, node_name: str) -> DecodedPod:
    """The one Pod of a manifest file; raises :class:`ManifestError` naming every problem."""
    document = _load(data, source)
    _require_pod_kind(document.value, data, source, lists_allowed=False)
    warnings = []
    if document.extra_documents:
        warnings.append(
            Problem(
                (),
                f"only the first YAML document is read, as the kubelet "
                f"does; {document.extra_documents} more ignored",
            )
        )
    decoded = _decode_item(document.value, (), data, source, node_name)
    return DecodedPod(decoded.pod, [*warnings, *decoded.warnings]) if warnings else decoded


def decode_pod_list(data: bytes, source: PodSource, node_name: str) -> list[DecodedPod]:
    """The pods of a manifest URL body: a Pod or a list of Pods; one bad item rejects all."""
    document = _load(data, source)
    raw = document.value
    _require_pod_kind(raw, data, source, lists_allowed=True)
    if raw.get("kind") not in LIST_KINDS:
        return [_decode_item(raw, (), data, source, node_name)]
    items = raw.get("items") or []
    if not isinstance(items, list):
        raise _error(source, data, [Problem(("items",), "must be a list of Pods")])
    decoded, problems = [], []
    for index, item in enumerate(items):
        try:
            if isinstance(item, dict) and item.get("kind", "Pod") != "Pod":
                kind = item["kind"]
                problems.append(
                    Problem(("items", index, "kind"), f"a list item must be a Pod, not {kind!r}")
                )
                continue
            decoded.append(_decode_item(item, ("items", index), data, source, node_name))
        except ManifestError as error:
            problems.extend(error.problems)
    if problems:
        raise _error(source, data, problems)
    return decoded


def _load(data: bytes, source: PodSource) -> Document:
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            source.location,
            [
                Problem(
                    (),
                    f"is {len(data)} bytes, more than the {MAX_MANIFEST_BYTES} bytes (10 MiB) "
                    f"the kubelet reads",
                )
            ],
        )
    document = load_document(data)
    if isinstance(document, SyntaxProblem):
        raise ManifestError(
            source.location,
            [
                Problem(
                    (),
                    f"not valid YAML or JSON{_template_hint(data)}: {document.message}",
                    document.line,
                    document.column,
                )
            ],
        )
    return document


def _template_hint(data: bytes) -> str:
    return " (an unrendered template?)" if b"{{" in data or b"{%" in data else ""


def _require_pod_kind(raw: Any, data: bytes, source: PodSource, *, lists_allowed: bool) -> None:
    if not isinstance(raw, dict):
        shape = "empty" if raw is None else f"a {type(raw).__name__}, not an object"
        raise _error(source, data, [Problem((), f"not a Pod: the document is {shape}")])
    kind, api_version = raw.get("kind"), raw.get("apiVersion")
    if kind == GENERIC_LIST:
        raise _error(
            source,
            data,
            [
                Problem(
                    ("kind",),
                    (
                        "Unsupported value: 'List': the kubelet reads a Pod or a PodList, "
                        "not a v1 List (write kind: PodList)"
                        if lists_allowed
                        else "a manifest file holds exactly one Pod, not a List"
                    ),
                )
            ],
        )
    if kind in LIST_KINDS and not lists_allowed:
        raise _error(
            source,
            data,
            [
                Problem(
                    ("kind",),
                    (
                        f"a manifest file holds exactly one Pod, not a {kind}; "
                        "only a manifest URL may serve a list"
                    ),
                )
            ],
        )
    problems = []
    if kind != "Pod" and kind not in (LIST_KINDS if lists_allowed else ()):
        problems.append(
            Problem(
                ("kind",),
                "Required value: kind must be Pod"
                if kind is None
                else f"Unsupported value: {kind!r}: a static pod is a Pod",
            )
        )
    if api_version != "v1":
        problems.append(
            Problem(
                ("apiVersion",),
                "Required value: apiVersion must be v1"
                if api_version is None
                else f"Unsupported value: {api_version!r}: Pods are v1",
            )
        )
    if problems:
        raise _error(source, data, problems)


def _decode_item(
    raw: Any, prefix: FieldPath, data: bytes, source: PodSource, node_name: str
) -> DecodedPod:
    try:
        pod = msgspec.convert(raw, Pod)
    except msgspec.ValidationError as error:
        message, _, where = str(error).partition(" - at `")
        path = (*prefix, *from_msgspec(where.rstrip("`")))
        raise _error(source, data, [Problem(path, message)]) from None
    # The valid shape (one C-level pass) also says that no field is unknown.
    shaped = has_valid_shape(raw)
    warnings = (
        []
        if shaped
        else [
            Problem((*prefix, *path), "unknown field, ignored") for path in unknown_fields(raw, Pod)
        ]
    )
    if not pod.metadata.name:
        raise _error(
            source,
            data,
            [Problem((*prefix, "metadata", "name"), "Required value: name is needed for the pod")],
        )
    apply_api_defaults(pod)
    apply_static_pod_defaults(pod, source, node_name)
    problems = [] if shaped and certainly_valid(pod) else validate_pod(pod)
    if problems:
        raise _error(source, data, [_prefixed(problem, prefix) for problem in problems])
    warnings.extend(_prefixed(problem, prefix) for problem in pod_hints(pod))
    if not warnings:  # the common case, at every decode
        return DecodedPod(pod, warnings)
    return DecodedPod(pod, sorted(_located(warnings, data), key=_line_order))


def _line_order(problem: Problem) -> int:
    # Warnings are read top to bottom; those without a line come last, in found order.
    return problem.line if problem.line is not None else 1 << 30


def _prefixed(problem: Problem, prefix: FieldPath) -> Problem:
    return Problem((*prefix, *problem.path), problem.message) if prefix else problem


def _error(source: PodSource, data: bytes, problems: list[Problem]) -> ManifestError:
    return ManifestError(source.location, _located(problems, data))


def _located(problems: list[Problem], data: bytes) -> list[Problem]:
    # Problems found on the plain values get their lines from one more parse, only now.
    unplaced = [problem for problem in problems if problem.line is None and problem.path]
    if not unplaced:
        return problems
    positions = dict(zip(map(id, unplaced), locate(data, [p.path for p in unplaced]), strict=True))
    return [
        Problem(problem.path, problem.message, *position)
        if (position := positions.get(id(problem))) is not None
        else problem
        for problem in problems
    ]
