"""Signed callbacks carrying text the databases cannot store (NUL, lone surrogates) or values
longer than what processing stores them in are refused at the edge: 400 MALFORMED_BODY
naming the field, and nothing in the inbox. Before, a NUL in the event type was a 500, and
one in a customer ref or reference was accepted and then retried for hours."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from webhook_kit import (
    inbox_count,
    settled,
    standard_headers,
    stripe_headers,
)

from ccm_gateway.integration.models import InboundStatus
from ccm_gateway.ledger.models import LedgerEntry

NUL, SURROGATE = "\x00", "\ud800"


def stripe_payment() -> dict[str, Any]:
    return {"id": f"evt_{uuid.uuid4().hex[:16]}", "object": "event", "created": int(time.time()),
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": f"pi_{uuid.uuid4().hex[:12]}", "object": "payment_intent",
                                "amount_received": 2500, "currency": "usd",
                                "customer": "cus_edge", "description": "yard fees"}}}


def changed(path: str, value: Any) -> dict[str, Any]:
    event = copy.deepcopy(stripe_payment())
    *parents, last = path.split(".")
    node = event
    for key in parents:
        node = node[key]
    node[last] = value
    return event


# (the event, words the refusal names)
STRIPE_CASES = {
    "nul_in_type": (changed("type", "payment_intent.succeeded" + NUL), "event type"),
    "surrogate_in_type": (changed("type", "payment_intent" + SURROGATE), "event type"),
    "nul_in_unmapped_type": (changed("type", "customer.created" + NUL), "event type"),
    "nul_in_event_id": (changed("id", "evt_" + NUL), "event id"),
    "surrogate_in_event_id": (changed("id", "evt_" + SURROGATE), "event id"),
    "nul_in_customer": (changed("data.object.customer", "cus_" + NUL), "(customer)"),
    "surrogate_in_customer": (changed("data.object.customer", "cus_" + SURROGATE),
                              "(customer)"),
    "nul_in_reference": (changed("data.object.id", "pi_" + NUL), "(reference)"),
    "surrogate_in_reference": (changed("data.object.id", SURROGATE), "(reference)"),
    "nul_in_description": (changed("data.object.description", "fees" + NUL),
                           "(description)"),
    "surrogate_in_description": (changed("data.object.description", SURROGATE + "fees"),
                                 "(description)"),
    "nul_in_currency": (changed("data.object.currency", "us" + NUL), "(currency)"),
    "long_customer": (changed("data.object.customer", "c" * 201), "(customer)"),
    "long_reference": (changed("data.object.id", "p" * 201), "(reference)"),
}


@pytest.mark.parametrize("case", list(STRIPE_CASES))
async def test_unstorable_or_overlong_values_are_refused_at_the_edge(case, make_integration,
                                                                    send):
    event, named = STRIPE_CASES[case]
    hook = await make_integration("stripe")
    body = json.dumps(event)
    response = await send(hook.slug, body, stripe_headers(body, hook.secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "MALFORMED_BODY"
    assert named in response.json()["detail"]
    assert await inbox_count(hook.slug) == 0


def bms_headers(body: str, secret: str) -> dict[str, str]:
    ts = str(int(time.time()))
    mac = hmac.new(secret.encode(), f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-BMS-Signature": mac, "X-BMS-Timestamp": ts, "Content-Type": "application/json"}


BMS_CASES = {
    "nul_in_site": ({"event_type": "site_charge.created", "site": "S" + NUL}, "(site)"),
    "long_site": ({"event_type": "site_charge.created", "site": "S" * 65}, "(site)"),
    "nul_in_gate": ({"event_type": "access.entry", "gate": "G" + NUL, "result": "granted"},
                    "(gate)"),
    "surrogate_in_reason": ({"event_type": "access.entry", "gate": "G", "result": "denied",
                             "deny_reason": SURROGATE}, "(reason)"),
}


@pytest.mark.parametrize("case", list(BMS_CASES))
async def test_site_gate_and_reason_are_checked_at_the_edge(case, make_integration, send):
    fields, named = BMS_CASES[case]
    hook = await make_integration("generic-bms")
    body = json.dumps({"event_id": f"bms-{uuid.uuid4().hex}", "tenant_id": "TEN-EDGE",
                       "occurred_at": "2026-01-01T00:00:00+00:00", "amount": "1.00",
                       "currency": "USD", "charge_id": "CHG-1"} | fields)
    response = await send(hook.slug, body, bms_headers(body, hook.secret))
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "MALFORMED_BODY"
    assert named in response.json()["detail"]
    assert await inbox_count(hook.slug) == 0


async def test_nul_in_an_event_id_header_is_refused(make_integration, send):
    hook = await make_integration("standard-webhooks")
    body = json.dumps({"type": "payment.succeeded", "timestamp": "2026-01-01T00:00:00+00:00",
                       "data": {"customer": "c", "amount": "1.00", "currency": "USD"}})
    headers = standard_headers(body, hook.secret, msg_id="msg_" + NUL)
    response = await send(hook.slug, body, headers)
    assert response.status_code == 400, response.text
    assert "event id" in response.json()["detail"]
    assert await inbox_count(hook.slug) == 0


async def test_long_free_text_is_still_accepted_and_cut_to_its_column(make_integration,
                                                                     linked_customer, send):
    # A vendor's long description or failure message must not cost the payment it carries.
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_longtext")
    event = changed("data.object.customer", "cus_longtext")
    event["data"]["object"]["description"] = "d" * 700
    body = json.dumps(event)
    response = await send(hook.slug, body, stripe_headers(body, hook.secret))
    assert response.status_code == 202, response.text
    assert (await settled(response.json()["id"])).status == InboundStatus.APPLIED
    entry = await LedgerEntry.get(account__customer_id=customer)
    assert entry.description == "d" * 500


async def test_form_bodies_are_checked_the_same_way(make_integration, send):
    hook = await make_integration("legacy-form")
    body = urlencode({"txn_id": f"LG-{uuid.uuid4().hex}", "txn_type": "PAYMENT_OK",
                      "account": "ACC" + NUL, "amount": "1.00", "ccy": "usd",
                      "ts": "2026-01-01T00:00:00+00:00"})
    ts = str(int(time.time()))
    mac = hmac.new(hook.secret.encode(), f"{ts}:{body}".encode(), hashlib.sha256).digest()
    headers = {"X-Legacy-Signature": "sha256=" + base64.b64encode(mac).decode(),
               "X-Legacy-Timestamp": ts, "Content-Type": "application/x-www-form-urlencoded"}
    response = await send(hook.slug, body, headers)
    assert response.status_code == 400, response.text
    assert "account (customer) must not contain NUL" in response.json()["detail"]
    assert await inbox_count(hook.slug) == 0
