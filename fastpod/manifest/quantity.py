"""Kubernetes resource quantities (``100m``, ``1.5``, ``128Mi``, ``1e3``) as exact numbers.

A pod's CPU and memory requests and limits, an ``emptyDir`` size limit and a
downward-API divisor are *quantities*. The kubelet reads them with
``k8s.io/apimachinery/pkg/api/resource.ParseQuantity``; this module accepts the
same spellings and gives them the same values, so a manifest fastpod runs means
what it would mean to the kubelet.

The grammar, from the ``Quantity`` documentation::

    <quantity>        ::= <signedNumber><suffix>
    <signedNumber>    ::= <number> | <sign><number>
    <sign>            ::= "+" | "-"
    <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits>
    <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI>
    <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei               (powers of 1024)
    <decimalSI>       ::= n | u | m | "" | k | M | G | T | P | E    (powers of 1000)
    <decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber>   (an integer exponent)

Digits are ASCII only, suffixes are case-sensitive, and no whitespace is allowed
anywhere. Values are exact :class:`fractions.Fraction` objects, never floats:
``"0.1"`` is exactly one tenth, and requests and limits compare without rounding
error. Like ``ParseQuantity``, parsing

* rounds a value to a whole number of nano-units (``1n``), away from zero, so
  ``"0.9n"`` and ``"1e-20"`` are both exactly ``1n``: asking for a tiny amount
  of a resource still asks for some of it;
* silently caps a binary-suffixed value at ``2**63 - 1`` in magnitude
  (``"8Ei"`` is ``2**63 - 1``), while a decimal value is not capped;
* rejects a number of exactly 19 digits above ``2**63 - 1`` (``"9999999999999999999"``,
  ``"9223372036854775.808"``) where it would fill a whole number of nano-units,
  because the Kubernetes fast path overflows an int64 there and reports "unable
  to parse numeric part of quantity"; a longer number such as
  ``"10000000000000000000"`` goes through its slow path and is accepted.

Where ``ParseQuantity`` accepts something the documented grammar does not, or
misbehaves, this module is stricter; it never accepts a string the kubelet
rejects:

* a number must have at least one digit. Kubernetes' scanner reads a missing
  number as zero, so it takes ``"Mi"``, ``"m"``, ``"-"`` and ``"."`` for ``0``;
  those are almost always a mistake (a lost value, a template placeholder) and
  are rejected here;
* an exponent must lie within ``±(2**31 - 1)``; Kubernetes narrows it to an
  int32 and wraps, hangs or fails beyond that (and near those edges it can
  wrap its scale arithmetic; this module computes such values exactly);
* the magnitude of a value must be below ``10**1000`` ("quantity too large").
  Kubernetes has no such bound, but a larger value serves no resource and
  computing ``1e2000000000`` exactly would take gigabytes (it hangs Kubernetes
  too). Values below a nano-unit need no bound: they are ``1n`` whatever their
  exponent.

JSON and YAML numbers are quantities too: the kubelet converts a manifest to
JSON and its decoder parses a number's text, so an ``int`` is parsed from its
decimal digits and a ``float`` from the shortest digits that round-trip, spelled
as Go's JSON encoder spells them (``1e+16`` as ``10000000000000000``).
``bool`` (a Python ``int`` subclass, and what YAML makes of ``yes``), NaN and
infinity are not quantities. Note that the kubelet's JSON decoder strips
surrounding whitespace from a quoted quantity before parsing it; this module,
like ``ParseQuantity``, does not.

:func:`millicores` and :func:`byte_count` convert a quantity to the integers
the kubelet hands to the container runtime (``MilliValue`` and ``Value``).
Kubernetes silently overflows or saturates there; these raise instead.
"""

from __future__ import annotations

import functools
import math
import re
from decimal import Decimal
from fractions import Fraction
from typing import Final

__all__ = ["QuantityError", "byte_count", "millicores", "parse_quantity"]

_NANO: Final = 10**9
_INT64_MAX: Final = 2**63 - 1
_INT64_MIN: Final = -(2**63)
_MAX_EXPONENT: Final = 2**31 - 1
"""Largest decimal exponent magnitude; Kubernetes keeps exponents in an int32."""
_MAX_DIGITS: Final = 1000
"""Values must be below ``10**_MAX_DIGITS`` in magnitude (a DoS bound, not Kubernetes')."""
_MAX_REPR: Final = 100
"""Longest rendering of the offending value in an error message."""
_INT_CHUNK: Final = 4000
"""Digit strings longer than this are converted piecewise (Python's default limit is 4300)."""

