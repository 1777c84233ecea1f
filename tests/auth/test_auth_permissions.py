"""Who may call what: every guarded field of the schema, run as every role.

The table below has one row per guarded field. The fields are enumerated from
``build_schema()``, so a new query or mutation without a row fails here, and
so does a root field without ``requires(...)``. Whether a role may call a
field follows from ``ROLE_PERMISSIONS`` and the field's ``requires``; a
hand-written matrix pins the product rules (a viewer reads but cannot set
limits, only finance moves money, ...), so a change to the map must change
that matrix too.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from live_kit import subscribe_once
from tortoise.transactions import in_transaction

from ccm_gateway.alert import service as alert_service
from ccm_gateway.alert.models import Alert, AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.api.schema import build_schema
from ccm_gateway.auth import clients, trusted_issuers
from ccm_gateway.auth.models import ApiClient, TrustedIssuerRecord
from ccm_gateway.billing.models import Invoice
from ccm_gateway.collection.models import Collection, CollectionRoute
from ccm_gateway.config import DEV_SECRET_KEY
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import (
    InboundEvent,
    InboundStatus,
    Integration,
    IntegrationKind,
    ProtocolProfileRecord,
)
from ccm_gateway.kit import outbox
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery, OutboundEndpoint
from ccm_gateway.policy import service as policy_service
from ccm_gateway.policy.models import (
    AlertRule,
    ApprovalPolicy,
    LimitChangeRequest,
    SegmentPolicy,
    VelocityAction,
    VelocityMetric,
    VelocityRule,
)
from ccm_gateway.principal import ROLE_PERMISSIONS, Actor, Permission, Role
from ccm_gateway.reconciliation.models import (
    ReconciliationBreak,
    ReconciliationRun,
    ReconciliationSource,
)
from ccm_gateway.sync import service as sync_service

ROLES = [r.value for r in Role]
SCHEMA = build_schema()


def _requires(strawberry_field: Any) -> list[Permission]:
    return [p.permission for ext in strawberry_field.extensions
            for p in getattr(ext, "permissions", [])]


def _graphql_name(strawberry_field: Any) -> str:
    return SCHEMA.config.name_converter.get_graphql_name(strawberry_field)


def root_fields() -> dict[str, list[Permission]]:
    """Every query and mutation: 'Query.customer' -> the permissions it requires."""
    found = {}
    for type_name in ("Query", "Mutation", "Subscription"):
        for f in SCHEMA.get_type_by_name(type_name).fields:
            found[f"{type_name}.{_graphql_name(f)}"] = _requires(f)
    return found


def guarded_fields() -> dict[str, Permission]:
    """Every field of every object type that carries requires(...)."""
    found = {}
    for graphql_type in SCHEMA._schema.type_map.values():
        definition = SCHEMA.get_type_by_name(graphql_type.name)
        for f in getattr(definition, "fields", None) or []:
            perms = _requires(f)
            if perms:
                assert len(perms) == 1, f"{graphql_type.name}.{f.name} requires several"
                found[f"{graphql_type.name}.{_graphql_name(f)}"] = perms[0]
    return found


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- what a row needs: fresh objects for each call ----------------------------------------


@dataclass
class Case:
    variables: dict[str, Any]
    customer_id: str | None = None
    site_code: str | None = None
    customer_name: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    issuer: str | None = None
    integration_id: str | None = None
    integration_slug: str | None = None
    profile_name: str | None = None
    inbound_event_id: str | None = None
    outbound_integration_id: str | None = None
    outbound_endpoint_id: str | None = None
    rules_of: str | None = None  # a customer whose alert and velocity rules may change
    alert_id: str | None = None
    approval_policy: bool = False
    segment: str | None = None
    reconciliation_of: str | None = None  # an integration whose runs and breaks may change
    route_site_id: str | None = None  # collection routes of this site
    invoice_id: str | None = None  # collections of this invoice


@dataclass
class World:
    """Creates the objects a call acts on, as admin."""

    gql: Any
    make_customer: Any
    make_site: Any
    cache: dict[str, str] = field(default_factory=dict)
    app: Any = None
    queue: Any = None

    async def customer(self) -> str:
        return await self.make_customer(limit="1000.00")

    async def hold(self, customer_id: str) -> str:
        result = await self.gql("""mutation($input: AuthorizeCreditInput!) {
            authorizeCredit(input: $input) { ... on Hold { id } } }""", {"input": {
            "customerId": customer_id, "amount": {"amount": "25.00", "currency": "USD"}}})
        return result.data["authorizeCredit"]["id"]

    async def entry(self, customer_id: str) -> str:
        result = await self.gql("""mutation($input: PostLedgerEntryInput!) {
            postLedgerEntry(input: $input) { ... on LedgerEntry { id } } }""", {"input": {
            "customerId": customer_id, "kind": "CHARGE",
            "amount": {"amount": "5.00", "currency": "USD"}}})
        return result.data["postLedgerEntry"]["id"]

    async def invoice(self, customer_id: str) -> str:
        """An invoice of the customer's one charge."""
        await self.entry(customer_id)
        result = await self.gql("""mutation($input: IssueInvoiceInput!) {
            issueInvoice(input: $input) { id } }""", {"input": {
            "customerId": customer_id, "upTo": datetime.now(UTC).isoformat()}})
        return result.data["issueInvoice"][0]["id"]


async def _customer_case(world: World, **variables: Any) -> Case:
    customer_id = await world.customer()
    return Case({"id": customer_id} | variables, customer_id=customer_id)


async def _customer_input_case(world: World, **extra: Any) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"customerId": customer_id} | extra}, customer_id=customer_id)


async def _hold_case(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"holdId": await world.hold(customer_id)}}, customer_id=customer_id)


Setup = Callable[[World], Awaitable[Case]]


@dataclass(frozen=True)
class Row:
    permission: Permission
    document: str
    setup: Setup
    # Subscriptions: what makes the first push, once the subscription listens.
    trigger: Callable[[World, Case], Awaitable[None]] | None = None


async def _raise_alert(world: World, case: Case) -> None:
    async with in_transaction():
        await alert_service.raise_alert("test.permissions", AlertSeverity.INFO, "a test")
    await outbox.wake(world.queue)


async def _place_hold(world: World, case: Case) -> None:
    assert case.customer_id is not None
    await world.hold(case.customer_id)


async def _no_objects(world: World) -> Case:
    return Case({})


async def _site_and_customer(world: World) -> Case:
    customer_id, site_id = await world.customer(), await world.make_site()
    return Case({"customerId": customer_id, "siteId": site_id}, customer_id=customer_id)


async def _hold_query(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"id": await world.hold(customer_id)}, customer_id=customer_id)


async def _create_site(world: World) -> Case:
    code = unique("PERM")
    return Case({"input": {"code": code, "name": "Yard"}}, site_code=code)


async def _create_customer(world: World) -> Case:
    name = unique("Perm customer")
    return Case({"input": {"name": name, "segment": "haulage", "currency": "USD"}},
                customer_name=name)


async def _update_customer(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"id": customer_id, "expectedVersion": 1,
                           "name": unique("Renamed")}}, customer_id=customer_id)


async def _link_ref(world: World) -> Case:
    return await _customer_input_case(world, system="erp", externalId=unique("acct"))


async def _set_limit(world: World) -> Case:
    # A decrease: an increase past the band of no approvals goes through approvals.
    return await _customer_input_case(world, limit={"amount": "900.00", "currency": "USD"})


