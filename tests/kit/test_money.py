"""Invariant 1: money is integers.

Decimal strings in and out, per ISO 4217 exponent, never through floats.
"""

from __future__ import annotations

import random

import iso4217
import pytest

from ccm_gateway.errors import BadInput
from ccm_gateway.kit.money import (
    CURRENCY_EXPONENTS,
    MAX_MINOR,
    WITHDRAWN,
    Money,
    check_current_currency,
    currency_exponent,
    format_minor,
    parse_amount,
)

# One currency per exponent: JPY 0, USD 2, KWD 3, CLF 4.
EXPONENTS = {"JPY": 0, "USD": 2, "KWD": 3, "CLF": 4}


@pytest.mark.parametrize(("currency", "exponent"), EXPONENTS.items())
def test_exponent_follows_iso_4217(currency: str, exponent: int) -> None:
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize(("text", "currency", "minor"), [
    ("1250", "JPY", 1250),
    ("0", "JPY", 0),
    ("1250.50", "USD", 125050),
    ("1250.5", "USD", 125050),
    ("1250", "USD", 125000),
    ("0.01", "USD", 1),
    ("1.234", "KWD", 1234),
    ("1.2", "KWD", 1200),
    ("0.001", "KWD", 1),
    ("1.2345", "CLF", 12345),
    ("0.0001", "CLF", 1),
    ("007.10", "USD", 710),
    ("999999999999999999", "JPY", 999_999_999_999_999_999),
])
def test_parse_reads_decimal_string_as_minor_units(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency, allow_zero=True) == minor


@pytest.mark.parametrize(("minor", "currency", "text"), [
    (1250, "JPY", "1250"),
    (0, "JPY", "0"),
    (-7, "JPY", "-7"),
    (125050, "USD", "1250.50"),
    (1, "USD", "0.01"),
    (0, "USD", "0.00"),
    (-5, "USD", "-0.05"),
    (1234, "KWD", "1.234"),
    (1, "KWD", "0.001"),
    (12345, "CLF", "1.2345"),
    (1, "CLF", "0.0001"),
    (-10000, "CLF", "-1.0000"),
])
def test_format_writes_every_minor_digit(minor: int, currency: str, text: str) -> None:
    assert format_minor(minor, currency) == text
    assert Money(minor, currency).amount == text


@pytest.mark.parametrize(("text", "currency"), [
    ("1.5", "JPY"),
    ("1.001", "USD"),
    ("1.0001", "KWD"),
    ("1.00001", "CLF"),
    ("1.000", "USD"),  # trailing zeros are still decimals the currency does not have
])
def test_parse_refuses_more_decimals_than_the_currency_has(text: str, currency: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, currency, field="amount")
    assert err.value.field == "amount"
    assert "decimals" in err.value.message


@pytest.mark.parametrize("text", [
    "1e3", "1E3", "1.5e2", "1e-2", "inf", "Infinity", "nan", "NaN", "0x10", "1_000",
    "1,000.00", "+10", ".5", "10.", "", "   ", "ten", "1 000", "--1", "10.00 USD",
    # Fullwidth "10.00" and Arabic-Indic "10": int() would read them, the API must not.
    "\uff11\uff10.\uff10\uff10", "\u0661\u0660",
])
def test_parse_refuses_anything_but_plain_ascii_decimals(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, "USD", field="limit.amount")
    assert err.value.code == "BAD_USER_INPUT"
    assert err.value.field == "limit.amount"


@pytest.mark.parametrize("value", [10, 10.5, None, b"10"])
def test_parse_refuses_values_that_are_not_strings(value: object) -> None:
    with pytest.raises(BadInput):
        parse_amount(value, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["-1", "-0.01", "-1250.50"])
def test_parse_refuses_negative_amounts_unless_allowed(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, "USD")
    assert "negative" in err.value.message
    assert parse_amount(text, "USD", allow_negative=True) == -parse_amount(text[1:], "USD")


@pytest.mark.parametrize("text", ["0", "0.00", "0.0", "-0", "-0.00"])
def test_parse_refuses_zero_unless_allowed(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, "USD")
    assert "zero" in err.value.message
    assert parse_amount(text, "USD", allow_zero=True, allow_negative=True) == 0


