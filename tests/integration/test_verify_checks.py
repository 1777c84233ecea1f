"""`ccm-gateway verify` finds each kind of inconsistency planted straight in the database.

Every plant happens in a transaction that is rolled back after verify has read it,
so the shared test database stays consistent for everyone else.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction
from webhook_kit import (
    payment_intent,
    settled,
    stripe_event,
)

from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.kit.idempotency import IdempotencyRecord
from ccm_gateway.ledger.models import EntryKind, Hold, LedgerEntry, SourceType
from ccm_gateway.verify import verify_all

POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) { ... on LedgerEntry { id } }
}"""
AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) { authorizeCredit(input: $input) { ... on Hold { id } } }"""
CAPTURE = """
mutation($input: CaptureHoldInput!) { captureHold(input: $input) { id } }"""


class _Rollback(Exception):
    pass


@asynccontextmanager
async def planted() -> AsyncIterator[Any]:
    """A transaction whose writes verify sees, and that is always rolled back."""
    try:
        async with in_transaction() as conn:
            yield conn
            raise _Rollback
    except _Rollback:
        pass


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


async def _payment(gql: Any, customer_id: str, amount: str = "10.00") -> LedgerEntry:
    result = await gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": "PAYMENT",
                                              "amount": usd(amount),
                                              "externalRef": f"pay-{uuid.uuid4().hex[:8]}"}})
    return await LedgerEntry.get(id=result.data["postLedgerEntry"]["id"])


async def _entry(base: LedgerEntry, kind: EntryKind, amount_minor: int, **extra: Any) -> Any:
    return await LedgerEntry.create(
        id=uuid.uuid4(), account_id=base.account_id, kind=kind, amount_minor=amount_minor,
        currency=base.currency, source_type=extra.pop("source_type", SourceType.SYSTEM),
        source_id=extra.pop("source_id", "planted"), occurred_at=datetime.now(UTC), **extra)


def _problems(report: dict[str, Any], section: str, object_id: Any) -> list[str]:
    return [p["problem"] for p in report[section] if p["object_id"] == str(object_id)]


async def test_a_clean_database_verifies_ok(app):
    assert (await verify_all())["ok"]


async def test_refunds_beyond_their_payment_are_reported(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted():
        await _entry(payment, EntryKind.REFUND, 600, refunds=payment)
        await _entry(payment, EntryKind.REFUND, 600, refunds=payment)
        report = await verify_all()

    assert report["ok"] is False
    assert _problems(report, "ledger_problems", payment.id) == [
        "refunds and reversals give back 1200 of a payment of 1000"]
    assert (await verify_all())["ok"]


async def test_a_refund_on_top_of_a_reversed_payment_is_reported(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted():
        await _entry(payment, EntryKind.REVERSAL, 1000, reverses=payment)
        await _entry(payment, EntryKind.REFUND, 1, refunds=payment)
        report = await verify_all()

    assert _problems(report, "ledger_problems", payment.id) == [
        "refunds and reversals give back 1001 of a payment of 1000"]


async def test_a_reversed_refund_gives_room_back(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted():
        refund = await _entry(payment, EntryKind.REFUND, 1000, refunds=payment)
        await _entry(payment, EntryKind.REVERSAL, -1000, reverses=refund)
        await _entry(payment, EntryKind.REFUND, 1000, refunds=payment)
        report = await verify_all()

    assert _problems(report, "ledger_problems", payment.id) == []


async def test_charges_beyond_a_holds_capture_are_reported(gql, make_customer):
    customer = await make_customer()
    hold_id = (await gql(AUTHORIZE, {"input": {"customerId": customer, "amount": usd("5.00")}})
               ).data["authorizeCredit"]["id"]
    await gql(CAPTURE, {"input": {"holdId": hold_id}})
    charge = await LedgerEntry.get(hold_id=hold_id)
    async with planted():
        await _entry(charge, EntryKind.CHARGE, 100, hold_id=hold_id)
        report = await verify_all()

    assert _problems(report, "ledger_problems", hold_id) == [
        "charges of 600 from a hold of 500", "captured 500 but charged 600"]


async def test_a_capture_over_the_hold_amount_is_reported_or_refused(gql, make_customer):
    customer = await make_customer()
    hold_id = (await gql(AUTHORIZE, {"input": {"customerId": customer, "amount": usd("5.00")}})
               ).data["authorizeCredit"]["id"]
    await gql(CAPTURE, {"input": {"holdId": hold_id}})
    async with planted() as conn:
        if conn.capabilities.dialect == "postgres":
            # The database's own guard: ck_hold_captured_within_amount.
            with pytest.raises(IntegrityError, match="ck_hold_captured_within_amount"):
                async with in_transaction():
                    await Hold.filter(id=hold_id).update(captured_minor=501)
            return
        await Hold.filter(id=hold_id).update(captured_minor=501)
        report = await verify_all()

    assert "captured 501 of a hold of 500" in _problems(report, "ledger_problems", hold_id)


async def test_a_reversal_that_is_not_the_exact_opposite_is_reported(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted():
        reversal = await _entry(payment, EntryKind.REVERSAL, 999, reverses=payment)
        report = await verify_all()

    assert _problems(report, "ledger_problems", payment.id) == [
        f"reversal {reversal.id} moves 999, not 1000"]


async def test_a_reversed_reversal_is_reported(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted():
        reversal = await _entry(payment, EntryKind.REVERSAL, 1000, reverses=payment)
        twice = await _entry(payment, EntryKind.REVERSAL, -1000, reverses=reversal)
        report = await verify_all()

    assert _problems(report, "ledger_problems", reversal.id) == [
        f"reversal {twice.id} reverses a reversal"]


async def test_an_entry_reversed_twice_is_reported(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted() as conn:
        # Twice is refused by the unique reverses_id first; lift it inside the plant.
        if conn.capabilities.dialect == "postgres":
            await conn.execute_query('ALTER TABLE "ledger_entry" '
                                     'DROP CONSTRAINT "ledger_entry_reverses_id_key"')
        else:
            await _drop_sqlite_reverses_unique(conn)
        await _entry(payment, EntryKind.REVERSAL, 1000, reverses=payment)
        await _entry(payment, EntryKind.REVERSAL, 1000, reverses=payment)
        report = await verify_all()

    assert "reversed 2 times" in _problems(report, "ledger_problems", payment.id)
    # The constraint is back with the rollback.
    async with planted():
        await _entry(payment, EntryKind.REVERSAL, 1000, reverses=payment)
        with pytest.raises(IntegrityError):
            async with in_transaction():
                await _entry(payment, EntryKind.REVERSAL, 1000, reverses=payment)


async def _drop_sqlite_reverses_unique(conn: Any) -> None:
    """SQLite keeps a column's UNIQUE in the table definition: rebuild ledger_entry without
    it (DDL is transactional in SQLite, so the rollback restores the original)."""
    rows = await conn.execute_query_dict(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'ledger_entry'")
    ddl = rows[0]["sql"]
    assert '"reverses_id" CHAR(36) UNIQUE' in ddl, ddl
    triggers = await conn.execute_query_dict(
        "SELECT sql FROM sqlite_master WHERE type IN ('trigger', 'index') "
        "AND tbl_name = 'ledger_entry' AND sql IS NOT NULL")
    await conn.execute_query("PRAGMA defer_foreign_keys = ON")
    await conn.execute_query(ddl.replace('"ledger_entry"', '"ledger_entry_planted"', 1)
                             .replace('"reverses_id" CHAR(36) UNIQUE', '"reverses_id" CHAR(36)'))
    await conn.execute_query('INSERT INTO "ledger_entry_planted" SELECT * FROM "ledger_entry"')
    await conn.execute_query('DROP TABLE "ledger_entry"')
    await conn.execute_query('ALTER TABLE "ledger_entry_planted" RENAME TO "ledger_entry"')
    for t in triggers:
        await conn.execute_query(t["sql"])


async def test_idempotency_records_that_point_at_nothing_are_reported(gql, make_customer):
    payment = await _payment(gql, await make_customer())
    async with planted():
        nowhere = await IdempotencyRecord.create(
            scope="entry.post", owner="user:planted", key=f"k-{uuid.uuid4().hex}",
            request_hash="0" * 64, response={"entry_id": str(uuid.uuid4())})
        empty = await IdempotencyRecord.create(
            scope="hold.authorize", owner="user:planted", key=f"k-{uuid.uuid4().hex}",
            request_hash="0" * 64, response={})
        other = await IdempotencyRecord.create(
            scope="entry.post", owner="user:planted", key=f"k-{uuid.uuid4().hex}",
            request_hash="0" * 64, response={"entry_id": str(payment.id)})
        missing_hold = await IdempotencyRecord.create(
            scope="hold.authorize", owner="user:planted", key=f"k-{uuid.uuid4().hex}",
            request_hash="0" * 64, response={"hold_id": str(uuid.uuid4())})
        report = await verify_all()

    assert _problems(report, "ledger_problems", nowhere.id) == [
        f"entry.post {nowhere.key!r}: entry_id {nowhere.response['entry_id']} does not exist"]
    assert _problems(report, "ledger_problems", empty.id) == [
        f"hold.authorize {empty.key!r}: no outcome recorded"]
    assert _problems(report, "ledger_problems", other.id) == [
        f"entry.post {other.key!r}: entry {payment.id} carries another key"]
    assert _problems(report, "ledger_problems", missing_hold.id) == [
        f"hold.authorize {missing_hold.key!r}: hold_id {missing_hold.response['hold_id']} "
        "does not exist"]


async def _applied_payment(make_integration: Any, linked_customer: Any,
                           send_stripe: Any) -> tuple[Any, InboundEvent, LedgerEntry]:
    hook = await make_integration("stripe")
    ref = f"cus_{uuid.uuid4().hex[:8]}"
    await linked_customer(hook, ref)
    response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                    payment_intent(ref, 700)))
    event = await settled(response.json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    return hook, event, await LedgerEntry.get(id=event.result["entry_id"])


async def test_an_applied_event_with_two_effects_is_reported(
        make_integration, linked_customer, send_stripe):
    hook, event, entry = await _applied_payment(make_integration, linked_customer, send_stripe)
    async with planted():
        twin = await _entry(entry, EntryKind.PAYMENT, -700, source_type=SourceType.INTEGRATION,
                            source_id=hook.slug, idempotency_key=entry.idempotency_key)
        report = await verify_all()

    assert _problems(report, "inbox_problems", event.id) == [
        f"applied with 2 ledger entries ({', '.join(sorted([str(entry.id), str(twin.id)]))}); "
        f"its result names {entry.id}"]


async def test_an_applied_event_without_its_effect_is_reported(
        make_integration, linked_customer, send_stripe):
    _, event, _ = await _applied_payment(make_integration, linked_customer, send_stripe)
    missing = str(uuid.uuid4())
    async with planted():
        await InboundEvent.filter(id=event.id).update(result={"entry_id": missing})
        report = await verify_all()

    assert _problems(report, "inbox_problems", event.id) == [
        f"applied with 1 ledger entries ({event.result['entry_id']}); its result names "
        f"{missing}"]


async def test_an_integration_entry_without_an_applied_event_is_reported(
        make_integration, linked_customer, send_stripe):
    hook, event, entry = await _applied_payment(make_integration, linked_customer, send_stripe)
    async with planted():
        await InboundEvent.filter(id=event.id).update(status=InboundStatus.DEAD)
        report = await verify_all()

    assert _problems(report, "inbox_problems", entry.id) == [
        f"entry written by integration {hook.slug} under key {entry.idempotency_key!r} "
        "belongs to no applied event"]
