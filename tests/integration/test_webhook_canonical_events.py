"""Each canonical event through a shipped profile, from signed callback to its effect:
site charges over the limit (posted, flagged, alerted), balance reports, access attempts,
form-encoded payments, failed payments, and currency conversion with stored FX rates."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from webhook_kit import (
    balance,
    entries,
    payment_intent,
    settled,
    stripe_event,
)

from ccm_gateway.alert.models import Alert
from ccm_gateway.integration.models import AccessEvent, BalanceReport, InboundStatus
from ccm_gateway.ledger.models import EntryKind

SET_FX = """mutation($input: SetFxRateInput!) { setFxRate(input: $input) { rate } }"""
REPLAY = """mutation($input: ReplayInboundEventInput!) {
    replayInboundEvent(input: $input) { status } }"""


def bms_headers(body: str, secret: str) -> dict[str, str]:
    """What the building system sends: hex HMAC-SHA256 of "<timestamp>.<body>"."""
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-BMS-Signature": mac, "X-BMS-Timestamp": ts, "Content-Type": "application/json"}


def legacy_headers(body: str, secret: str) -> dict[str, str]:
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{ts}:{body}".encode(), hashlib.sha256).digest()
    return {"X-Legacy-Signature": "sha256=" + base64.b64encode(mac).decode(),
            "X-Legacy-Timestamp": ts, "Content-Type": "application/x-www-form-urlencoded"}


def bms_event(event_type: str, tenant: str, **fields: object) -> str:
    return json.dumps({"event_id": f"bms-{uuid.uuid4().hex}", "event_type": event_type,
                       "occurred_at": datetime.now(UTC).isoformat(), "tenant_id": tenant}
                      | fields)


async def test_site_charge_over_the_limit_is_posted_flagged_and_alerted(
        make_integration, linked_customer, make_site, send, gql):
    hook = await make_integration("generic-bms")
    customer = await linked_customer(hook, "TEN-1", limit="50.00")
    site = f"SITE-{uuid.uuid4().hex[:6]}"
    site_id = await make_site(code=site)
    body = bms_event("site_charge.created", "TEN-1", amount="80.00", currency="usd",
                     site=site, charge_id="CHG-1", description="bay 14")
    response = await send(hook.slug, body, bms_headers(body, hook.secret))
    assert response.status_code == 202, response.text
    event = await settled(response.json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    (entry,) = await entries(customer)
    assert entry.kind == EntryKind.CHARGE and entry.amount_minor == 8000
    assert entry.over_limit is True and str(entry.site_id) == site_id
    assert entry.external_ref == "CHG-1"
    assert await balance(customer) == 8000
    assert await Alert.filter(kind="credit.breach", customer_id=customer).exists()


async def test_charge_at_an_unknown_site_is_parked(make_integration, linked_customer, send):
    hook = await make_integration("generic-bms")
    customer = await linked_customer(hook, "TEN-2")
    body = bms_event("site_charge.created", "TEN-2", amount="1.00", currency="USD",
                     site="NO-SUCH-SITE", charge_id="CHG-2")
    event = await settled((await send(hook.slug, body, bms_headers(body, hook.secret))
                           ).json()["id"])
    assert event.status == InboundStatus.PARKED and event.last_error.startswith("UNKNOWN_SITE")
    assert await balance(customer) == 0


async def test_balance_report_is_stored_for_reconciliation(make_integration, linked_customer,
                                                           send):
    hook = await make_integration("generic-bms")
    customer = await linked_customer(hook, "TEN-3")
    body = bms_event("tenant_balance.reported", "TEN-3", balance="1520.25", currency="USD")
    event = await settled((await send(hook.slug, body, bms_headers(body, hook.secret))
                           ).json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    report = await BalanceReport.get(inbound_event_id=event.id)
    assert report.balance_minor == 152025 and report.currency == "USD"
    assert str(report.customer_id) == customer
    assert await balance(customer) == 0  # a report is not a movement


async def test_access_attempt_is_recorded(make_integration, linked_customer, make_site, gql,
                                          send):
    hook = await make_integration("generic-bms")
    customer = await linked_customer(hook, "TEN-4")
    code = f"SITE-{uuid.uuid4().hex[:6]}"
    site_id = await make_site(code=code)
    body = bms_event("access.entry", "TEN-4", site=code, gate="GATE-3", result="denied")
    event = await settled((await send(hook.slug, body, bms_headers(body, hook.secret))
                           ).json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    access = await AccessEvent.get(inbound_event_id=event.id)
    assert access.granted is False and access.gate == "GATE-3"
    assert str(access.site_id) == site_id and str(access.customer_id) == customer


async def test_legacy_form_encoded_payment_and_failure(make_integration, linked_customer,
                                                       send):
    hook = await make_integration("legacy-form")
    customer = await linked_customer(hook, "ACC-1")
    body = urlencode({"txn_id": f"LG-{uuid.uuid4().hex}", "txn_type": "PAYMENT_OK",
                      "account": "ACC-1", "amount": "12.50", "ccy": "usd",
                      "ts": datetime.now(UTC).isoformat(), "memo": "Invoice 42"})
    event = await settled((await send(hook.slug, body, legacy_headers(body, hook.secret))
                           ).json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    assert await balance(customer) == -1250

    failed = urlencode({"txn_id": f"LG-{uuid.uuid4().hex}", "txn_type": "PAYMENT_FAIL",
                        "account": "ACC-1", "amount": "99.00", "ccy": "USD",
                        "ts": datetime.now(UTC).isoformat(), "fail_reason": "card declined"})
    event = await settled((await send(hook.slug, failed, legacy_headers(failed, hook.secret))
                           ).json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    assert await balance(customer) == -1250  # a failed payment moves nothing...
    alert = await Alert.filter(kind="payment.failed", customer_id=customer).first()
    assert alert is not None and "card declined" in alert.message  # ...but is alerted


async def test_legacy_form_with_a_json_content_type_is_refused(make_integration, send):
    hook = await make_integration("legacy-form")
    body = urlencode({"txn_id": "x", "txn_type": "PAYMENT_OK"})
    headers = legacy_headers(body, hook.secret) | {"Content-Type": "application/json"}
    assert (await send(hook.slug, body, headers)).status_code == 415


async def test_foreign_currency_waits_for_a_rate_then_converts(
        gql, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_fx")  # a USD customer
    created = int(time.time()) - 60
    event = stripe_event("payment_intent.succeeded",
                         payment_intent("cus_fx", 10000, currency="eur"), created=created)
    event_id = (await send_stripe(hook, event)).json()["id"]
    parked = await settled(event_id)
    assert parked.status == InboundStatus.PARKED
    assert parked.last_error.startswith("MISSING_FX_RATE")
    assert await Alert.filter(kind="webhook.parked.missing_fx_rate",
                              integration_id=hook.id).exists()

    # A rate effective after the payment does not apply to it; one before does.
    at = datetime.fromtimestamp(created, UTC)
    for when, rate in ((at - timedelta(hours=1), "1.0850"), (at + timedelta(seconds=30),
                                                               "2.0")):
        result = await gql(SET_FX, {"input": {"base": "EUR", "quote": "USD", "rate": rate,
                                              "effectiveAt": when.isoformat()}})
        assert result.data
    replayed = await gql(REPLAY, {"input": {"ids": [event_id]}})
    assert replayed.data["replayInboundEvent"][0]["status"] == "RECEIVED"
    applied = await settled(event_id)
    assert applied.status == InboundStatus.APPLIED, applied.last_error
    (entry,) = await entries(customer)
    assert entry.amount_minor == -10850 and entry.currency == "USD"
    assert entry.original_amount_minor == 10000 and entry.original_currency == "EUR"
    assert entry.fx_rate == "1.085"
