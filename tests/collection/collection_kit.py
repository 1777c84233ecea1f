"""Helpers for the collection tests (a module, not a conftest: see tests/testkit.py):
processors on loopback, each behind an integration made through GraphQL with an uploaded
copy of its shipped profile pointing at it; customers holding a payment method there;
invoices written directly (their issuing is another part's); routes per test site, so
tests never share one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from outbound.receiver import Receiver
from processors import API_KEY, FakeJsonPsp, FakeProcessor, FakeStripe
from testkit import eventually

from ccm_gateway.billing.models import Invoice, InvoiceStatus
from ccm_gateway.collection import service as collection_service
from ccm_gateway.collection.models import Collection, CollectionAttempt, CollectionStatus
from ccm_gateway.ledger.models import CreditAccount, EntryKind, LedgerEntry

WEBHOOKS = Path(__file__).resolve().parents[2] / "webhooks"

UPLOAD = """mutation($input: UploadProtocolProfileInput!) {
  uploadProtocolProfile(input: $input) { name } }"""
CREATE_INTEGRATION = """mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { secret integration { id slug refSystem } } }"""
CREATE_ENDPOINT = """mutation($input: CreateOutboundEndpointInput!) {
  createOutboundEndpoint(input: $input) { endpoint { id } } }"""
LINK_REF = """mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }"""
SET_ROUTE = """mutation($input: SetCollectionRouteInput!) {
  setCollectionRoute(input: $input) { id siteId currency integrationIds version } }"""
COLLECT = """mutation($input: CollectInvoiceInput!) {
  collectInvoice(input: $input) { id status reference amount { amount currency } } }"""
COLLECTIONS = """query($filter: CollectionFilter) { collections(filter: $filter) { edges { node {
  id status reference invoiceId invoiceNumber customerId declines routeIndex
  amount { amount currency } paymentEntryId
  attempts { integrationId kind idempotencyKey processorPaymentId outcome statusCode
             latencyMs error } } } } }"""


@dataclass
class Processor:
    fake: Any  # FakeStripe | FakeJsonPsp
    integration_id: str
    slug: str
    secret: str  # the inbound signing secret
    ref_system: str


def _profile_source(shipped: str, name: str, base_url: str, timeout: int) -> str:
    text = (WEBHOOKS / f"{shipped}.yaml").read_text()
    text = text.replace(f"name: {shipped}", f"name: {name}", 1)
    for shipped_timeout in ("timeout_seconds: 20\n", "timeout_seconds: 10\n"):
        text = text.replace(shipped_timeout, f"timeout_seconds: {timeout}\n")
    return text.replace("https://api.stripe.com", base_url) \
        .replace("https://psp.example", base_url)


@pytest.fixture
async def receivers() -> AsyncIterator[list[Receiver]]:
    started: list[Receiver] = []
    yield started
    for receiver in started:
        await receiver.stop()


@pytest.fixture
def make_processor(gql: Any, receivers: list[Receiver]):
    async def make(kind: str = "stripe", *, timeout: int = 2) -> Processor:
        """``timeout``: the collect section's; the fakes' hangs (processors.Program)
        outlast the default."""
        receiver = await Receiver().start()
        receivers.append(receiver)
        fake: FakeProcessor = FakeStripe(receiver) if kind == "stripe" else FakeJsonPsp(receiver)
        shipped = "stripe" if kind == "stripe" else "generic-psp"
        name = f"{shipped}-{uuid.uuid4().hex[:8]}"
        await gql(UPLOAD, {"input": {"source": _profile_source(shipped, name, fake.base_url,
                                                               timeout)}})
        made = (await gql(CREATE_INTEGRATION, {"input": {
            "slug": f"pay-{uuid.uuid4().hex[:10]}", "name": f"{kind} processor",
            "kind": "PAYMENT_PROCESSOR", "profile": name, "segments": ["*"]}})
        ).data["createIntegration"]
        integration = made["integration"]
        await gql(CREATE_ENDPOINT, {"input": {
            "integrationId": integration["id"], "url": receiver.url("/hooks"),
            "eventTypes": ["credit.snapshot"], "credentials": {"bearerToken": API_KEY}}})
        return Processor(fake, integration["id"], integration["slug"], made["secret"],
                         integration["refSystem"])

    return make


@pytest.fixture
def make_payer(gql: Any, make_customer: Any):
    """A customer holding a payment method at each processor given (an ExternalRef in its
    ref system, and, at a fake Stripe, a customer with a default payment method)."""
    async def make(*processors: Processor, **extra: Any) -> tuple[str, str]:
        customer_id = await make_customer(**extra)
        ref = f"cus_{uuid.uuid4().hex[:12]}"
        for processor in processors:
            await gql(LINK_REF, {"input": {"customerId": customer_id,
                                           "system": processor.ref_system, "externalId": ref}})
            if isinstance(processor.fake, FakeStripe):
                processor.fake.add_customer(ref)
        return customer_id, ref

    return make


async def make_invoice(customer_id: str, total_minor: int, *, site_id: str | None = None,
                       status: InvoiceStatus = InvoiceStatus.OPEN,
                       due_at: datetime | None = None, paid_minor: int = 0) -> Invoice:
    account = await CreditAccount.get(customer_id=customer_id)
    now = datetime.now(UTC)
    issuer = f"T{uuid.uuid4().hex[:8]}"
    return await Invoice.create(
        id=uuid.uuid4(), number=f"{issuer}-{now.year}-000001", issuer=issuer, year=now.year,
        sequence=1, customer_id=customer_id, account_id=account.id, site_id=site_id,
        currency=account.currency, total_minor=total_minor, paid_minor=paid_minor,
        status=status, period_end=now, net_days=30, issued_at=now,
        due_at=due_at or now + timedelta(days=30))


@pytest.fixture
def route(gql: Any, make_site: Any):
    """A fresh site routed through ``processors``; returns the site's id."""
    async def make(*processors: Processor, currency: str = "USD") -> str:
        site_id = await make_site()
        await gql(SET_ROUTE, {"input": {"siteId": site_id, "currency": currency,
                                        "integrationIds": [p.integration_id
                                                           for p in processors]}})
        return site_id

    return make


