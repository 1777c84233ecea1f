"""GraphQL for collecting invoices through payment processors."""

from __future__ import annotations

from datetime import datetime

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.collection import models
from ccm_gateway.collection import service as collection_service
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    Money,
    Node,
    requires,
    window,
)
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.principal import Permission as P

strawberry.enum(models.CollectionStatus, description="Where a collection stands: SUCCEEDED, "
                                                     "FAILED and CANCELLED are final.")
CollectionStatus = models.CollectionStatus
strawberry.enum(models.AttemptOutcome, description="What one call at a processor came to; "
                                                   "UNKNOWN: it timed out and may have "
                                                   "charged, so the processor is asked.")
AttemptOutcome = models.AttemptOutcome


@strawberry.type(description="One call at a processor: a charge, or a status query.")
class CollectionAttempt:
    integration_id: strawberry.ID = strawberry.field(description="The processor.")
    kind: str = strawberry.field(description="charge or status.")
    idempotency_key: str = strawberry.field(
        description="Sent as Idempotency-Key; the same on every retry of one charge.")
    processor_payment_id: str | None = strawberry.field(
        description="The processor's id of the payment, when it gave one.")
    outcome: AttemptOutcome = strawberry.field(description="What it came to.")
    status_code: int | None = strawberry.field(description="The HTTP status answered.")
    error: str | None = strawberry.field(description="Why it did not succeed.")
    latency_ms: int = strawberry.field(description="How long the call took.")
    started_at: datetime = strawberry.field(description="When it started.")

    @classmethod
    def of(cls, m: models.CollectionAttempt) -> CollectionAttempt:
        return cls(integration_id=strawberry.ID(str(m.integration_id)), kind=m.kind,
                   idempotency_key=m.idempotency_key,
                   processor_payment_id=m.processor_payment_id,
                   outcome=AttemptOutcome(str(m.outcome)), status_code=m.status_code,
                   error=m.error, latency_ms=m.latency_ms, started_at=m.started_at)


@strawberry.type(description="Collecting one invoice's open amount through the processors "
                             "of its route, primary first.")
