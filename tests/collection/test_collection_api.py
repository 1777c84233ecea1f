"""collectInvoice, collections and the routes through GraphQL: clear refusals that change
nothing, replays by idempotency key, partner scoping, and the site -> default fallback."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from collection_kit import COLLECT, COLLECTIONS, SET_ROUTE, collect, drive, make_invoice

from ccm_gateway.billing.models import Invoice, InvoiceStatus
from ccm_gateway.collection import service as collection_service
from ccm_gateway.collection.models import Collection, CollectionRoute, CollectionStatus


async def test_a_paid_or_void_invoice_is_not_collected(
        gql: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, _ = await make_payer(stripe)
    site_id = await route(stripe)
    for status in (InvoiceStatus.PAID, InvoiceStatus.VOID):
        invoice = await make_invoice(customer_id, 1000, site_id=site_id, status=status)

        refused = await gql(COLLECT, {"input": {"invoiceId": str(invoice.id)}})

        assert refused.error_code == "CONFLICT"
        assert status.name in refused.errors[0]["message"]
        assert refused.errors[0]["extensions"]["field"] == "invoiceId"
        assert not await Collection.exists(invoice_id=invoice.id)
    assert stripe.fake.receiver.requests == []


async def test_an_invoice_being_collected_is_not_collected_twice(
        gql: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 1000, site_id=await route(stripe))
    stripe.fake.program.hang_after_charge = 1  # the first stays in progress (UNKNOWN)

    first = await collect(gql, invoice, key="first")
    again = await gql(COLLECT, {"input": {"invoiceId": str(invoice.id),
                                          "idempotencyKey": "second"}})
    replay = await collect(gql, invoice, key="first")

    assert again.error_code == "CONFLICT"
    assert first["reference"] in again.errors[0]["message"]
    assert replay == first | {"status": replay["status"]}
    assert await Collection.filter(invoice_id=invoice.id).count() == 1


async def test_an_unknown_or_foreign_invoice_is_not_found(
        gql: Any, make_customer: Any) -> None:
    customer_id = await make_customer(partnerId="partner-x")
    invoice = await make_invoice(customer_id, 1000)
    token = gql.token("admin", partner_id="partner-y")

    foreign = await gql(COLLECT, {"input": {"invoiceId": str(invoice.id)}}, token=token)
    missing = await gql(COLLECT, {"input": {"invoiceId": str(uuid.uuid4())}}, token=token)
    bad = await gql(COLLECT, {"input": {"invoiceId": "not-a-uuid"}})

    assert foreign.error_code == missing.error_code == "NOT_FOUND"
    assert bad.error_code == "BAD_USER_INPUT"
    assert not await Collection.exists(invoice_id=invoice.id)


async def test_an_invoice_without_a_route_is_refused(
        gql: Any, make_customer: Any, make_site: Any) -> None:
    customer_id = await make_customer(currency="JPY", limit="100000")
    invoice = await make_invoice(customer_id, 1000, site_id=await make_site())

    refused = await gql(COLLECT, {"input": {"invoiceId": str(invoice.id)}})

    assert refused.error_code == "CONFLICT" and "setCollectionRoute" in \
        refused.errors[0]["message"]


async def test_collections_show_their_attempts_and_amounts(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 2550, site_id=await route(stripe))
    made = await collect(gql, invoice)
    await drive(settings, made["id"])

    listed = await gql(COLLECTIONS, {"filter": {"invoiceId": str(invoice.id)}}, role="viewer")
    (edge,) = listed.data["collections"]["edges"]
    node = edge["node"]

    assert node["status"] == "SUCCEEDED" and node["invoiceNumber"] == invoice.number
    assert node["amount"] == {"amount": "25.50", "currency": "USD"}
    assert node["customerId"] == customer_id and node["paymentEntryId"]
    (attempt,) = node["attempts"]
    assert attempt["kind"] == "charge" and attempt["outcome"] == "SUCCEEDED"
    assert attempt["integrationId"] == stripe.integration_id
    assert attempt["idempotencyKey"] == f"{node['reference']}-0-0"
    by_node = await gql("query($id: ID!) { node(id: $id) { ... on Collection { reference } } }",
                        {"id": made["id"]})
    assert by_node.data["node"] == {"reference": node["reference"]}
    partner = await gql(COLLECTIONS, {"filter": {"invoiceId": str(invoice.id)}},
                        token=gql.token("admin", partner_id="someone-else"))
    assert partner.data["collections"]["edges"] == []


async def test_a_route_must_name_enabled_payment_processors_that_can_collect(
        gql: Any, make_processor: Any) -> None:
    stripe = await make_processor("stripe")
    erp = await gql("""mutation($s: String!) { createIntegration(input: {slug: $s, name: "erp",
        kind: ERP, profile: "generic-erp", segments: ["*"]}) { integration { id } } }""",
                    {"s": f"erp-{uuid.uuid4().hex[:8]}"})
    plain = await gql("""mutation($s: String!) { createIntegration(input: {slug: $s,
        name: "no collect", kind: PAYMENT_PROCESSOR, profile: "standard-webhooks",
        segments: ["*"]}) { integration { id } } }""", {"s": f"sw-{uuid.uuid4().hex[:8]}"})
    cases = {
        "NOT_FOUND": [str(uuid.uuid4())],
        "BAD_USER_INPUT": [erp.data["createIntegration"]["integration"]["id"]],
    }
    no_collect = [plain.data["createIntegration"]["integration"]["id"]]
    before = await CollectionRoute.all().count()

    for code, ids in cases.items():
        refused = await gql(SET_ROUTE, {"input": {"currency": "CHF", "integrationIds": ids}})
        assert refused.error_code == code, refused.errors
        assert refused.errors[0]["extensions"]["field"] == "integrationIds"
    refused = await gql(SET_ROUTE, {"input": {"currency": "CHF", "integrationIds": no_collect}})
    assert "collect section" in refused.errors[0]["message"]
    twice = await gql(SET_ROUTE, {"input": {"currency": "CHF", "integrationIds": [
        stripe.integration_id, stripe.integration_id]}})
    assert twice.error_code == "BAD_USER_INPUT"
    currency = await gql(SET_ROUTE, {"input": {"currency": "XYZ",
                                               "integrationIds": [stripe.integration_id]}})
    assert currency.error_code == "BAD_USER_INPUT"
    partner = await gql(SET_ROUTE, {"input": {"currency": "CHF", "integrationIds": [
        stripe.integration_id]}}, token=gql.token("admin", partner_id="p"))
    assert partner.error_code == "FORBIDDEN"
    assert await CollectionRoute.all().count() == before


async def test_a_site_without_its_own_route_falls_back_to_the_currencys_default(
        gql: Any, make_processor: Any, make_site: Any) -> None:
    primary, other = await make_processor("stripe"), await make_processor("json")
    site_id = await make_site()
    made = await gql(SET_ROUTE, {"input": {"currency": "SEK", "integrationIds": [
        primary.integration_id]}})
    version = made.data["setCollectionRoute"]["version"]
    stale = await gql(SET_ROUTE, {"input": {"currency": "SEK", "expectedVersion": version - 1,
                                            "integrationIds": [other.integration_id]}})
    await gql(SET_ROUTE, {"input": {"currency": "SEK", "expectedVersion": version,
                                    "integrationIds": [other.integration_id,
                                                       primary.integration_id]}})

    assert stale.error_code == "CONFLICT"
    assert await collection_service.route_for(site_id, "SEK") == [
        other.integration_id, primary.integration_id]
    await gql(SET_ROUTE, {"input": {"currency": "SEK", "siteId": site_id,
                                    "integrationIds": [primary.integration_id]}})
    assert await collection_service.route_for(site_id, "SEK") == [primary.integration_id]
    listed = await gql('{ collectionRoutes(currency: "SEK") { siteId integrationIds } }',
                       role="viewer")
    assert {(r["siteId"], len(r["integrationIds"]))
            for r in listed.data["collectionRoutes"]} == {(None, 2), (site_id, 1)}
    assert await CollectionRoute.filter(site_id__isnull=True, currency="SEK").count() == 1


async def test_the_due_date_starts_collections_for_customers_with_a_payment_method(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, make_customer: Any,
        route: Any) -> None:
    stripe = await make_processor("stripe")
    site_id = await route(stripe)
    payer, _ = await make_payer(stripe)
    no_method = await make_customer()
    today = datetime.now(UTC)
    due = await make_invoice(payer, 700, site_id=site_id, due_at=today)
    later = await make_invoice(payer, 700, site_id=site_id, due_at=today + timedelta(days=1))
    cannot = await make_invoice(no_method, 700, site_id=site_id, due_at=today)

    started = await collection_service.start_due_collections(today)
    again = await collection_service.start_due_collections(today)

    collections = await Collection.filter(invoice_id__in=[due.id, later.id, cannot.id])
    assert [c.invoice_id for c in collections] == [due.id]
    assert collections[0].trigger == "due_date" and collections[0].id in started
    assert collections[0].id not in again
    await drive(settings, collections[0].id)
    assert (await Collection.get(id=collections[0].id)).status == CollectionStatus.SUCCEEDED


async def test_an_invoice_paid_meanwhile_cancels_its_collection_without_a_charge(
        gql: Any, settings: Any, make_processor: Any, make_payer: Any, route: Any) -> None:
    stripe = await make_processor("stripe")
    stripe.fake.program.decline = 1
    customer_id, _ = await make_payer(stripe)
    invoice = await make_invoice(customer_id, 1500, site_id=await route(stripe))
    made = await collect(gql, invoice)
    await drive(settings, made["id"])
    await Invoice.filter(id=invoice.id).update(status=InvoiceStatus.PAID, paid_minor=1500)

    await drive(settings, made["id"], after=timedelta(days=3, seconds=1))

    cancelled = await Collection.get(id=made["id"])
    assert cancelled.status == CollectionStatus.CANCELLED
    assert len(stripe.fake.requests("/v1/payment_intents")) == 1  # the declined one only
