"""Invariant 10: refunds of one payment are serialised and never exceed it.

Two refund callbacks for one payment are processed by the worker at the same
moment. To make the race certain rather than likely, a barrier holds each
processing attempt right after it has read how much of the payment is refunded
already, until both attempts have read it (or two seconds pass). Code that reads
that amount before taking the lock lets both read zero and both apply; code that
reads it under the lock makes the second wait for the first, and the barrier
just times out once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from webhook_kit import (
    balance,
    entries,
    payment_intent,
    settled,
    standard_headers,
    stripe_event,
)

from ccm_gateway.integration.models import InboundStatus
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.verify import verify_all


@pytest.fixture
def refund_barrier(monkeypatch: pytest.MonkeyPatch):
    """Hold every reader of the refunded amount until two have read it (2 s at most)."""
    arrived = 0
    both = asyncio.Event()
    original = ledger_service.refunded_minor

    async def held(payment: Any) -> int:
        nonlocal arrived
        value = await original(payment)
        arrived += 1
        if arrived >= 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), timeout=2.0)
        return value

    monkeypatch.setattr(ledger_service, "refunded_minor", held)
    return lambda: arrived


def _charge_refunded(customer: str, pi: str, total: int, amount: int = 10000) -> dict:
    return stripe_event("charge.refunded", {
        "id": f"ch_{pi}", "object": "charge", "amount": amount, "amount_refunded": total,
        "currency": "usd", "customer": customer, "payment_intent": pi})


async def _paid(hook: Any, send_stripe: Any, customer_ref: str, pi: str, amount: int) -> None:
    payment = stripe_event("payment_intent.succeeded",
                           payment_intent(customer_ref, amount, pi=pi))
    event = await settled((await send_stripe(hook, payment)).json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error


async def _both_settled(send_one: Any, first: Any, second: Any) -> list[Any]:
    responses = await asyncio.gather(send_one(first), send_one(second))
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses]
    return [await settled(r.json()["id"]) for r in responses]


async def test_concurrent_running_totals_refund_the_highest_total_once(
        make_integration, linked_customer, send_stripe, refund_barrier):
    hook = await make_integration("stripe")
    ref, pi = f"cus_{uuid.uuid4().hex[:8]}", f"pi_{uuid.uuid4().hex[:8]}"
    customer = await linked_customer(hook, ref)
    await _paid(hook, send_stripe, ref, pi, 10000)

    events = await _both_settled(lambda e: send_stripe(hook, e),
                                 _charge_refunded(ref, pi, 3000),
                                 _charge_refunded(ref, pi, 5000))
    assert [e.status for e in events] == [InboundStatus.APPLIED] * 2, \
        [e.last_error for e in events]
    refunds = sorted(e.amount_minor for e in await entries(customer)
                     if e.kind == EntryKind.REFUND)
    # 30.00 then the 20.00 more of the 50.00 total, or 50.00 with the 30.00 late: never 80.00.
    assert sum(refunds) == 5000 and refunds in ([2000, 3000], [5000])
    assert await balance(customer) == -10000 + 5000
    assert refund_barrier() == 2
    assert (await verify_all())["ok"]


async def test_concurrent_full_and_lower_totals_never_refund_more_than_the_payment(
        make_integration, linked_customer, send_stripe, refund_barrier):
    hook = await make_integration("stripe")
    ref, pi = f"cus_{uuid.uuid4().hex[:8]}", f"pi_{uuid.uuid4().hex[:8]}"
    customer = await linked_customer(hook, ref)
    await _paid(hook, send_stripe, ref, pi, 10000)

    events = await _both_settled(lambda e: send_stripe(hook, e),
                                 _charge_refunded(ref, pi, 10000),
                                 _charge_refunded(ref, pi, 4000))
    assert [e.status for e in events] == [InboundStatus.APPLIED] * 2, \
        [e.last_error for e in events]
    back = [e for e in await entries(customer)
            if e.kind in (EntryKind.REFUND, EntryKind.REVERSAL)]
    assert sum(e.amount_minor for e in back) == 10000
    assert await balance(customer) == 0
    assert (await verify_all())["ok"]


async def test_concurrent_partial_refunds_over_the_payment_apply_one_and_dead_letter_the_other(
        make_integration, linked_customer, send, refund_barrier):
    hook = await make_integration("standard-webhooks")
    ref, pay = f"sw-{uuid.uuid4().hex[:8]}", f"pay-{uuid.uuid4().hex[:8]}"
    customer = await linked_customer(hook, ref)

    def callback(event_type: str, amount: str) -> tuple[str, dict[str, str]]:
        body = json.dumps({"type": event_type, "timestamp": datetime.now(UTC).isoformat(),
                           "data": {"customer": ref, "amount": amount, "currency": "usd",
                                    "reference": pay}})
        return body, standard_headers(body, hook.secret)

    body, headers = callback("payment.succeeded", "100.00")
    event = await settled((await send(hook.slug, body, headers)).json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error

    events = await _both_settled(lambda c: send(hook.slug, *c),
                                 callback("payment.refunded", "60.00"),
                                 callback("payment.refunded", "60.00"))
    statuses = sorted(str(e.status) for e in events)
    assert statuses == sorted([str(InboundStatus.APPLIED), str(InboundStatus.DEAD)]), \
        [e.last_error for e in events]
    (dead,) = [e for e in events if e.status == InboundStatus.DEAD]
    assert dead.last_error.startswith("REFUND_EXCEEDS_PAYMENT")
    refunds = [e.amount_minor for e in await entries(customer) if e.kind == EntryKind.REFUND]
    assert refunds == [6000]
    assert await balance(customer) == -10000 + 6000
    assert (await verify_all())["ok"]


async def test_data_the_database_refuses_is_dead_lettered_at_once(
        app, make_integration, linked_customer, send_stripe, monkeypatch):
    """Not retried through the whole schedule: the same value fails on every try."""
    from ccm_gateway.integration import processing

    hook = await make_integration("stripe")
    ref = f"cus_{uuid.uuid4().hex[:8]}"
    await linked_customer(hook, ref)
    lookup = processing._customers

    async def unstorable(integration: Any, customer_refs: set[str]) -> Any:
        # The real query, with a value no database accepts (the edge refuses such
        # values; this is what a future field the edge missed would meet).
        return await lookup(integration, {ref + "\ud800" for ref in customer_refs})

    monkeypatch.setattr(processing, "_customers", unstorable)
    response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                    payment_intent(ref, 100)))
    event = await settled(response.json()["id"])

    assert event.status == InboundStatus.DEAD, event.last_error
    assert event.attempts == 1