_DECIMAL_SUFFIXES: Final[dict[str, int]] = {
    "n": -9,
    "u": -6,
    "m": -3,
    "": 0,
    "k": 3,
    "M": 6,
    "G": 9,
    "T": 12,
    "P": 15,
    "E": 18,
}
"""Decimal SI suffix -> power of ten."""
_BINARY_SUFFIXES: Final[dict[str, int]] = {
    "Ki": 10,
    "Mi": 20,
    "Gi": 30,
    "Ti": 40,
    "Pi": 50,
    "Ei": 60,
}
"""Binary SI suffix -> power of two."""
_SUFFIX_HINT: Final = (
    "expected one of n, u, m, k, M, G, T, P, E (powers of 1000), Ki, Mi, Gi, Ti, Pi, Ei "
    "(powers of 1024) or an exponent such as e3; suffixes are case-sensitive"
)
_EXAMPLES: Final = "expected a number with an optional suffix, such as 100m, 0.5, 128Mi or 1e3"

# sign, whole digits, fraction digits (None without a dot), and whatever follows.
_SPLIT: Final = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)", re.DOTALL)
_EXPONENT: Final = re.compile(r"[eE]([+-]?)([0-9]+)")
_WHITESPACE: Final = re.compile(r"\s")


class QuantityError(ValueError):
    """A value that is not a Kubernetes resource quantity, or one too large to use.

    ``str()`` gives ``'<value>' is not a quantity: <reason>``; the offending
    value and the bare reason are kept as :attr:`value` and :attr:`reason` so
    that callers can report them in their own words. It is a ``ValueError``, so
    code that already handles bad values catches it.
    """

    def __init__(self, value: object, reason: str) -> None:
        super().__init__(value, reason)
        self.value = value
        self.reason = reason

    def __str__(self) -> str:
        return f"{_describe(self.value)} is not a quantity: {self.reason}"


def _describe(value: object) -> str:
    """``repr(value)``, shortened so that a huge value cannot flood a log line."""
    if isinstance(value, int) and value.bit_length() > 4 * _MAX_REPR:
        return f"<{type(value).__name__} of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= _MAX_REPR else f"{text[: _MAX_REPR - 5]}...{text[-2:]}"


