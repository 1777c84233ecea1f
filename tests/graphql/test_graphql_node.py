"""Object identity for client caches: ``node(id:)`` finds every Node type by its bare UUID id,
and answers null for what does not exist or the caller may not see; every object type a
client can see change has an ``id``; and a lookup by id that finds nothing is null without
taking its sibling fields with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type

from ccm_gateway.alert import service as alert_service
from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.api.schema import build_schema
from ccm_gateway.billing.models import Invoice
from ccm_gateway.collection.models import Collection, CollectionRoute, CollectionStatus
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.kit.ids import derived_id
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.models import OutboundDelivery
from ccm_gateway.reconciliation.models import (
    ReconciliationBreak,
    ReconciliationRun,
    ReconciliationSource,
)

SCHEMA = build_schema()
NODE = "query($id: ID!) { node(id: $id) { id __typename } }"

# Object types without an id: values that live inside an object with one (a client cache
# stores them in place), one-off answers, payloads around an object with an id, and the
# paging machinery.
WITHOUT_ID = {
    "Money", "CreditTerms", "RateLimit", "RoleMapping", "IntegrationHealth",
    "CreditDeclined", "CreditCheckResult", "GateAccessResult",
    "CreateApiClientPayload", "RotateApiClientSecretPayload", "DeleteTrustedIssuerPayload",
    "IntegrationWithSecret", "PageInfo", "Query", "Mutation", "Subscription",
    "IntegrationOutboundHealth", "OutboundEndpointHealth", "OutboundAttempt",
    "OutboundEndpointWithSecret", "ResendOutboundDeliveryPayload",
    "RecoverOutboundEndpointPayload", "LimitApproval", "ApprovalBand", "ApprovalPolicy",
    # Billing and collection: an invoice's lines and payments, a collection's attempts.
    "InvoiceLine", "InvoicePayment", "CollectionAttempt",
    # Reports: one-off answers computed for the asking, and the figures inside them.
    "AgingReport", "AgingBuckets", "CustomerAging", "DsoReport", "DsoFigures", "SalesMonth",
    "TermComplianceReport", "TermCompliance", "UtilisationReport", "UtilisationBucket",
    "CreditAlertPeriod",
    # Insights: one-off answers too (a suggestion's customer has its id).
    "RiskProfileCorrelation", "PaymentBehaviour", "TermImpactAnalysis", "TermBand",
    "TermChangeImpact", "TermPeriodFigures", "LimitSuggestion",
    # The audit chain check: a one-off answer and the broken links inside it.
    "AuditChainStatus", "AuditChainBreak",
}


def object_types() -> dict[str, GraphQLObjectType]:
    return {name: t for name, t in SCHEMA._schema.type_map.items()
            if isinstance(t, GraphQLObjectType) and not name.startswith("__")
            and not name.endswith(("Connection", "Edge"))}


def test_every_object_type_but_values_and_payloads_has_a_non_null_id():
    missing = {name for name, t in object_types().items()
               if "id" not in t.fields and name not in WITHOUT_ID}
    assert missing == set()
    for name, t in object_types().items():
        if "id" in t.fields:
            assert isinstance(t.fields["id"].type, GraphQLNonNull), name
            assert get_named_type(t.fields["id"].type).name == "ID", name


def test_payloads_hold_an_object_with_an_id():
    for name in ("CreateApiClientPayload", "RotateApiClientSecretPayload",
                 "DeleteTrustedIssuerPayload", "IntegrationWithSecret",
                 "OutboundEndpointWithSecret", "ResendOutboundDeliveryPayload",
                 "RecoverOutboundEndpointPayload"):
        held = [get_named_type(f.type) for f in object_types()[name].fields.values()]
        assert any(isinstance(t, GraphQLObjectType) and "id" in t.fields for t in held), name


def test_money_is_described_in_major_units():
    description = SCHEMA._schema.type_map["Money"].description
    assert "major unit" in description and "minor units" not in description.split(".")[0]


async def _objects(gql: Any, make_customer: Any, make_site: Any) -> dict[str, str]:
    """One object of every Node type: type name -> id."""
    site_id = await make_site()
    customer_id = await make_customer(limit="100.00")
    account = await gql("query($id: ID!) { customer(id: $id) { creditAccount { id } } }",
                        {"id": customer_id})
    hold = await gql("""mutation($id: ID!) { authorizeCredit(input: {customerId: $id,
        amount: {amount: "5.00", currency: "USD"}}) { ... on Hold { id } } }""",
                     {"id": customer_id})
    entry = await gql("""mutation($id: ID!) { postLedgerEntry(input: {customerId: $id,
        kind: CHARGE, amount: {amount: "1.00", currency: "USD"}}) { ... on LedgerEntry { id }
        } }""", {"id": customer_id})
    integration = await gql("""mutation($s: String!) { createIntegration(input: {slug: $s,
        name: "Node", kind: ERP, profile: "stripe", segments: ["*"]}) {
        integration { id } } }""", {"s": f"node-{uuid.uuid4().hex[:10]}"})
    integration_id = integration.data["createIntegration"]["integration"]["id"]
    event = await InboundEvent.create(
        id=uuid.uuid4(), integration_id=integration_id, external_id=uuid.uuid4().hex,
        status=InboundStatus.DEAD, content_type="application/json", payload=b"{}",
        received_at=datetime.now(UTC))
    alert = await alert_service.raise_alert("node.test", AlertSeverity.INFO, "node",
                                            integration_id=integration_id)
    endpoint = await gql("""mutation($i: ID!) { createOutboundEndpoint(input: {
        integrationId: $i, url: "http://127.0.0.1:9/node", eventTypes: ["alert.raised"]}) {
        endpoint { id } } }""", {"i": integration_id})
    endpoint_id = endpoint.data["createOutboundEndpoint"]["endpoint"]["id"]
    delivery = await OutboundDelivery.create(
        id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type="alert.raised", payload={}, changed_at=datetime.now(UTC))
    request = await gql("""mutation($id: ID!) { requestCreditLimitChange(input: {
        customerId: $id, limit: {amount: "105.00", currency: "USD"}}) { id } }""",
                        {"id": customer_id})
    policy = await gql("""mutation($s: String!) { setSegmentPolicy(input: {segment: $s,
        currency: "USD"}) { id } }""", {"s": f"node-{uuid.uuid4().hex[:10]}"})
    # Billing, collection and reconciliation rows, written directly: no processor runs.
    now = datetime.now(UTC)
    issuer = f"N-{uuid.uuid4().hex[:10]}"
    credit_account = await CreditAccount.get(customer_id=customer_id)
    invoice = await Invoice.create(
        id=uuid.uuid4(), number=f"{issuer}-{now.year}-000001", issuer=issuer, year=now.year,
        sequence=1, customer_id=customer_id, account_id=credit_account.id, currency="USD",
        total_minor=500, period_end=now, net_days=30, issued_at=now,
        due_at=now + timedelta(days=30))
    collection = await Collection.create(
        id=uuid.uuid4(), invoice_id=invoice.id, customer_id=customer_id, amount_minor=500,
        currency="USD", trigger="api", reference=f"col-{uuid.uuid4().hex[:10]}", route=[],
        status=CollectionStatus.FAILED)
    route = await CollectionRoute.create(id=uuid.uuid4(), site_id=site_id, currency="USD",
                                         integration_ids=[integration_id])
    run = await ReconciliationRun.create(
        id=uuid.uuid4(), integration_id=integration_id, source=ReconciliationSource.WEBHOOK,
        started_at=now, finished_at=now, tolerance_ppm=100, actor="node-test")
    found = await ReconciliationBreak.create(
        id=uuid.uuid4(), run_id=run.id, last_run_id=run.id, integration_id=integration_id,
        customer_id=customer_id, currency="USD", external_balance_minor=200,
        ledger_balance_minor=100, difference_minor=100, as_of=now)
    return {"Site": site_id, "Customer": customer_id,
            "LimitChangeRequest": request.data["requestCreditLimitChange"]["id"],
            "SegmentPolicy": policy.data["setSegmentPolicy"]["id"],
            "CreditAccount": account.data["customer"]["creditAccount"]["id"],
            "Hold": hold.data["authorizeCredit"]["id"],
            "LedgerEntry": entry.data["postLedgerEntry"]["id"],
            "Integration": integration_id, "InboundEvent": str(event.id),
            "Alert": str(alert.id), "OutboundEndpoint": endpoint_id,
            "OutboundDelivery": str(delivery.id), "Invoice": str(invoice.id),
            "Collection": str(collection.id), "CollectionRoute": str(route.id),
            "ReconciliationRun": str(run.id), "ReconciliationBreak": str(found.id)}


def node_types() -> set[str]:
    return {t.name for t in SCHEMA._schema.get_implementations(
        SCHEMA._schema.type_map["Node"]).objects}


async def test_node_finds_an_object_of_every_node_type_by_its_bare_id(
        gql, make_customer, make_site):
    objects = await _objects(gql, make_customer, make_site)
    assert set(objects) == node_types()
    for type_name, object_id in objects.items():
        uuid.UUID(object_id)  # a bare UUID, not an encoded global id
        found = (await gql(NODE, {"id": object_id})).data["node"]
        assert found == {"id": object_id, "__typename": type_name}


async def test_node_of_an_unknown_id_is_null(gql):
    assert (await gql(NODE, {"id": str(uuid.uuid4())})).body == {"data": {"node": None}}


async def test_node_of_a_derived_id_is_null(gql):
    # Objects without a row of their own have derived ids; node() does not look them up.
    derived = str(derived_id("ProtocolProfile", "stripe"))
    profiles = (await gql("{ protocolProfiles { id name } }")).data["protocolProfiles"]
    assert {"id": derived, "name": "stripe"} in profiles
    assert (await gql(NODE, {"id": derived})).body == {"data": {"node": None}}


async def test_node_of_a_malformed_id_is_bad_input_naming_it(gql):
    result = await gql(NODE, {"id": "not-a-uuid"})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "id"


async def test_node_shows_a_role_only_what_its_permissions_read(gql, make_customer, make_site):
    objects = await _objects(gql, make_customer, make_site)
    # A viewer reads customers, the ledger, alerts, invoices and their collection, but not
    # integrations, their inbox, their outbound endpoints and deliveries or their
    # reconciliation.
    for type_name, object_id in objects.items():
        found = (await gql(NODE, {"id": object_id}, role="viewer")).data["node"]
        if type_name in ("Integration", "InboundEvent", "OutboundEndpoint",
                         "OutboundDelivery", "ReconciliationRun", "ReconciliationBreak"):
            assert found is None
        else:
            assert found == {"id": object_id, "__typename": type_name}


async def test_node_shows_a_partner_none_of_the_operators_objects(
        gql, make_customer, make_site):
    objects = await _objects(gql, make_customer, make_site)
    token = gql.token("admin", subject="node-portal", partner_id=f"P-{uuid.uuid4().hex[:8]}")
    for type_name, object_id in objects.items():
        found = (await gql(NODE, {"id": object_id}, token=token)).data["node"]
        # Sites are global reference data; everything else here is the operator's.
        assert found == ({"id": object_id, "__typename": "Site"} if type_name == "Site"
                         else None), type_name


@pytest.mark.parametrize("lookup", ["customer", "hold", "integration", "inboundEvent", "node"])
async def test_a_lookup_that_finds_nothing_is_null_and_keeps_its_siblings(
        gql, make_site, lookup):
    site_id = await make_site()
    result = await gql(f"""query($id: ID!) {{ sites {{ id }} {lookup}(id: $id) {{ id }} }}""",
                       {"id": str(uuid.uuid4())})
    assert result.data[lookup] is None
    assert site_id in {s["id"] for s in result.data["sites"]}


@pytest.mark.parametrize("lookup", ["customer", "hold", "integration", "inboundEvent"])
async def test_a_lookup_by_a_malformed_id_is_bad_input_naming_it(gql, lookup):
    result = await gql(f"""query($id: ID!) {{ {lookup}(id: $id) {{ id }} }}""",
                       {"id": "12345"})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "id"
    assert result.body["data"] == {lookup: None}
