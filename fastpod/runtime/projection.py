"""PURE: the files a downwardAPI or projected volume holds, each path with its bytes and mode.

The kubelet's ``CollectData`` (``pkg/volume/downwardapi/downwardapi.go``), which the
projected volume (``pkg/volume/projected/projected.go``) calls for each of its downwardAPI
sources with its own ``defaultMode``: each item's path cleaned, its ``mode`` or the
volume's ``defaultMode`` (0644 once defaulted), and its content:

- a ``fieldRef``: ``metadata.name``, ``metadata.namespace``, ``metadata.uid``, one label or
  annotation (``metadata.labels['key']``, empty when absent), or every label or annotation
  as ``key="value"`` lines sorted by key, the value quoted as Go's ``%q`` quotes it
  (``fieldpath.FormatMap``), with no final newline;
- a ``resourceFieldRef``: the named container's limit or request, divided and rounded up;
  a limit it does not set is the node's allocatable amount.

A static pod's annotations include the ones the kubelet adds (``kubernetes.io/config.hash``,
``config.seen``, ``config.source``), so a volume of ``metadata.annotations`` shows them.
"""

from __future__ import annotations

import posixpath

import msgspec

from fastpod.model import DownwardAPIVolumeFile, Pod, Volume
from fastpod.runtime.environment import field_value, resource_value
from fastpod.runtime.spec import PodContext

_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


class FileProjection(msgspec.Struct, frozen=True):
    """One file of a volume: its content and its permission bits."""

    data: bytes
    mode: int


class ProjectionError(Exception):
    """A file of the volume has no value here; the message says which and why."""


def volume_payload(volume: Volume, pod: Pod, context: PodContext) -> dict[str, FileProjection]:
    """Every file of a downwardAPI or projected volume by its path in the volume (empty for
    other kinds). Projected sources other than downwardAPI are refused when the manifest is
    read, so only downwardAPI sources are collected here."""
    if volume.downward_api is not None:
        source = volume.downward_api
        return downward_api_payload(source.items or (), source.default_mode, pod, context)
    payload: dict[str, FileProjection] = {}
    if volume.projected is not None:
        for projection in volume.projected.sources or ():
            if projection.downward_api is not None:
                items = projection.downward_api.items or ()
                default_mode = volume.projected.default_mode
                payload.update(downward_api_payload(items, default_mode, pod, context))
    return payload


def downward_api_payload(
    items: tuple[DownwardAPIVolumeFile, ...] | list[DownwardAPIVolumeFile],
    default_mode: int | None,
    pod: Pod,
    context: PodContext,
) -> dict[str, FileProjection]:
    """The files of a list of downward API items; raises :class:`ProjectionError` for an
    item whose value cannot be had (a container that does not exist, say)."""
    payload: dict[str, FileProjection] = {}
    for item in items:
        path = posixpath.normpath(item.path or "")
        mode = item.mode if item.mode is not None else default_mode
        data = _value(item, pod, context).encode(errors="surrogatepass")
        payload[path] = FileProjection(data, 0o644 if mode is None else mode)
    return payload


def _value(item: DownwardAPIVolumeFile, pod: Pod, context: PodContext) -> str:
    if item.field_ref is not None:
        field_path = item.field_ref.field_path or ""
        metadata = pod.metadata
        if field_path == "metadata.labels":
            return format_map(metadata.labels or {})
        if field_path == "metadata.annotations":
            return format_map(metadata.annotations or {})
        value = field_value(pod, field_path, context)
        if value is None:
            raise ProjectionError(f"{item.path}: unsupported fieldPath {field_path}")
        return value
    if item.resource_field_ref is not None:
        selector = item.resource_field_ref
        containers = [*(pod.spec.containers or ()), *(pod.spec.init_containers or ())]
        named = [c for c in containers if c.name == selector.container_name]
        value = resource_value(pod, named[0], selector, context.allocatable) if named else None
        if value is None:
            raise ProjectionError(
                f"{item.path}: no value for {selector.resource} of container "
                f"{selector.container_name}"
            )
        return value
    raise ProjectionError(f"{item.path}: neither fieldRef nor resourceFieldRef")


def format_map(mapping: dict[str, str]) -> str:
    """Labels or annotations as the kubelet writes them: ``key="value"`` lines in key
    order, no final newline (``fieldpath.FormatMap``)."""
    return "\n".join(f"{key}={go_quote(mapping[key])}" for key in sorted(mapping))


def go_quote(text: str) -> str:
    """``text`` as Go's ``strconv.Quote`` writes it: in double quotes, printable characters
    as they are, ``"`` and ``\\`` escaped, the others as ``\\n``, ``\\x1b``, ``\\u200b``."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'  # nearly every label and annotation: nothing to escape
    parts = ['"']
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            parts.append(escaped)
        elif char.isprintable():
            parts.append(char)
        elif 0xD800 <= ord(char) < 0xE000:
            parts.append("\\ufffd")  # a lone surrogate is no rune: Go writes U+FFFD
        elif ord(char) < 0x80:
            parts.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(f"\\U{ord(char):08x}")
    parts.append('"')
    return "".join(parts)
