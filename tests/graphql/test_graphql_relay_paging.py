"""Relay paging on every connection: read backward (last, before) a list is the same list as
read forward (first, after), with pageInfo's four fields right on every page, and a window
between two cursors is exactly what lies between them.

The connections are enumerated from ``build_schema()``, so a new one without a case here
fails. Each case makes at least five items of its own and reads a list that nothing else
changes while the test runs (a filter to its own items where the field has one).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from ccm_gateway.alert import service as alert_service
from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.api.schema import build_schema
from ccm_gateway.auth import trusted_issuers
from ccm_gateway.billing.models import Invoice
from ccm_gateway.collection.models import Collection, CollectionStatus
from ccm_gateway.config import TrustedIssuer
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.kit.pagination import Window
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery
from ccm_gateway.principal import Actor
from ccm_gateway.reconciliation.models import (
    ReconciliationBreak,
    ReconciliationRun,
    ReconciliationSource,
)

SCHEMA = build_schema()
ITEMS = 5
PAGE = """edges { cursor node { id } }
          pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"""
ARGS = "first: $first, after: $after, last: $last, before: $before"
VARS = "$first: Int, $after: String, $last: Int, $before: String"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def connection_fields() -> set[str]:
    found = set()
    for name, graphql_type in SCHEMA._schema.type_map.items():
        for field_name, field in (getattr(graphql_type, "fields", None) or {}).items():
            if not name.startswith("__") and "last" in getattr(field, "args", {}):
                found.add(f"{name}.{field_name}")
    return found


@dataclass
class Listing:
    """How to read one list: the document (``$`` variables for the window and its own),
    the variables, and the path from ``data`` to the connection."""

    document: str
    variables: dict[str, Any]
    path: tuple[str, ...]


async def _customers(gql: Any, make_customer: Any) -> Listing:
    tag = unique("Paging")
    for i in range(ITEMS):
        await make_customer(name=f"{tag} {i % 2}")  # shared names: the id breaks the tie
    return Listing(f"query({VARS}, $tag: String) {{ customers({ARGS}, "
                   f"filter: {{nameContains: $tag}}) {{ {PAGE} }} }}", {"tag": tag},
                   ("customers",))


async def _ledger(gql: Any, make_customer: Any) -> Listing:
    customer_id = await make_customer(limit="1000.00")
    for _ in range(ITEMS):
        await gql("""mutation($id: ID!) { postLedgerEntry(input: {customerId: $id,
            kind: CHARGE, amount: {amount: "1.00", currency: "USD"}}) { __typename } }""",
                  {"id": customer_id})
    return Listing(f"query({VARS}, $id: ID!) {{ customer(id: $id) {{ ledger({ARGS}) "
                   f"{{ {PAGE} }} }} }}", {"id": customer_id}, ("customer", "ledger"))


async def _audit_log(gql: Any, make_customer: Any) -> Listing:
    actor = unique("paging-actor")
    token = gql.token("admin", subject=actor)
    for _ in range(ITEMS):
        await gql("""mutation($input: CreateSiteInput!) { createSite(input: $input) { id } }""",
                  {"input": {"code": unique("PG"), "name": "Yard"}}, token=token)
    return Listing(f"query({VARS}, $actor: String) {{ auditLog({ARGS}, "
                   f"filter: {{actorId: $actor}}) {{ {PAGE} }} }}", {"actor": actor},
                   ("auditLog",))


async def _api_clients(gql: Any, make_customer: Any) -> Listing:
    for _ in range(ITEMS):
        await gql("""mutation($n: String!) { createApiClient(input: {name: $n,
            roles: [VIEWER]}) { clientSecret } }""", {"n": unique("paging")})
    return Listing(f"query({VARS}) {{ apiClients({ARGS}) {{ {PAGE} }} }}", {},
                   ("apiClients",))


async def _trusted_issuers(gql: Any, make_customer: Any) -> Listing:
    for _ in range(ITEMS):
        await gql("""mutation($i: String!) { createTrustedIssuer(input: {issuer: $i,
            audience: "ccm", roleMap: [{claimValue: "v", role: VIEWER}]}) { id } }""",
                  {"i": f"https://{unique('paging')}.example"})
    return Listing(f"query({VARS}) {{ trustedIssuers({ARGS}) {{ {PAGE} }} }}", {},
                   ("trustedIssuers",))


async def _integration(gql: Any) -> str:
    created = await gql("""mutation($s: String!) { createIntegration(input: {slug: $s,
        name: "Paging", kind: ERP, profile: "stripe", segments: ["*"]}) {
        integration { id } } }""", {"s": unique("paging")})
    return created.data["createIntegration"]["integration"]["id"]


async def _integrations(gql: Any, make_customer: Any) -> Listing:
    for _ in range(ITEMS):
        await _integration(gql)
    return Listing(f"query({VARS}) {{ integrations({ARGS}) {{ {PAGE} }} }}", {},
                   ("integrations",))


async def _inbound_events(gql: Any, make_customer: Any) -> Listing:
    integration_id = await _integration(gql)
    at = datetime.now(UTC).replace(microsecond=0)
    for i in range(ITEMS):
        # Pairs share a received_at: the id breaks the tie.
        await InboundEvent.create(
            id=uuid.uuid4(), integration_id=integration_id, external_id=unique("evt"),
            status=InboundStatus.DEAD, content_type="application/json", payload=b"{}",
            received_at=at - timedelta(seconds=i // 2))
    return Listing(f"query({VARS}, $i: ID) {{ inboundEvents({ARGS}, "
                   f"filter: {{integrationId: $i}}) {{ {PAGE} }} }}", {"i": integration_id},
                   ("inboundEvents",))


async def _alerts(gql: Any, make_customer: Any) -> Listing:
    integration_id = await _integration(gql)
    for i in range(ITEMS):
        await alert_service.raise_alert("paging.test", AlertSeverity.INFO, f"alert {i}",
                                        integration_id=integration_id)
    return Listing(f"query({VARS}, $i: ID) {{ alerts({ARGS}, integrationId: $i) "
                   f"{{ {PAGE} }} }}", {"i": integration_id}, ("alerts",))


async def _fx_rates(gql: Any, make_customer: Any) -> Listing:
    start = datetime(2002, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 3000)
    for i in range(ITEMS):
        await gql("""mutation($at: DateTime!, $r: String!) { setFxRate(input: {base: "NZD",
            quote: "ISK", rate: $r, effectiveAt: $at}) { id } }""",
                  {"at": (start + timedelta(hours=i)).isoformat(), "r": f"8{i}.5"})
    return Listing(f"query({VARS}) {{ fxRates({ARGS}, base: \"NZD\", quote: \"ISK\") "
                   f"{{ {PAGE} }} }}", {}, ("fxRates",))


async def _outbound_endpoint_integration(gql: Any) -> str:
    # A segment of its own: the dispatcher sends its endpoints nothing meanwhile.
    created = await gql("""mutation($s: String!, $g: String!) { createIntegration(input: {
        slug: $s, name: "Paging", kind: ERP, profile: "stripe", segments: [$g]}) {
        integration { id } } }""", {"s": unique("paging"), "g": unique("seg")})
    return created.data["createIntegration"]["integration"]["id"]


async def _outbound_endpoint(gql: Any, integration_id: str) -> str:
    created = await gql("""mutation($i: ID!) { createOutboundEndpoint(input: {
        integrationId: $i, url: "http://127.0.0.1:9/paging", eventTypes: ["alert.raised"]}) {
        endpoint { id } } }""", {"i": integration_id})
    return created.data["createOutboundEndpoint"]["endpoint"]["id"]


async def _outbound_endpoints(gql: Any, make_customer: Any) -> Listing:
    integration_id = await _outbound_endpoint_integration(gql)
    for _ in range(ITEMS):
        await _outbound_endpoint(gql, integration_id)
    return Listing(f"query({VARS}, $i: ID) {{ outboundEndpoints({ARGS}, integrationId: $i) "
                   f"{{ {PAGE} }} }}", {"i": integration_id}, ("outboundEndpoints",))


async def _outbound_deliveries(gql: Any, make_customer: Any) -> Listing:
    endpoint_id = await _outbound_endpoint(gql, await _outbound_endpoint_integration(gql))
    at = datetime.now(UTC).replace(microsecond=0)
    for i in range(ITEMS):
        delivery = await OutboundDelivery.create(
            id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=unique("msg"),
            event_type="alert.raised", payload={}, status=DeliveryStatus.SUCCEEDED,
            changed_at=at)
        # Pairs share a created_at: the id breaks the tie.
        await OutboundDelivery.filter(id=delivery.id).update(
            created_at=at - timedelta(seconds=i // 2))
    return Listing(f"query({VARS}, $e: ID) {{ outboundDeliveries({ARGS}, "
                   f"filter: {{endpointId: $e}}) {{ {PAGE} }} }}", {"e": endpoint_id},
                   ("outboundDeliveries",))


async def _limit_change_requests(gql: Any, make_customer: Any) -> Listing:
    customer_id = await make_customer(limit="1000.00")
    for i in range(ITEMS):
        made = await gql("""mutation($id: ID!, $a: String!) { requestCreditLimitChange(input: {
            customerId: $id, limit: {amount: $a, currency: "USD"}}) { id } }""",
                         {"id": customer_id, "a": f"{1001 + i}.00"})
        await gql("""mutation($r: ID!) { cancelCreditLimitChange(input: {requestId: $r}) {
            id } }""", {"r": made.data["requestCreditLimitChange"]["id"]})
    return Listing(f"query({VARS}, $c: ID) {{ creditLimitChangeRequests({ARGS}, "
                   f"filter: {{customerId: $c}}) {{ {PAGE} }} }}", {"c": customer_id},
                   ("creditLimitChangeRequests",))


async def _alert_rules(gql: Any, make_customer: Any) -> Listing:
    segment = unique("paging")
    for i in range(ITEMS):
        await gql("""mutation($s: String!, $t: Float!) { createAlertRule(input: {
            segment: $s, thresholdPercent: $t}) { id } }""", {"s": segment, "t": 10 + i})
    return Listing(f"query({VARS}, $s: String) {{ alertRules({ARGS}, filter: {{segment: $s}}) "
                   f"{{ {PAGE} }} }}", {"s": segment}, ("alertRules",))


async def _velocity_rules(gql: Any, make_customer: Any) -> Listing:
    segment = unique("paging")
    for i in range(ITEMS):
        await gql("""mutation($s: String!, $w: Int!) { createVelocityRule(input: {
            segment: $s, metric: AUTHORIZATIONS, windowSeconds: $w, count: 5,
            action: ALERT}) { id } }""", {"s": segment, "w": 60 * (i + 1)})
    return Listing(f"query({VARS}, $s: String) {{ velocityRules({ARGS}, "
                   f"filter: {{segment: $s}}) {{ {PAGE} }} }}", {"s": segment},
                   ("velocityRules",))


async def _invoice_rows(customer_id: str) -> list[Invoice]:
    """ITEMS invoices of the customer, written directly; pairs share an issued_at: the id
    breaks the tie."""
    account = await CreditAccount.get(customer_id=customer_id)
    at = datetime.now(UTC).replace(microsecond=0)
    issuer = unique("PG")[:20]
    made = []
    for i in range(ITEMS):
        issued = at - timedelta(seconds=i // 2)
        made.append(await Invoice.create(
            id=uuid.uuid4(), number=f"{issuer}-{at.year}-{i + 1:06d}", issuer=issuer,
            year=at.year, sequence=i + 1, customer_id=customer_id, account_id=account.id,
            currency="USD", total_minor=100, period_end=issued, net_days=30,
            issued_at=issued, due_at=issued + timedelta(days=30)))
    return made


async def _invoices(gql: Any, make_customer: Any) -> Listing:
    customer_id = await make_customer(limit="1000.00")
    await _invoice_rows(customer_id)
    return Listing(f"query({VARS}, $c: ID) {{ invoices({ARGS}, filter: {{customerId: $c}}) "
                   f"{{ {PAGE} }} }}", {"c": customer_id}, ("invoices",))


async def _collections(gql: Any, make_customer: Any) -> Listing:
    customer_id = await make_customer(limit="1000.00")
    at = datetime.now(UTC).replace(microsecond=0)
    for i, invoice in enumerate(await _invoice_rows(customer_id)):
        collection = await Collection.create(
            id=uuid.uuid4(), invoice_id=invoice.id, customer_id=customer_id,
            amount_minor=100, currency="USD", trigger="api", reference=unique("col"),
            route=[], status=CollectionStatus.FAILED)
        # Pairs share a created_at: the id breaks the tie.
        await Collection.filter(id=collection.id).update(
            created_at=at - timedelta(seconds=i // 2))
    return Listing(f"query({VARS}, $c: ID) {{ collections({ARGS}, "
                   f"filter: {{customerId: $c}}) {{ {PAGE} }} }}", {"c": customer_id},
                   ("collections",))


async def _reconciliation_run_rows(integration_id: str) -> list[ReconciliationRun]:
    at = datetime.now(UTC).replace(microsecond=0)
    # Pairs share a started_at: the id breaks the tie.
    return [await ReconciliationRun.create(
        id=uuid.uuid4(), integration_id=integration_id, source=ReconciliationSource.WEBHOOK,
        started_at=at - timedelta(seconds=i // 2), finished_at=at, tolerance_ppm=100,
        actor="paging") for i in range(ITEMS)]


async def _reconciliation_runs(gql: Any, make_customer: Any) -> Listing:
    integration_id = await _integration(gql)
    await _reconciliation_run_rows(integration_id)
    return Listing(f"query({VARS}, $i: ID) {{ reconciliationRuns({ARGS}, "
                   f"filter: {{integrationId: $i}}) {{ {PAGE} }} }}", {"i": integration_id},
                   ("reconciliationRuns",))


async def _reconciliation_breaks(gql: Any, make_customer: Any) -> Listing:
    integration_id = await _integration(gql)
    at = datetime.now(UTC).replace(microsecond=0)
    for i, run in enumerate(await _reconciliation_run_rows(integration_id)):
        found = await ReconciliationBreak.create(
            id=uuid.uuid4(), run_id=run.id, last_run_id=run.id, integration_id=integration_id,
            customer_id=await make_customer(), currency="USD", external_balance_minor=200,
            ledger_balance_minor=100, difference_minor=100, as_of=at)
        # Pairs share a created_at: the id breaks the tie.
        await ReconciliationBreak.filter(id=found.id).update(
            created_at=at - timedelta(seconds=i // 2))
    return Listing(f"query({VARS}, $i: ID) {{ reconciliationBreaks({ARGS}, "
                   f"filter: {{integrationId: $i}}) {{ {PAGE} }} }}", {"i": integration_id},
                   ("reconciliationBreaks",))


CASES: dict[str, Callable[[Any, Any], Awaitable[Listing]]] = {
    "Query.creditLimitChangeRequests": _limit_change_requests,
    "Query.alertRules": _alert_rules,
    "Query.velocityRules": _velocity_rules,
    "Query.customers": _customers,
    "Customer.ledger": _ledger,
    "Query.auditLog": _audit_log,
    "Query.apiClients": _api_clients,
    "Query.trustedIssuers": _trusted_issuers,
    "Query.integrations": _integrations,
    "Query.inboundEvents": _inbound_events,
    "Query.alerts": _alerts,
    "Query.fxRates": _fx_rates,
    "Query.outboundEndpoints": _outbound_endpoints,
    "Query.outboundDeliveries": _outbound_deliveries,
    "Query.invoices": _invoices,
    "Query.collections": _collections,
    "Query.reconciliationRuns": _reconciliation_runs,
    "Query.reconciliationBreaks": _reconciliation_breaks,
}


def test_every_connection_has_a_paging_case():
    assert connection_fields() == set(CASES)


async def read(gql: Any, listing: Listing, **window: Any) -> dict[str, Any]:
    variables = {"first": None, "after": None, "last": None, "before": None} | window
    data = (await gql(listing.document, listing.variables | variables)).data
    for key in listing.path:
        data = data[key]
    return data


def ids(connection: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in connection["edges"]]


def check_cursors(connection: dict[str, Any]) -> None:
    cursors = [e["cursor"] for e in connection["edges"]]
    info = connection["pageInfo"]
    assert (info["startCursor"], info["endCursor"]) == (
        (cursors[0], cursors[-1]) if cursors else (None, None))


async def forward(gql: Any, listing: Listing, size: int) -> tuple[list[str], list[str]]:
    """Every item's id and cursor, page by page from the start."""
    seen, cursors, after = [], [], None
    while True:
        page = await read(gql, listing, first=size, after=after)
        check_cursors(page)
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen += ids(page)
        cursors += [e["cursor"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, cursors
        after = page["pageInfo"]["endCursor"]


async def backward(gql: Any, listing: Listing, size: int) -> list[str]:
    """Every item's id, page by page from the end."""
    seen, before = [], None
    while True:
        page = await read(gql, listing, last=size, before=before)
        check_cursors(page)
        assert len(page["edges"]) <= size
        assert page["pageInfo"]["hasNextPage"] is (before is not None)
        seen = ids(page) + seen
        if not page["pageInfo"]["hasPreviousPage"]:
            return seen
        before = page["pageInfo"]["startCursor"]


@pytest.mark.parametrize("field_name", sorted(CASES))
async def test_a_list_read_backward_is_the_list_read_forward(gql, make_customer, field_name):
    listing = await CASES[field_name](gql, make_customer)
    everything, _ = await forward(gql, listing, 100)
    assert len(everything) >= ITEMS
    # Three or four pages; more when the suite's shared database holds over 300 items.
    size = min(100, max(2, -(-len(everything) // 3)))
    forth, cursors = await forward(gql, listing, size)
    assert forth == everything
    assert await backward(gql, listing, size) == everything
    # Between two cursors: exactly the items between them, from either end.
    inside = everything[1:4]
    assert ids(await read(gql, listing, first=100, after=cursors[0], before=cursors[4])) \
        == inside
    tail = await read(gql, listing, last=2, after=cursors[0], before=cursors[4])
    assert ids(tail) == inside[-2:]
    assert tail["pageInfo"]["hasPreviousPage"] and tail["pageInfo"]["hasNextPage"]
    head = await read(gql, listing, first=2, after=cursors[0], before=cursors[4])
    assert ids(head) == inside[:2]
    assert head["pageInfo"]["hasPreviousPage"] and head["pageInfo"]["hasNextPage"]


CUSTOMERS = f"query({VARS}) {{ customers({ARGS}) {{ {PAGE} }} }}"


@pytest.mark.parametrize(("window", "message"), [
    ({"first": 2, "last": 2}, "give first or last, not both"),
    ({"last": 0}, "last must be between 1 and 100"),
    ({"last": 101}, "last must be between 1 and 100"),
    ({"last": -1}, "last must be between 1 and 100"),
])
async def test_a_bad_last_is_refused_naming_it(gql, window, message):
    result = await gql(CUSTOMERS, {"first": None, "after": None, "last": None,
                                   "before": None} | window)
    [error] = result.errors
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "last"
    assert error["message"] == message


# --- the environment's issuers come first, then the API's ----------------------------------

ENVIRONMENT = tuple(TrustedIssuer(issuer=f"https://env-{i}.paging.example", audience="ccm",
                                  role_map={"v": "viewer"}) for i in range(3))


async def _issuer_pages(window_of: Callable[[str | None], Window]) -> list[tuple[str, bool]]:
    """Every issuer (issuer, from the environment) read page by page with ``window_of``."""
    seen: list[tuple[str, bool]] = []
    cursor: str | None = None
    while True:
        window = window_of(cursor)
        page = await trusted_issuers.page_issuers(ENVIRONMENT, window, 100)
        found = [(e.config.issuer, e.source == trusted_issuers.ENVIRONMENT) for e in page.items]
        if window.backward:
            seen = found + seen
            if not page.has_previous:
                return seen
            cursor = page.start_cursor
        else:
            seen += found
            if not page.has_next:
                return seen
            cursor = page.end_cursor


async def test_issuers_of_the_environment_and_the_api_page_both_ways():
    async with in_transaction():
        for _ in range(3):
            await trusted_issuers.create_issuer(
                Actor(type="user", id="paging"), ENVIRONMENT,
                issuer=f"https://{unique('api')}.paging.example", audience="ccm",
                role_map={"v": "viewer"})
    whole = await trusted_issuers.page_issuers(ENVIRONMENT, Window(first=100), 100)
    expected = [(e.config.issuer, e.source == trusted_issuers.ENVIRONMENT) for e in whole.items]
    assert expected[:3] == [(c.issuer, True) for c in ENVIRONMENT]
    assert len(expected) >= 6 and not any(env for _, env in expected[3:])
    for size in (1, 2, 4):
        assert await _issuer_pages(lambda c, n=size: Window(first=n, after=c)) == expected
        assert await _issuer_pages(lambda c, n=size: Window(last=n, before=c)) == expected
    # A window from the second environment issuer to the second API one.
    bounded = await trusted_issuers.page_issuers(
        ENVIRONMENT, Window(last=100, after=whole.cursors[1], before=whole.cursors[4]), 100)
    assert [e.config.issuer for e in bounded.items] == [i for i, _ in expected[2:4]]
    assert bounded.has_next and not bounded.has_previous