class Collection(Node):
    _m: strawberry.Private[models.Collection]
    status: CollectionStatus = strawberry.field(description="Where it stands.")
    reference: str = strawberry.field(
        description="Ours, sent to every processor (metadata ccm_reference).")
    trigger: str = strawberry.field(description="api, or due_date.")
    invoice_id: strawberry.ID = strawberry.field(description="The invoice it collects.")
    customer_id: strawberry.ID = strawberry.field(description="The invoice's customer.")
    route: list[strawberry.ID] = strawberry.field(
        description="The processor integrations it goes through, primary first.")
    route_index: int = strawberry.field(description="The processor it is at, from 0.")
    declines: int = strawberry.field(description="Dunning rounds declined so far.")
    attempt_count: int = strawberry.field(description="Attempts claimed so far.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When the next attempt is due.")
    processor_payment_id: str | None = strawberry.field(
        description="The processor's id of the payment.")
    payment_entry_id: strawberry.ID | None = strawberry.field(
        description="The PAYMENT ledger entry it posted, once SUCCEEDED.")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    created_at: datetime = strawberry.field(description="When it started.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.Collection) -> Collection:
        return cls(_m=m, id=strawberry.ID(str(m.id)), status=CollectionStatus(str(m.status)),
                   reference=m.reference, trigger=m.trigger,
                   invoice_id=strawberry.ID(str(m.invoice_id)),
                   customer_id=strawberry.ID(str(m.customer_id)),
                   route=[strawberry.ID(str(i)) for i in m.route], route_index=m.route_index,
                   declines=m.declines, attempt_count=m.attempts,
                   next_attempt_at=m.next_attempt_at,
                   processor_payment_id=m.processor_payment_id,
                   payment_entry_id=strawberry.ID(str(m.payment_entry_id))
                   if m.payment_entry_id else None,
                   last_error=m.last_error, created_at=m.created_at, updated_at=m.updated_at)

    @strawberry.field(description="What it collects: the invoice's open amount when it "
                                  "started.")
    def amount(self) -> Money:
        return Money.of(self._m.amount_minor, self._m.currency)

    @strawberry.field(description="The invoice's number.")
    async def invoice_number(self, info: CtxInfo) -> str:
        found = await info.context.loaders.of(collection_service.invoices_by_id).load(
            self._m.invoice_id)
        if found is None:  # invoices are never deleted
            raise LookupError(f"invoice {self._m.invoice_id} is referenced but missing")
        return found.number

    @strawberry.field(description="Every call at a processor, oldest first.")
    async def attempts(self, info: CtxInfo) -> list[CollectionAttempt]:
        rows = await info.context.loaders.of(collection_service.attempts_by_collection).load(
            self._m.id)
        return [CollectionAttempt.of(r) for r in rows]


@strawberry.type(description="The processors to collect through in one currency, for one "
                             "site or (siteId null) for every site without its own.")
class CollectionRoute(Node):
    site_id: strawberry.ID | None = strawberry.field(description="Null: every site.")
    currency: str = strawberry.field(description="The invoices' currency.")
    integration_ids: list[strawberry.ID] = strawberry.field(
        description="Payment processor integrations, primary first, then the fallbacks.")
    version: int = strawberry.field(description="Rises with every change.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.CollectionRoute) -> CollectionRoute:
        return cls(id=strawberry.ID(str(m.id)),
                   site_id=strawberry.ID(str(m.site_id)) if m.site_id else None,
                   currency=m.currency,
                   integration_ids=[strawberry.ID(str(i)) for i in m.integration_ids],
                   version=m.version, updated_at=m.updated_at)


@strawberry.input(description="Narrow the collections; every field given must match.")
class CollectionFilter:
    invoice_id: strawberry.ID | None = None
    customer_id: strawberry.ID | None = None
    status: CollectionStatus | None = None


@strawberry.input(description="Create or replace the route of (site, currency).")
class SetCollectionRouteInput:
    currency: str
    integration_ids: list[strawberry.ID] = strawberry.field(
        description="Enabled payment processor integrations whose profile has a collect "
                    "section, primary first.")
    site_id: strawberry.ID | None = strawberry.field(
        default=None, description="Omit for the route of every site without its own.")
    expected_version: int | None = strawberry.field(
        default=None, description="The version replaced (0: none yet); CONFLICT otherwise.")


@strawberry.input(description="An invoice to collect through its route's processors.")
class CollectInvoiceInput:
    invoice_id: strawberry.ID
    idempotency_key: str | None = None


@strawberry.type
class CollectionQuery:
    @strawberry.field(extensions=requires(P.INVOICE_READ),
                      description="Collections of the customers the caller may see, newest "
                                  "first.")
    async def collections(self, info: CtxInfo, filter: CollectionFilter | None = None,
                          first: First = None, after: After = None, last: Last = None,
                          before: Before = None) -> Connection[Collection]:
        flt = filter or CollectionFilter()
        page = await collection_service.page_collections(
            info.context.principal,
            invoice_id=parse_uuid(flt.invoice_id, "filter.invoiceId")
            if flt.invoice_id else None,
            customer_id=parse_uuid(flt.customer_id, "filter.customerId")
            if flt.customer_id else None,
            status=models.CollectionStatus(flt.status.value) if flt.status else None,
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, Collection.of)

    @strawberry.field(extensions=requires(P.INVOICE_READ),
                      description="Collection routes, by currency. Not for partner "
                                  "principals.")
    async def collection_routes(self, info: CtxInfo,
                                currency: str | None = None) -> list[CollectionRoute]:
        info.context.principal.require_unscoped("read collection routes")
        return [CollectionRoute.of(r) for r in await collection_service.list_routes(currency)]


@strawberry.type
class CollectionMutation:
    @strawberry.mutation(extensions=requires(P.COLLECTION_WRITE),
                         description="Set the processors invoices of a site and currency are "
                                     "collected through. Not for partner principals.")
    async def set_collection_route(self, info: CtxInfo,
                                   input: SetCollectionRouteInput) -> CollectionRoute:
        info.context.principal.require_unscoped("set collection routes")
        async with in_transaction():
            route = await collection_service.set_route(
                info.context.actor, site_id=input.site_id, currency=input.currency,
                integration_ids=input.integration_ids,
                expected_version=input.expected_version)
        return CollectionRoute.of(route)

    @strawberry.mutation(extensions=requires(P.COLLECTION_WRITE),
                         description="Collect an invoice's open amount through its route; the "
                                     "first attempt follows at once in a worker. CONFLICT on a "
                                     "PAID or VOID invoice, or one being collected already.")
    async def collect_invoice(self, info: CtxInfo, input: CollectInvoiceInput) -> Collection:
        invoice = await collection_service.get_readable_invoice(
            info.context.principal, input.invoice_id)
        async with in_transaction():
            collection = await collection_service.collect_invoice(
                info.context.actor, invoice.id, idempotency_key=input.idempotency_key)
        await collection_service.enqueue_attempt(info.context.queue, collection.id)
        return Collection.of(collection)
