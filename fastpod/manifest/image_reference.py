"""PURE: the tag of an image reference, as the kubelet's ``parsers.ParseImageName`` finds it.

The default ``imagePullPolicy`` hangs on it (``SetDefaults_Container``: ``Always`` when the
tag is ``latest``, else ``IfNotPresent``). ``ParseImageName`` parses with
``github.com/distribution/reference`` ``ParseNormalizedNamed`` and reports ``latest`` when
the reference has neither a tag nor a digest; a reference that does not parse has no tag.
So ``busybox`` and ``busybox:latest@sha256:…`` are ``latest``, ``busybox@sha256:…`` and
``Busybox`` (repository names are lowercase) are not.
"""

from __future__ import annotations

import re

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_NAME = rf"(?:{_HOST}(?::[0-9]+)?/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?")
_IDENTIFIER = re.compile(r"[a-f0-9]{64}")

NAME_TOTAL_LENGTH_MAX = 255
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
"""The digest algorithms the reference library knows, and their hex length."""


def image_tag(image: str) -> str:
    """The tag ``ParseImageName`` gives ``image``: ``latest`` when it has neither tag nor
    digest, ``""`` when it has only a digest or does not parse."""
    if _IDENTIFIER.fullmatch(image):
        return ""  # a bare image ID is no repository name
    # splitDockerDomain: the first component is a registry when it looks like one
    first, slash, rest = image.partition("/")
    is_domain = slash and (
        any(c in first for c in ".:") or first in ("localhost", "") or first != first.lower()
    )
    remainder = rest if is_domain else image
    repository = remainder.split(":", 1)[0]
    if repository != repository.lower():
        return ""  # "repository name must be lowercase"
    match = _REFERENCE.fullmatch(image)
    if match is None or len(match.group(1)) > NAME_TOTAL_LENGTH_MAX:
        return ""
    _, tag, digest = match.groups()
    if digest is not None:
        algorithm, _, encoded = digest.partition(":")
        if _DIGEST_LENGTHS.get(algorithm) != len(encoded) or encoded != encoded.lower():
            return ""
    if tag is None and digest is None:
        return "latest"
    return tag or ""
