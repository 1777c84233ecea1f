"""A break's lifecycle (OPEN -> ACKNOWLEDGED -> RESOLVED, with notes, CONFLICT for a wrong
transition or version, audited) and CSV batches with bad rows (refused whole, the error
naming the line, nothing written)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from recon_kit import ACKNOWLEDGE, RESOLVE, SETUP, Recon, ago
from tortoise.transactions import in_transaction

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.errors import Conflict
from ccm_gateway.integration.models import BalanceReport
from ccm_gateway.reconciliation import service as reconciliation_service
from ccm_gateway.reconciliation.models import ReconciliationRun

MISSING = "00000000-0000-4000-8000-00000000000f"


async def _open_break(recon: Recon) -> dict[str, Any]:
    customer_id = await recon.customer()
    await recon.post(customer_id, 1_000, ago(2))
    await recon.report(customer_id, 2_000, ago(1))
    await recon.run()
    [found] = await recon.breaks(customerId=customer_id)
    return found


async def test_a_break_is_acknowledged_then_resolved_with_notes(recon):
    found = await _open_break(recon)
    token = recon.gql.token("finance", subject="recon-finance")

    acknowledged = await recon.gql(ACKNOWLEDGE, {"input": {
        "id": found["id"], "note": "asked the ERP team", "expectedVersion": 1}}, token=token)
    step = acknowledged.data["acknowledgeReconciliationBreak"]
    assert (step["status"], step["note"], step["version"], step["acknowledgedBy"]) == (
        "ACKNOWLEDGED", "asked the ERP team", 2, "recon-finance")

    resolved = await recon.gql(RESOLVE, {"input": {
        "id": found["id"], "note": "ERP double-posted a credit", "expectedVersion": 2}},
        token=token)
    done = resolved.data["resolveReconciliationBreak"]
    assert (done["status"], done["note"], done["version"], done["resolvedBy"]) == (
        "RESOLVED", "ERP double-posted a credit", 3, "recon-finance")
    audited = await AuditEvent.filter(object_id=found["id"]).order_by("seq")
    assert [(a.action, a.actor_id) for a in audited] == [
        ("reconciliation_break.open", "test-admin"),
        ("reconciliation_break.acknowledge", "recon-finance"),
        ("reconciliation_break.resolve", "recon-finance")]
    assert audited[2].before["status"] == "acknowledged"
    assert audited[2].after["note"] == "ERP double-posted a credit"


async def test_an_open_break_is_resolved_directly(recon):
    found = await _open_break(recon)
    result = await recon.gql(RESOLVE, {"input": {"id": found["id"], "note": "timing"}})
    assert result.data["resolveReconciliationBreak"]["status"] == "RESOLVED"


@pytest.mark.parametrize(("steps", "last", "field"), [
    ([ACKNOWLEDGE], ACKNOWLEDGE, "id"),  # acknowledged twice
    ([RESOLVE], ACKNOWLEDGE, "id"),  # a resolved break is not acknowledged
    ([RESOLVE], RESOLVE, "id"),  # nor resolved again
], ids=["acknowledge-twice", "acknowledge-resolved", "resolve-twice"])
async def test_a_wrong_transition_is_a_conflict_and_changes_nothing(recon, steps, last, field):
    found = await _open_break(recon)
    for document in steps:
        (await recon.gql(document, {"input": {"id": found["id"], "note": "first"}})).assert_ok()
    [before] = await recon.breaks(customerId=found["customerId"])

    result = await recon.gql(last, {"input": {"id": found["id"], "note": "again"}})

    assert result.error_code == "CONFLICT"
    assert result.errors[0]["extensions"]["field"] == field
    assert await recon.breaks(customerId=found["customerId"]) == [before]


async def test_a_stale_expected_version_is_a_conflict(recon):
    found = await _open_break(recon)
    result = await recon.gql(ACKNOWLEDGE, {"input": {"id": found["id"], "note": "x",
                                                     "expectedVersion": 7}})
    assert result.error_code == "CONFLICT"
    assert "version 1" in result.errors[0]["message"]
    assert (await recon.breaks(customerId=found["customerId"]))[0]["status"] == "OPEN"


@pytest.mark.parametrize(("variables", "code", "field"), [
    ({"id": MISSING, "note": "x"}, "NOT_FOUND", "id"),
    ({"id": "not-a-uuid", "note": "x"}, "BAD_USER_INPUT", "id"),
    ({"note": "   "}, "BAD_USER_INPUT", "note"),
    ({"note": "x" * 1001}, "BAD_USER_INPUT", "note"),
])
async def test_bad_break_input_is_refused(recon, variables, code, field):
    found = await _open_break(recon)
    result = await recon.gql(RESOLVE, {"input": {"id": found["id"]} | variables})
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (code, field)


@pytest.mark.skipif(os.environ.get("CCM_TEST_BACKEND") != "postgres",
                    reason="row locks are PostgreSQL's; SQLite runs one writer at a time")
async def test_two_resolutions_at_once_one_wins(recon):
    """The break row is locked: of two resolutions of version 1, the second finds version
    2 and is a CONFLICT."""
    found = await _open_break(recon)

    async def resolve(note: str) -> Any:
        try:
            async with in_transaction():
                return await reconciliation_service.resolve_break(SETUP, found["id"], note, 1)
        except Conflict as exc:
            return exc

    outcomes = await asyncio.gather(resolve("a"), resolve("b"))

    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "ReconciliationBreak"]


# --- CSV batches with bad rows -------------------------------------------------------


@pytest.mark.parametrize(("row", "message"), [
    ("{ref},12.345,USD,{at}", "line 3: amount '12.345' has 3 decimals; USD allows 2"),
    ("{ref},twelve,USD,{at}", "line 3: amount 'twelve' is not a decimal number"),
    ("{ref},1.00,XXX,{at}", "line 3: XXX has no minor unit"),
    ("{ref},1.00,USD,2026-01-01T00:00:00", "line 3: as_of needs a UTC offset"),
    ("{ref},1.00,USD,yesterday", "line 3: as_of 'yesterday' is not an ISO 8601 time"),
    ("{ref},1.00,USD,2999-01-01T00:00:00Z", "line 3: as_of 2999-01-01T00:00:00+00:00 is in "
                                           "the future"),
    ("{ref},1.00,USD", "line 3: expected 4 fields"),
    (",1.00,USD,{at}", "line 3: customer_ref is empty"),
    ("{first},1.00,USD,{at}", "line 3: customer_ref '{first}' is on line 2 already"),
    ("{ref},1.00,EUR,{at}", "line 3: the balance is in EUR; the customer's account is in USD"),
], ids=["decimals", "not-a-number", "no-minor-unit", "naive-time", "not-a-time",
        "future", "short-row", "empty-ref", "duplicate", "currency"])
async def test_a_file_with_a_bad_row_is_refused_whole_naming_the_line(recon, row, message):
    first, second = await recon.customer(), await recon.customer()
    at = ago(1).isoformat()
    bad = row.format(ref=recon.refs[second], first=recon.refs[first], at=at)
    csv = f"customer_ref,balance,currency,as_of\n{recon.refs[first]},1.00,USD,{at}\n{bad}\n"

    result = await recon.reconcile(csv)

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["message"].startswith(message.format(first=recon.refs[first])), \
        result.errors[0]["message"]
    assert result.errors[0]["extensions"]["field"] == "csv"
    assert await ReconciliationRun.filter(integration_id=recon.integration_id).count() == 0
    assert await BalanceReport.filter(integration_id=recon.integration_id).count() == 0


@pytest.mark.parametrize(("csv", "message"), [
    ("ref,balance,currency,as_of\n", "line 1: the header must name customer_ref or "
                                     "customer_id"),
    ("customer_ref,customer_id,balance,currency,as_of\n", "line 1: the header must name"),
    ("customer_ref,balance,currency,as_of\n", "the file has no rows after its header"),
    ("", "line 1: the header must name"),
])
async def test_a_file_without_a_good_header_or_rows_is_refused(recon, csv, message):
    result = await recon.reconcile(csv)
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["message"].startswith(message), result.errors[0]["message"]


async def test_customer_ids_may_name_the_customers_and_lines_are_the_files_own(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 1_250, ago(2))
    csv = ('customer_id,balance,currency,as_of,comment\n'
           f'{customer_id},12.50,USD,{ago(1).isoformat()},"two\nlines"\n'
           f'{customer_id},1.00,USD,{ago(1).isoformat()},x\n')
    result = await recon.reconcile(csv)
    # The second row starts on line 4: the first's quoted comment spans lines 2 and 3.
    assert result.errors[0]["message"] == (f"line 4: customer_id '{customer_id}' is on line "
                                           "3 already")
    one = "\n".join(csv.split("\n")[:3]) + "\n"
    run = (await recon.reconcile(one)).data["reconcileBalances"]
    assert run["matched"] == 1


async def test_a_file_name_is_required(recon):
    customer_id = await recon.customer()
    result = await recon.reconcile(recon.csv((customer_id, "0.00", ago(1))), file_name=" ")
    assert (result.error_code, result.errors[0]["extensions"]["field"]) == (
        "BAD_USER_INPUT", "fileName")


async def test_partner_principals_are_refused(recon):
    token = recon.gql.token("admin", partner_id="P-recon")
    for document, variables in (
            ("{ reconciliationBreaks(first: 1) { edges { node { id } } } }", {}),
            ("""mutation($i: ID!) { runReconciliation(input: {integrationId: $i,
                source: WEBHOOK}) { id } }""", {"i": recon.integration_id})):
        result = await recon.gql(document, variables, token=token)
        assert result.error_code == "FORBIDDEN"
    assert await ReconciliationRun.filter(integration_id=recon.integration_id).count() == 0
