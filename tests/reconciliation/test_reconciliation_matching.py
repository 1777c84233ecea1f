"""Matching external balances with the ledger: the 0.01 % tolerance at its exact boundary
and its one-minor-unit floor, the ledger taken as of each figure's own time, breaks opened,
updated and resolved by later runs, alerts, and the counts of what is missing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from recon_kit import SETUP, ago
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import Alert
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.integration.models import BalanceReport
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.reconciliation import service as reconciliation_service
from ccm_gateway.reconciliation import tasks as reconciliation_tasks
from ccm_gateway.reconciliation.models import (
    ReconciliationBreak,
    ReconciliationRun,
    ReconciliationSource,
)

RUN_WITH_BREAKS = """
query($id: ID!) { reconciliationRun(id: $id) { id matched broken
  breaks { id customerId status difference { amount } } } }"""
RUNS_WITH_BREAKS = """
query($filter: ReconciliationRunFilter) {
  reconciliationRuns(first: 50, filter: $filter) { edges { node { id breaks { id } } } } }"""
RUNS = """
query($filter: ReconciliationRunFilter) {
  reconciliationRuns(first: 50, filter: $filter) { edges { node { id source fileName } } } }"""


@pytest.mark.parametrize(("external", "ledger", "matches"), [
    # 0.01 % of the larger absolute balance: 1,000,100.00 differs by 0.00999900 % of it.
    (100_010_000, 100_000_000, True),
    # 100.01 is 0.0099999 % of 1,000,100.01: still within.
    (100_010_001, 100_000_000, True),
    # 100.02 is 0.01000089 % of 1,000,100.02: a break.
    (100_010_002, 100_000_000, False),
    (100_000_000, 100_010_002, False),  # either side may be the larger
    (-100_010_001, -100_000_000, True),  # absolute balances: credit balances too
    # Tiny balances: never less than one minor unit.
    (1, 2, True), (0, 1, True), (0, -1, True), (1, 3, False), (-1, 1, False),
])
def test_the_tolerance_is_exact_at_its_boundary(external, ledger, matches):
    assert reconciliation_service.within_tolerance(external, ledger, 100) is matches


async def test_a_csv_run_matches_at_the_boundary_and_breaks_one_minor_unit_past_it(recon):
    at = ago(1)
    customers = [await recon.customer() for _ in range(3)]
    for customer_id in customers:
        await recon.post(customer_id, 100_000_000, ago(2))  # 1,000,000.00
    csv = recon.csv((customers[0], "1000100.00", at), (customers[1], "1000100.01", at),
                    (customers[2], "1000100.02", at))

    run = (await recon.reconcile(csv)).data["reconcileBalances"]

    assert (run["matched"], run["broken"], run["missingInLedger"],
            run["missingExternally"]) == (2, 1, 0, 0)
    assert (run["source"], run["fileName"], run["tolerancePpm"]) == ("CSV", "balances.csv", 100)
    [found] = await recon.breaks()
    assert found["customerId"] == customers[2]
    assert found["externalBalance"] == {"amount": "1000100.02", "currency": "USD"}
    assert found["ledgerBalance"] == {"amount": "1000000.00", "currency": "USD"}
    assert found["difference"]["amount"] == "100.02"
    assert found["status"] == "OPEN"
    stored = await BalanceReport.filter(integration_id=recon.integration_id, source="csv")
    assert sorted(r.balance_minor for r in stored) == [100_010_000, 100_010_001, 100_010_002]


async def test_a_tighter_tolerance_is_the_runs_own(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 100_000, ago(2))  # 1,000.00
    run = (await recon.reconcile(recon.csv((customer_id, "1000.05", ago(1))),
                                 tolerancePpm=10)).data["reconcileBalances"]
    assert (run["broken"], run["tolerancePpm"]) == (1, 10)


async def test_an_entry_after_the_figures_time_does_not_count(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 10_000, ago(3))
    await recon.post(customer_id, 5_000, ago(0.5))  # after the figure's time
    await recon.report(customer_id, 10_000, ago(1))

    run = await recon.run()

    assert (run["matched"], run["broken"]) == (1, 0)
    # The same figure, reported a moment after the second charge, is a break of 50.00.
    await recon.report(customer_id, 10_000, ago(0.25))
    run = await recon.run()
    assert (run["matched"], run["broken"]) == (0, 1)
    [found] = await recon.breaks()
    assert found["ledgerBalance"]["amount"] == "150.00"
    assert found["difference"]["amount"] == "-50.00"


async def test_a_break_raises_an_alert_and_a_later_matching_run_resolves_it(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 20_000, ago(5))
    await recon.report(customer_id, 25_000, ago(4), source="pull")

    first = await recon.run("PULL")

    [found] = await recon.breaks(customerId=customer_id)
    assert (first["broken"], found["status"], found["runId"]) == (1, "OPEN", first["id"])
    [alert] = await Alert.filter(kind="reconciliation.break", customer_id=customer_id)
    assert str(alert.integration_id) == recon.integration_id
    assert alert.details["break_id"] == found["id"]
    assert alert.details["difference_minor"] == 5_000

    await recon.report(customer_id, 20_000, ago(3), source="pull")
    second = await recon.run("PULL")

    [resolved] = await recon.breaks(customerId=customer_id)
    assert second["matched"] == 1
    assert (resolved["status"], resolved["note"]) == ("RESOLVED",
                                                      f"matched in run {second['id']}")
    assert (resolved["resolvedBy"], resolved["lastRunId"]) == ("ccm-gateway", second["id"])
    assert await Alert.filter(kind="reconciliation.break", customer_id=customer_id).count() == 1
    actions = await AuditEvent.filter(object_id=found["id"]).order_by("seq") \
        .values_list("action", flat=True)
    assert actions == ["reconciliation_break.open", "reconciliation_break.resolve"]


async def test_a_second_run_that_still_differs_updates_the_open_break(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 20_000, ago(5))
    await recon.report(customer_id, 25_000, ago(4))
    first = await recon.run()
    await recon.report(customer_id, 30_000, ago(3))

    second = await recon.run()

    [found] = await recon.breaks(customerId=customer_id)
    assert (found["runId"], found["lastRunId"]) == (first["id"], second["id"])
    assert (found["version"], found["difference"]["amount"]) == (2, "100.00")
    assert await Alert.filter(kind="reconciliation.break", customer_id=customer_id).count() == 1
    listed = await recon.gql(RUN_WITH_BREAKS, {"id": second["id"]})
    assert [b["id"] for b in listed.data["reconciliationRun"]["breaks"]] == [found["id"]]
    # Both runs list it, the one that opened it and the one that found it still broken.
    runs = await recon.gql(RUNS_WITH_BREAKS, {"filter": {"integrationId": recon.integration_id}})
    assert [[b["id"] for b in e["node"]["breaks"]]
            for e in runs.data["reconciliationRuns"]["edges"]] == [[found["id"]], [found["id"]]]


async def test_a_run_takes_each_customers_latest_figure_of_its_source(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 20_000, ago(5))
    await recon.report(customer_id, 20_000, ago(1))  # the latest webhook figure matches
    await recon.report(customer_id, 99_000, ago(2))  # older, though stored later
    await recon.report(customer_id, 77_000, ago(0.5), source="pull")  # another source

    run = await recon.run()

    assert (run["matched"], run["broken"]) == (1, 0)


async def test_missing_on_either_side_is_counted(recon):
    reported, silent = await recon.customer(), await recon.customer()
    await recon.post(reported, 1_000, ago(2))
    csv = recon.csv((reported, "10.00", ago(1))) + f"no-such-ref,5.00,USD,{ago(1).isoformat()}\n"

    run = (await recon.reconcile(csv)).data["reconcileBalances"]

    assert (run["matched"], run["missingInLedger"], run["missingExternally"]) == (1, 1, 1)
    assert silent not in [b["customerId"] for b in await recon.breaks()]
    audited = await AuditEvent.get(object_id=run["id"], action="reconciliation.run")
    assert audited.after["unknown_refs"] == ["no-such-ref"]


async def test_a_customer_outside_the_integrations_segments_is_missing_in_the_ledger(
        recon, make_customer):
    other = await make_customer(segment="haulage")
    csv = f"customer_id,balance,currency,as_of\n{other},1.00,USD,{ago(1).isoformat()}\n"
    run = (await recon.reconcile(csv)).data["reconcileBalances"]
    assert (run["matched"], run["broken"], run["missingInLedger"]) == (0, 0, 1)
    assert await BalanceReport.filter(customer_id=other, source="csv").count() == 0


async def test_a_reported_figure_in_another_currency_is_a_break_that_says_so(recon):
    customer_id = await recon.customer()
    await recon.post(customer_id, 1_000, ago(2))
    await recon.report(customer_id, 1_000, ago(1), currency="EUR")

    run = await recon.run()

    [found] = await recon.breaks()
    assert run["broken"] == 1
    assert found["externalBalance"] == {"amount": "10.00", "currency": "EUR"}
    assert found["note"] == ("currency mismatch: the external figure is 10.00 EUR, the "
                             "account is in USD")


async def test_runs_are_listed_per_integration_and_source(recon):
    customer_id = await recon.customer()
    csv_run = (await recon.reconcile(recon.csv((customer_id, "0.00", ago(1))), "a.csv")) \
        .data["reconcileBalances"]
    webhook_run = await recon.run()
    listed = await recon.gql(RUNS, {"filter": {"integrationId": recon.integration_id}})
    assert [e["node"]["id"] for e in listed.data["reconciliationRuns"]["edges"]] == [
        webhook_run["id"], csv_run["id"]]
    only_csv = await recon.gql(RUNS, {"filter": {"integrationId": recon.integration_id,
                                                 "source": "CSV"}})
    assert [e["node"]["fileName"] for e in only_csv.data["reconciliationRuns"]["edges"]] == [
        "a.csv"]
    assert (await recon.gql(RUN_WITH_BREAKS, {"id": "00000000-0000-4000-8000-000000000001"})
            ).data["reconciliationRun"] is None


async def test_a_csv_source_cannot_be_run_without_its_file(recon):
    result = await recon.gql("""mutation($i: ID!) { runReconciliation(input: {
        integrationId: $i, source: CSV}) { id } }""", {"i": recon.integration_id})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "source"


async def test_an_unknown_integration_is_not_found(recon):
    result = await recon.gql("""mutation { runReconciliation(input: {
        integrationId: "00000000-0000-4000-8000-000000000002", source: WEBHOOK}) { id } }""")
    assert result.error_code == "NOT_FOUND"


async def test_the_cron_runs_each_integration_and_source_with_new_figures_once(recon):
    customer_id = await recon.customer()
    await recon.report(customer_id, 0, ago(1))
    await recon.report(customer_id, 0, ago(1), source="pull")

    assert await reconciliation_tasks.run_due({}) >= 2
    runs = await ReconciliationRun.filter(integration_id=recon.integration_id) \
        .values_list("source", "actor")
    assert sorted(runs) == [("pull", "ccm-gateway"), ("webhook", "ccm-gateway")]
    due = await reconciliation_service.due_runs()
    assert not [d for d in due if str(d[0]) == recon.integration_id]

    await recon.report(customer_id, 0, ago(0.5))
    await reconciliation_tasks.run_due({})
    assert await ReconciliationRun.filter(integration_id=recon.integration_id,
                                          source="webhook").count() == 2


async def test_two_runs_at_once_open_one_break_per_customer(recon):
    """Runs of one integration take its lock: the second sees the first's break and
    updates it (PostgreSQL proves it; SQLite runs one transaction at a time)."""
    customer_id = await recon.customer()
    await recon.post(customer_id, 1_000, ago(2))
    await recon.report(customer_id, 9_000, ago(1))
    integration = await reconciliation_service.live_integration(recon.integration_id)

    async def run() -> Any:
        async with in_transaction():
            return await reconciliation_service.run_reported(SETUP, integration,
                                                             ReconciliationSource.WEBHOOK)

    await asyncio.gather(run(), run())

    breaks = await ReconciliationBreak.filter(customer_id=customer_id)
    assert [b.version for b in breaks] == [2]
    assert await Alert.filter(kind="reconciliation.break", customer_id=customer_id).count() == 1


async def test_as_of_balances_are_exact_across_statement_chunks(recon):
    """Several statements' worth of figures (CHUNK each), each with its own time."""
    customer_id = await recon.customer()
    await recon.post(customer_id, 1_000, ago(3))
    await recon.post(customer_id, 250, ago(2))
    account = await CreditAccount.get(customer_id=customer_id)
    times = [ago(4), ago(2.5), ago(1)]
    pairs = [(account.id, times[i % 3]) for i in range(2 * reconciliation_service.CHUNK + 7)]

    balances = await reconciliation_service.balances_as_of(pairs)

    assert balances == [(0, 1_000, 1_250)[i % 3] for i in range(len(pairs))]
