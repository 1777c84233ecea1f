"""What the ops pages' browser tests need on a served gateway beyond the shared seed: signed
callbacks (Standard Webhooks) sent over HTTP as a vendor sends them, a dead letter to replay,
a reported balance that breaks reconciliation, and utilisation alerts raised on demand."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from console_kit import Gateway
from standardwebhooks.webhooks import Webhook
from testkit import eventually

_INTEGRATION = """mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  secret integration { id slug refSystem } } }"""
_UPDATE = """mutation($i: UpdateIntegrationInput!) {
  updateIntegration(input: $i) { id segments } }"""
_LINK = "mutation($i: LinkExternalRefInput!) { linkExternalRef(input: $i) { id } }"
_EVENT = "query($id: ID!) { inboundEvent(id: $id) { status lastError } }"
_CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
_HOLD = """mutation($i: AuthorizeCreditInput!) { authorizeCredit(input: $i) {
  __typename ... on CreditDeclined { message } } }"""


@dataclass
class Vendor:
    """An integration on the Standard Webhooks profile, and the secret it signs with."""

    id: str
    slug: str
    ref_system: str
    secret: str
    name: str


async def add_vendor(gw: Gateway, *, segments: list[str], name: str) -> Vendor:
    slug = f"vendor-{uuid.uuid4().hex[:8]}"
    made = (await gw.gql(_INTEGRATION, {"i": {
        "slug": slug, "name": name, "kind": "PAYMENT_PROCESSOR", "profile": "standard-webhooks",
        "segments": segments}}))["createIntegration"]
    return Vendor(made["integration"]["id"], slug, made["integration"]["refSystem"],
                  made["secret"], name)


async def link(gw: Gateway, vendor: Vendor, customer_id: str, external_id: str) -> None:
    await gw.gql(_LINK, {"i": {"customerId": customer_id, "system": vendor.ref_system,
                               "externalId": external_id}})


async def send_event(gw: Gateway, vendor: Vendor, event_type: str,
                     data: dict[str, Any]) -> str:
    """Posts a signed callback; the inbox id the gateway answered 202 with."""
    body = json.dumps({"type": event_type, "timestamp": datetime.now(UTC).isoformat(),
                       "data": data})
    msg_id = f"msg_{uuid.uuid4().hex}"
    at = datetime.now(UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": Webhook(vendor.secret).sign(msg_id, at, body),
               "Content-Type": "application/json"}
    response = await gw.http.post(f"/webhooks/{vendor.slug}", content=body, headers=headers)
    assert response.status_code == 202, response.text
    event_id: str = response.json()["id"]
    return event_id


async def settled(gw: Gateway, event_id: str) -> dict[str, Any]:
    """The inbound event once a worker has finished with it."""
    async def done() -> dict[str, Any] | None:
        event: dict[str, Any] = (await gw.gql(_EVENT, {"id": event_id}))["inboundEvent"]
        return None if event["status"] in ("RECEIVED", "RETRYING") else event

    found: dict[str, Any] = await eventually(done, timeout=30)
    return found


@dataclass
class DeadLetter:
    vendor: Vendor
    event_id: str
    error: str


async def make_dead_letter(gw: Gateway, customer_id: str) -> DeadLetter:
    """A payment for a customer in a segment the integration may not write: dead-lettered
    (SEGMENT_NOT_ALLOWED). The integration is then allowed every segment, so a replay
    applies it, as an admin fixes the cause before replaying."""
    vendor = await add_vendor(gw, segments=["no-such-segment"], name="Dead letter PSP")
    ref = f"cus-{uuid.uuid4().hex[:8]}"
    await link(gw, vendor, customer_id, ref)
    event_id = await send_event(gw, vendor, "payment.succeeded", {
        "customer": ref, "amount": "10.00", "currency": "USD",
        "reference": f"pay-{uuid.uuid4().hex[:8]}"})
    dead = await settled(gw, event_id)
    assert dead["status"] == "DEAD", dead
    await gw.gql(_UPDATE, {"i": {"id": vendor.id, "segments": ["*"]}})
    return DeadLetter(vendor, event_id, dead["lastError"])


async def make_reported_balance(gw: Gateway, customer_id: str, amount: str,
                                currency: str) -> Vendor:
    """An ERP-like integration that reported ``amount`` as the customer's balance (applied,
    so runReconciliation finds it)."""
    vendor = await add_vendor(gw, segments=["*"], name="Balance reporter")
    ref = f"acct-{uuid.uuid4().hex[:8]}"
    await link(gw, vendor, customer_id, ref)
    event_id = await send_event(gw, vendor, "balance.reported", {
        "customer": ref, "amount": amount, "currency": currency})
    applied = await settled(gw, event_id)
    assert applied["status"] == "APPLIED", applied
    return vendor


async def raise_threshold_alert(gw: Gateway) -> str:
    """A fresh customer whose hold takes it to 85 % of its limit: one credit.threshold alert
    (the default 80 % rule). Returns the customer's id."""
    customer_id: str = (await gw.gql(_CUSTOMER, {"i": {
        "name": f"Live {uuid.uuid4().hex[:6]}", "segment": "logistics", "currency": "USD",
        "creditLimit": {"amount": "100.00", "currency": "USD"}}}))["createCustomer"]["id"]
    hold = await gw.gql(_HOLD, {"i": {
        "customerId": customer_id, "amount": {"amount": "85.00", "currency": "USD"},
        "expiresInSeconds": 3600, "idempotencyKey": f"live-{customer_id}"}})
    assert hold["authorizeCredit"]["__typename"] == "Hold", hold
    return customer_id
