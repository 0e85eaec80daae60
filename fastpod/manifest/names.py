"""The syntax rules of Kubernetes names, with the API server's own wording.

Each check returns what is wrong with a value (empty when it is fine), as
``k8s.io/apimachinery/pkg/util/validation`` does, so a caller can attach them to a field.
"""

from __future__ import annotations

import functools
import re

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(f"^{_LABEL}$")
_DNS1123_SUBDOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_IANA_SERVICE_NAME = re.compile(r"^[-a-z0-9]+$")
_HAS_LETTER = re.compile(r"[a-z]")

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
QUALIFIED_NAME_MAX = 63
LABEL_VALUE_MAX = 63
IANA_SERVICE_NAME_MAX = 15


_remembered = functools.lru_cache(maxsize=16384)
"""Manifests are re-read every re-list with the same names: check each name once."""


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


@_remembered
def dns1123_label(value: str) -> tuple[str, ...]:
    """A DNS label (container, volume and port-less names; namespaces)."""
    errors = []
    if len(value) > DNS1123_LABEL_MAX:
        errors.append(_too_long(DNS1123_LABEL_MAX))
    if not _DNS1123_LABEL.match(value):
        errors.append(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
            "or '-', and must start and end with an alphanumeric character (e.g. 'my-name', "
            f"or '123-abc', regex used for validation is '{_LABEL}')"
        )
    return tuple(errors)


@_remembered
def dns1123_subdomain(value: str) -> tuple[str, ...]:
    """A DNS subdomain (pod names, priority class names, label prefixes)."""
    errors = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errors.append(_too_long(DNS1123_SUBDOMAIN_MAX))
    if not _DNS1123_SUBDOMAIN.match(value):
        errors.append(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character "
            f"(e.g. 'example.com', regex used for validation is '{_LABEL}(\\.{_LABEL})*')"
        )
    return tuple(errors)


@_remembered
def qualified_name(value: str) -> tuple[str, ...]:
    """A label or annotation key: an optional DNS-subdomain prefix and ``/``, then a name."""
    prefix, slash, name = value.rpartition("/")
    errors = []
    if slash:
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend(f"prefix part {error}" for error in dns1123_subdomain(prefix))
    if not name:
        errors.append("name part must be non-empty")
        return tuple(errors)
    if len(name) > QUALIFIED_NAME_MAX:
        errors.append(f"name part {_too_long(QUALIFIED_NAME_MAX)}")
    if not _QUALIFIED_NAME.match(name):
        errors.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must "
            "start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or "
            "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    return tuple(errors)


@_remembered
def label_value(value: str) -> tuple[str, ...]:
    """A label value: empty, or a short qualified name without prefix."""
    if not value:
        return ()
    errors = []
    if len(value) > LABEL_VALUE_MAX:
        errors.append(_too_long(LABEL_VALUE_MAX))
    if not _QUALIFIED_NAME.match(value):
        errors.append(
            "a valid label must be an empty string or consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )
    return tuple(errors)


@_remembered
def iana_service_name(value: str) -> tuple[str, ...]:
    """A named port (``IANA_SVC_NAME``): what a probe may use instead of a number."""
    errors = []
    if len(value) > IANA_SERVICE_NAME_MAX:
        errors.append(_too_long(IANA_SERVICE_NAME_MAX))
    if not _IANA_SERVICE_NAME.match(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if not _HAS_LETTER.search(value):
        errors.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return tuple(errors)


@_remembered
def environment_variable_name(value: str) -> tuple[str, ...]:
    """An env var name: printable ASCII but ``=`` (Kubernetes 1.32's relaxed rule)."""
    if value and all(" " <= char <= "~" and char != "=" for char in value):
        return ()
    return (
        "a valid environment variable name must consist only of printable ASCII "
        "characters other than '='",
    )


@_remembered
def port_number(value: int) -> tuple[str, ...]:
    """A TCP/UDP port."""
    return () if 1 <= value <= 65535 else ("must be between 1 and 65535, inclusive",)
