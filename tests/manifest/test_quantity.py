"""Resource quantities parse as Kubernetes' ``resource.ParseQuantity`` parses them."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from fractions import Fraction

import pytest

from fastpod.manifest.quantity import QuantityError, byte_count, millicores, parse_quantity

INT64_MAX = 2**63 - 1
NANO = Fraction(1, 10**9)

Convert = Callable[[str | int | float], int]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # the spellings manifests use
        ("100m", Fraction(1, 10)),
        ("1Gi", 2**30),
        ("1e3", 1000),
        ("0.5", Fraction(1, 2)),
        ("500Mi", 500 * 2**20),
        ("1.5", Fraction(3, 2)),
        ("2", 2),
        ("128974848", 128974848),
        ("129e6", 129_000_000),
        ("129M", 129_000_000),
        ("123Mi", 128974848),
        # every suffix
        ("1n", NANO),
        ("1u", Fraction(1, 10**6)),
        ("1k", 1000),
        ("1G", 10**9),
        ("1T", 10**12),
        ("1P", 10**15),
        ("1E", 10**18),
        ("1Ki", 1024),
        ("1Ti", 2**40),
        ("1Pi", 2**50),
        ("1Ei", 2**60),
        # decimal exponents, either case, either sign
        ("1E3", 1000),
        ("1e+3", 1000),
        ("1e-3", Fraction(1, 1000)),
        ("1E-3", Fraction(1, 1000)),
        ("1.5e003", 1500),
        ("0e2147483647", 0),
        # numbers with a dot at either end, signs and leading zeros
        (".5", Fraction(1, 2)),
        ("5.", 5),
        ("1.G", 10**9),
        ("+1", 1),
        ("007", 7),
        ("00.5", Fraction(1, 2)),
        ("0", 0),
        ("0Mi", 0),
        ("-0", 0),
        ("0.5Mi", 2**19),
        ("100.035Ki", Fraction(102435840, 1000)),
        # negative values parse; validation forbids them where they matter
        ("-1.5", Fraction(-3, 2)),
        ("-100m", Fraction(-1, 10)),
        ("-1Gi", -(2**30)),
        ("-1e3", -1000),
    ],
)
def test_parses_strings_to_exact_values(value: str, expected: Fraction | int) -> None:
    assert parse_quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (2, 2),
        (0, 0),
        (-3, -3),
        (128974848, 128974848),
        (0.5, Fraction(1, 2)),
        (1.5, Fraction(3, 2)),
        (0.1, Fraction(1, 10)),  # the float's shortest spelling, not its binary value
        (-0.25, Fraction(-1, 4)),
        (-0.0, 0),
        (1e3, 1000),
        (1e16, 10**16),
        (1e-7, Fraction(1, 10**7)),
        (1e21, 10**21),
    ],
)
def test_parses_json_and_yaml_numbers(value: float, expected: Fraction | int) -> None:
    assert parse_quantity(value) == expected


def test_returns_a_fraction_for_every_input() -> None:
    assert all(type(parse_quantity(value)) is Fraction for value in ("1", "1m", 1, 0.5, "1Ki"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.9n", NANO),
        ("1.1n", 2 * NANO),
        ("1e-20", NANO),
        ("-1e-20", -NANO),
        ("0.0000000001", NANO),
        ("0.000000000001Ki", NANO * 2),  # 1.024e-9 rounds up to 2n
        ("1e-2147483647", NANO),
        pytest.param("0." + "0" * 5000 + "1", NANO, id="1e-5001"),
    ],
)
def test_rounds_away_from_zero_to_whole_nano_units(value: str, expected: Fraction) -> None:
    assert parse_quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("8Ei", INT64_MAX),
        ("-8Ei", -INT64_MAX),
        ("9Ei", INT64_MAX),
        ("9223372036854775807Ki", INT64_MAX),
        pytest.param("1" + "0" * 30 + "Ki", INT64_MAX, id="1e30Ki"),
        ("7Ei", 7 * 2**60),
    ],
)
def test_caps_binary_suffixed_values_at_int64_max(value: str, expected: int) -> None:
    assert parse_quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10000000000000000000", 10**19),  # 20 digits take Kubernetes' slow path
        ("12E", 12 * 10**18),
        ("1e999", 10**999),
        pytest.param("9" * 1000, 10**1000 - 1, id="1000 nines"),
        pytest.param(10**999, 10**999, id="int 10**999"),
    ],
)
def test_does_not_cap_decimal_values(value: str | int, expected: int) -> None:
    assert parse_quantity(value) == expected


def test_handles_binary_values_with_more_digits_than_python_converts_at_once() -> None:
    digits = "1" * 5000
    assert parse_quantity(f"0.{digits}Ki") == Fraction(113_777_777_778, 10**9)  # 1024/9, rounded up


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty string"),
        ("1.5.3", "more than one decimal point"),
        ("1..5", "more than one decimal point"),
        ("10 Mi", "whitespace is not allowed"),
        (" 1", "whitespace is not allowed"),
        ("1 ", "whitespace is not allowed"),
        ("1\n", "whitespace is not allowed"),
        ("Mi", "missing number before suffix 'Mi'"),
        ("m", "missing number before suffix 'm'"),
        ("-", "missing number"),
        ("+", "missing number"),
        (".", "missing number"),
        ("1KB", "unknown suffix 'KB'"),
        ("1KiB", "unknown suffix 'KiB'"),
        ("1ki", "unknown suffix 'ki'"),
        ("1K", "unknown suffix 'K'"),
        ("1i", "unknown suffix 'i'"),
        ("0.1mi", "unknown suffix 'mi'"),
        ("0.1am", "unknown suffix 'am'"),
        ("1e3k", "unknown suffix 'e3k'"),
        ("1e1.5", "unknown suffix 'e1.5'"),
        ("1_000", "unknown suffix '_000'"),
        ("1,5", "unknown suffix ',5'"),
        ("1µ", "unknown suffix 'µ'"),
        ("<port>", "expected a number with an optional suffix"),
        ("aoeu", "expected a number with an optional suffix"),
        ("e3", "expected a number with an optional suffix"),
        ("+-1", "expected a number with an optional suffix"),
        ("\uff11", "expected a number with an optional suffix"),  # fullwidth digit one
        ("0x10", "unknown suffix 'x10'"),
        ("NaN", "expected a number with an optional suffix"),
        ("1e", "exponent 'e' has no digits"),
        ("1e+", "exponent 'e+' has no digits"),
        ("-3.01e-", "exponent 'e-' has no digits"),
    ],
)
def test_rejects_strings_outside_the_grammar(value: str, reason: str) -> None:
    with pytest.raises(QuantityError, match="is not a quantity") as caught:
        parse_quantity(value)
    assert caught.value.reason.startswith(reason)
    assert caught.value.value == value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "a boolean is not a number"),
        (False, "a boolean is not a number"),
        (float("nan"), "not a finite number"),
        (float("inf"), "not a finite number"),
        (float("-inf"), "not a finite number"),
        (None, "expected a string or a number, got NoneType"),
        (b"1", "expected a string or a number, got bytes"),
        ([1], "expected a string or a number, got list"),
    ],
)
def test_rejects_values_that_are_not_strings_or_numbers(value: object, reason: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(value)  # type: ignore[arg-type]
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    "value",
    [
        "9223372036854775808",
        "9999999999999999999",
        "-9999999999999999999",
        "0009999999999999999999",
        "9223372036854775.808",
        "9999999999999999999n",
        "9999999999999999999e-9",
        9223372036854775808,
        9.3e18,  # Go's JSON encoder writes it as 9300000000000000000
    ],
)
def test_rejects_nineteen_digit_numbers_kubernetes_cannot_parse(value: str | int | float) -> None:
    with pytest.raises(QuantityError, match="19-digit number"):
        parse_quantity(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9223372036854775807", INT64_MAX),  # 19 digits that fit an int64
        ("1000000000000000000", 10**18),
        ("99999999999999999999", 10**20 - 1),  # 20 digits take the slow path
        ("0.999999999999999999", 1),  # finer than 1n: slow path, rounded up
        ("9999999999999999999e-10", 10**9),  # likewise
        ("9999999999999999999Ki", INT64_MAX),  # binary suffixes have no such limit
    ],
)
def test_accepts_nineteen_digit_numbers_off_the_fast_path(value: str, expected: int) -> None:
    assert parse_quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e1000", "quantity too large"),
        ("1e2147483647", "quantity too large"),
        pytest.param("1" + "0" * 1000, "quantity too large", id="1001 digits"),
        ("-1e2000", "quantity too large"),
        pytest.param(10**1000, "quantity too large", id="int 10**1000"),
        pytest.param(10**5000, "quantity too large", id="int 10**5000"),
        ("1e2147483648", "exponent 2147483648 is out of range"),
        ("1e-2147483648", "exponent -2147483648 is out of range"),
        ("1e99999999999999999999", "exponent 99999999999999999999 is out of range"),
    ],
)
def test_rejects_magnitudes_beyond_the_supported_range(value: str | int, reason: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(value)
    assert caught.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.5.3", "'1.5.3' is not a quantity: more than one decimal point"),
        ("", "'' is not a quantity: empty string"),
        (True, "True is not a quantity: a boolean is not a number"),
        pytest.param(
            10**5000, "<int of 16610 bits> is not a quantity: quantity too large", id="huge int"
        ),
    ],
)
def test_error_message_names_the_value_and_what_is_wrong(value: object, message: str) -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity(value)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_error_message_shortens_huge_values() -> None:
    with pytest.raises(QuantityError) as caught:
        parse_quantity("x" * 10_000)
    assert len(str(caught.value)) < 300


def test_error_is_a_value_error_that_survives_pickling() -> None:
    error = QuantityError("1KB", "unknown suffix")
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.value, copy.reason, str(copy)) == (error.value, error.reason, str(error))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100m", 100),
        ("0.5", 500),
        ("1.5", 1500),
        ("2", 2000),
        ("1e3", 1_000_000),
        ("250m", 250),
        (1, 1000),
        (0.25, 250),
        ("0.1m", 1),  # rounded up: asking for some CPU gets at least a millicore
        ("1n", 1),
        ("1.0001", 1001),
        ("0", 0),
        ("-100m", -100),
        ("-0.1m", -1),  # away from zero, as Kubernetes rounds
        ("9223372036854775807m", INT64_MAX),
        ("9223372036854775.807", INT64_MAX),
    ],
)
def test_millicores_rounds_up_like_milli_value(value: str | int | float, expected: int) -> None:
    assert millicores(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1Gi", 2**30),
        ("500Mi", 500 * 2**20),
        ("123Mi", 128974848),
        ("128974848", 128974848),
        ("129e6", 129_000_000),
        ("129M", 129_000_000),
        ("1Ki", 1024),
        ("100.035Ki", 102436),
        ("1.5", 2),
        ("0.1", 1),
        ("1n", 1),
        (2, 2),
        (1.5, 2),
        ("-1.5", -2),
        ("8Ei", INT64_MAX),
        ("9223372036854775807", INT64_MAX),
        ("-9223372036854775807", -INT64_MAX),
        ("1E", 10**18),
    ],
)
def test_byte_count_rounds_up_like_value(value: str | int | float, expected: int) -> None:
    assert byte_count(value) == expected


@pytest.mark.parametrize(
    ("convert", "value"),
    [
        (millicores, "1E"),
        (millicores, "9223372036854776"),
        (millicores, "8Ei"),
        (millicores, "-9223372036854776"),
        (byte_count, "10000000000000000000"),
        (byte_count, "-10000000000000000000"),
        (byte_count, "1e300"),
    ],
)
def test_conversions_reject_results_beyond_int64(convert: Convert, value: str) -> None:
    with pytest.raises(QuantityError, match="quantity too large"):
        convert(value)


@pytest.mark.parametrize("convert", [millicores, byte_count])
@pytest.mark.parametrize("value", ["", "Mi", "1KB", True, float("nan")])
def test_conversions_reject_what_parse_rejects(convert: Convert, value: object) -> None:
    with pytest.raises(QuantityError):
        convert(value)  # type: ignore[arg-type]
