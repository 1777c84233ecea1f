"""What the reconciliation tests build: an integration that sees one segment of its own,
customers of that segment with a ref in its ref system and entries at chosen times, and
external figures stored as the inbox and the pull store them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.integration.models import BalanceReport
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.principal import Actor

CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { integration { id slug refSystem } }
}"""
RUN_FIELDS = """id integrationId source fileName startedAt finishedAt matched broken
  missingInLedger missingExternally tolerancePpm actor"""
RECONCILE_CSV = f"""
mutation($input: ReconcileBalancesInput!) {{
  reconcileBalances(input: $input) {{ {RUN_FIELDS} }} }}"""
RUN = f"""
mutation($input: RunReconciliationInput!) {{
  runReconciliation(input: $input) {{ {RUN_FIELDS} }} }}"""
BREAK_FIELDS = """id runId lastRunId integrationId customerId asOf status note version
  acknowledgedBy resolvedBy externalBalance { amount currency }
  ledgerBalance { amount currency } difference { amount currency }"""
BREAKS = f"""
query($filter: ReconciliationBreakFilter) {{
  reconciliationBreaks(first: 50, filter: $filter) {{ edges {{ node {{ {BREAK_FIELDS} }} }} }}
}}"""
ACKNOWLEDGE = f"""
mutation($input: AcknowledgeReconciliationBreakInput!) {{
  acknowledgeReconciliationBreak(input: $input) {{ {BREAK_FIELDS} }} }}"""
RESOLVE = f"""
mutation($input: ResolveReconciliationBreakInput!) {{
  resolveReconciliationBreak(input: $input) {{ {BREAK_FIELDS} }} }}"""

SETUP = Actor(type="user", id="recon-setup")
HOUR = timedelta(hours=1)


@dataclass
class Recon:
    """One integration and the customers of its segment."""

    gql: Any
    make_customer: Any
    integration_id: str
    slug: str
    ref_system: str
    segment: str
    refs: dict[str, str] = field(default_factory=dict)  # customer id -> its ref

    async def customer(self, currency: str = "USD") -> str:
        ref = f"acct-{uuid.uuid4().hex[:10]}"
        customer_id: str = await self.make_customer(
            limit="1000.00", currency=currency, segment=self.segment,
            externalRefs=[{"system": self.ref_system, "externalId": ref}])
        self.refs[customer_id] = ref
        return customer_id

    async def post(self, customer_id: str, amount_minor: int, at: datetime,
                   currency: str = "USD", kind: EntryKind = EntryKind.CHARGE) -> None:
        async with in_transaction():
            await ledger_service.post_entry(SETUP, customer_id, kind, amount_minor, currency,
                                            occurred_at=at, enforce_limit=False)

    async def report(self, customer_id: str, balance_minor: int, at: datetime, *,
                     source: str = "webhook", currency: str = "USD") -> None:
        await BalanceReport.create(integration_id=self.integration_id, customer_id=customer_id,
                                   source=source, balance_minor=balance_minor,
                                   currency=currency, reported_at=at)

    async def reconcile(self, csv: str, file_name: str = "balances.csv",
                        **extra: Any) -> Any:
        return await self.gql(RECONCILE_CSV, {"input": {
            "integrationId": self.integration_id, "csv": csv, "fileName": file_name} | extra})

    async def run(self, source: str = "WEBHOOK", **extra: Any) -> dict[str, Any]:
        result = await self.gql(RUN, {"input": {"integrationId": self.integration_id,
                                                "source": source} | extra})
        run: dict[str, Any] = result.data["runReconciliation"]
        return run

    async def breaks(self, **flt: Any) -> list[dict[str, Any]]:
        result = await self.gql(BREAKS, {"filter": {"integrationId": self.integration_id}
                                         | flt})
        return [e["node"] for e in result.data["reconciliationBreaks"]["edges"]]

    def csv(self, *rows: tuple[str, str, datetime], currency: str = "USD") -> str:
        """customer_ref,balance,currency,as_of for (customer id, balance, as of) rows."""
        lines = ["customer_ref,balance,currency,as_of"]
        lines += [f"{self.refs[c]},{balance},{currency},{at.isoformat()}"
                  for c, balance, at in rows]
        return "\n".join(lines) + "\n"


async def make_recon(gql: Any, make_customer: Any) -> Recon:
    segment = f"recon-{uuid.uuid4().hex[:10]}"
    result = await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"recon-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
        "profile": "stripe", "segments": [segment]}})
    created = result.data["createIntegration"]["integration"]
    return Recon(gql, make_customer, created["id"], created["slug"], created["refSystem"],
                 segment)


def ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)
