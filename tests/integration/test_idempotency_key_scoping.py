"""Invariant 9: keys belong to their caller.

An idempotency key is scoped to the principal that sent it (to its partner for
partner principals); keys derived from vendor events live in a namespace no API
caller can reach. One caller's key never blocks, or reveals, another's.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tortoise.transactions import in_transaction
from webhook_kit import (
    balance,
    payment_intent,
    settled,
    stripe_event,
)

from ccm_gateway.integration.models import InboundStatus
from ccm_gateway.kit import idempotency
from ccm_gateway.kit.idempotency import IdempotencyRecord
from ccm_gateway.ledger.models import Hold

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename
    ... on Hold { id amount { amount } }
    ... on CreditDeclined { reason }
  }
}"""
POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) { __typename ... on LedgerEntry { id } }
}"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


def new_key() -> str:
    return f"key-{uuid.uuid4().hex}"


async def test_an_api_caller_cannot_take_the_key_of_a_vendor_event(
        gql, make_customer, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    partner = f"partner-{uuid.uuid4().hex[:8]}"
    squatter = gql.token("finance", subject="portal-user", partner_id=partner)
    own = await make_customer(partnerId=partner)
    event_id = f"evt_{uuid.uuid4().hex[:16]}"
    # The key the webhook path would use for evt_X, sent first by an API caller.
    squatted = await gql(POST_ENTRY, {"input": {
        "customerId": own, "kind": "PAYMENT", "amount": usd("1.00"),
        "idempotencyKey": f"{hook.slug}:{event_id}"}}, token=squatter)
    assert squatted.data["postLedgerEntry"]["__typename"] == "LedgerEntry"

    victim = await linked_customer(hook, "cus_victim")
    payment = stripe_event("payment_intent.succeeded", payment_intent("cus_victim", 2500),
                           event_id=event_id)
    event = await settled((await send_stripe(hook, payment)).json()["id"])

    assert event.status == InboundStatus.APPLIED, event.last_error
    assert await balance(victim) == -2500


async def test_another_principals_key_neither_blocks_nor_reveals_it(gql, make_customer):
    key = new_key()
    first, other = await make_customer("1000.00"), await make_customer("1000.00")
    alice = gql.token("finance", subject=f"alice-{uuid.uuid4().hex[:6]}")
    bob = gql.token("finance", subject=f"bob-{uuid.uuid4().hex[:6]}")
    mine = (await gql(AUTHORIZE, {"input": {"customerId": first, "amount": usd("1.00"),
                                            "idempotencyKey": key}}, token=alice)).data
    theirs = (await gql(AUTHORIZE, {"input": {"customerId": other, "amount": usd("2.00"),
                                              "idempotencyKey": key}}, token=bob)).data

    assert theirs["authorizeCredit"]["__typename"] == "Hold"
    assert theirs["authorizeCredit"]["id"] != mine["authorizeCredit"]["id"]
    assert await Hold.filter(account__customer_id=other).count() == 1
    # The same key and another request from the first caller is still its conflict.
    again = await gql(AUTHORIZE, {"input": {"customerId": other, "amount": usd("1.00"),
                                            "idempotencyKey": key}}, token=alice)
    assert again.error_code == "CONFLICT"


async def test_one_partners_key_neither_blocks_nor_reveals_another_partners(
        gql, make_customer):
    key = new_key()
    one, two = f"partner-{uuid.uuid4().hex[:8]}", f"partner-{uuid.uuid4().hex[:8]}"
    a, b = await make_customer(partnerId=one), await make_customer(partnerId=two)
    first = await gql(AUTHORIZE, {"input": {"customerId": a, "amount": usd("1.00"),
                                            "idempotencyKey": key}},
                      token=gql.token("finance", subject="portal", partner_id=one))
    second = await gql(AUTHORIZE, {"input": {"customerId": b, "amount": usd("1.00"),
                                             "idempotencyKey": key}},
                       token=gql.token("finance", subject="portal", partner_id=two))
    assert first.data["authorizeCredit"]["__typename"] == "Hold"
    assert second.data["authorizeCredit"]["__typename"] == "Hold"
    assert first.data["authorizeCredit"]["id"] != second.data["authorizeCredit"]["id"]


async def test_users_of_one_partner_share_its_keys(gql, make_customer):
    key = new_key()
    partner = f"partner-{uuid.uuid4().hex[:8]}"
    customer = await make_customer(partnerId=partner)
    request = {"input": {"customerId": customer, "amount": usd("1.00"), "idempotencyKey": key}}
    first = await gql(AUTHORIZE, request,
                      token=gql.token("finance", subject="clerk-1", partner_id=partner))
    second = await gql(AUTHORIZE, request,
                       token=gql.token("finance", subject="clerk-2", partner_id=partner))
    assert second.data["authorizeCredit"]["id"] == first.data["authorizeCredit"]["id"]
    assert await Hold.filter(account__customer_id=customer).count() == 1


@pytest.fixture
def legacy_records() -> Any:
    """Records without an owner, as migration 3 leaves those written before owners."""
    idempotency._Legacy.present = None
    yield
    idempotency._Legacy.present = None


async def test_a_key_from_before_owners_still_replays(gql, make_customer, legacy_records):
    customer = await make_customer("1000.00")
    key = new_key()
    request = {"input": {"customerId": customer, "amount": usd("1.00"), "idempotencyKey": key}}
    first = (await gql(AUTHORIZE, request)).data["authorizeCredit"]
    # Turn the record into one written before owners existed.
    async with in_transaction():
        await IdempotencyRecord.filter(key=key).update(owner=idempotency.LEGACY_OWNER)
    idempotency._Legacy.present = None

    again = (await gql(AUTHORIZE, request)).data["authorizeCredit"]
    changed = await gql(AUTHORIZE, {"input": request["input"] | {"amount": usd("2.00")}})

    assert again["id"] == first["id"]
    assert changed.error_code == "CONFLICT"
    assert await Hold.filter(account__customer_id=customer).count() == 1