async def collect(gql: Any, invoice: Invoice, key: str | None = None) -> dict[str, Any]:
    made = await gql(COLLECT, {"input": {"invoiceId": str(invoice.id),
                                         "idempotencyKey": key or uuid.uuid4().hex}})
    return made.data["collectInvoice"]


async def drive(settings: Any, collection_id: Any, *, after: timedelta = timedelta(0)) -> int:
    """Attempt the collection as a worker would, with the clock ``after`` ahead. The
    embedded worker may be attempting it already (``collectInvoice`` enqueues it, the
    sweep finds what is due): its attempt is waited for first, and claims keep the two to
    one attempt at a time. The worker may also claim it between that wait and this run,
    so its attempt is waited for again after."""
    await eventually(lambda: _not_processing(collection_id))
    ran = await collection_service.run_due(settings, collection_id=collection_id,
                                           now=datetime.now(UTC) + after)
    await eventually(lambda: _not_processing(collection_id))
    return ran


async def _not_processing(collection_id: Any) -> bool:
    return (await Collection.get(id=collection_id)).status != CollectionStatus.PROCESSING


async def reload(collection_id: Any) -> Collection:
    return await Collection.get(id=collection_id)


async def attempts(collection_id: Any) -> list[CollectionAttempt]:
    return await CollectionAttempt.filter(collection_id=collection_id).order_by("id")


async def payments(customer_id: str) -> list[LedgerEntry]:
    return await LedgerEntry.filter(account__customer_id=customer_id,
                                    kind=EntryKind.PAYMENT).order_by("recorded_at")
