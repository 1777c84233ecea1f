"""Money as integer minor units of an ISO 4217 currency.

The API speaks decimal strings ("1250.50"); everything inside speaks ints.
Parsing never goes through float, and refuses more decimals than the
currency has rather than rounding them away. An amount is exactly the decimal
string: whitespace around it is refused, not trimmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ccm_gateway.errors import BadInput

# ISO 4217 minor-unit exponents of active currencies (2 unless listed).
_EXPONENT_OVERRIDES = {
    # 0 decimals
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0,
    # 3 decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 4 decimals
    "CLF": 4, "UYW": 4,
}
_TWO_DECIMALS = [
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF",
    "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR",
    "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF",
    "IDR", "ILS", "INR", "IRR", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
    "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK",
    "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
    "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TOP",
    "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UZS", "VES", "WST", "XCD", "YER", "ZAR", "ZMW",
    "ZWG",
]

CURRENCY_EXPONENTS: dict[str, int] = {code: 2 for code in _TWO_DECIMALS} | _EXPONENT_OVERRIDES

# ASCII only: \d would also take other scripts' digits (fullwidth, Arabic-Indic), which
# int() reads.
_AMOUNT_RE = re.compile(r"(-)?(\d+)(?:\.(\d+))?", re.ASCII)

# The most minor units an amount may have, from the API or a vendor: 18 digits, which
# a BIGINT column (up to 9.2 * 10^18) holds.
MAX_MINOR = 10**18 - 1
_MAX_DIGITS = len(str(MAX_MINOR))


def currency_exponent(currency: str, *, field: str = "currency") -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise BadInput(f"unknown currency {currency!r}: expected an ISO 4217 code such as USD",
                       field=field) from None


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
