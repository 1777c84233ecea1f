"""Money as integer minor units of an ISO 4217 currency.

The API speaks decimal strings ("1250.50"); everything inside speaks ints.
Parsing never goes through float, and refuses more decimals than the
currency has rather than rounding them away.
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
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD "
    "FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR "
    "KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
    "MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD "
    "SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD "
    "TZS UAH USD UZS VES WST XCD YER ZAR ZMW ZWG"
).split()

CURRENCY_EXPONENTS: dict[str, int] = {code: 2 for code in _TWO_DECIMALS} | _EXPONENT_OVERRIDES

# ASCII only: \d would also take other scripts' digits ("１０", "١٠"), which int() reads.
_AMOUNT_RE = re.compile(r"^(-)?(\d{1,18})(?:\.(\d+))?$", re.ASCII)


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


def parse_amount(
    amount: str, currency: str, *, field: str = "amount", allow_negative: bool = False,
    allow_zero: bool = False,
) -> int:
    """Decimal string -> minor units, refusing extra decimals, floats' notation and signs."""
    exponent = currency_exponent(currency)
    text = amount.strip() if isinstance(amount, str) else None
    match = _AMOUNT_RE.match(text) if text else None
    if match is None:
        raise BadInput(f"amount {amount!r} is not a decimal number such as \"1250.50\"",
                       field=field)
    sign, whole, frac = match.groups()
    frac = frac or ""
    if len(frac) > exponent:
        raise BadInput(
            f"amount {amount!r} has {len(frac)} decimals; {currency} allows {exponent}",
            field=field,
        )
    minor = int(whole) * 10**exponent + (int(frac.ljust(exponent, "0")) if exponent else 0)
    if sign:
        minor = -minor
    if minor < 0 and not allow_negative:
        raise BadInput(f"amount {amount!r} must not be negative", field=field)
    if minor == 0 and not allow_zero:
        raise BadInput(f"amount {amount!r} must not be zero", field=field)
    return minor


def format_minor(minor: int, currency: str) -> str:
    exponent = currency_exponent(currency)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"
