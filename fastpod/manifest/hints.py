"""Warnings for what the kubelet accepts but will not do what the author meant.

These never reject a manifest (the kubelet would run it); they point at the likely mistake
before the pod fails at run time: a placeholder where an image reference belongs, or a
shell-style ``${VAR}`` that Kubernetes will pass through literally.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator

from fastpod.manifest.paths import FieldPath
from fastpod.manifest.problems import Problem
from fastpod.model import Container, Pod

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_IMAGE_REFERENCE = re.compile(
    rf"^(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_SHELL_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def pod_hints(pod: Pod) -> Iterator[Problem]:
    """Every likely mistake in a valid pod, as warnings."""
    spec = pod.spec
    for field, group in (("initContainers", spec.init_containers), ("containers", spec.containers)):
        for index, container in enumerate(group or ()):
            yield from _container(container, ("spec", field, index))


def _container(container: Container, path: FieldPath) -> Iterator[Problem]:
    if container.image and not _is_image_reference(container.image):
        yield Problem(
            (*path, "image"),
            f"{container.image!r} is not a valid image reference: the runtime will refuse "
            "it (InvalidImageName)",
        )
    for field, words in (("command", container.command), ("args", container.args)):
        if words and "${" in "\0".join(words):  # seldom: one C-level look at every word first
            for index, word in enumerate(words):
                yield from _shell_variables(word, (*path, field, index))
    for index, variable in enumerate(container.env or ()):
        if variable.value and "${" in variable.value:
            yield from _shell_variables(variable.value, (*path, "env", index, "value"))


@functools.lru_cache(maxsize=4096)
def _is_image_reference(image: str) -> bool:
    # the same few images recur in every manifest of a node; the match costs a microsecond
    return _IMAGE_REFERENCE.match(image) is not None


def _shell_variables(text: str, path: FieldPath) -> Iterator[Problem]:
    if "${" not in text:
        return
    found = _SHELL_VARIABLE.findall(text)
    if found:
        yield Problem(
            path,
            f"{', '.join(found)} is passed literally: Kubernetes expands only $(VAR), and no "
            "shell runs here (an unrendered template?)",
        )
