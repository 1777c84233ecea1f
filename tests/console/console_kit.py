"""Helpers of the ops console's browser tests (tests/console/conftest.py makes fixtures of
them): a served gateway's GraphQL, the seed data, the development sign-in, screenshots and
charts' data. A module of its own, since ``from conftest import`` is ambiguous."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from testkit import eventually

from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import Settings

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("CCM_TEST_ARTIFACTS") or ROOT / "test-artifacts" / "console")
# The viewports the console must work at: a laptop, and a tablet held upright.
DESKTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}
ROLES = ("admin", "finance", "credit_manager", "it_admin", "auditor", "viewer")


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class GraphQLRefused(AssertionError):
    """A seeding call the gateway refused: its errors, so the failure says why."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e.get('message')} ({e.get('extensions', {}).get('code')})"
                                   for e in errors))
        self.errors = errors


@dataclass
class Gateway:
    """A served gateway: its base URL, and tokens and GraphQL calls against it."""

    base: str
    settings: Settings
    http: httpx.AsyncClient
    tokens: TokenService = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = TokenService(self.settings)

    def token(self, *roles: str, subject: str = "seeder", partner: str | None = None) -> str:
        return self.tokens.issue(subject, list(roles or ("admin",)), partner_id=partner)

    async def post(self, query: str, variables: dict[str, Any] | None = None, *,
                   token: str | None = None) -> dict[str, Any]:
        """The whole GraphQL response body, errors included."""
        response = await self.http.post("/graphql", json={
            "query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token or self.token('admin')}"})
        body: dict[str, Any] = response.json()
        return body

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *,
                  token: str | None = None) -> dict[str, Any]:
        """The data of a call that must succeed."""
        body = await self.post(query, variables, token=token)
        if body.get("errors"):
            raise GraphQLRefused(body["errors"])
        data: dict[str, Any] = body["data"]
        return data


@dataclass
class SeededCustomer:
    id: str
    name: str
    segment: str
    risk: str
    currency: str
    limit: int  # major units, as seeded
    charged: int
    held: int
    invoiced: bool
    status: str = "ACTIVE"

    @property
    def exposure(self) -> int:
        return self.charged + self.held


@dataclass
class Seed:
    """What the seeding wrote, for tests to compare the pages with."""

    sites: dict[str, str]
    customers: dict[str, SeededCustomer]
    integration: str
    pending: dict[str, str]  # customer name -> id of its pending limit change request
    alerts: int

    def customer(self, name: str) -> SeededCustomer:
        return self.customers[name]


# name, segment, risk profile, currency, limit, charged, held, invoiced, status
SEED_CUSTOMERS: tuple[tuple[str, str, str, str, int, int, int, bool, str], ...] = (
    ("Acme Haulage", "logistics", "LOW", "USD", 10000, 8500, 0, True, "ACTIVE"),
    ("Birch Freight", "logistics", "MEDIUM", "USD", 20000, 5000, 1000, True, "ACTIVE"),
    ("Cobalt Storage", "storage", "HIGH", "USD", 5000, 4600, 0, False, "ACTIVE"),
    ("Delta Depots", "storage", "MEDIUM", "EUR", 15000, 3000, 0, True, "ACTIVE"),
    ("Elm Retail", "retail", "LOW", "EUR", 8000, 0, 0, False, "ON_HOLD"),
    ("Fjord Yards", "retail", "HIGH", "GBP", 12000, 6000, 0, False, "ACTIVE"),
    ("Granite Works", "retail", "MEDIUM", "USD", 3000, 0, 0, False, "BLOCKED"),
)
# Pending limit changes of the seed: small increases (within the first approval band, so one
# approval applies them), requested by a credit manager who is not the approver.
SEED_REQUESTS = {"Birch Freight": "21000.00", "Delta Depots": "16000.00"}
REQUESTER = "limit-maker"

_SITE = "mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }"
_CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
_ENTRY = """mutation($i: PostLedgerEntryInput!) { postLedgerEntry(input: $i) {
  __typename ... on CreditDeclined { message } } }"""
_HOLD = """mutation($i: AuthorizeCreditInput!) { authorizeCredit(input: $i) {
  __typename ... on CreditDeclined { message } } }"""
_INVOICE = "mutation($i: IssueInvoiceInput!) { issueInvoice(input: $i) { id } }"
_REQUEST = """mutation($i: RequestCreditLimitChangeInput!) {
  requestCreditLimitChange(input: $i) { id status } }"""
_INTEGRATION = """mutation($i: CreateIntegrationInput!) {
  createIntegration(input: $i) { integration { id } } }"""


