"""Money as integer minor units of an ISO 4217 currency.

The API speaks decimal strings ("1250.50"); everything inside speaks ints.
Parsing never goes through float, and refuses more decimals than the
currency has rather than rounding them away. An amount is exactly the decimal
string: whitespace around it is refused, not trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import iso4217

from ccm_gateway.errors import BadInput

# The current ISO 4217 list (List One) comes from the iso4217 package, which follows the
# maintenance agency's releases. Codes without a minor unit ("N.A.": metals, XDR, XTS,
# XXX) cannot be counted in minor units, so they hold no money here.
CURRENT_EXPONENTS: dict[str, int] = {
    c.code: c.exponent for c in iso4217.Currency if c.exponent is not None}
_NO_MINOR_UNIT = frozenset(c.code for c in iso4217.Currency if c.exponent is None)


@dataclass(frozen=True, slots=True)
class Withdrawn:
    exponent: int
    on: date
    replaced_by: str


# Codes this gateway accepted that have since left the current list (ISO 4217 List
# Three). The iso4217 package carries only the current list, and accounts and entries
# may still hold these, so they keep counting money; only something new is refused
# (check_current_currency). tests/kit/test_money.py fails when an iso4217 release drops
# a code that an account may hold and that is missing here.
WITHDRAWN: dict[str, Withdrawn] = {
    "ANG": Withdrawn(2, date(2025, 3, 31), "XCG"),
    "BGN": Withdrawn(2, date(2026, 1, 1), "EUR"),
}

CURRENCY_EXPONENTS: dict[str, int] = (
    {code: w.exponent for code, w in WITHDRAWN.items()} | CURRENT_EXPONENTS)

# ASCII only: \d would also take other scripts' digits (fullwidth, Arabic-Indic), which
# int() reads.
_AMOUNT_RE = re.compile(r"(-)?(\d+)(?:\.(\d+))?", re.ASCII)

# The most minor units an amount may have, from the API or a vendor: 18 digits, which
# a BIGINT column (up to 9.2 * 10^18) holds.
MAX_MINOR = 10**18 - 1
_MAX_DIGITS = len(str(MAX_MINOR))


def currency_exponent(currency: str, *, field: str = "currency") -> int:
    """The minor-unit exponent of a current or withdrawn ISO 4217 code: what money already
    held in ``currency`` is counted in."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        if isinstance(currency, str) and currency in _NO_MINOR_UNIT:
            raise BadInput(f"{currency} has no minor unit in ISO 4217 (a metal, a test or "
                           "no-currency code), so it cannot hold an amount", field=field) from None
        raise BadInput(f"unknown currency {currency!r}: expected an ISO 4217 code such as USD",
                       field=field) from None


def check_current_currency(currency: str, *, field: str = "currency",
                           new: str = "a new account") -> int:
    """``currency_exponent``, refusing a code withdrawn from ISO 4217: for ``new``
    things (a customer, an FX pair), where existing ones keep their withdrawn code."""
    exponent = currency_exponent(currency, field=field)
    withdrawn = WITHDRAWN.get(currency) if currency not in CURRENT_EXPONENTS else None
    if withdrawn is not None:
        raise BadInput(
            f"{currency} was withdrawn from ISO 4217 on {withdrawn.on.isoformat()} (replaced "
            f"by {withdrawn.replaced_by}); what already holds {currency} keeps working, but "
            f"{new} needs a current code such as {withdrawn.replaced_by}", field=field)
    return exponent


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    @property
    def amount(self) -> str:
        return format_minor(self.minor, self.currency)


def _shown(amount: str) -> str:
    # A caller may send megabytes of digits; the message needs only their start.
    return repr(amount) if len(amount) <= 40 else f"{amount[:37]!r}..."


def parse_amount(
    amount: str, currency: str, *, field: str = "amount", allow_negative: bool = False,
    allow_zero: bool = False,
) -> int:
    """Decimal string -> minor units, refusing extra decimals, floats' notation, signs,
    whitespace and more than MAX_MINOR units."""
    exponent = currency_exponent(currency)
    match = _AMOUNT_RE.fullmatch(amount) if isinstance(amount, str) else None
    if match is None:
        if isinstance(amount, str) and amount.strip() and amount.strip() != amount:
            raise BadInput(f"amount {_shown(amount)} must not have whitespace around it",
                           field=field)
        shown = _shown(amount) if isinstance(amount, str) else repr(amount)
        raise BadInput(f"amount {shown} is not a decimal number such as \"1250.50\"",
                       field=field)
    sign, whole, frac = match.groups()
    frac = frac or ""
    if len(frac) > exponent:
        raise BadInput(
            f"amount {_shown(amount)} has {len(frac)} decimals; {currency} allows {exponent}",
            field=field,
        )
    # Counted as digits, before int() reads them (past 4300 digits it refuses to): at
    # most 18 digits of minor units is at most MAX_MINOR.
    if len(whole.lstrip("0")) + exponent > _MAX_DIGITS:
        raise BadInput(f"amount {_shown(amount)} is too large: at most "
                       f"{format_minor(MAX_MINOR, currency)} {currency}", field=field)
    # Annotated: int ** int is Any to mypy (a negative power would be a float).
    minor: int = int(whole) * 10**exponent + (int(frac.ljust(exponent, "0")) if exponent else 0)
    if sign:
        minor = -minor
    if minor < 0 and not allow_negative:
        raise BadInput(f"amount {_shown(amount)} must not be negative", field=field)
    if minor == 0 and not allow_zero:
        raise BadInput(f"amount {_shown(amount)} must not be zero", field=field)
    return minor


def format_minor(minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"
