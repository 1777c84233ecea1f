"""Normalisation: a vendor event, read through its profile's mapping, as a canonical event.

Amounts become integer minor units of an ISO 4217 currency (never a float); text fields
are checked against what the databases can store and the columns they land in.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from ccm_gateway.errors import BadInput
from ccm_gateway.integration.profiles.model import (
    FIELD_RULES,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    CanonicalEvent,
    EventMapping,
    FieldSpec,
    Profile,
)
from ccm_gateway.integration.profiles.reading import MalformedBody, at_path, modest
from ccm_gateway.kit.money import MAX_MINOR, currency_exponent, parse_amount
from ccm_gateway.kit.text import text_problem

# The longest value of a canonical text field, where the column it is stored in or looked
# up against is shorter than MAX_ID_CHARS (Site.code); no site can have a longer code.
FIELD_MAX_CHARS = {"site": 64, "invoice": 64}
# A reported balance may be zero or in credit; every other amount is a positive sum.
SIGNED_AMOUNT_TYPES = ("balance.reported",)
TRUE_WORDS = ("true", "1", "granted")
FALSE_WORDS = ("false", "0", "denied")
_MINOR = re.compile(r"-?(\d+)", re.ASCII)  # fullmatch: "12\n" is not 12
_CURRENCY = re.compile(r"^[A-Z]{3}$", re.ASCII)


def normalise(profile: Profile, event_type: str | None, document: dict[str, Any],
              occurred_at: datetime | None) -> CanonicalEvent | None:
    """The canonical event, or None when the profile does not map the vendor type."""
    mapping = profile.mapping_for(event_type) if event_type is not None else None
    if mapping is None:
        return None
    return read_mapping(mapping, document, occurred_at)


def read_mapping(mapping: EventMapping, document: dict[str, Any],
                 occurred_at: datetime | None) -> CanonicalEvent:
    """``document`` read through one mapping (a vendor event, or a pulled balance)."""
    read = _FieldReader(mapping, document)
    currency = read.currency()
    customer = read.text("customer")
    if customer is None:  # every canonical type requires it, so text() refuses it first
        raise MalformedBody(f"{mapping.canonical} needs a customer reference")
    return CanonicalEvent(
        type=mapping.canonical,
        customer_ref=customer,
        amount_minor=read.amount(currency),
        currency=currency,
        site_code=read.text("site"),
        reference=read.text("reference"),
        reason=read.text("reason", free_text=True),
        granted=read.granted(),
        gate=read.text("gate"),
        occurred_at=occurred_at,
        description=read.text("description", free_text=True),
        amount_is_total=bool((spec := mapping.field("amount")) and spec.total),
        invoice_number=read.text("invoice"),
    )


class _FieldReader:
    """Reads one mapping's fields out of a document, refusing missing required ones."""

    def __init__(self, mapping: EventMapping, document: dict[str, Any]) -> None:
        self.mapping = mapping
        self.document = document
        self.required = FIELD_RULES[mapping.canonical][0]

    def raw(self, name: str) -> tuple[Any, FieldSpec | None]:
        spec = self.mapping.field(name)
        if spec is None:
            return None, None
        value = spec.value if not spec.path else at_path(self.document, spec.path)
        if value == "":
            # Form bodies send optional fields blank ("memo="); blank means absent.
            value = None
        if value is None and name in self.required:
            raise MalformedBody(f"{spec.describe()} is missing; {self.mapping.canonical} "
                                f"needs its {name}")
        if isinstance(value, dict | list):
            raise MalformedBody(f"{spec.describe()} ({name}) must be a single value, not "
                                f"{'an object' if isinstance(value, dict) else 'a list'}")
        return value, spec

    def text(self, name: str, *, free_text: bool = False) -> str | None:
        value, spec = self.raw(name)
        if value is None or spec is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise MalformedBody(f"{spec.describe()} ({name}) must be a string, got {value!r}")
        problem = text_problem(value)
        if problem is not None:
            raise MalformedBody(f"{spec.describe()} ({name}) {problem}")
        if free_text:
            # Vendors' free text (failure messages) may run long; losing its tail beats
            # refusing the payment event that carries it.
            return value[:MAX_TEXT_CHARS]
        if spec.upper:
            value = value.upper()
        longest = FIELD_MAX_CHARS.get(name, MAX_ID_CHARS)
        if not 1 <= len(value) <= longest:
            raise MalformedBody(f"{spec.describe()} ({name}) must be 1 to {longest} "
                                "characters")
        return value

    def currency(self) -> str | None:
        code = self.text("currency")
        spec = self.mapping.field("currency")
        if code is None or spec is None:
            return None
        if not _CURRENCY.match(code):
            raise MalformedBody(f"{spec.describe()} (currency) {code!r} is not an ISO 4217 "
                                "code such as USD")
        try:
            currency_exponent(code)
        except BadInput as exc:
            raise MalformedBody(f"{spec.describe()} (currency): {exc.message}") from None
        return code

    def amount(self, currency: str | None) -> int | None:
        value, spec = self.raw("amount")
        if value is None or spec is None or currency is None:
            return None
        signed = self.mapping.canonical in SIGNED_AMOUNT_TYPES
        try:
            if spec.amount_format == "minor":
                return _minor_amount(value, signed)
            return _decimal_amount(value, currency, signed)
        except BadInput as exc:
            raise MalformedBody(f"{spec.describe()} (amount): {exc.message}") from None

    def granted(self) -> bool | None:
        value, spec = self.raw("granted")
        if value is None or spec is None:
            return None
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower() if isinstance(value, str | int) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise MalformedBody(f"{spec.describe()} (granted) {value!r} is not one of "
                            f"{', '.join(TRUE_WORDS + FALSE_WORDS)} or a JSON boolean")


def _minor_amount(value: Any, signed: bool) -> int:
    digits = None
    if isinstance(value, str) and (match := _MINOR.fullmatch(value)):
        digits = match.group(1).lstrip("0")
    elif isinstance(value, int) and not isinstance(value, bool):
        digits = str(abs(value))
    if digits is None:
        raise BadInput(f"{value!r} is not a whole number of minor units")
    # Counted before int() reads them, which it refuses past 4300 digits.
    if len(digits) > len(str(MAX_MINOR)):
        raise BadInput(f"too large ({len(digits)} digits): at most {MAX_MINOR} minor units")
    minor = int(value)
    if minor <= 0 and not signed:
        raise BadInput(f"{minor} must be positive")
    return minor


def _decimal_amount(value: Any, currency: str, signed: bool) -> int:
    if isinstance(value, Decimal):
        if not modest(value):
            raise BadInput(f"{value} is not an amount we can read")
        # Positional notation, so 1.25E+3 reads as 1250 and the decimals are counted right.
        value = format(value, "f")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    elif not isinstance(value, str):
        raise BadInput(f"{value!r} is not a decimal amount such as \"12.50\"")
    return parse_amount(value, currency, allow_negative=signed, allow_zero=signed)
