"""FX rates: stored history per currency pair, and money conversion as of a time.

A rate says 1 unit of ``base`` = ``rate`` units of ``quote`` from ``effective_at``
on. Rates are history: a published (base, quote, effective_at) never changes;
a correction is a new rate with a later ``effective_at``. Future-dated rates are
allowed (a fixing published ahead of time); they take effect only once their
time comes, because lookups take the latest rate with ``effective_at <= at``.

Every function here runs inside the caller's transaction and never commits on
its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

from ccm_gateway.audit import service as audit
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.fx.models import FxRate
from ccm_gateway.kit.locking import lock_key
from ccm_gateway.kit.money import WITHDRAWN, check_current_currency, currency_exponent
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.timestamps import check_aware
from ccm_gateway.principal import Actor

MAX_RATE_INTEGER_DIGITS = 12
MAX_RATE_DECIMALS = 12
# Significant digits of an inverted rate (1 / stored rate), Decimal's default.
INVERSE_PRECISION = 28
# ... and never more decimals than this, so the rate string (as kept on a ledger
# entry's 40-character fx_rate) fits: "0." + 38 digits. Only rates below 1e-10 hit it.
INVERSE_MAX_DECIMALS = 38

# ASCII only: \d would also take other scripts' digits, which Decimal() reads.
_RATE_RE = re.compile(
    rf"^(\d{{1,{MAX_RATE_INTEGER_DIGITS}}})(?:\.(\d{{1,{MAX_RATE_DECIMALS}}}))?$", re.ASCII)
# Wide enough that amount (<= 19 digits) * rate (<= 24 digits) is exact before
# the one rounding to the target currency's minor unit.
_EXACT = Context(prec=100)


class FxRateMissing(NotFound):
    """No rate for the pair (direct or inverse) at the time asked; the caller parks the event."""

    def __init__(self, base: str, quote: str, at: datetime) -> None:
        at_text = at.astimezone(UTC).isoformat()
        super().__init__(f"no FX rate {base}->{quote} effective at {at_text}",
                         base=base, quote=quote, at=at_text)
        self.base = base
        self.quote = quote
        self.at = at


@dataclass(frozen=True, slots=True)
class Rate:
    """1 ``base`` = ``rate`` ``quote``, as published at ``effective_at``.

    ``inverted`` means only the quote->base pair was stored and ``rate`` is its
    reciprocal (28 significant digits, at most 38 decimals).
    """

    base: str
    quote: str
    rate: Decimal
    effective_at: datetime
    inverted: bool

    @property
    def rate_text(self) -> str:
        return _format_rate(self.rate)


@dataclass(frozen=True, slots=True)
class Conversion:
    """An amount converted into ``currency``, with what it came from and the rate applied.

    For the same currency, ``rate`` is "1" and ``effective_at`` is None (no stored
    rate was used).
    """

    amount_minor: int
    currency: str
    original_amount_minor: int
    original_currency: str
    rate: str
    effective_at: datetime | None
    inverted: bool = False


def _format_rate(value: Decimal) -> str:
    """Plain notation, no trailing zeros: Decimal("1.2500") -> "1.25", 1E+2 -> "100"."""
    return format(value.normalize(_EXACT), "f")


def _check_currency(code: Any, field: str) -> str:
    currency_exponent(code, field=field)  # refuses anything but a known code, a str
    return str(code)


def _check_aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise BadInput(f"{field} needs a UTC offset, e.g. 2025-01-31T12:00:00Z", field=field)
    check_aware(value, field)
    return value.astimezone(UTC)


def _check_pair(base: Any, quote: Any) -> tuple[str, str]:
    base, quote = _check_currency(base, "base"), _check_currency(quote, "quote")
    if base == quote:
        raise BadInput(f"quote must differ from base ({base})", field="quote")
    return base, quote


def parse_rate(rate: Any, *, field: str = "rate") -> str:
    """A positive decimal string -> its normalised form ("0012.50" -> "12.5").

    Refuses exponent notation, signs, NaN and infinity, more than 12 integer
    digits or 12 decimals, and zero.
    """
    text = rate.strip() if isinstance(rate, str) else None
    match = _RATE_RE.match(text) if text else None
    if match is None:
        raise BadInput(
            f"rate {rate!r} is not a positive decimal such as \"1.0825\" (at most "
            f"{MAX_RATE_INTEGER_DIGITS} digits before and {MAX_RATE_DECIMALS} after the point)",
            field=field)
    value = Decimal(match.group(0))
    if value == 0:
        raise BadInput(f"rate {rate!r} must be greater than zero", field=field)
    return _format_rate(value)


def rate_snapshot(row: FxRate) -> dict[str, Any]:
    return {"base": row.base, "quote": row.quote, "rate": row.rate,
            "effective_at": row.effective_at.astimezone(UTC).isoformat()}


async def set_rate(actor: Actor, base: str, quote: str, rate: str,
                   effective_at: datetime) -> FxRate:
    """Publish a rate. The same (base, quote, effective_at) again: the same rate returns
    the stored row (nothing new is audited); another rate is a CONFLICT."""
    base, quote = _check_pair(base, quote)
    normalised = parse_rate(rate)
    effective_at = _check_aware(effective_at, "effectiveAt")
    # Serialises publishers of one pair so the lookup below and the insert agree;
    # the unique (base, quote, effective_at) constraint backs it up.
    await lock_key(f"fx:{base}:{quote}")
    await _check_withdrawn_pair(base, quote)
    existing = await FxRate.get_or_none(base=base, quote=quote, effective_at=effective_at)
    if existing is not None:
        if Decimal(existing.rate) == Decimal(normalised):
            return existing
        raise Conflict(
            f"{base}->{quote} at {effective_at.isoformat()} is already {existing.rate}; rates "
            "are history: publish the correction with a later effectiveAt",
            field="rate", existing_rate=existing.rate)
    row = await FxRate.create(base=base, quote=quote, rate=normalised, effective_at=effective_at)
    await audit.record(actor, "fx.set_rate", object_type="fx_rate", object_id=row.id,
                       after=rate_snapshot(row), stream=audit.SYSTEM_STREAM)
    return row


async def _check_withdrawn_pair(base: str, quote: str) -> None:
    """A pair with a code withdrawn from ISO 4217 takes rates only if it has some already
    (either way round): those keep converting what accounts in that code receive, while
    nothing starts to depend on the code anew."""
    withdrawn = [(code, field) for code, field in ((base, "base"), (quote, "quote"))
                 if code in WITHDRAWN]
    if not withdrawn:
        return
    if (await FxRate.filter(base=base, quote=quote).exists()
            or await FxRate.filter(base=quote, quote=base).exists()):
        return
    code, field = withdrawn[0]
    check_current_currency(code, field=field, new="an FX pair without rates yet")


async def _latest(base: str, quote: str, at: datetime) -> FxRate | None:
    return await FxRate.filter(base=base, quote=quote, effective_at__lte=at) \
        .order_by("-effective_at").first()


def _invert(rate: Decimal) -> Decimal:
    with localcontext(Context(prec=INVERSE_PRECISION, rounding=ROUND_HALF_EVEN)):
        inverse = Decimal(1) / rate
    if inverse.as_tuple().exponent < -INVERSE_MAX_DECIMALS:  # type: ignore[operator]
        inverse = inverse.quantize(Decimal(1).scaleb(-INVERSE_MAX_DECIMALS),
                                   rounding=ROUND_HALF_EVEN, context=_EXACT)
    return inverse


async def rate_at(base: str, quote: str, at: datetime) -> Rate | None:
    """The latest base->quote rate with effective_at <= at, or None.

    The direct pair wins whenever it has a rate at ``at``; only when it has none
    is the latest quote->base rate inverted. No cross rates through a third currency.
    """
    base, quote = _check_pair(base, quote)
    at = _check_aware(at, "at")
    direct = await _latest(base, quote, at)
    if direct is not None:
        return Rate(base, quote, Decimal(direct.rate), direct.effective_at, inverted=False)
    inverse = await _latest(quote, base, at)
    if inverse is not None:
        return Rate(base, quote, _invert(Decimal(inverse.rate)), inverse.effective_at,
                    inverted=True)
    return None


async def convert(amount_minor: int, from_currency: str, to_currency: str,
                  at: datetime) -> Conversion:
    """``amount_minor`` of ``from_currency`` in ``to_currency`` at the rate in effect at ``at``.

    minor -> major (exact) -> * rate (exact) -> one rounding, half-even, to the
    target's minor unit. Raises FxRateMissing when no rate applies.
    """
    if not isinstance(amount_minor, int) or isinstance(amount_minor, bool):
        raise TypeError(f"amount_minor must be an int, not {type(amount_minor).__name__}")
    from_exponent = currency_exponent(from_currency, field="fromCurrency")
    to_exponent = currency_exponent(to_currency, field="toCurrency")
    at = _check_aware(at, "at")
    if from_currency == to_currency:
        return Conversion(amount_minor, to_currency, amount_minor, from_currency, "1", None)
    rate = await rate_at(from_currency, to_currency, at)
    if rate is None:
        raise FxRateMissing(from_currency, to_currency, at)
    major = Decimal(amount_minor).scaleb(-from_exponent, _EXACT)
    converted = _EXACT.multiply(major, rate.rate)
    # Banker's rounding: unbiased over many conversions, the usual rule for FX.
    target = converted.quantize(Decimal(1).scaleb(-to_exponent), rounding=ROUND_HALF_EVEN,
                                context=_EXACT)
    return Conversion(
        amount_minor=int(target.scaleb(to_exponent, _EXACT)), currency=to_currency,
        original_amount_minor=amount_minor, original_currency=from_currency,
        rate=rate.rate_text, effective_at=rate.effective_at, inverted=rate.inverted)


async def page_rates(base: str | None = None, quote: str | None = None, *, window: Window,
                     max_page_size: int) -> Page:
    """Stored rates, optionally of one base and/or quote, newest effective_at first."""
    window.check(max_page_size)
    query = FxRate.all()
    if base is not None:
        query = query.filter(base=_check_currency(base, "base"))
    if quote is not None:
        query = query.filter(quote=_check_currency(quote, "quote"))
    return await page_newest_first(query, time_field="effective_at", window=window,
                                   id_type=int)