def parse_quantity(value: str | int | float) -> Fraction:
    """Return the exact value of a quantity, as the kubelet reads it.

    ``value`` is the quantity as a manifest holds it: a string such as
    ``"100m"``, ``"1.5"`` or ``"128Mi"``, or a JSON/YAML number. The result is a
    :class:`~fractions.Fraction` so that no precision is lost: ``"100m"`` is
    ``Fraction(1, 10)`` and ``"1Gi"`` is ``2**30``. It is rounded away from zero
    to a whole number of nano-units, and a binary-suffixed value is capped at
    ``2**63 - 1`` in magnitude, as Kubernetes does; negative values are
    returned as such (validation, not parsing, forbids them in requests).

    Raises :class:`QuantityError` for anything that is not a quantity (see the
    module documentation for the exact rules), including ``bool``, NaN and
    infinity, and for values of magnitude ``10**1000`` or more.
    """
    if isinstance(value, bool):
        raise QuantityError(value, "a boolean is not a number (quote the value if it is text)")
    if isinstance(value, int):
        number = int(value)
        if abs(number) >= 10**_MAX_DIGITS:
            raise QuantityError(value, _too_large_reason())
        return _parse(str(number), value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError(value, "not a finite number")
        return _parse(_go_json_float(float(value)), value)
    if isinstance(value, str):
        return _parse(value, value)
    raise QuantityError(value, f"expected a string or a number, got {type(value).__name__}")


def quantity_text(value: str | int | float) -> str:
    """A quantity as the API writes it, always a string: ``1`` → ``"1"``, ``0.5`` → ``"0.5"``.

    Manifests may give numbers; the API (and clients that check its types) know only strings.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return _go_json_float(value)
    return str(value)


def millicores(value: str | int | float) -> int:
    """Return a CPU quantity in thousandths of a core, as Kubernetes ``MilliValue`` does.

    The quantity is parsed with :func:`parse_quantity`, multiplied by 1000 and
    rounded away from zero to an integer, so ``"100m"`` is 100, ``"0.5"`` is 500
    and ``"0.1m"`` is 1: any request for some CPU gets at least a millicore.
    This is the number the kubelet turns into CPU shares and quota.

    Raises :class:`QuantityError` if ``value`` is not a quantity, or if the
    result does not fit a signed 64-bit integer ("quantity too large"), where
    Kubernetes would silently overflow.
    """
    return _to_int64(value, parse_quantity(value) * 1000, "millicores")


def byte_count(value: str | int | float) -> int:
    """Return a quantity as a whole number of units, as Kubernetes ``Value`` does.

    Used for memory and storage, where the unit is a byte: ``"1Gi"`` is
    1073741824, ``"129M"`` is 129000000. A fractional value is rounded away
    from zero, so ``"1.5"`` is 2 and ``"0.1"`` is 1.

    Raises :class:`QuantityError` if ``value`` is not a quantity, or if the
    result does not fit a signed 64-bit integer ("quantity too large"), where
    Kubernetes would silently overflow.
    """
    return _to_int64(value, parse_quantity(value), "bytes")


def _to_int64(value: object, amount: Fraction, unit: str) -> int:
    """Round ``amount`` away from zero and insist that it fits an int64."""
    magnitude = -(-abs(amount.numerator) // amount.denominator)
    result = magnitude if amount >= 0 else -magnitude
    if not _INT64_MIN <= result <= _INT64_MAX:
        raise QuantityError(
            value,
            f"quantity too large: {result} {unit} does not fit a signed 64-bit integer",
        )
    return result


def _go_json_float(number: float) -> str:
    """Spell a float as Go's ``encoding/json`` does, which is the text the kubelet parses.

    The kubelet turns a YAML (or JSON) manifest into JSON with Go before
    decoding it, so a number reaches ``ParseQuantity`` as Go writes it: the
    shortest digits that round-trip, in positional notation from 1e-6 up to
    1e21 and in exponent notation outside that range. The spelling matters only
    for the 19-digit rule (``9.3e18`` is written ``9300000000000000000``).
    """
    shortest = repr(number)
    if 1e-6 <= abs(number) < 1e21:
        return format(Decimal(shortest), "f")
    return shortest


def _too_large_reason() -> str:
    return f"quantity too large: its magnitude must be below 1e{_MAX_DIGITS}"


@functools.lru_cache(maxsize=4096, typed=True)  # the same few quantities recur everywhere
def _parse(text: str, value: object) -> Fraction:
    """Parse the string form of a quantity; ``value`` is what errors report."""
    if not text:
        raise QuantityError(value, "empty string")
    if _WHITESPACE.search(text):
        raise QuantityError(value, "whitespace is not allowed")
    match = _SPLIT.fullmatch(text)
    if match is None:  # pragma: no cover - the pattern matches every string
        raise QuantityError(value, _EXAMPLES)
    sign, whole, fraction, suffix = match.groups()
    fraction = fraction or ""
    if not whole and not fraction:
        if suffix in _DECIMAL_SUFFIXES or suffix in _BINARY_SUFFIXES:
            where = f" before suffix {suffix!r}" if suffix else ""
            raise QuantityError(value, f"missing number{where}")
        raise QuantityError(value, _EXAMPLES)

    power_of_ten, power_of_two = _interpret_suffix(suffix, value)
    negative = sign == "-"
    if power_of_two == 0:
        _reject_int64_overflow(whole, fraction, power_of_ten, value)

    # value = ±int(significant) * 10**exponent * 2**power_of_two
    digits = (whole + fraction).lstrip("0")
    significant = digits.rstrip("0")
    if not significant:
        return Fraction(0)
    exponent = power_of_ten - len(fraction) + (len(digits) - len(significant))
    # 10**(magnitude - 1) <= int(significant) * 10**exponent < 10**magnitude
    magnitude = len(significant) + exponent

    if power_of_two == 0:
        if magnitude > _MAX_DIGITS:
            raise QuantityError(value, _too_large_reason())
        nanos = _decimal_nanos(significant, exponent)
        if nanos >= 10**_MAX_DIGITS * _NANO:
            raise QuantityError(value, _too_large_reason())
    else:
        nanos = _binary_nanos(significant, exponent, magnitude, power_of_two)
    return Fraction(-nanos if negative else nanos, _NANO)


def _interpret_suffix(suffix: str, value: object) -> tuple[int, int]:
    """Return the suffix as (power of ten, power of two) multiplying the number."""
    if suffix in _DECIMAL_SUFFIXES:
        return _DECIMAL_SUFFIXES[suffix], 0
    if suffix in _BINARY_SUFFIXES:
        return 0, _BINARY_SUFFIXES[suffix]
    if suffix.startswith("."):
        raise QuantityError(value, "more than one decimal point")
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent is not None:
        exponent_sign, exponent_digits = exponent.groups()
        exponent_digits = exponent_digits.lstrip("0") or "0"
        if len(exponent_digits) > len(str(_MAX_EXPONENT)) or int(exponent_digits) > _MAX_EXPONENT:
            raise QuantityError(
                value,
                f"exponent {suffix[1:]} is out of range (-{_MAX_EXPONENT} to {_MAX_EXPONENT})",
            )
        power = int(exponent_digits)
        return (-power if exponent_sign == "-" else power), 0
    if suffix[:1] in ("e", "E") and suffix[1:] in ("", "+", "-"):
        raise QuantityError(value, f"exponent {suffix!r} has no digits")
    raise QuantityError(value, f"unknown suffix {suffix!r}; {_SUFFIX_HINT}")


def _reject_int64_overflow(whole: str, fraction: str, power_of_ten: int, value: object) -> None:
    """Mirror ``ParseQuantity``'s fast path, which rejects some numbers above 2**63 - 1.

    For a decimal suffix, Kubernetes reads the number's digits (leading zeros
    of the whole part dropped) as one int64 when there are at most 19 of them
    and the value is a whole number of nano-units. Nineteen digits may not fit,
    and then parsing fails instead of falling back to its exact slow path.
    """
    mantissa = (whole.lstrip("0") or "0") + fraction
    if len(mantissa) == 19 and power_of_ten - len(fraction) >= -9 and int(mantissa) > _INT64_MAX:
        raise QuantityError(
            value,
            "Kubernetes cannot parse a 19-digit number above 9223372036854775807 "
            "(unable to parse numeric part of quantity)",
        )


def _decimal_nanos(significant: str, exponent: int) -> int:
    """``int(significant) * 10**(exponent + 9)`` rounded up, for a decimal value.

    ``significant`` has no leading or trailing zeros, and the caller has bounded
    the value, so no digit string converted here is longer than about
    ``_MAX_DIGITS`` digits; digits below a nano-unit only decide the rounding.
    """
    shift = exponent + 9
    if shift >= 0:
        return int(significant) * _pow10(shift)
    kept = len(significant) + shift
    if kept <= 0:
        return 1  # below 1n: round up to 1n
    # The dropped digits end in a non-zero digit, so the value is not a whole
    # number of nano-units and rounds up.
    return int(significant[:kept]) + 1


def _binary_nanos(significant: str, exponent: int, magnitude: int, power_of_two: int) -> int:
    """``int(significant) * 10**exponent * 2**power_of_two`` in nano-units, rounded up and capped.

    Kubernetes caps a binary-suffixed value at ``2**63 - 1``.
    """
    cap = _INT64_MAX * _NANO
    if magnitude >= 20:
        return cap  # at least 10**19 > 2**63 - 1
    if magnitude + 9 + 19 <= 0:
        return 1  # below 10**-28 * 2**60 < 1n: round up to 1n
    mantissa = _int_from_digits(significant) << power_of_two
    shift = exponent + 9
    nanos = mantissa * _pow10(shift) if shift >= 0 else -(-mantissa // _pow10(-shift))
    return min(nanos, cap)


def _int_from_digits(digits: str) -> int:
    """``int(digits)`` for any length; Python refuses over 4300 digits at once."""
    if len(digits) <= _INT_CHUNK:
        return int(digits)
    low = len(digits) // 2
    return _int_from_digits(digits[:-low]) * _pow10(low) + _int_from_digits(digits[-low:])


def _pow10(exponent: int) -> int:
    """``10**exponent`` for a non-negative exponent, typed as the ``int`` it is."""
    power: int = 10**exponent
    return power