async def _limit_request(world: World) -> tuple[str, str]:
    """A pending request by perm-maker, for 1,050.00 (one approval). Its band takes every
    role: which roles a band accepts is tests/approval's; this table asks only whether the
    permission lets the call through."""
    customer_id = await world.customer()
    result = await world.gql("""mutation($input: RequestCreditLimitChangeInput!) {
        requestCreditLimitChange(input: $input) { id } }""", {"input": {
        "customerId": customer_id, "limit": {"amount": "1050.00", "currency": "USD"}}},
        token=world.gql.token("credit_manager", subject="perm-maker"))
    request_id = result.data["requestCreditLimitChange"]["id"]
    await LimitChangeRequest.filter(id=request_id).update(band={
        "approvals": 1, "roles": ROLES, "requiredRoles": []})
    return customer_id, request_id


async def _limit_request_query(world: World) -> Case:
    customer_id, request_id = await _limit_request(world)
    return Case({"id": request_id}, customer_id=customer_id)


async def _limit_request_input(world: World) -> Case:
    customer_id, request_id = await _limit_request(world)
    return Case({"input": {"requestId": request_id}}, customer_id=customer_id)


async def _cancel_limit_request(world: World) -> Case:
    """Recorded as the caller's own: a request is cancelled by its requester (or an
    admin). Made by another subject, so the caller's audit trail starts with the call."""
    customer_id, request_id = await _limit_request(world)
    await LimitChangeRequest.filter(id=request_id).update(requested_by=world.cache["subject"])
    return Case({"input": {"requestId": request_id}}, customer_id=customer_id)


async def _request_limit_change(world: World) -> Case:
    return await _customer_input_case(world, limit={"amount": "1050.00", "currency": "USD"})


async def _set_approval_policy(world: World) -> Case:
    bands = [{"maxIncreasePercent": "10", "maxIncreaseAmount": "10000.00", "approvals": 1,
              "roles": ["credit_manager", "finance"]},
             {"approvals": 2, "roles": ["credit_manager", "finance"],
              "requiredRoles": ["finance"]}]
    return Case({"input": {"bands": bands}}, approval_policy=True)


async def _set_segment_policy(world: World) -> Case:
    segment = unique("perm-seg")
    return Case({"input": {"segment": segment, "currency": "USD",
                           "hardCap": {"amount": "50000.00", "currency": "USD"}}},
                segment=segment)


async def _set_terms(world: World) -> Case:
    return await _customer_input_case(world, netDays=7, invoicingCycle="WEEKLY")


async def _set_site_limit(world: World) -> Case:
    return await _customer_input_case(world, siteId=await world.make_site(),
                                      limit={"amount": "100.00", "currency": "USD"})


async def _post_entry(world: World) -> Case:
    return await _customer_input_case(world, kind="CHARGE",
                                      amount={"amount": "10.00", "currency": "USD"})


async def _invoice_query(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"id": await world.invoice(customer_id)}, customer_id=customer_id)


async def _issue_invoice(world: World) -> Case:
    customer_id = await world.customer()
    await world.entry(customer_id)
    return Case({"input": {"customerId": customer_id, "upTo": datetime.now(UTC).isoformat()}},
                customer_id=customer_id)


async def _void_invoice(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"id": await world.invoice(customer_id), "reason": "issued in error"}},
                customer_id=customer_id)


async def _set_receivables_policy(world: World) -> Case:
    return Case({"input": {"segment": unique("perm-seg"), "overdueHoldDays": 30}})


async def _reverse_entry(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"entryId": await world.entry(customer_id)}}, customer_id=customer_id)


async def _authorize(world: World) -> Case:
    return await _customer_input_case(world, amount={"amount": "10.00", "currency": "USD"})


async def _credit_check(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"customerId": customer_id, "amount": {"amount": "1.00", "currency": "USD"}},
                customer_id=customer_id)


async def _create_api_client(world: World) -> Case:
    name = unique("perm-client")
    return Case({"input": {"name": name, "roles": ["VIEWER"]}}, client_name=name)


async def _api_client_input(world: World) -> Case:
    created = await clients.create_client(unique("perm-client"), ["viewer"])
    return Case({"input": {"clientId": created.client_id}}, client_id=created.client_id)


async def _set_fx_rate(world: World) -> Case:
    # A fresh instant each call: the same pair, time and rate again is a no-op, not audited.
    at = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(microseconds=uuid.uuid4().int % 10**15)
    return Case({"input": {"base": "CHF", "quote": "SEK", "rate": "11.5",
                           "effectiveAt": at.isoformat()}})


def _issuer_url() -> str:
    return f"https://{unique('perm-login')}.example"


async def _create_trusted_issuer(world: World) -> Case:
    issuer = _issuer_url()
    return Case({"input": {"issuer": issuer, "audience": "ccm", "roleMap": [
        {"claimValue": "fin", "role": "FINANCE"}]}}, issuer=issuer)


async def _trusted_issuer(world: World, **changes: Any) -> Case:
    issuer = _issuer_url()
    async with in_transaction():
        await trusted_issuers.create_issuer(Actor(type="user", id="perm-setup"), (),
                                            issuer=issuer, audience="ccm",
                                            role_map={"fin": "finance"})
    return Case({"input": {"issuer": issuer} | changes}, issuer=issuer)


async def _update_trusted_issuer(world: World) -> Case:
    return await _trusted_issuer(world, enabled=False)


async def _integration(world: World) -> str:
    async with in_transaction():
        created = await integration_service.create_integration(
            # The session app's key: every stored secret must stay readable by it
            # (tests/auth/test_auth_rotate_master.py re-encrypts them all).
            Actor(type="user", id="perm-setup"), SecretBox(DEV_SECRET_KEY),
            slug=unique("perm"), name="Perm", kind=IntegrationKind.ERP, profile="stripe",
            segments=["*"])
    return str(created.integration.id)


async def _integration_case(world: World, **changes: Any) -> Case:
    integration_id = await _integration(world)
    return Case({"input": {"id": integration_id} | changes}, integration_id=integration_id)


async def _integration_query(world: World) -> Case:
    integration_id = await _integration(world)
    return Case({"id": integration_id}, integration_id=integration_id)


async def _create_integration(world: World) -> Case:
    slug = unique("perm")
    return Case({"input": {"slug": slug, "name": "Perm", "kind": "ERP", "profile": "stripe",
                           "segments": ["*"]}}, integration_slug=slug)


async def _update_integration(world: World) -> Case:
    return await _integration_case(world, name=unique("renamed"))


async def _disable_integration(world: World) -> Case:
    return await _integration_case(world, enabled=False)


async def _integration_input(world: World) -> Case:
    return await _integration_case(world)


async def _dead_event(world: World) -> str:
    event = await InboundEvent.create(
        id=uuid.uuid4(), integration_id=await _integration(world), external_id=unique("evt"),
        event_type="customer.created", status=InboundStatus.DEAD,
        content_type="application/json", payload=b'{"id": "x", "type": "customer.created"}',
        received_at=datetime.now(UTC))
    return str(event.id)


async def _inbound_event_query(world: World) -> Case:
    event_id = await _dead_event(world)
    return Case({"id": event_id}, inbound_event_id=event_id)


async def _replay(world: World) -> Case:
    event_id = await _dead_event(world)
    return Case({"input": {"ids": [event_id]}}, inbound_event_id=event_id)


async def _upload_profile(world: World) -> Case:
    from ccm_gateway.db import webhooks_dir

    name = unique("perm").lower()
    source = (webhooks_dir() / "stripe.yaml").read_text().replace("name: stripe",
                                                                  f"name: {name}", 1)
    return Case({"input": {"source": source}}, profile_name=name)


# One integration serves every outbound case: Query.integrations pages through them all
# (tests/graphql/test_graphql_relay_paging.py), so the rows here add one, not dozens.
_OUTBOUND_INTEGRATION: dict[str, str] = {}


