"""The checks of every value an operator writes: flags, the kubelet's config file, profiles.

Each check takes a value as its source decoded it (a flag's text, or a YAML or JSON scalar)
and returns it as :class:`~fastpod.config.settings.Config` holds it, or raises ValueError
saying what was expected. The caller adds where the value was written: the flag's name, or
the file, its line and the field. Durations are seconds in Config; an operator writes them
as Go does (``20s``, ``1m30s``), and fastpod's own settings also take a number of seconds.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable

from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.runtime.admission import sysctl_pattern_problem

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")

_GO_BOOLEANS = {
    **dict.fromkeys(["1", "t", "T", "TRUE", "true", "True"], True),
    **dict.fromkeys(["0", "f", "F", "FALSE", "false", "False"], False),
}
"""What Go's ``strconv.ParseBool`` accepts, and what each means."""


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration (``20s``, ``1m0s``, ``500ms``, ``1h``, ``1m30s``).

    The syntax of Go's ``time.ParseDuration``, which the kubelet's flags and config file
    use: an optional sign, then one or more number-and-unit parts; ``0`` needs no unit.
    """
    if text.lstrip("+-") == "0" and len(text) <= 2:
        return 0.0
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"not a duration: {text!r} (write it as Go does: 20s, 1m30s, 500ms)")
    seconds = sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(text))
    return -seconds if text.startswith("-") else seconds


def go_duration(text: str) -> float:
    """A duration of the kubelet's config file: Go's syntax only, not negative."""
    return _not_negative(parse_go_duration(text), text)


def seconds(value: object) -> float:
    """A duration of fastpod's own settings: a Go duration or a number of seconds, 0 or more."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"must be a duration (20s, 1m30s) or seconds, not {value!r}")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = parse_go_duration(value.strip())
    else:
        number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a duration: {value!r}")
    return _not_negative(number, value)


def period(value: object) -> float:
    """How often something is done: a duration as :func:`seconds` reads it, more than zero."""
    interval = seconds(value)
    if interval == 0:
        raise ValueError(f"{value!r} must be more than zero")
    return interval


def count(value: object) -> int:
    """A whole number, 0 or more (a YAML integer; never a boolean)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"must be a whole number, 0 or more, not {value!r}")
    return value


def positive_count(value: object) -> int:
    """A whole number, 1 or more."""
    number = count(value)
    if number == 0:
        raise ValueError("must be 1 or more")
    return number


def port(value: object) -> int:
    """A TCP port number; 0 means the listener is off."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ValueError(f"must be a port number from 0 (off) to 65535, not {value!r}")
    return value


def ip_address(text: str) -> str:
    """An IPv4 or IPv6 address, as written."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address") from None
    return text


def boolean(value: object) -> bool:
    """A YAML or JSON boolean (``true``, ``false``), never a string or a number."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def node_ip(text: str) -> str | None:
    """The kubelet's ``--node-ip``: one address, or an IPv4 and an IPv6 one (dual stack);
    the first is the node's address. An unspecified address (``0.0.0.0``, ``::``) or none
    means the default route's, as for the kubelet."""
    addresses = [part.strip() for part in text.split(",")] if text else []
    if len(addresses) > 2:
        raise ValueError(f"{text!r}: at most two addresses, one of each family")
    parsed = [ipaddress.ip_address(ip_address(address)) for address in addresses]
    if len(parsed) == 2 and parsed[0].version == parsed[1].version:
        raise ValueError(f"{text!r}: two addresses must be one IPv4 and one IPv6")
    if not parsed or parsed[0].is_unspecified:
        return None
    return addresses[0]


def sysctl_patterns(value: object) -> tuple[str, ...]:
    """``allowedUnsafeSysctls``: a list of sysctls, or prefixes ending in ``*``, each of a
    namespace the kubelet knows (its ``NewAllowlist`` refuses to start otherwise)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"must be a list of sysctl names or patterns, not {value!r}")
    for pattern in value:
        problem = sysctl_pattern_problem(pattern)
        if problem is not None:
            raise ValueError(problem)
    return tuple(value)


def string(value: object) -> str:
    """A string, where YAML could also have decoded a number or a boolean."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {value!r}")
    return value


def choice(*choices: str) -> Callable[[object], str]:
    """A check that the value is one of ``choices``."""

    def read(value: object) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {value!r}")
        return value

    return read


def log_size(value: object) -> int:
    """A container log's size before it is rotated, as the kubelet reads ``containerLogMaxSize``:
    a quantity of bytes (``10Mi``, ``500Ki``, ``1048576``); a negative one turns rotation off
    (the kubelet's stub log manager)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValueError(f"must be a quantity of bytes (10Mi, 500Ki), not {value!r}")
    try:
        size = parse_quantity(value)
    except QuantityError as error:
        raise ValueError(f"{value!r} is not a quantity of bytes: {error}") from None
    if size.denominator != 1:
        raise ValueError(f"{value!r} is not a whole number of bytes")
    return int(size)


def log_files(value: object) -> int:
    """How many log files a container keeps, its current one included: 2 or more, as the
    kubelet's log manager requires (``containerLogMaxFiles``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ValueError(f"must be a whole number, 2 or more, not {value!r}")
    return value


def go_boolean(text: str) -> bool:
    """A boolean flag's value, as Go's ``strconv.ParseBool`` reads it."""
    if text not in _GO_BOOLEANS:
        raise ValueError(f"{text!r} is not a boolean (true or false)")
    return _GO_BOOLEANS[text]


def _not_negative(number: float, written: object) -> float:
    if number < 0:
        raise ValueError(f"{written!r} must not be negative")
    return number
