"""FX rates: publishing a rate, finding the one in effect, converting money exactly.

1 base = rate quote from effective_at on. Rates are history: the same (base,
quote, effective_at) again is a no-op with the same rate and a CONFLICT with
another. Conversion goes minor -> major -> * rate -> one half-even rounding to
the target's minor unit, so integer minor units never pass through a float.

The database is shared by the whole session, so each test works on currency
pairs and times of its own (``epoch``).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.fx import service as fx
from ccm_gateway.fx.models import FxRate
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.principal import Actor

SET_RATE = """
mutation($input: SetFxRateInput!) {
  setFxRate(input: $input) { id base quote rate effectiveAt createdAt }
}"""

RATES = """
query($base: String, $quote: String, $first: Int, $after: String) {
  fxRates(base: $base, quote: $quote, first: $first, after: $after) {
    edges { cursor node { id base quote rate effectiveAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""

ACTOR = Actor(type="user", id="fx-test")


@pytest.fixture
def epoch() -> datetime:
    """A time of this test's own, minutes apart from any other test's."""
    return datetime(2001, 1, 1, tzinfo=UTC) + timedelta(minutes=10 * (uuid.uuid4().int % 10**8))


def iso(value: datetime) -> str:
    return value.isoformat()


def rate_input(base: str, quote: str, rate: str, effective_at: datetime | str) -> dict[str, Any]:
    at = effective_at if isinstance(effective_at, str) else iso(effective_at)
    return {"input": {"base": base, "quote": quote, "rate": rate, "effectiveAt": at}}


async def stored(base: str, quote: str) -> int:
    return await FxRate.filter(base=base, quote=quote).count()


async def set_rates(*rates: tuple[str, str, str, datetime]) -> None:
    """Publish rates as a resolver would; the same rate again is a no-op."""
    for base, quote, rate, at in rates:
        async with in_transaction():
            await fx.set_rate(ACTOR, base, quote, rate, at)


def oracle(amount_minor: int, from_currency: str, to_currency: str, rate: str) -> int:
    """The exact answer by rational arithmetic; round() on a Fraction is half-even."""
    exact = (Fraction(amount_minor, 10 ** currency_exponent(from_currency)) * Fraction(rate)
             * 10 ** currency_exponent(to_currency))
    return round(exact)


# --- publishing a rate: what is refused -----------------------------------------------------


@pytest.mark.parametrize(("change", "field"), [
    ({"base": "usd"}, "base"),
    ({"base": "XXX"}, "base"),
    ({"base": ""}, "base"),
    ({"quote": "EURO"}, "quote"),
    ({"quote": "SGD"}, "quote"),  # equal to base
    ({"rate": "1e3"}, "rate"),
    ({"rate": "1E-2"}, "rate"),
    ({"rate": "NaN"}, "rate"),
    ({"rate": "Infinity"}, "rate"),
    ({"rate": "inf"}, "rate"),
    ({"rate": "0"}, "rate"),
    ({"rate": "0.000000000000"}, "rate"),
    ({"rate": "-1.25"}, "rate"),
    ({"rate": "+1.25"}, "rate"),
    ({"rate": "1,25"}, "rate"),
    ({"rate": ".5"}, "rate"),
    ({"rate": "5."}, "rate"),
    ({"rate": ""}, "rate"),
    ({"rate": "\u0661.\u0665"}, "rate"),  # Arabic-Indic digits, which Decimal() reads
    ({"rate": "1.0000000000001"}, "rate"),  # 13 decimals
    ({"rate": "1234567890123"}, "rate"),  # 13 integer digits
    ({"effectiveAt": "2030-01-01T00:00:00"}, "effectiveAt"),  # no UTC offset
], ids=lambda v: repr(v) if isinstance(v, dict) else v)
async def test_bad_input_is_refused_naming_the_field_and_stores_nothing(gql, change, field):
    payload = {"base": "SGD", "quote": "MYR", "rate": "3.1", "effectiveAt":
               "2030-06-01T00:00:00+00:00"} | change
    audits = await AuditEvent.filter(action="fx.set_rate").count()
    rows = await FxRate.all().count()

    result = await gql(SET_RATE, {"input": payload}, role="finance")

    assert result.error_code == "BAD_USER_INPUT", result.errors
    assert result.errors[0]["extensions"]["field"] == field
    assert result.body["data"] is None
    assert await FxRate.all().count() == rows
    assert await AuditEvent.filter(action="fx.set_rate").count() == audits


@pytest.mark.parametrize(("given", "normalised"), [
    ("1.2500", "1.25"),
    ("0012.5", "12.5"),
    ("100", "100"),
    ("100.000", "100"),
    ("0.000000000001", "0.000000000001"),
    ("999999999999.999999999999", "999999999999.999999999999"),
])
async def test_a_rate_is_stored_in_normal_form(gql, epoch, given, normalised):
    result = await gql(SET_RATE, rate_input("NZD", "AUD", given, epoch), role="finance")
    assert result.data["setFxRate"]["rate"] == normalised
    assert (await FxRate.get(id=result.data["setFxRate"]["id"])).rate == normalised


async def test_effective_at_is_kept_as_the_same_instant_in_utc(gql, epoch):
    local = epoch.astimezone(timezone(timedelta(hours=5, minutes=30)))
    result = await gql(SET_RATE, rate_input("INR", "LKR", "3.6", local), role="finance")
    node = result.data["setFxRate"]
    assert datetime.fromisoformat(node["effectiveAt"]) == epoch
    assert datetime.fromisoformat(node["effectiveAt"]).utcoffset() == timedelta(0)


# --- publishing a rate: idempotent, history never rewritten ---------------------------------


async def test_the_same_rate_again_returns_the_stored_one_and_audits_once(gql, epoch):
    first = await gql(SET_RATE, rate_input("CAD", "MXN", "13.5", epoch), role="finance")
    # Another spelling of the same rate and the same instant in another offset.
    again = await gql(SET_RATE, rate_input(
        "CAD", "MXN", "13.50", epoch.astimezone(timezone(timedelta(hours=-6)))), role="finance")
    assert again.data["setFxRate"] == first.data["setFxRate"]
    row_id = first.data["setFxRate"]["id"]
    assert await AuditEvent.filter(action="fx.set_rate", object_id=row_id).count() == 1


async def test_another_rate_for_the_same_time_is_a_conflict_and_changes_nothing(gql, epoch):
    first = await gql(SET_RATE, rate_input("CAD", "BRL", "4.1", epoch), role="finance")
    rows = await stored("CAD", "BRL")

    result = await gql(SET_RATE, rate_input("CAD", "BRL", "4.2", epoch), role="finance")

    assert result.error_code == "CONFLICT"
    assert result.errors[0]["extensions"]["field"] == "rate"
    assert await stored("CAD", "BRL") == rows
    assert (await FxRate.get(id=first.data["setFxRate"]["id"])).rate == "4.1"
    # The correction is a new rate with a later effectiveAt.
    later = await gql(SET_RATE, rate_input("CAD", "BRL", "4.2", epoch + timedelta(seconds=1)),
                      role="finance")
    assert later.data["setFxRate"]["rate"] == "4.2"


async def test_publishing_a_rate_is_audited_on_the_system_stream(gql, epoch):
    subject = f"fx-{uuid.uuid4().hex[:8]}"
    token = gql.token("finance", subject=subject)
    result = await gql(SET_RATE, rate_input("HKD", "TWD", "4.05", epoch), token=token)
    row_id = result.data["setFxRate"]["id"]

    event = await AuditEvent.get(action="fx.set_rate", object_id=row_id)

    assert (event.stream, event.object_type, event.actor_id) == ("system", "fx_rate", subject)
    assert event.before is None
    assert event.after == {"base": "HKD", "quote": "TWD", "rate": "4.05",
                           "effective_at": epoch.isoformat()}
    assert event.request_id


async def test_a_future_dated_rate_is_accepted_but_not_used_before_its_time(app, epoch):
    now = datetime.now(UTC)
    await set_rates(("PLN", "CZK", "5.5", now - timedelta(days=1)),
                    ("PLN", "CZK", "6.5", now + timedelta(days=1)))
    assert (await fx.rate_at("PLN", "CZK", now)).rate == Decimal("5.5")
    assert (await fx.rate_at("PLN", "CZK", now + timedelta(days=2))).rate == Decimal("6.5")


# --- who may publish and read ---------------------------------------------------------------


async def test_a_viewer_cannot_set_a_rate_and_nothing_is_stored(gql, epoch):
    rows = await stored("DKK", "NOK")
    result = await gql(SET_RATE, rate_input("DKK", "NOK", "1.5", epoch), role="viewer")
    assert result.error_code == "FORBIDDEN"
    assert "fx:write" in result.errors[0]["message"]
    assert await stored("DKK", "NOK") == rows


async def test_a_viewer_reads_rates(gql, epoch):
    await gql(SET_RATE, rate_input("DKK", "ISK", "20.1", epoch), role="finance")
    result = await gql(RATES, {"base": "DKK", "quote": "ISK"}, role="viewer")
    assert [e["node"]["rate"] for e in result.data["fxRates"]["edges"]][:1] == ["20.1"]


async def test_a_partner_reads_rates_but_cannot_set_them(gql, epoch):
    await gql(SET_RATE, rate_input("DKK", "HUF", "52.5", epoch), role="finance")
    partner = gql.token("admin", subject=f"portal-{uuid.uuid4().hex[:8]}", partner_id="P-fx")
    rows = await stored("DKK", "HUF")

    denied = await gql(SET_RATE, rate_input("DKK", "HUF", "99", epoch + timedelta(minutes=1)),
                       token=partner)
    read = await gql(RATES, {"base": "DKK", "quote": "HUF"}, token=partner)

    assert denied.error_code == "FORBIDDEN"
    assert await stored("DKK", "HUF") == rows
    assert [e["node"]["rate"] for e in read.data["fxRates"]["edges"]] == ["52.5"]


# --- listing ---------------------------------------------------------------------------------


async def test_rates_list_newest_effective_first_in_pages(gql, epoch):
    for minutes, rate in ((0, "1.1"), (2, "1.3"), (1, "1.2")):
        await gql(SET_RATE, rate_input("GBP", "EGP", rate, epoch + timedelta(minutes=minutes)),
                  role="finance")
    await gql(SET_RATE, rate_input("EGP", "GBP", "0.8", epoch), role="finance")
    seen, after = [], None
    while True:
        page = (await gql(RATES, {"base": "GBP", "quote": "EGP", "first": 2, "after": after})
                ).data["fxRates"]
        seen += [e["node"]["rate"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["1.3", "1.2", "1.1"]
    by_base = (await gql(RATES, {"base": "EGP"})).data["fxRates"]["edges"]
    assert {(e["node"]["base"], e["node"]["quote"]) for e in by_base} == {("EGP", "GBP")}


@pytest.mark.parametrize(("variables", "field"), [
    ({"base": "gbp"}, "base"), ({"quote": "ABC"}, "quote"), ({"first": 0}, "first"),
    ({"first": 101}, "first"), ({"after": "not-a-cursor"}, "after"),
])
async def test_listing_refuses_bad_arguments(gql, variables, field):
    result = await gql(RATES, variables)
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field


# --- the rate in effect at a time -----------------------------------------------------------


async def test_an_event_between_two_rates_takes_the_earlier(app, epoch):
    t1, t2 = epoch, epoch + timedelta(hours=1)
    await set_rates(("EUR", "CHF", "0.95", t1), ("EUR", "CHF", "0.97", t2))

    between = await fx.rate_at("EUR", "CHF", t1 + timedelta(minutes=30))
    at_t2 = await fx.rate_at("EUR", "CHF", t2.astimezone(timezone(timedelta(hours=2))))
    just_before_t2 = await fx.rate_at("EUR", "CHF", t2 - timedelta(microseconds=1))

    assert between == fx.Rate("EUR", "CHF", Decimal("0.95"), t1, inverted=False)
    assert at_t2 is not None and at_t2.rate == Decimal("0.97") and at_t2.effective_at == t2
    assert just_before_t2 is not None and just_before_t2.rate == Decimal("0.95")


async def test_before_the_first_rate_there_is_none(app, epoch):
    await set_rates(("QAR", "OMR", "0.105", epoch))
    assert await fx.rate_at("QAR", "OMR", epoch - timedelta(seconds=1)) is None
    with pytest.raises(fx.FxRateMissing):
        await fx.convert(100, "QAR", "OMR", epoch - timedelta(seconds=1))


async def test_only_the_inverse_pair_stored_gives_its_reciprocal(app, epoch):
    await set_rates(("TRY", "RON", "3", epoch))

    rate = await fx.rate_at("RON", "TRY", epoch)

    assert rate == fx.Rate("RON", "TRY", Decimal("0.3333333333333333333333333333"), epoch,
                           inverted=True)
    assert len(rate.rate.as_tuple().digits) == 28


async def test_the_direct_pair_wins_over_the_inverse(app, epoch):
    await set_rates(("GEL", "AMD", "150", epoch), ("AMD", "GEL", "0.0065", epoch))
    assert (await fx.rate_at("AMD", "GEL", epoch)).inverted is False
    assert (await fx.rate_at("GEL", "AMD", epoch)).rate == Decimal("150")


async def test_rate_at_refuses_a_naive_time_and_a_pair_of_one_currency(app):
    with pytest.raises(BadInput) as naive:
        await fx.rate_at("EUR", "USD", datetime(2030, 1, 1))
    with pytest.raises(BadInput) as same:
        await fx.rate_at("EUR", "EUR", datetime(2030, 1, 1, tzinfo=UTC))
    assert (naive.value.field, same.value.field) == ("at", "quote")


# --- conversion -----------------------------------------------------------------------------


async def test_the_same_currency_is_unchanged_at_rate_one(app):
    conversion = await fx.convert(12345, "USD", "USD", datetime(2030, 1, 1, tzinfo=UTC))
    assert conversion == fx.Conversion(amount_minor=12345, currency="USD",
                                       original_amount_minor=12345, original_currency="USD",
                                       rate="1", effective_at=None, inverted=False)


async def test_jpy_to_usd_goes_from_no_decimals_to_two(app, epoch):
    await set_rates(("JPY", "USD", "0.0067", epoch))
    conversion = await fx.convert(12345, "JPY", "USD", epoch)  # 12345 JPY * 0.0067 = 82.7115
    assert conversion == fx.Conversion(amount_minor=8271, currency="USD",
                                       original_amount_minor=12345, original_currency="JPY",
                                       rate="0.0067", effective_at=epoch, inverted=False)
    assert (await fx.convert(10000, "JPY", "USD", epoch)).amount_minor == 6700


async def test_usd_to_kwd_goes_from_two_decimals_to_three(app, epoch):
    await set_rates(("USD", "KWD", "0.3075", epoch))
    assert (await fx.convert(100000, "USD", "KWD", epoch)).amount_minor == 307500  # 307.500
    # 12.34 * 0.3075 = 3.794550 -> 3.795
    assert (await fx.convert(1234, "USD", "KWD", epoch)).amount_minor == 3795


@pytest.mark.parametrize(("amount_minor", "expected"), [
    (1, 0),    # 0.005 -> 0.00: the tie goes to the even cent
    (3, 2),    # 0.015 -> 0.02
    (5, 2),    # 0.025 -> 0.02
    (7, 4),    # 0.035 -> 0.04
    (-3, -2),  # symmetric for negative adjustments
    (-5, -2),
    (9, 4),    # 0.045 -> 0.04
    (11, 6),   # 0.055 -> 0.06
])
async def test_a_tie_rounds_half_to_even(app, amount_minor, expected):
    at = datetime(1999, 1, 1, tzinfo=UTC)
    await set_rates(("ZAR", "BWP", "0.5", at))
    assert (await fx.convert(amount_minor, "ZAR", "BWP", at)).amount_minor == expected


@pytest.mark.parametrize(("amount_minor", "expected"), [(1, 0), (3, 2), (5, 2), (7, 4)])
async def test_kwd_to_jpy_rounds_half_to_even_on_whole_yen(app, amount_minor, expected):
    at = datetime(1999, 1, 1, tzinfo=UTC)
    await set_rates(("KWD", "JPY", "500", at))
    # 0.001 KWD * 500 = 0.5 JPY
    assert (await fx.convert(amount_minor, "KWD", "JPY", at)).amount_minor == expected


@pytest.mark.parametrize(("amount_minor", "rate"), [
    (10**15, "999999999999.999999999999"),  # about 10**27 minor units: no float, no rounding
    (10**15 + 1, "0.000000000001"),
    (987654321987, "1.234567890123"),
    (-987654321987, "1.234567890125"),
])
async def test_conversion_is_exact_at_the_extremes(app, epoch, amount_minor, rate):
    await set_rates(("CNY", "IDR", rate, epoch))
    conversion = await fx.convert(amount_minor, "CNY", "IDR", epoch)
    assert conversion.amount_minor == oracle(amount_minor, "CNY", "IDR", rate)
    assert isinstance(conversion.amount_minor, int)


async def test_conversion_through_the_inverse_pair_records_the_rate_applied(app, epoch):
    await set_rates(("GBP", "UGX", "4800", epoch))
    conversion = await fx.convert(4800, "UGX", "GBP", epoch)  # 4800 UGX = 1.00 GBP
    assert conversion.amount_minor == 100
    assert conversion.rate == "0.0002083333333333333333333333333"
    assert (conversion.inverted, conversion.effective_at) == (True, epoch)
    assert len(conversion.rate) <= 40  # fits a ledger entry's fx_rate


async def test_an_inverted_tiny_rate_still_fits_a_ledger_entry(app, epoch):
    await set_rates(("VND", "CLF", "999999999999.999999999999", epoch))
    rate = await fx.rate_at("CLF", "VND", epoch)
    assert rate is not None and len(rate.rate_text) <= 40
    assert rate.rate.as_tuple().exponent == -38
    assert abs(rate.rate * Decimal("999999999999.999999999999") - 1) < Decimal("1E-25")


async def test_a_missing_rate_raises_not_found_with_the_pair_and_time(app, epoch):
    with pytest.raises(fx.FxRateMissing) as missing:
        await fx.convert(100, "MUR", "SCR", epoch)
    error = missing.value
    assert isinstance(error, NotFound) and error.code == "NOT_FOUND"
    assert (error.base, error.quote, error.at) == ("MUR", "SCR", epoch)
    assert error.extensions() == {"code": "NOT_FOUND", "base": "MUR", "quote": "SCR",
                                  "at": epoch.isoformat()}


async def test_convert_refuses_unknown_currencies_naive_times_and_floats(app):
    at = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(BadInput) as source:
        await fx.convert(1, "XYZ", "USD", at)
    with pytest.raises(BadInput) as target:
        await fx.convert(1, "USD", "usd", at)
    with pytest.raises(BadInput) as naive:
        await fx.convert(1, "USD", "EUR", datetime(2030, 1, 1))
    assert (source.value.field, target.value.field, naive.value.field) == (
        "fromCurrency", "toCurrency", "at")
    with pytest.raises(TypeError):
        await fx.convert(1.5, "USD", "EUR", at)  # type: ignore[arg-type]


# --- concurrent publishers --------------------------------------------------------------------


async def test_concurrent_publishers_of_one_rate_store_it_once(app, epoch):
    async def publish(rate: str) -> Any:
        try:
            async with in_transaction():
                return (await fx.set_rate(ACTOR, "SEK", "PLN", rate, epoch)).id
        except Conflict as exc:
            return exc

    outcomes = await asyncio.gather(*(publish("0.37" if i % 2 else "0.370") for i in range(10)),
                                    publish("0.38"))

    rows = await FxRate.filter(base="SEK", quote="PLN", effective_at=epoch)
    assert len(rows) == 1
    assert await AuditEvent.filter(action="fx.set_rate", object_id=str(rows[0].id)).count() == 1
    if rows[0].rate == "0.37":
        assert outcomes[:10] == [rows[0].id] * 10 and isinstance(outcomes[10], Conflict)
    else:  # the other publisher came first: every same-rate call is then the conflict
        assert all(isinstance(o, Conflict) for o in outcomes[:10])


# --- currencies withdrawn from ISO 4217 -------------------------------------------------------
# ANG and BGN are withdrawn (kit/money.py's WITHDRAWN). Each test has pairs of its own.


async def test_a_new_pair_with_a_withdrawn_currency_is_refused_and_stores_nothing(gql, epoch):
    audits = await AuditEvent.filter(action="fx.set_rate").count()

    result = await gql(SET_RATE, rate_input("CHF", "ANG", "2.05", epoch), role="finance")

    assert result.error_code == "BAD_USER_INPUT", result.errors
    error = result.errors[0]
    assert error["extensions"]["field"] == "quote"
    assert error["message"].startswith(
        "ANG was withdrawn from ISO 4217 on 2025-03-31 (replaced by XCG)")
    assert "an FX pair without rates yet needs a current code" in error["message"]
    assert await stored("CHF", "ANG") == 0 and await stored("ANG", "CHF") == 0
    assert await AuditEvent.filter(action="fx.set_rate").count() == audits


@pytest.mark.parametrize(("planted", "quote"), [
    (("BGN", "EUR"), "EUR"),  # the same direction
    (("RON", "BGN"), "RON"),  # only the inverse was published
])
async def test_a_pair_that_has_rates_keeps_taking_them_with_a_withdrawn_currency(
        gql, epoch, planted, quote):
    # Published before BGN was withdrawn.
    await FxRate.create(base=planted[0], quote=planted[1], rate="2", effective_at=epoch)
    later = epoch + timedelta(minutes=1)

    result = await gql(SET_RATE, rate_input("BGN", quote, "0.5", later), role="finance")

    assert result.data["setFxRate"]["rate"] == "0.5"
    converted = await fx.convert(100_00, "BGN", quote, later)
    assert (converted.amount_minor, converted.currency) == (50_00, quote)