async def _outbound_integration(world: World) -> str:
    if "id" not in _OUTBOUND_INTEGRATION:
        _OUTBOUND_INTEGRATION["id"] = await _integration(world)
    return _OUTBOUND_INTEGRATION["id"]


async def _outbound_endpoint(integration_id: str) -> str:
    async with in_transaction():
        created = await sync_service.create_endpoint(
            Actor(type="user", id="perm-setup"), SecretBox(DEV_SECRET_KEY), prod=False,
            integration_id=integration_id, url="http://127.0.0.1:9/perm",
            # Nothing the dispatcher sends: the endpoint's deliveries stay as made here.
            event_types=["credit.snapshot"])
    return str(created.endpoint.id)


async def _create_outbound_endpoint(world: World) -> Case:
    integration_id = await _outbound_integration(world)
    return Case({"input": {"integrationId": integration_id, "url": "http://127.0.0.1:9/perm",
                           "eventTypes": ["alert.raised"]}},
                outbound_integration_id=integration_id)


async def _outbound_endpoint_case(world: World, **changes: Any) -> Case:
    endpoint_id = await _outbound_endpoint(await _outbound_integration(world))
    return Case({"input": {"id": endpoint_id} | changes}, outbound_endpoint_id=endpoint_id)


async def _outbound_endpoint_query(world: World) -> Case:
    endpoint_id = await _outbound_endpoint(await _outbound_integration(world))
    return Case({"id": endpoint_id}, outbound_endpoint_id=endpoint_id)


async def _update_outbound_endpoint(world: World) -> Case:
    return await _outbound_endpoint_case(world, expectedVersion=1, description=unique("d"))


async def _disable_outbound_endpoint(world: World) -> Case:
    return await _outbound_endpoint_case(world, enabled=False)


async def _outbound_endpoint_input(world: World) -> Case:
    return await _outbound_endpoint_case(world)


async def _failed_delivery(world: World) -> tuple[str, str]:
    endpoint_id = await _outbound_endpoint(await _outbound_integration(world))
    delivery = await OutboundDelivery.create(
        id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=unique("msg"),
        event_type="alert.raised", payload={}, status=DeliveryStatus.FAILED,
        changed_at=datetime.now(UTC))
    return endpoint_id, str(delivery.id)


async def _outbound_delivery_query(world: World) -> Case:
    endpoint_id, delivery_id = await _failed_delivery(world)
    return Case({"id": delivery_id}, outbound_endpoint_id=endpoint_id)


async def _resend(world: World) -> Case:
    endpoint_id, delivery_id = await _failed_delivery(world)
    return Case({"input": {"ids": [delivery_id]}}, outbound_endpoint_id=endpoint_id)


async def _recover(world: World) -> Case:
    endpoint_id, _ = await _failed_delivery(world)
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    return Case({"input": {"endpointId": endpoint_id, "since": since}},
                outbound_endpoint_id=endpoint_id)


async def _create_alert_rule(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"thresholdPercent": 50, "customerId": customer_id}},
                rules_of=customer_id)


async def _alert_rule(world: World, **extra: Any) -> Case:
    customer_id = await world.customer()
    async with in_transaction():
        rule = await policy_service.create_alert_rule(
            Actor("system", "perm-setup"), threshold_bp=5000, hysteresis_bp=None,
            segment=None, customer_id=customer_id, site_id=None, channels=None,
            recipients=[])
    return Case({"input": {"id": str(rule.id)} | extra}, rules_of=customer_id)


async def _update_alert_rule(world: World) -> Case:
    return await _alert_rule(world, expectedVersion=1, thresholdPercent=60)


async def _create_velocity_rule(world: World) -> Case:
    customer_id = await world.customer()
    return Case({"input": {"customerId": customer_id, "metric": "AUTHORIZATIONS",
                           "windowSeconds": 3600, "count": 10, "action": "ALERT"}},
                rules_of=customer_id)


async def _velocity_rule(world: World, **extra: Any) -> Case:
    customer_id = await world.customer()
    async with in_transaction():
        rule = await policy_service.create_velocity_rule(
            Actor("system", "perm-setup"), segment=None, customer_id=customer_id,
            metric=VelocityMetric.AUTHORIZATIONS, window_seconds=3600, threshold=10,
            currency=None, action=VelocityAction.ALERT, proposed_increase_bp=None,
            recipients=[])
    return Case({"input": {"id": str(rule.id)} | extra}, rules_of=customer_id)


async def _update_velocity_rule(world: World) -> Case:
    return await _velocity_rule(world, expectedVersion=1, count=20)


async def _acknowledge_alert(world: World) -> Case:
    async with in_transaction():
        alert = await raise_alert("test.permission", AlertSeverity.INFO, "to acknowledge")
    return Case({"input": {"id": str(alert.id), "note": "seen"}}, alert_id=str(alert.id))


# --- reconciliation (billing and receivables) ---


async def _reconciliation_run(world: World) -> tuple[str, str]:
    """A finished run of the shared integration, and an OPEN break of it."""
    integration_id = await _outbound_integration(world)
    run = await ReconciliationRun.create(
        id=uuid.uuid4(), integration_id=integration_id, source=ReconciliationSource.WEBHOOK,
        started_at=datetime.now(UTC), finished_at=datetime.now(UTC), tolerance_ppm=100,
        actor="perm-setup")
    found = await ReconciliationBreak.create(
        id=uuid.uuid4(), run_id=run.id, last_run_id=run.id, integration_id=integration_id,
        customer_id=await world.customer(), currency="USD", external_balance_minor=200,
        ledger_balance_minor=100, difference_minor=100, as_of=datetime.now(UTC))
    return str(run.id), str(found.id)


async def _reconciliation_run_query(world: World) -> Case:
    run_id, _ = await _reconciliation_run(world)
    return Case({"id": run_id})


async def _reconciliation_break(world: World) -> Case:
    _, break_id = await _reconciliation_run(world)
    return Case({"input": {"id": break_id, "note": "seen"}},
                reconciliation_of=await _outbound_integration(world))


async def _reconcile_balances(world: World) -> Case:
    integration_id = await _outbound_integration(world)
    csv = f"customer_ref,balance,currency,as_of\n{unique('ref')},1.00,USD,2026-01-01T00:00:00Z\n"
    return Case({"input": {"integrationId": integration_id, "csv": csv,
                           "fileName": "perm.csv"}}, reconciliation_of=integration_id)


async def _run_reconciliation(world: World) -> Case:
    integration_id = await _outbound_integration(world)
    return Case({"input": {"integrationId": integration_id, "source": "PULL"}},
                reconciliation_of=integration_id)


P = Permission
# --- collection (billing) ---


async def _processor(world: World) -> str:
    """A payment processor integration on the shipped stripe profile (it has collect)."""
    made = await world.gql("""mutation($s: String!) { createIntegration(input: {slug: $s,
        name: "perm psp", kind: PAYMENT_PROCESSOR, profile: "stripe", segments: ["*"]}) {
        integration { id } } }""", {"s": unique("perm-psp")})
    return str(made.data["createIntegration"]["integration"]["id"])


async def _set_collection_route(world: World) -> Case:
    site_id = await world.make_site()
    return Case({"input": {"siteId": site_id, "currency": "USD",
                           "integrationIds": [await _processor(world)]}},
                route_site_id=site_id)


async def _collect_invoice(world: World) -> Case:
    # The customer has no ref at the processor: nothing is ever sent to it.
    customer_id, site_id = await world.customer(), await world.make_site()
    await world.gql("""mutation($i: SetCollectionRouteInput!) { setCollectionRoute(input: $i)
        { id } }""", {"i": {"siteId": site_id, "currency": "USD",
                            "integrationIds": [await _processor(world)]}})
    account = await CreditAccount.get(customer_id=customer_id)
    now = datetime.now(UTC)
    issuer = unique("P")[:20]
    invoice = await Invoice.create(
        id=uuid.uuid4(), number=f"{issuer}-{now.year}-000001", issuer=issuer, year=now.year,
        sequence=1, customer_id=customer_id, account_id=account.id, site_id=site_id,
        currency="USD", total_minor=1000, period_end=now, net_days=30, issued_at=now,
        due_at=now + timedelta(days=30))
    return Case({"input": {"invoiceId": str(invoice.id)}}, customer_id=customer_id,
                invoice_id=str(invoice.id))