@pytest.mark.parametrize("currency", ["usd", "US", "USDD", "", "EURO", "BTC", "ZWL"])
def test_parse_refuses_unknown_currency(currency: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount("1.00", currency)
    assert err.value.field == "currency"
    assert "unknown currency" in err.value.message


def test_unknown_currency_cannot_be_formatted_either() -> None:
    with pytest.raises(BadInput):
        format_minor(100, "BTC")


def test_the_largest_amount_is_eighteen_digits_of_minor_units() -> None:
    assert MAX_MINOR == 10**18 - 1
    assert parse_amount("9" * 18, "JPY") == MAX_MINOR
    assert parse_amount("9" * 16 + ".99", "USD") == MAX_MINOR
    assert parse_amount("-" + "9" * 15 + ".999", "KWD", allow_negative=True) == -MAX_MINOR
    assert parse_amount("000" + "9" * 18, "JPY") == MAX_MINOR  # leading zeros are no size


@pytest.mark.parametrize(("text", "currency"), [
    ("1" + "0" * 18, "JPY"),
    ("1" + "0" * 16 + ".00", "USD"),  # 10^18 minor units: no more whole digits than before
    ("9" * 40 + ".00", "USD"),
    ("9" * 5000, "JPY"),  # past what int() reads from a string at all
    ("-" + "1" + "0" * 18, "JPY"),
])
def test_parse_says_an_amount_past_the_largest_is_too_large(text: str, currency: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, currency, field="limit.amount", allow_negative=True)
    assert err.value.field == "limit.amount"
    assert "too large" in err.value.message
    assert format_minor(MAX_MINOR, currency) in err.value.message


@pytest.mark.parametrize("text", [" 1.00", "1.00 ", "\t1.00\n", "1.00\n", "\n1", "\u00a01.00",
                                  "1.00\r\n"])
def test_parse_refuses_surrounding_whitespace(text: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, "USD", field="limit.amount")
    assert err.value.field == "limit.amount"
    assert "whitespace" in err.value.message


def test_every_known_currency_has_an_exponent_between_zero_and_four() -> None:
    assert len(CURRENCY_EXPONENTS) > 150
    for code, exponent in CURRENCY_EXPONENTS.items():
        assert len(code) == 3 and code.isupper() and code.isascii()
        assert exponent in (0, 2, 3, 4), code


@pytest.mark.parametrize("currency", sorted(EXPONENTS))
def test_format_then_parse_round_trips_every_value(currency: str) -> None:
    rng = random.Random(f"money-{currency}")
    exponent = EXPONENTS[currency]
    limit = MAX_MINOR
    values = [0, 1, -1, 9, 10, 99, 100, 101, 10**exponent, 10**exponent - 1, limit, -limit]
    values += [rng.randint(-limit, limit) for _ in range(2000)]
    values += [rng.randint(-(10**6), 10**6) for _ in range(2000)]
    for minor in values:
        text = format_minor(minor, currency)
        assert "e" not in text.lower()
        decimals = text.partition(".")[2]
        assert len(decimals) == exponent, text
        assert parse_amount(text, currency, allow_negative=True, allow_zero=True) == minor, text


@pytest.mark.parametrize("currency", sorted(EXPONENTS))
def test_parse_then_format_gives_the_canonical_text(currency: str) -> None:
    rng = random.Random(f"canonical-{currency}")
    exponent = EXPONENTS[currency]
    for _ in range(2000):
        whole = str(rng.randint(0, 10**12))
        digits = rng.randint(0, exponent)
        frac = "".join(rng.choice("0123456789") for _ in range(digits))
        text = f"{whole}.{frac}" if digits else whole
        minor = parse_amount(text, currency, allow_zero=True)
        expected = int(whole) * 10**exponent + (int(frac.ljust(exponent, "0")) if exponent else 0)
        assert minor == expected
        canonical = format_minor(minor, currency)
        assert parse_amount(canonical, currency, allow_zero=True) == minor


# --- the ISO 4217 table: the iso4217 package, and the codes withdrawn from it ---------------

# Every code this gateway accepted before its table came from the iso4217 package. An
# account may hold any of them, so each must stay readable: when an upgrade of iso4217
# drops one, it belongs in WITHDRAWN (with its date), or its accounts stop working.
ONCE_ACCEPTED = (
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB",
    "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
    "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYI",
    "UYW", "UZS", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWG",
)


def test_every_current_iso_4217_currency_has_the_packages_minor_unit() -> None:
    listed = {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}
    assert len(listed) > 150
    for code, exponent in listed.items():
        assert currency_exponent(code) == exponent, code
        assert check_current_currency(code) == exponent, code


@pytest.mark.parametrize(("currency", "exponent"), [("UYU", 2), ("XCG", 2), ("VED", 2),
                                                    ("HUF", 2), ("IQD", 3), ("UYW", 4)])
def test_currencies_missing_before_are_accepted(currency: str, exponent: int) -> None:
    assert check_current_currency(currency) == exponent
    assert parse_amount("1", currency) == 10**exponent


def test_withdrawn_codes_are_not_on_the_current_list() -> None:
    for code in WITHDRAWN:
        with pytest.raises(ValueError):
            iso4217.Currency(code)
        assert WITHDRAWN[code].replaced_by in CURRENCY_EXPONENTS


def test_every_code_once_accepted_is_still_known() -> None:
    missing = [code for code in ONCE_ACCEPTED if code not in CURRENCY_EXPONENTS]
    assert not missing, f"iso4217 dropped {missing}: add them to kit/money.py's WITHDRAWN"


@pytest.mark.parametrize("currency", ["BGN", "ANG"])
def test_withdrawn_codes_still_count_money(currency: str) -> None:
    assert currency_exponent(currency) == 2
    assert parse_amount("1250.50", currency) == 125050
    assert format_minor(125050, currency) == "1250.50"


@pytest.mark.parametrize(("currency", "date", "replacement"), [
    ("BGN", "2026-01-01", "EUR"), ("ANG", "2025-03-31", "XCG")])
def test_withdrawn_codes_are_refused_for_something_new(currency: str, date: str,
                                                       replacement: str) -> None:
    with pytest.raises(BadInput) as err:
        check_current_currency(currency, field="currency", new="a new customer")
    assert err.value.field == "currency"
    assert err.value.message.startswith(
        f"{currency} was withdrawn from ISO 4217 on {date} (replaced by {replacement})")
    assert f"a new customer needs a current code such as {replacement}" in err.value.message


@pytest.mark.parametrize("currency", ["XXX", "XTS", "XAU", "XDR"])
def test_codes_without_a_minor_unit_hold_no_money(currency: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount("1", currency)
    assert err.value.field == "currency"
    assert f"{currency} has no minor unit in ISO 4217" in err.value.message
