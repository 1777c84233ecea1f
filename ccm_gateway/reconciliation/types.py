"""GraphQL for reconciliation runs and their breaks.

Reading needs ``integration:read`` (runs and breaks are an integration's figures, read by
those who read integrations); running and deciding breaks need ``reconciliation:write``.
Partner principals, who cannot see integrations, are refused every field here."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.errors import NotFound
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    Money,
    Node,
    not_partner,
    optional_id,
    optional_uuid,
    requires,
    window,
)
from ccm_gateway.principal import Permission as P
from ccm_gateway.reconciliation import models
from ccm_gateway.reconciliation import service as reconciliation_service

strawberry.enum(models.ReconciliationSource,
                description="Where a run's external figures came from: balance.reported "
                            "webhooks, the scheduled sync's pulled balances, or a CSV file.")
ReconciliationSource = models.ReconciliationSource
strawberry.enum(models.BreakStatus, description="OPEN, then ACKNOWLEDGED (someone is on it), "
                                                "then RESOLVED (by hand, or by a later run "
                                                "that matches).")
BreakStatus = models.BreakStatus


def _not_partner(info: CtxInfo) -> None:
    not_partner(info, "see or run reconciliations")


@strawberry.type(description="A difference above tolerance between an external balance and "
                             "the ledger's as of the same time, for one customer and "
                             "integration.")
class ReconciliationBreak(Node):
    _m: strawberry.Private[models.ReconciliationBreak]
    run_id: strawberry.ID = strawberry.field(description="The run that opened it.")
    last_run_id: strawberry.ID = strawberry.field(
        description="The last run that found it broken (or resolved it).")
    integration_id: strawberry.ID | None = strawberry.field(
        description="The integration whose figure it is.")
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    as_of: datetime = strawberry.field(
        description="The external figure's time, which the ledger balance is taken at.")
    status: BreakStatus = strawberry.field(description="Where it stands.")
    note: str | None = strawberry.field(
        description="The last note: a currency mismatch, an acknowledgement, a resolution, "
                    "or \"matched in run <id>\".")
    acknowledged_at: datetime | None = strawberry.field(description="When it was acknowledged.")
    acknowledged_by: str | None = strawberry.field(description="Who acknowledged it.")
    resolved_at: datetime | None = strawberry.field(description="When it was resolved.")
    resolved_by: str | None = strawberry.field(
        description="Who resolved it (ccm-gateway: a run that matched).")
    version: int = strawberry.field(description="Rises with every change; pass it back as "
                                                "expectedVersion.")
    created_at: datetime = strawberry.field(description="When it was opened.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.ReconciliationBreak) -> ReconciliationBreak:
        return cls(_m=m, id=strawberry.ID(str(m.id)), run_id=strawberry.ID(str(m.run_id)),
                   last_run_id=strawberry.ID(str(m.last_run_id)),
                   integration_id=optional_id(m.integration_id),
                   customer_id=strawberry.ID(str(m.customer_id)), as_of=m.as_of,
                   status=BreakStatus(str(m.status)), note=m.note,
                   acknowledged_at=m.acknowledged_at, acknowledged_by=m.acknowledged_by,
                   resolved_at=m.resolved_at, resolved_by=m.resolved_by, version=m.version,
                   created_at=m.created_at, updated_at=m.updated_at)

    @strawberry.field(description="What the external system reported.")
    def external_balance(self) -> Money:
        return Money.of(self._m.external_balance_minor, self._m.currency)

    @strawberry.field(description="The ledger's balance as of asOf (entries that occurred "
                                  "by then).")
    def ledger_balance(self) -> Money:
        return Money.of(self._m.ledger_balance_minor, self._m.currency)

    @strawberry.field(description="External minus ledger.")
    def difference(self) -> Money:
        return Money.of(self._m.difference_minor, self._m.currency)


@strawberry.type(description="One comparison of external balances with the ledger.")
class ReconciliationRun(Node):
    integration_id: strawberry.ID | None = strawberry.field(description="The integration.")
    source: ReconciliationSource = strawberry.field(description="Where its figures came from.")
    file_name: str | None = strawberry.field(description="The CSV file's name.")
    started_at: datetime = strawberry.field(description="When it started.")
    finished_at: datetime | None = strawberry.field(description="When it finished.")
    matched: int = strawberry.field(description="Figures within tolerance.")
    broken: int = strawberry.field(description="Figures above tolerance (breaks opened or "
                                               "still open).")
    missing_in_ledger: int = strawberry.field(
        description="Figures for a customer ref the ledger does not know (or that the "
                    "integration may not see).")
    missing_externally: int = strawberry.field(
        description="Customers of the integration's segments with no figure.")
    tolerance_ppm: int = strawberry.field(
        description="Tolerance in parts per million of the larger absolute balance (100 = "
                    "0.01 %); never under one minor unit.")
    actor: str = strawberry.field(description="Who started it.")

    @classmethod
    def of(cls, m: models.ReconciliationRun) -> ReconciliationRun:
        return cls(id=strawberry.ID(str(m.id)),
                   integration_id=optional_id(m.integration_id),
                   source=ReconciliationSource(str(m.source)), file_name=m.file_name,
                   started_at=m.started_at, finished_at=m.finished_at, matched=m.matched,
                   broken=m.broken, missing_in_ledger=m.missing_in_ledger,
                   missing_externally=m.missing_externally, tolerance_ppm=m.tolerance_ppm,
                   actor=m.actor)

    @strawberry.field(description="The breaks it opened or found still broken.")
    async def breaks(self, info: CtxInfo) -> list[ReconciliationBreak]:
        rows = await info.context.loaders.of(reconciliation_service.breaks_by_run).load(
            uuid.UUID(str(self.id)))
        return [ReconciliationBreak.of(b) for b in rows]


@strawberry.input(description="Narrow the runs; every field given must match.")
class ReconciliationRunFilter:
    integration_id: strawberry.ID | None = None
    source: ReconciliationSource | None = None


@strawberry.input(description="Narrow the breaks; every field given must match.")
class ReconciliationBreakFilter:
    integration_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    status: BreakStatus | None = None


@strawberry.input(description="A CSV batch of external balances to match. Header: "
                              "customer_ref (in the integration's refSystem) or customer_id, "
                              "balance (a decimal string), currency, as_of (ISO 8601 with "
                              "offset).")
class ReconcileBalancesInput:
    integration_id: strawberry.ID
    csv: str = strawberry.field(description="The file's text.")
    file_name: str
    tolerance_ppm: int | None = strawberry.field(
        default=None, description="Default 100 (0.01 %).")


@strawberry.input(description="Match the latest webhook or pull figure per customer.")
class RunReconciliationInput:
    integration_id: strawberry.ID
    source: ReconciliationSource
    tolerance_ppm: int | None = strawberry.field(
        default=None, description="Default 100 (0.01 %).")


@strawberry.input(description="An OPEN break someone is now on, and what they found.")
class AcknowledgeReconciliationBreakInput:
    id: strawberry.ID
    note: str
    expected_version: int | None = None


@strawberry.input(description="A break that is settled, and how.")
class ResolveReconciliationBreakInput(AcknowledgeReconciliationBreakInput):
    pass


@strawberry.type
class ReconciliationQuery:
    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="Reconciliation runs, newest first. Not for partner "
                                  "principals.")
    async def reconciliation_runs(
            self, info: CtxInfo, filter: ReconciliationRunFilter | None = None,
            first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[ReconciliationRun]:
        _not_partner(info)
        flt = filter or ReconciliationRunFilter()
        page = await reconciliation_service.page_runs(
            integration_id=optional_uuid(flt.integration_id, "filter.integrationId"),
            source=models.ReconciliationSource(flt.source.value) if flt.source else None,
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, ReconciliationRun.of)

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="A reconciliation run by id; null when there is none. Not "
                                  "for partner principals.")
    async def reconciliation_run(self, info: CtxInfo,
                                 id: strawberry.ID) -> ReconciliationRun | None:
        _not_partner(info)
        try:
            return ReconciliationRun.of(await reconciliation_service.get_run(id))
        except NotFound:
            return None

    @strawberry.field(extensions=requires(P.INTEGRATION_READ),
                      description="Reconciliation breaks, newest first: per integration, per "
                                  "customer, per status. Not for partner principals.")
    async def reconciliation_breaks(
            self, info: CtxInfo, filter: ReconciliationBreakFilter | None = None,
            first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[ReconciliationBreak]:
        _not_partner(info)
        flt = filter or ReconciliationBreakFilter()
        page = await reconciliation_service.page_breaks(
            integration_id=optional_uuid(flt.integration_id, "filter.integrationId"),
            customer_id=optional_uuid(flt.customer_id, "filter.customerId"),
            status=models.BreakStatus(flt.status.value) if flt.status else None,
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, ReconciliationBreak.of)


@strawberry.type
class ReconciliationMutation:
    @strawberry.mutation(extensions=requires(P.RECONCILIATION_WRITE),
                         description="Store a CSV batch of external balances and match it "
                                     "with the ledger. A bad row refuses the whole file (the "
                                     "error names the line) and nothing is written.")
    async def reconcile_balances(self, info: CtxInfo,
                                 input: ReconcileBalancesInput) -> ReconciliationRun:
        _not_partner(info)
        integration = await reconciliation_service.live_integration(input.integration_id)
        async with in_transaction():
            run = await reconciliation_service.reconcile_csv(
                info.context.actor, integration, input.csv, input.file_name,
                tolerance_ppm=input.tolerance_ppm)
        return ReconciliationRun.of(run)

    @strawberry.mutation(extensions=requires(P.RECONCILIATION_WRITE),
                         description="Match the latest figure per customer that the "
                                     "integration reported by webhook or pull.")
    async def run_reconciliation(self, info: CtxInfo,
                                 input: RunReconciliationInput) -> ReconciliationRun:
        _not_partner(info)
        integration = await reconciliation_service.live_integration(input.integration_id)
        async with in_transaction():
            run = await reconciliation_service.run_reported(
                info.context.actor, integration, models.ReconciliationSource(input.source.value),
                tolerance_ppm=input.tolerance_ppm)
        return ReconciliationRun.of(run)

    @strawberry.mutation(extensions=requires(P.RECONCILIATION_WRITE),
                         description="OPEN -> ACKNOWLEDGED; anything else is a CONFLICT.")
    async def acknowledge_reconciliation_break(
            self, info: CtxInfo, input: AcknowledgeReconciliationBreakInput,
    ) -> ReconciliationBreak:
        _not_partner(info)
        async with in_transaction():
            found = await reconciliation_service.acknowledge_break(
                info.context.actor, input.id, input.note, input.expected_version)
        return ReconciliationBreak.of(found)

    @strawberry.mutation(extensions=requires(P.RECONCILIATION_WRITE),
                         description="OPEN or ACKNOWLEDGED -> RESOLVED; a resolved break is a "
                                     "CONFLICT.")
    async def resolve_reconciliation_break(
            self, info: CtxInfo, input: ResolveReconciliationBreakInput,
    ) -> ReconciliationBreak:
        _not_partner(info)
        async with in_transaction():
            found = await reconciliation_service.resolve_break(
                info.context.actor, input.id, input.note, input.expected_version)
        return ReconciliationBreak.of(found)