ROWS: dict[str, Row] = {
    "Query.customer": Row(P.CUSTOMER_READ, """query($id: ID!) {
        customer(id: $id) { id } }""", _customer_case),
    "Query.node": Row(P.CUSTOMER_READ, """query($id: ID!) {
        node(id: $id) { id } }""", _customer_case),
    "Query.customers": Row(P.CUSTOMER_READ, """{
        customers(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.sites": Row(P.CUSTOMER_READ, "{ sites { id } }", _no_objects),
    "Query.creditCheck": Row(P.CREDIT_CHECK, """query($customerId: ID!, $amount: MoneyInput!) {
        creditCheck(customerId: $customerId, amount: $amount) { approved } }""",
                             _credit_check),
    "Query.gateAccess": Row(P.CREDIT_CHECK, """query($siteId: ID!, $customerId: ID!) {
        gateAccess(siteId: $siteId, customerId: $customerId) { allowed } }""",
                            _site_and_customer),
    "Query.hold": Row(P.LEDGER_READ, """query($id: ID!) { hold(id: $id) { id } }""",
                      _hold_query),
    "Query.auditLog": Row(P.AUDIT_READ, """{
        auditLog(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.auditChainStatus": Row(P.AUDIT_READ, "{ auditChainStatus { intact } }",
                                  _no_objects),
    "Customer.ledger": Row(P.LEDGER_READ, """query($id: ID!) {
        customer(id: $id) { ledger(first: 1) { edges { node { id } } } } }""",
                           _customer_case),
    "Mutation.createSite": Row(P.SITE_WRITE, """mutation($input: CreateSiteInput!) {
        createSite(input: $input) { id } }""", _create_site),
    "Mutation.createCustomer": Row(P.CUSTOMER_WRITE, """mutation($input: CreateCustomerInput!) {
        createCustomer(input: $input) { id } }""", _create_customer),
    "Mutation.updateCustomer": Row(P.CUSTOMER_WRITE, """mutation($input: UpdateCustomerInput!) {
        updateCustomer(input: $input) { id } }""", _update_customer),
    "Mutation.linkExternalRef": Row(P.CUSTOMER_WRITE, """
        mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }""",
                                    _link_ref),
    "Mutation.setCreditLimit": Row(P.CREDIT_LIMIT_WRITE, """
        mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { version } }""",
                                   _set_limit),
    "Mutation.requestCreditLimitChange": Row(P.CREDIT_LIMIT_WRITE, """
        mutation($input: RequestCreditLimitChangeInput!) {
          requestCreditLimitChange(input: $input) { id status } }""", _request_limit_change),
    "Mutation.approveCreditLimitChange": Row(P.CREDIT_LIMIT_APPROVE, """
        mutation($input: ApproveCreditLimitChangeInput!) {
          approveCreditLimitChange(input: $input) { id status } }""", _limit_request_input),
    "Mutation.rejectCreditLimitChange": Row(P.CREDIT_LIMIT_APPROVE, """
        mutation($input: RejectCreditLimitChangeInput!) {
          rejectCreditLimitChange(input: $input) { id status } }""", _limit_request_input),
    "Mutation.cancelCreditLimitChange": Row(P.CREDIT_LIMIT_WRITE, """
        mutation($input: CancelCreditLimitChangeInput!) {
          cancelCreditLimitChange(input: $input) { id status } }""", _cancel_limit_request),
    "Query.creditLimitChangeRequests": Row(P.POLICY_READ, """{
        creditLimitChangeRequests(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.creditLimitChangeRequest": Row(P.POLICY_READ, """query($id: ID!) {
        creditLimitChangeRequest(id: $id) { id } }""", _limit_request_query),
    "Query.approvalPolicy": Row(P.POLICY_READ, "{ approvalPolicy { version } }", _no_objects),
    "Mutation.setApprovalPolicy": Row(P.POLICY_WRITE, """
        mutation($input: SetApprovalPolicyInput!) {
          setApprovalPolicy(input: $input) { version } }""", _set_approval_policy),
    "Query.segmentPolicies": Row(P.POLICY_READ, "{ segmentPolicies { id } }", _no_objects),
    "Mutation.setSegmentPolicy": Row(P.POLICY_WRITE, """
        mutation($input: SetSegmentPolicyInput!) {
          setSegmentPolicy(input: $input) { id version } }""", _set_segment_policy),
    # Billing.
    "Query.invoices": Row(P.INVOICE_READ, """{
        invoices(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.invoice": Row(P.INVOICE_READ, """query($id: ID!) {
        invoice(id: $id) { id } }""", _invoice_query),
    "Customer.invoices": Row(P.INVOICE_READ, """query($id: ID!) {
        customer(id: $id) { invoices { id } } }""", _customer_case),
    "Mutation.issueInvoice": Row(P.INVOICE_WRITE, """mutation($input: IssueInvoiceInput!) {
        issueInvoice(input: $input) { id } }""", _issue_invoice),
    "Mutation.voidInvoice": Row(P.INVOICE_WRITE, """mutation($input: VoidInvoiceInput!) {
        voidInvoice(input: $input) { id status } }""", _void_invoice),
    "Query.receivablesPolicies": Row(P.POLICY_READ, "{ receivablesPolicies { id } }",
                                     _no_objects),
    "Mutation.setReceivablesPolicy": Row(P.POLICY_WRITE, """
        mutation($input: SetReceivablesPolicyInput!) {
          setReceivablesPolicy(input: $input) { id version } }""", _set_receivables_policy),
    "Mutation.setCreditTerms": Row(P.CREDIT_LIMIT_WRITE, """
        mutation($input: SetCreditTermsInput!) { setCreditTerms(input: $input) { version } }""",
                                   _set_terms),
    "Mutation.setSiteLimit": Row(P.CREDIT_LIMIT_WRITE, """
        mutation($input: SetSiteLimitInput!) {
          setSiteLimit(input: $input) { limit { amount } } }""", _set_site_limit),
    "Mutation.postLedgerEntry": Row(P.LEDGER_WRITE, """
        mutation($input: PostLedgerEntryInput!) {
          postLedgerEntry(input: $input) { __typename ... on LedgerEntry { id } } }""",
                                    _post_entry),
    "Mutation.reverseLedgerEntry": Row(P.LEDGER_WRITE, """
        mutation($input: ReverseLedgerEntryInput!) {
          reverseLedgerEntry(input: $input) { id } }""", _reverse_entry),
    "Mutation.authorizeCredit": Row(P.HOLD_WRITE, """
        mutation($input: AuthorizeCreditInput!) {
          authorizeCredit(input: $input) { __typename ... on Hold { id } } }""", _authorize),
    "Mutation.captureHold": Row(P.HOLD_WRITE, """mutation($input: CaptureHoldInput!) {
        captureHold(input: $input) { status } }""", _hold_case),
    "Mutation.voidHold": Row(P.HOLD_WRITE, """mutation($input: VoidHoldInput!) {
        voidHold(input: $input) { status } }""", _hold_case),
    "Query.apiClients": Row(P.CLIENT_ADMIN, """{
        apiClients(first: 1) { edges { node { clientId } } } }""", _no_objects),
    "Mutation.createApiClient": Row(P.CLIENT_ADMIN, """
        mutation($input: CreateApiClientInput!) {
          createApiClient(input: $input) { clientSecret } }""", _create_api_client),
    "Mutation.rotateApiClientSecret": Row(P.CLIENT_ADMIN, """
        mutation($input: RotateApiClientSecretInput!) {
          rotateApiClientSecret(input: $input) { clientSecret } }""", _api_client_input),
    "Mutation.revokeApiClient": Row(P.CLIENT_ADMIN, """
        mutation($input: RevokeApiClientInput!) {
          revokeApiClient(input: $input) { revokedAt } }""", _api_client_input),
    "Query.trustedIssuers": Row(P.ISSUER_ADMIN, """{
        trustedIssuers(first: 1) { edges { node { issuer } } } }""", _no_objects),
    "Mutation.createTrustedIssuer": Row(P.ISSUER_ADMIN, """
        mutation($input: CreateTrustedIssuerInput!) {
          createTrustedIssuer(input: $input) { issuer } }""", _create_trusted_issuer),
    "Mutation.updateTrustedIssuer": Row(P.ISSUER_ADMIN, """
        mutation($input: UpdateTrustedIssuerInput!) {
          updateTrustedIssuer(input: $input) { enabled } }""", _update_trusted_issuer),
    "Mutation.deleteTrustedIssuer": Row(P.ISSUER_ADMIN, """
        mutation($input: DeleteTrustedIssuerInput!) {
          deleteTrustedIssuer(input: $input) { deleted { issuer } } }""", _trusted_issuer),
    "Query.fxRates": Row(P.LEDGER_READ, """{
        fxRates(first: 1) { edges { node { id } } } }""", _no_objects),
    "Mutation.setFxRate": Row(P.FX_WRITE, """mutation($input: SetFxRateInput!) {
        setFxRate(input: $input) { id } }""", _set_fx_rate),
    "Query.integrations": Row(P.INTEGRATION_READ, """{
        integrations(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.integration": Row(P.INTEGRATION_READ, """query($id: ID!) {
        integration(id: $id) { id health { receivedLast24h } } }""", _integration_query),
    "Query.inboundEvents": Row(P.INTEGRATION_READ, """{
        inboundEvents(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.inboundEvent": Row(P.INTEGRATION_READ, """query($id: ID!) {
        inboundEvent(id: $id) { id status } }""", _inbound_event_query),
    "Query.protocolProfiles": Row(P.INTEGRATION_READ, "{ protocolProfiles { name } }",
                                  _no_objects),
    "InboundEvent.payload": Row(P.INTEGRATION_WRITE, """query($id: ID!) {
        inboundEvent(id: $id) { payload } }""", _inbound_event_query),
    "Query.alerts": Row(P.ALERT_READ, "{ alerts(first: 1) { edges { node { id } } } }",
                        _no_objects),
    "Subscription.alertRaised": Row(P.ALERT_READ, "subscription { alertRaised { id } }",
                                    _no_objects, _raise_alert),
    "Subscription.creditUpdated": Row(
        P.CUSTOMER_READ, "subscription($id: ID!) { creditUpdated(customerId: $id) { id } }",
        _customer_case, _place_hold),
    "Mutation.createIntegration": Row(P.INTEGRATION_WRITE, """
        mutation($input: CreateIntegrationInput!) {
          createIntegration(input: $input) { secret } }""", _create_integration),
    "Mutation.updateIntegration": Row(P.INTEGRATION_WRITE, """
        mutation($input: UpdateIntegrationInput!) {
          updateIntegration(input: $input) { version } }""", _update_integration),
    "Mutation.setIntegrationEnabled": Row(P.INTEGRATION_WRITE, """
        mutation($input: SetIntegrationEnabledInput!) {
          setIntegrationEnabled(input: $input) { enabled } }""", _disable_integration),
    "Mutation.deleteIntegration": Row(P.INTEGRATION_WRITE, """
        mutation($input: DeleteIntegrationInput!) {
          deleteIntegration(input: $input) { deletedAt } }""", _integration_input),
    "Mutation.rotateIntegrationSecret": Row(P.INTEGRATION_WRITE, """
        mutation($input: RotateIntegrationSecretInput!) {
          rotateIntegrationSecret(input: $input) { secret } }""", _integration_input),
    "Mutation.uploadProtocolProfile": Row(P.INTEGRATION_WRITE, """
        mutation($input: UploadProtocolProfileInput!) {
          uploadProtocolProfile(input: $input) { name } }""", _upload_profile),
    "Mutation.replayInboundEvent": Row(P.INTEGRATION_WRITE, """
        mutation($input: ReplayInboundEventInput!) {
          replayInboundEvent(input: $input) { status } }""", _replay),
    "Query.outboundEndpoints": Row(P.INTEGRATION_READ, """{
        outboundEndpoints(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.outboundEndpoint": Row(P.INTEGRATION_READ, """query($id: ID!) {
        outboundEndpoint(id: $id) { id health { attemptsLast24h } } }""",
        _outbound_endpoint_query),
    "Query.outboundDeliveries": Row(P.INTEGRATION_READ, """{
        outboundDeliveries(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.outboundDelivery": Row(P.INTEGRATION_READ, """query($id: ID!) {
        outboundDelivery(id: $id) { id attempts { succeeded } } }""",
        _outbound_delivery_query),
    "Mutation.createOutboundEndpoint": Row(P.INTEGRATION_WRITE, """
        mutation($input: CreateOutboundEndpointInput!) {
          createOutboundEndpoint(input: $input) { secret } }""", _create_outbound_endpoint),
    "Mutation.updateOutboundEndpoint": Row(P.INTEGRATION_WRITE, """
        mutation($input: UpdateOutboundEndpointInput!) {
          updateOutboundEndpoint(input: $input) { version } }""", _update_outbound_endpoint),
    "Mutation.setOutboundEndpointEnabled": Row(P.INTEGRATION_WRITE, """
        mutation($input: SetOutboundEndpointEnabledInput!) {
          setOutboundEndpointEnabled(input: $input) { enabled } }""",
        _disable_outbound_endpoint),
    "Mutation.rotateOutboundEndpointSecret": Row(P.INTEGRATION_WRITE, """
        mutation($input: RotateOutboundEndpointSecretInput!) {
          rotateOutboundEndpointSecret(input: $input) { secret } }""",
        _outbound_endpoint_input),
    "Mutation.deleteOutboundEndpoint": Row(P.INTEGRATION_WRITE, """
        mutation($input: DeleteOutboundEndpointInput!) {
          deleteOutboundEndpoint(input: $input) { deletedAt } }""", _outbound_endpoint_input),
    "Mutation.resendOutboundDelivery": Row(P.INTEGRATION_WRITE, """
        mutation($input: ResendOutboundDeliveryInput!) {
          resendOutboundDelivery(input: $input) { deliveries { status } } }""", _resend),
    "Mutation.recoverOutboundEndpoint": Row(P.INTEGRATION_WRITE, """
        mutation($input: RecoverOutboundEndpointInput!) {
          recoverOutboundEndpoint(input: $input) { resent } }""", _recover),
    "Query.alertRules": Row(P.POLICY_READ, """{
        alertRules(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.velocityRules": Row(P.POLICY_READ, """{
        velocityRules(first: 1) { edges { node { id } } } }""", _no_objects),
    "Mutation.createAlertRule": Row(P.POLICY_WRITE, """
        mutation($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { id } }""",
        _create_alert_rule),
    "Mutation.updateAlertRule": Row(P.POLICY_WRITE, """
        mutation($input: UpdateAlertRuleInput!) {
          updateAlertRule(input: $input) { version } }""", _update_alert_rule),
    "Mutation.deleteAlertRule": Row(P.POLICY_WRITE, """
        mutation($input: DeleteRuleInput!) { deleteAlertRule(input: $input) { id } }""",
        _alert_rule),
    "Mutation.createVelocityRule": Row(P.POLICY_WRITE, """
        mutation($input: CreateVelocityRuleInput!) {
          createVelocityRule(input: $input) { id } }""", _create_velocity_rule),
    "Mutation.updateVelocityRule": Row(P.POLICY_WRITE, """
        mutation($input: UpdateVelocityRuleInput!) {
          updateVelocityRule(input: $input) { version } }""", _update_velocity_rule),
    "Mutation.deleteVelocityRule": Row(P.POLICY_WRITE, """
        mutation($input: DeleteRuleInput!) { deleteVelocityRule(input: $input) { id } }""",
        _velocity_rule),
    # --- reconciliation (billing and receivables) ---
    "Query.reconciliationRuns": Row(P.INTEGRATION_READ, """{
        reconciliationRuns(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.reconciliationRun": Row(P.INTEGRATION_READ, """query($id: ID!) {
        reconciliationRun(id: $id) { id breaks { id } } }""", _reconciliation_run_query),
    "Query.reconciliationBreaks": Row(P.INTEGRATION_READ, """{
        reconciliationBreaks(first: 1) { edges { node { id } } } }""", _no_objects),
    "Mutation.reconcileBalances": Row(P.RECONCILIATION_WRITE, """
        mutation($input: ReconcileBalancesInput!) {
          reconcileBalances(input: $input) { id } }""", _reconcile_balances),
    "Mutation.runReconciliation": Row(P.RECONCILIATION_WRITE, """
        mutation($input: RunReconciliationInput!) {
          runReconciliation(input: $input) { id } }""", _run_reconciliation),
    "Mutation.acknowledgeReconciliationBreak": Row(P.RECONCILIATION_WRITE, """
        mutation($input: AcknowledgeReconciliationBreakInput!) {
          acknowledgeReconciliationBreak(input: $input) { status } }""",
        _reconciliation_break),
    "Mutation.resolveReconciliationBreak": Row(P.RECONCILIATION_WRITE, """
        mutation($input: ResolveReconciliationBreakInput!) {
          resolveReconciliationBreak(input: $input) { status } }""", _reconciliation_break),
    "Query.collections": Row(P.INVOICE_READ, """{
        collections(first: 1) { edges { node { id } } } }""", _no_objects),
    "Query.collectionRoutes": Row(P.INVOICE_READ, "{ collectionRoutes { id } }", _no_objects),
    "Mutation.setCollectionRoute": Row(P.COLLECTION_WRITE, """
        mutation($input: SetCollectionRouteInput!) {
          setCollectionRoute(input: $input) { id version } }""", _set_collection_route),
    "Mutation.collectInvoice": Row(P.COLLECTION_WRITE, """
        mutation($input: CollectInvoiceInput!) {
          collectInvoice(input: $input) { id status } }""", _collect_invoice),
    "Mutation.acknowledgeAlert": Row(P.ALERT_WRITE, """
        mutation($input: AcknowledgeAlertInput!) {
          acknowledgeAlert(input: $input) { acknowledgedAt } }""", _acknowledge_alert),
    # Receivables reports (tests/reports has their figures).
    "Query.agingReport": Row(P.REPORT_READ, """{
        agingReport { asOf portfolio { currency } } }""", _no_objects),
    "Query.dsoReport": Row(P.REPORT_READ, """{ dsoReport(from: "2026-01-01T00:00:00Z",
        to: "2026-02-01T00:00:00Z") { figures { currency } } }""", _no_objects),
    "Query.termComplianceReport": Row(P.REPORT_READ, """{ termComplianceReport(
        from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { figures { currency } } }""",
        _no_objects),
    "Query.utilisationReport": Row(P.REPORT_READ, "{ utilisationReport { customers } }",
                                   _no_objects),
    "Query.creditAlertFrequency": Row(P.REPORT_READ, """{ creditAlertFrequency(
        from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z") { breaches } }""",
        _no_objects),
    # Portfolio insights (tests/insights has their figures).
    "Query.riskProfileCorrelation": Row(P.REPORT_READ, """{ riskProfileCorrelation(
        currency: "USD") { customers } }""", _no_objects),
    "Query.termImpactAnalysis": Row(P.REPORT_READ, """{ termImpactAnalysis(
        currency: "USD") { customers } }""", _no_objects),
    "Query.limitSuggestions": Row(P.REPORT_READ, """{ limitSuggestions(currency: "USD",
        first: 1) { edges { cursor } } }""", _no_objects),
}

ALL = set(ROLES)
WRITERS = {"admin", "finance", "credit_manager"}
INTEGRATION_READERS = {"admin", "it_admin", "finance", "auditor"}
# The product rules, written out by hand: who may call each field.
ALLOWED_ROLES: dict[str, set[str]] = {
    "Query.customer": ALL,
    "Query.node": ALL,
    "Query.customers": ALL,
    "Query.sites": ALL,
    "Query.creditCheck": ALL,
    "Query.gateAccess": ALL,
    "Query.hold": ALL,
    "Customer.ledger": ALL,
    "Query.auditLog": {"admin", "auditor", "it_admin"},
    "Query.auditChainStatus": {"admin", "auditor", "it_admin"},
    "Mutation.createSite": {"admin", "it_admin"},
    "Mutation.createCustomer": WRITERS,
    "Mutation.updateCustomer": WRITERS,
    "Mutation.linkExternalRef": WRITERS,
    "Mutation.setCreditLimit": WRITERS,
    "Mutation.setCreditTerms": WRITERS,
    "Mutation.requestCreditLimitChange": WRITERS,
    "Mutation.approveCreditLimitChange": WRITERS,
    "Mutation.rejectCreditLimitChange": WRITERS,
    "Mutation.cancelCreditLimitChange": WRITERS,
    "Query.creditLimitChangeRequests": ALL,
    "Query.creditLimitChangeRequest": ALL,
    "Query.approvalPolicy": ALL,
    "Query.segmentPolicies": ALL,
    "Mutation.setApprovalPolicy": {"admin", "finance"},
    "Mutation.setSegmentPolicy": {"admin", "finance"},
    "Mutation.setSiteLimit": WRITERS,
    "Query.invoices": ALL,
    "Query.invoice": ALL,
    "Customer.invoices": ALL,
    "Query.receivablesPolicies": ALL,
    "Mutation.issueInvoice": {"admin", "finance"},
    "Mutation.voidInvoice": {"admin", "finance"},
    "Mutation.setReceivablesPolicy": {"admin", "finance"},
    "Mutation.authorizeCredit": WRITERS,
    "Mutation.captureHold": WRITERS,
    "Mutation.voidHold": WRITERS,
    "Mutation.postLedgerEntry": {"admin", "finance"},
    "Mutation.reverseLedgerEntry": {"admin", "finance"},
    "Query.apiClients": {"admin", "it_admin"},
    "Mutation.createApiClient": {"admin", "it_admin"},
    "Mutation.rotateApiClientSecret": {"admin", "it_admin"},
    "Mutation.revokeApiClient": {"admin", "it_admin"},
    "Query.trustedIssuers": {"admin", "it_admin"},
    "Mutation.createTrustedIssuer": {"admin", "it_admin"},
    "Mutation.updateTrustedIssuer": {"admin", "it_admin"},
    "Mutation.deleteTrustedIssuer": {"admin", "it_admin"},
    "Query.fxRates": ALL,
    "Mutation.setFxRate": {"admin", "finance"},
    "Query.integrations": INTEGRATION_READERS,
    "Query.integration": INTEGRATION_READERS,
    "Query.inboundEvents": INTEGRATION_READERS,
    "Query.inboundEvent": INTEGRATION_READERS,
    "Query.protocolProfiles": INTEGRATION_READERS,
    "Query.alerts": ALL,
    "Subscription.alertRaised": ALL,
    "Subscription.creditUpdated": ALL,
    "InboundEvent.payload": {"admin", "it_admin"},
    "Mutation.createIntegration": {"admin", "it_admin"},
    "Mutation.updateIntegration": {"admin", "it_admin"},
    "Mutation.setIntegrationEnabled": {"admin", "it_admin"},
    "Mutation.deleteIntegration": {"admin", "it_admin"},
    "Mutation.rotateIntegrationSecret": {"admin", "it_admin"},
    "Mutation.uploadProtocolProfile": {"admin", "it_admin"},
    "Mutation.replayInboundEvent": {"admin", "it_admin"},
    "Query.outboundEndpoints": INTEGRATION_READERS,
    "Query.outboundEndpoint": INTEGRATION_READERS,
    "Query.outboundDeliveries": INTEGRATION_READERS,
    "Query.outboundDelivery": INTEGRATION_READERS,
    "Mutation.createOutboundEndpoint": {"admin", "it_admin"},
    "Mutation.updateOutboundEndpoint": {"admin", "it_admin"},
    "Mutation.setOutboundEndpointEnabled": {"admin", "it_admin"},
    "Mutation.rotateOutboundEndpointSecret": {"admin", "it_admin"},
    "Mutation.deleteOutboundEndpoint": {"admin", "it_admin"},
    "Mutation.resendOutboundDelivery": {"admin", "it_admin"},
    "Mutation.recoverOutboundEndpoint": {"admin", "it_admin"},
    "Query.alertRules": ALL,
    "Query.velocityRules": ALL,
    "Mutation.createAlertRule": {"admin", "finance"},
    "Mutation.updateAlertRule": {"admin", "finance"},
    "Mutation.deleteAlertRule": {"admin", "finance"},
    "Mutation.createVelocityRule": {"admin", "finance"},
    "Mutation.updateVelocityRule": {"admin", "finance"},
    "Mutation.deleteVelocityRule": {"admin", "finance"},
    "Mutation.acknowledgeAlert": {"admin", "finance", "credit_manager", "it_admin"},
    "Query.agingReport": ALL,
    "Query.dsoReport": ALL,
    "Query.termComplianceReport": ALL,
    "Query.utilisationReport": ALL,
    "Query.creditAlertFrequency": ALL,
    "Query.riskProfileCorrelation": ALL,
    "Query.termImpactAnalysis": ALL,
    "Query.limitSuggestions": ALL,
    # --- reconciliation (billing and receivables) ---
    "Query.reconciliationRuns": INTEGRATION_READERS,
    "Query.reconciliationRun": INTEGRATION_READERS,
    "Query.reconciliationBreaks": INTEGRATION_READERS,
    "Mutation.reconcileBalances": {"admin", "finance"},
    "Mutation.runReconciliation": {"admin", "finance"},
    "Mutation.acknowledgeReconciliationBreak": {"admin", "finance"},
    "Mutation.resolveReconciliationBreak": {"admin", "finance"},
    "Query.collections": ALL,
    "Query.collectionRoutes": ALL,
    "Mutation.setCollectionRoute": {"admin", "finance"},
    "Mutation.collectInvoice": {"admin", "finance"},
}


def allowed(role: str, field_name: str) -> bool:
    return guarded_fields()[field_name] in ROLE_PERMISSIONS[Role(role)]


# --- the table matches the schema and the map ----------------------------------------------


def test_every_query_and_mutation_requires_exactly_one_permission():
    unguarded = {name: perms for name, perms in root_fields().items() if len(perms) != 1}
    assert unguarded == {}


def test_every_guarded_field_has_a_table_row():
    assert set(guarded_fields()) - set(ROWS) == set(), "add a row to ROWS"
    assert set(ROWS) - set(guarded_fields()) == set(), "a row for a field that is gone"


def test_each_row_names_the_permission_the_field_requires():
    declared = guarded_fields()
    assert {name: row.permission for name, row in ROWS.items()} == declared


def test_the_role_map_grants_what_the_product_rules_say():
    derived = {name: {role for role in ROLES if allowed(role, name)} for name in ROWS}
    assert derived == ALLOWED_ROLES


def test_a_viewer_reads_but_changes_nothing():
    viewer = ROLE_PERMISSIONS[Role.VIEWER]
    assert {P.CUSTOMER_READ, P.LEDGER_READ, P.CREDIT_CHECK} <= viewer
    assert viewer.isdisjoint({P.CUSTOMER_WRITE, P.SITE_WRITE, P.CREDIT_LIMIT_WRITE,
                              P.LEDGER_WRITE, P.HOLD_WRITE, P.AUDIT_READ})


def test_only_finance_credit_roles_and_admin_move_money_or_limits():
    money = {P.CREDIT_LIMIT_WRITE, P.LEDGER_WRITE, P.HOLD_WRITE}
    movers = {role.value for role, perms in ROLE_PERMISSIONS.items() if perms & money}
    assert movers == {"admin", "finance", "credit_manager"}


def test_api_client_admins_are_admin_and_it_admin():
    holders = {role.value for role, perms in ROLE_PERMISSIONS.items() if P.CLIENT_ADMIN in perms}
    assert holders == {"admin", "it_admin"}


def test_audit_log_readers_are_admin_auditor_and_it_admin():
    readers = {role.value for role, perms in ROLE_PERMISSIONS.items() if P.AUDIT_READ in perms}
    assert readers == {"admin", "auditor", "it_admin"}


def test_the_newer_permissions_are_held_by_the_roles_the_product_says():
    holders = {perm.value: {role.value for role, perms in ROLE_PERMISSIONS.items()
                            if perm in perms}
               for perm in (P.ISSUER_ADMIN, P.INTEGRATION_READ, P.INTEGRATION_WRITE,
                            P.FX_WRITE, P.ALERT_READ)}
    assert holders == {
        "issuer:admin": {"admin", "it_admin"},
        "integration:read": {"admin", "it_admin", "finance", "auditor"},
        "integration:write": {"admin", "it_admin"},
        "fx:write": {"admin", "finance"},
        "alert:read": set(ROLES),  # every role reads
    }


def test_the_billing_permissions_are_held_by_the_roles_the_product_says():
    holders = {perm.value: {role.value for role, perms in ROLE_PERMISSIONS.items()
                            if perm in perms}
               for perm in (P.INVOICE_READ, P.REPORT_READ, P.INVOICE_WRITE,
                            P.COLLECTION_WRITE, P.RECONCILIATION_WRITE)}
    assert holders == {
        "invoice:read": set(ROLES),
        "report:read": set(ROLES),
        "invoice:write": {"admin", "finance"},
        "collection:write": {"admin", "finance"},
        "reconciliation:write": {"admin", "finance"},
    }


# --- every field as every role, over HTTP --------------------------------------------------

STATE = """
query($id: ID!) {
  customer(id: $id) {
    name segment status version
    creditAccount {
      version limit { amount } balance { amount } held { amount }
      terms { netDays invoicingCycle }
    }
    siteLimits { site { id } limit { amount } }
    externalRefs { system externalId }
    holds { id status }
    ledger(first: 100) { edges { node { id } } }
  }
}"""

AUDIT_BY_ACTOR = """
query($actorId: String!) {
  auditLog(first: 100, filter: {actorId: $actorId}) { edges { node { action } } }
}"""

AUDIT_BY_OBJECT = """
query($objectId: String!) {
  auditLog(first: 100, filter: {objectId: $objectId}) { edges { node { id } } }
}"""

SITE_CODES = "{ sites { code } }"
CUSTOMERS_NAMED = """
query($name: String!) {
  customers(first: 10, filter: {nameContains: $name}) { edges { node { id } } }
}"""


async def snapshot(gql: Any, case: Case) -> dict[str, Any]:
    """Everything the call could have changed, read as admin."""
    state: dict[str, Any] = {}
    if case.customer_id:
        state["customer"] = (await gql(STATE, {"id": case.customer_id})).data
        state["audit"] = (await gql(AUDIT_BY_OBJECT, {"objectId": case.customer_id})).data
        state["limit_requests"] = await LimitChangeRequest.filter(
            customer_id=case.customer_id).order_by("id").values("id", "status", "version")
    if case.approval_policy:
        state["approval_policy"] = await ApprovalPolicy.filter(id=1).values("version")
    if case.segment:
        state["segment_policies"] = await SegmentPolicy.filter(segment=case.segment).count()
    if case.site_code:
        codes = [s["code"] for s in (await gql(SITE_CODES)).data["sites"]]
        state["site_exists"] = case.site_code in codes
    if case.customer_name:
        state["named"] = (await gql(CUSTOMERS_NAMED, {"name": case.customer_name})).data
    if case.client_id:
        state["client"] = await ApiClient.filter(client_id=case.client_id).values(
            "secret_hash", "revoked_at")
    if case.client_name:
        state["clients_named"] = await ApiClient.filter(name=case.client_name).count()
    if case.issuer:
        state["issuer"] = await TrustedIssuerRecord.filter(issuer=case.issuer).values()
    if case.integration_id:
        state["integration"] = await Integration.filter(id=case.integration_id).values()
    if case.integration_slug:
        state["integration_slug"] = await Integration.filter(slug=case.integration_slug).count()
    if case.profile_name:
        state["profile"] = await ProtocolProfileRecord.filter(name=case.profile_name).count()
    if case.outbound_integration_id:
        state["outbound_endpoints"] = await OutboundEndpoint.filter(
            integration_id=case.outbound_integration_id).count()
    if case.outbound_endpoint_id:
        state["outbound_endpoint"] = await OutboundEndpoint.filter(
            id=case.outbound_endpoint_id).values()
        state["outbound_deliveries"] = await OutboundDelivery.filter(
            endpoint_id=case.outbound_endpoint_id).order_by("id").values(
            "id", "status", "next_attempt_at")
    if case.rules_of:
        state["alert_rules"] = await AlertRule.filter(customer_id=case.rules_of).values()
        state["velocity_rules"] = await VelocityRule.filter(customer_id=case.rules_of).values()
    if case.alert_id:
        state["alert"] = await Alert.filter(id=case.alert_id).values()
    if case.reconciliation_of:
        state["reconciliation"] = (
            await ReconciliationRun.filter(integration_id=case.reconciliation_of).count(),
            await ReconciliationBreak.filter(integration_id=case.reconciliation_of)
            .order_by("id").values_list("id", "status", "version"))
    if case.route_site_id:
        state["routes"] = await CollectionRoute.filter(site_id=case.route_site_id).values()
    if case.invoice_id:
        state["collections"] = await Collection.filter(invoice_id=case.invoice_id).count()
    if case.inbound_event_id:
        state["inbound"] = await InboundEvent.filter(id=case.inbound_event_id).values(
            "status", "attempts")
    return state


async def audited_actions(gql: Any, subject: str) -> list[str]:
    result = await gql(AUDIT_BY_ACTOR, {"actorId": subject})
    return [e["node"]["action"] for e in result.data["auditLog"]["edges"]]


@pytest.fixture
def world(app, gql, make_customer, make_site) -> World:
    return World(gql, make_customer, make_site, app=app, queue=app.state.queue)


async def _run(gql: Any, world: World, field_name: str, row: Row, case: Case,
               token: str) -> Any:
    """The call, over HTTP; a subscription in process until its first answer."""
    if not field_name.startswith("Subscription."):
        return await gql(row.document, case.variables, token=token)
    trigger = row.trigger

    async def push() -> None:
        assert trigger is not None
        await trigger(world, case)

    return await subscribe_once(world.app, SCHEMA, token, row.document, case.variables,
                                push)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("field_name", sorted(guarded_fields()))
async def test_field_as_role_is_allowed_or_forbidden_per_the_map(gql, world, field_name, role):
    row = ROWS.get(field_name)
    assert row is not None, f"{field_name} has no row in ROWS"
    subject = unique(f"perm-{role}")
    world.cache["subject"] = subject  # for a setup that acts as the caller beforehand
    case = await row.setup(world)
    before = await snapshot(gql, case)

    result = await _run(gql, world, field_name, row, case, gql.token(role, subject=subject))

    is_mutation = field_name.startswith("Mutation.")
    if allowed(role, field_name):
        assert result.status == 200
        assert not result.errors, result.errors
        is_root = field_name.startswith(("Query.", "Mutation.", "Subscription."))
        root = field_name.split(".")[1] if is_root else next(iter(result.data))
        assert result.data[root] is not None
        if not is_root:  # the nested field itself answered
            assert result.data[root][field_name.split(".")[1]] is not None
        if is_mutation:
            assert await audited_actions(gql, subject), "an allowed change must be audited"
    else:
        assert result.status == 200
        assert result.error_code == "FORBIDDEN", result.errors
        error = result.errors[0]
        named = {guarded_fields()[field_name].value}
        if not field_name.startswith(("Query.", "Mutation.", "Subscription.")) \
                and error.get("path"):
            # A role may lack the root field's permission before the nested one's.
            named |= {p.value for p in root_fields()[f"Query.{error['path'][0]}"]}
        assert any(p in error["message"] for p in named), error["message"]
        assert error["extensions"]["requestId"]
        # A refused non-null root field nulls the whole answer; a refused nullable one (a
        # lookup by id) or nested one (InboundEvent.payload) only itself. A nested field
        # under a refused nullable root is null with its root.
        data = result.body["data"]
        if data is not None:
            [(root, parent)] = data.items()
            if field_name.startswith(("Query.", "Mutation.", "Subscription.")):
                assert (field_name.split(".")[1], parent) == (root, None)
            elif parent is not None:
                assert parent[field_name.split(".")[1]] is None
        assert await snapshot(gql, case) == before
        assert await audited_actions(gql, subject) == []


async def test_a_token_with_no_roles_is_authenticated_but_may_do_nothing(gql, settings):
    now = int(time.time())
    token = jwt.encode({"alg": "HS256"}, {
        "iss": settings.token_issuer, "aud": settings.token_audience, "sub": "nobody",
        "iat": now, "exp": now + 60}, OctKey.import_key(settings.secret_key.encode()))
    result = await gql("{ sites { id } }", token=token)
    assert result.error_code == "FORBIDDEN"
    assert "none" in result.errors[0]["message"]


async def test_several_roles_grant_the_union_of_their_permissions(gql, tokens, make_customer):
    customer_id = await make_customer()
    token = tokens.issue(unique("multi"), ["auditor", "credit_manager"])
    audit = await gql("{ auditLog(first: 1) { edges { node { id } } } }", token=token)
    assert not audit.errors
    limit = await gql("""mutation($input: SetCreditLimitInput!) {
        setCreditLimit(input: $input) { limit { amount } } }""", {"input": {
        "customerId": customer_id, "limit": {"amount": "1.00", "currency": "USD"}}}, token=token)
    assert limit.data["setCreditLimit"]["limit"]["amount"] == "1.00"
    entry = await gql("""mutation($input: PostLedgerEntryInput!) {
        postLedgerEntry(input: $input) { __typename } }""", {"input": {
        "customerId": customer_id, "kind": "PAYMENT",
        "amount": {"amount": "1.00", "currency": "USD"}}}, token=token)
    assert entry.error_code == "FORBIDDEN"