async def seed_gateway(gw: Gateway) -> Seed:
    """Sites, customers in several segments, risk profiles, statuses and currencies, with
    charges, a hold, invoices, the utilisation alerts those raise, an integration and pending
    limit change requests: all through GraphQL, as a front end would write them."""
    sites = {}
    for code, name in (("NORTH", "North Yard"), ("SOUTH", "South Yard")):
        sites[code] = (await gw.gql(_SITE, {"i": {"code": code, "name": name}}))["createSite"]["id"]
    customers = {}
    for name, segment, risk, currency, limit, charged, held, invoiced, status in SEED_CUSTOMERS:
        made = await gw.gql(_CUSTOMER, {"i": {
            "name": name, "segment": segment, "riskProfile": risk, "currency": currency,
            "status": status, "creditLimit": {"amount": f"{limit}.00", "currency": currency},
            "netDays": 30}})
        cid = made["createCustomer"]["id"]
        customers[name] = SeededCustomer(cid, name, segment, risk, currency, limit, charged,
                                         held, invoiced, status)
        if charged:
            entry = await gw.gql(_ENTRY, {"i": {
                "customerId": cid, "kind": "CHARGE", "siteId": sites["NORTH"],
                "amount": {"amount": f"{charged}.00", "currency": currency},
                "description": f"Yard services for {name}",
                "idempotencyKey": f"seed-charge-{cid}"}})
            assert entry["postLedgerEntry"]["__typename"] == "LedgerEntry", entry
        if held:
            hold = await gw.gql(_HOLD, {"i": {
                "customerId": cid, "amount": {"amount": f"{held}.00", "currency": currency},
                "siteId": sites["SOUTH"], "reference": "gate-entry-1",
                "expiresInSeconds": 86400, "idempotencyKey": f"seed-hold-{cid}"}})
            assert hold["authorizeCredit"]["__typename"] == "Hold", hold
        if invoiced:
            await gw.gql(_INVOICE, {"i": {"customerId": cid,
                                         "upTo": datetime.now(UTC).isoformat()}})
    integration = (await gw.gql(_INTEGRATION, {"i": {
        "slug": "yard-psp", "name": "Yard payments", "kind": "PAYMENT_PROCESSOR",
        "profile": "generic-psp", "segments": ["logistics", "storage", "retail"]}}))
    pending = {}
    requester = gw.token("credit_manager", subject=REQUESTER)
    for name, amount in SEED_REQUESTS.items():
        c = customers[name]
        made = await gw.gql(_REQUEST, {"i": {
            "customerId": c.id, "limit": {"amount": amount, "currency": c.currency},
            "reason": "Seasonal volume"}}, token=requester)
        assert made["requestCreditLimitChange"]["status"] == "PENDING", made
        pending[name] = made["requestCreditLimitChange"]["id"]
    # Acme (85 %) and Cobalt (92 %) crossed the default 80 % threshold.
    expected_alerts = sum(1 for c in customers.values() if c.exposure * 10 >= c.limit * 8)

    async def alerts_raised() -> bool:
        data = await gw.gql("{ alerts(first: 50) { edges { node { kind } } } }")
        kinds = [e["node"]["kind"] for e in data["alerts"]["edges"]]
        return sum(k.startswith("credit.") for k in kinds) >= expected_alerts

    await eventually(alerts_raised, timeout=30)
    return Seed(sites, customers, integration["createIntegration"]["integration"]["id"], pending,
                expected_alerts)


@dataclass
class Watched:
    """What a page asked for beyond the gateway, and the script errors it raised."""

    off_origin: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


async def signed_in(page: Any, roles: Iterable[str], *, subject: str | None = None,
                    partner: str | None = None) -> Any:
    """Open /console and sign in with the development sign-in form as ``subject`` with
    ``roles``; returns the page, on the overview (or the first page the roles may read)."""
    roles = list(roles)
    await page.goto("/console")
    form = page.get_by_test_id("dev-sign-in")
    await form.wait_for()
    await page.get_by_test_id("dev-subject").fill(subject or f"{'-'.join(roles)}-user")
    for role in ROLES:
        await page.get_by_test_id(f"check-roles-{role}").set_checked(role in roles)
    if partner:
        await page.get_by_test_id("dev-partner").fill(partner)
    await page.get_by_role("button", name="Sign in with a development token").click()
    await page.get_by_test_id("who").wait_for()
    return page


def artifact_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-")


async def screenshot(page: Any, name: str) -> Path:
    """Saves a full-page PNG of ``page`` as ``<CCM_TEST_ARTIFACTS>/<name>.png``."""
    # Playwright creates the directory.
    path = ARTIFACTS / f"{artifact_name(name)}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def charts_ready(page: Any, *testids: str, timeout: float = 20_000) -> None:
    """Waits until each chart container named by ``testids`` says it is drawn."""
    for testid in testids:
        await page.locator(f'[data-testid="{testid}"][data-chart-ready="true"]').wait_for(
            timeout=timeout)


async def chart_data(page: Any, testid: str) -> dict[str, Any]:
    """The labels and datasets a drawn chart shows (Chart.js's own data of its canvas)."""
    data: dict[str, Any] = await page.evaluate(
        """(testid) => {
          const box = document.querySelector(`[data-testid="${testid}"]`);
          const chart = Chart.getChart(box.querySelector('canvas'));
          return { labels: chart.data.labels,
                   datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })) };
        }""", testid)
    return data
