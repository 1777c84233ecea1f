"""Pulling a vendor's balances into balance reports (a profile's ``pull`` section): the
section's validation, and pulls from a vendor API served on loopback (pages, auth schemes,
skipped balances, answers that write nothing, and what prod refuses)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ccm_gateway.config import Settings
from ccm_gateway.integration.models import BalanceReport, Integration
from ccm_gateway.integration.profiles.loading import ProfileError, load_profile, shipped_profiles
from ccm_gateway.integration.profiles.model import PullSpec
from ccm_gateway.sync import pull
from ccm_gateway.sync.tasks import run_scheduled
from ccm_gateway.worker import open_queue

UPLOAD_PROFILE = """
mutation($input: UploadProtocolProfileInput!) { uploadProtocolProfile(input: $input) { name } }"""
CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { secret integration { id refSystem } }
}"""
LINK_REF = """
mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }"""


# --- the vendor: a small API on loopback ----------------------------------------------


@dataclass
class Vendor:
    """Serves what a test registers, by path and query; checks the credential it is given."""

    base: str = ""
    pages: dict[str, tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # header name -> the value it must carry; None: anything goes
    credential: tuple[str, str] | None = None
    slow_seconds: float = 0.0

    def serve(self, target: str, document: Any, status: int = 200,
              headers: dict[str, str] | None = None) -> None:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        self.pages[target] = (status, body, headers or {})

    def url(self, target: str) -> str:
        return self.base + target

    def asked(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    async def handle(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.requests.append({"method": request.method, "path": request.url.path,
                              "query": request.url.query, "headers": dict(request.headers),
                              "body": await request.body()})
        if self.slow_seconds:
            await asyncio.sleep(self.slow_seconds)
        if self.credential is not None:
            name, value = self.credential
            if request.headers.get(name) != value:
                return Response(b'{"error": "unauthorized"}', status_code=401)
        status, body, headers = self.pages.get(target, (404, b'{"error": "not found"}', {}))
        return Response(body, status_code=status, media_type="application/json",
                        headers=headers)


@pytest.fixture(scope="module")
async def vendor_server() -> AsyncIterator[Vendor]:
    vendor = Vendor()
    app = Starlette(routes=[Route("/{path:path}", vendor.handle, methods=["GET", "POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    vendor.base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None,
                                           access_log=False))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), "uvicorn stopped before it started"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        await asyncio.sleep(0.02)
    yield vendor
    server.should_exit = True
    await task
    sock.close()


@pytest.fixture
def vendor(vendor_server: Vendor) -> Vendor:
    vendor_server.pages.clear()
    vendor_server.requests.clear()
    vendor_server.credential = None
    vendor_server.slow_seconds = 0.0
    return vendor_server


# --- profiles with a pull section -------------------------------------------------------

BASE = """\
name: {name}
description: test ERP with a balance pull
body: json
signature:
  scheme: standard-webhooks
event:
  id: id
  type: type
events:
  balance:
    canonical: balance.reported
    fields:
      customer: ref
      amount: {{path: amount, format: minor}}
      currency: currency
"""
PULL = """\
pull:
  url: {url}
  auth: {auth}
  balances: data
  next: links.next
  timeout_seconds: 2
  fields:
    customer: account_number
    amount: {{path: balance.amount, format: decimal}}
    currency: {{path: balance.currency, upper: true}}
    as_of: {{path: as_of, format: iso8601}}
"""
BEARER = "{scheme: bearer, credential: integration_secret}"


def profile_text(url: str, *, auth: str = BEARER, extra: str = "",
                 name: str | None = None) -> str:
    name = name or f"erp-{uuid.uuid4().hex[:10]}"
    return BASE.format(name=name) + PULL.format(url=url, auth=auth) + extra


def spec_of(text: str) -> PullSpec:
    spec = load_profile(text, "test").pull
    assert spec is not None
    return spec


@dataclass
class Erp:
    integration: Integration
    secret: str
    segment: str
    customers: dict[str, str]  # external ref -> customer id


@pytest.fixture
def erp(gql: Any, make_customer: Any) -> Any:
    """An integration on an uploaded profile pulling from ``url``, allowed one segment,
    with customers linked by ref: two in its segment (ERP-1, ERP-2), one outside (ERP-9)."""
    async def make(url: str, *, auth: str = BEARER, extra: str = "") -> Erp:
        text = profile_text(url, auth=auth, extra=extra)
        name = (await gql(UPLOAD_PROFILE, {"input": {"source": text}})).data[
            "uploadProtocolProfile"]["name"]
        segment = f"seg-{uuid.uuid4().hex[:10]}"
        created = (await gql(CREATE_INTEGRATION, {"input": {
            "slug": f"erp-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
            "profile": name, "segments": [segment]}})).data["createIntegration"]
        integration = await Integration.get(id=created["integration"]["id"])
        customers = {}
        for ref, seg in (("ERP-1", segment), ("ERP-2", segment), ("ERP-9", "elsewhere")):
            customer_id = await make_customer(segment=seg)
            await gql(LINK_REF, {"input": {"customerId": customer_id,
                                           "system": integration.ref_system,
                                           "externalId": ref}})
            customers[ref] = customer_id
        return Erp(integration, created["secret"], segment, customers)

    return make


def balance(ref: str, amount: Any, currency: str = "eur", as_of: str | None = None) -> dict:
    item: dict[str, Any] = {"account_number": ref,
                            "balance": {"amount": amount, "currency": currency}}
    if as_of is not None:
        item["as_of"] = as_of
    return item


async def reports(integration: Integration) -> list[BalanceReport]:
    return await BalanceReport.filter(integration_id=integration.id).order_by("id")


def auth_header(spec: PullSpec, secret: str) -> tuple[str, str]:
    ((name, value),) = pull.auth_headers(spec, secret).items()
    return name.lower(), value


# --- pulling ------------------------------------------------------------------------------


async def test_pull_writes_every_page_of_balances_as_pull_reports(erp, vendor):
    source = await erp(vendor.url("/v1/balances"))
    vendor.credential = ("authorization", f"Bearer {source.secret}")
    vendor.serve("/v1/balances", {
        "data": [balance("ERP-1", "1520.25", as_of="2026-11-23T23:59:59+01:00"),
                 balance("ERP-404", "10.00")],
        "links": {"next": "/v1/balances?page=2"}})
    vendor.serve("/v1/balances?page=2", {
        "data": [balance("ERP-2", -45.1), balance("ERP-9", "99.00")], "links": {"next": None}})
    fetched = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    spec = spec_of(profile_text(vendor.url("/v1/balances")))

    outcome = await pull.pull_balances(source.integration, spec, source.secret, prod=False,
                                       now=fetched)

    assert outcome == pull.PullOutcome(pages=2, reported=4, written=2, unknown_refs=1,
                                       outside_segments=1)
    rows = await reports(source.integration)
    assert [(str(r.customer_id), r.balance_minor, r.currency, r.reported_at, r.source,
             r.inbound_event_id) for r in rows] == [
        (source.customers["ERP-1"], 152025, "EUR", datetime(2026, 11, 23, 22, 59, 59,
                                                            tzinfo=UTC), "pull", None),
        # No as_of: the balance stood when its page was fetched.
        (source.customers["ERP-2"], -4510, "EUR", fetched, "pull", None),
    ]
    assert [(r["method"], r["query"]) for r in vendor.asked("/v1/balances")] == [
        ("GET", ""), ("GET", "page=2")]
    assert all(r["headers"]["accept"] == "application/json" for r in vendor.requests)


async def test_the_shipped_erp_profile_reads_its_vendors_pages(erp, vendor):
    shipped = shipped_profiles()["generic-erp"].pull
    assert shipped is not None
    assert shipped.url.startswith("https://erp.example/")  # never resolves: a placeholder
    assert shipped.auth.scheme == "bearer"
    source = await erp(vendor.url("/api/v1/customer-balances"))
    vendor.credential = ("authorization", f"Bearer {source.secret}")
    vendor.serve("/api/v1/customer-balances?page_size=500", {
        "data": [balance("ERP-1", "1520.25", "eur", "2026-11-23T23:00:00Z")],
        "links": {"next": "/api/v1/customer-balances?page_size=500&page=2"}})
    vendor.serve("/api/v1/customer-balances?page_size=500&page=2", {
        "data": [balance("ERP-2", "0", "EUR", "2026-11-23T23:00:00Z")], "links": {}})
    spec = replace(shipped, url=vendor.url("/api/v1/customer-balances?page_size=500"))

    outcome = await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert (outcome.pages, outcome.written) == (2, 2)
    assert [(r.balance_minor, r.currency) for r in await reports(source.integration)] == [
        (152025, "EUR"), (0, "EUR")]


@pytest.mark.parametrize(("auth", "expected"), [
    ("{scheme: basic, credential: integration_secret, username: ccm-gateway}",
     lambda secret: ("authorization",
                     "Basic " + base64.b64encode(f"ccm-gateway:{secret}".encode()).decode())),
    ("{scheme: header, credential: integration_secret, header: X-Api-Key}",
     lambda secret: ("x-api-key", secret)),
    ("{scheme: bearer, credential: integration_secret}",
     lambda secret: ("authorization", f"Bearer {secret}")),
], ids=["basic", "header", "bearer"])
async def test_pull_presents_the_integration_secret_as_its_auth_scheme_says(
        erp, vendor, auth, expected):
    source = await erp(vendor.url("/v1/auth"), auth=auth)
    vendor.credential = expected(source.secret)
    vendor.serve("/v1/auth", {"data": [balance("ERP-1", "1.00")]})
    spec = spec_of(profile_text(vendor.url("/v1/auth"), auth=auth))

    outcome = await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert outcome.written == 1
    assert auth_header(spec, source.secret) == expected(source.secret)


async def test_pull_without_auth_sends_no_credential(erp, vendor):
    source = await erp(vendor.url("/v1/open"), auth="{scheme: none}")
    vendor.serve("/v1/open", {"data": [balance("ERP-1", "1.00")]})
    spec = spec_of(profile_text(vendor.url("/v1/open"), auth="{scheme: none}"))

    await pull.pull_balances(source.integration, spec, None, prod=False)

    (asked,) = vendor.asked("/v1/open")
    assert "authorization" not in asked["headers"]
    assert source.secret not in json.dumps(asked["headers"])


async def test_a_refused_credential_writes_nothing(erp, vendor):
    source = await erp(vendor.url("/v1/balances"))
    vendor.credential = ("authorization", "Bearer something-else")
    vendor.serve("/v1/balances", {"data": [balance("ERP-1", "1.00")]})
    spec = spec_of(profile_text(vendor.url("/v1/balances")))

    with pytest.raises(pull.PullFailed) as failed:
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert str(failed.value) == f"GET {vendor.url('/v1/balances')} answered 401"
    assert source.secret not in str(failed.value)
    assert await reports(source.integration) == []


async def test_a_cursor_goes_back_in_the_query_parameter_the_profile_names(erp, vendor):
    extra = "  next_param: cursor\n"
    text = profile_text(vendor.url("/v1/cursor?limit=2"), extra="").replace(
        "  next: links.next\n", "  next: meta.next_cursor\n" + extra)
    source = await erp(vendor.url("/v1/cursor?limit=2"))
    vendor.serve("/v1/cursor?limit=2", {"data": [balance("ERP-1", "1.00")],
                                        "meta": {"next_cursor": "c/2 x"}})
    vendor.serve("/v1/cursor?limit=2&cursor=c%2F2+x", {"data": [balance("ERP-2", "2.00")],
                                                      "meta": {"next_cursor": None}})

    outcome = await pull.pull_balances(source.integration, spec_of(text), source.secret,
                                       prod=False)

    assert (outcome.pages, outcome.written) == (2, 2)


async def test_a_post_pull_sends_the_profiles_body(erp, vendor):
    text = profile_text(vendor.url("/v1/search")).replace(
        "  balances: data\n",
        "  balances: data\n  method: POST\n  body: '{\"status\": \"open\"}'\n")
    source = await erp(vendor.url("/v1/search"))
    vendor.serve("/v1/search", {"data": [balance("ERP-1", "3.00")]})

    outcome = await pull.pull_balances(source.integration, spec_of(text), source.secret,
                                       prod=False)

    assert outcome.written == 1
    (asked,) = vendor.asked("/v1/search")
    assert asked["method"] == "POST"
    assert json.loads(asked["body"]) == {"status": "open"}
    assert asked["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize(("second_page", "status", "problem"), [
    (b"<html>busy</html>", 200, "answered body is not valid JSON"),
    ({"data": {"account_number": "ERP-2"}}, 200, "page 2: data (pull.balances) is not a list"),
    ({"data": [balance("ERP-2", "1.00"),
               {"account_number": "ERP-1", "balance": {"currency": "EUR"}}]}, 200,
     "page 2, data.1: balance.amount is missing; balance.reported needs its amount"),
    ({"data": [balance("ERP-2", "1.005")]}, 200, "page 2, data.0: balance.amount (amount)"),
    ({"data": [balance("ERP-2", "1.00", currency="EURO")]}, 200,
     "page 2, data.0: balance.currency (currency) 'EURO' is not an ISO 4217 code"),
    ({"data": [balance("ERP-2", "1.00", as_of="yesterday")]}, 200,
     "page 2, data.0: as_of 'yesterday' is not ISO 8601"),
    (["not", "an", "object"], 200, "answered body must be a JSON object"),
    ({"error": "maintenance"}, 503, "answered 503"),
], ids=["not-json", "not-a-list", "missing-amount", "too-many-decimals", "bad-currency",
        "bad-as-of", "top-level-list", "503"])
async def test_an_unusable_answer_writes_nothing_not_even_the_good_pages(
        erp, vendor, second_page, status, problem):
    source = await erp(vendor.url("/v1/bad"))
    vendor.serve("/v1/bad", {"data": [balance("ERP-1", "1.00")],
                             "links": {"next": "/v1/bad?page=2"}})
    vendor.serve("/v1/bad?page=2", second_page, status)
    spec = spec_of(profile_text(vendor.url("/v1/bad")))

    with pytest.raises(pull.PullFailed) as failed:
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert problem in str(failed.value)
    assert await reports(source.integration) == []


async def test_a_redirect_is_not_followed_and_writes_nothing(erp, vendor):
    source = await erp(vendor.url("/v1/moved"))
    vendor.serve("/v1/moved", {"data": []}, 302, {"Location": vendor.url("/v1/elsewhere")})
    vendor.serve("/v1/elsewhere", {"data": [balance("ERP-1", "1.00")]})
    spec = spec_of(profile_text(vendor.url("/v1/moved")))

    with pytest.raises(pull.PullFailed, match="answered 302"):
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert vendor.asked("/v1/elsewhere") == []


async def test_an_answer_past_the_size_limit_writes_nothing(erp, vendor, monkeypatch):
    monkeypatch.setattr(pull, "MAX_PAGE_BYTES", 200)
    source = await erp(vendor.url("/v1/huge"))
    vendor.serve("/v1/huge", {"data": [balance("ERP-1", "1.00")] * 10})
    spec = spec_of(profile_text(vendor.url("/v1/huge")))

    with pytest.raises(pull.PullFailed, match="answered more than 200 bytes"):
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert await reports(source.integration) == []


async def test_a_next_page_on_another_origin_is_refused_and_never_asked(erp, vendor):
    source = await erp(vendor.url("/v1/balances"))
    elsewhere = vendor.url("/v1/elsewhere").replace("127.0.0.1", "localhost")
    vendor.serve("/v1/balances", {"data": [balance("ERP-1", "1.00")],
                                  "links": {"next": elsewhere}})
    spec = spec_of(profile_text(vendor.url("/v1/balances")))

    with pytest.raises(pull.PullFailed, match=r"is not on .* origin"):
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert vendor.asked("/v1/elsewhere") == []
    assert await reports(source.integration) == []


async def test_a_next_page_pointing_back_or_past_max_pages_writes_nothing(erp, vendor):
    source = await erp(vendor.url("/v1/loop"))
    vendor.serve("/v1/loop", {"data": [balance("ERP-1", "1.00")],
                              "links": {"next": "/v1/loop?page=2"}})
    vendor.serve("/v1/loop?page=2", {"data": [], "links": {"next": "/v1/loop"}})
    spec = spec_of(profile_text(vendor.url("/v1/loop")))

    with pytest.raises(pull.PullFailed, match="points back to a page already read"):
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)
    with pytest.raises(pull.PullFailed, match=r"more than pull.max_pages \(1\) pages"):
        await pull.pull_balances(source.integration, replace(spec, max_pages=1),
                                 source.secret, prod=False)

    assert await reports(source.integration) == []


async def test_a_vendor_slower_than_the_timeout_writes_nothing(erp, vendor):
    source = await erp(vendor.url("/v1/slow"))
    vendor.serve("/v1/slow", {"data": [balance("ERP-1", "1.00")]})
    vendor.slow_seconds = 3
    spec = replace(spec_of(profile_text(vendor.url("/v1/slow"))), timeout_seconds=1)

    with pytest.raises(pull.PullFailed, match="timed out after 1 s"):
        await pull.pull_balances(source.integration, spec, source.secret, prod=False)

    assert await reports(source.integration) == []


async def test_a_vendor_that_refuses_connections_writes_nothing(erp):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/v1/balances"
    source = await erp(closed)

    with pytest.raises(pull.PullFailed, match="failed: ConnectError"):
        await pull.pull_balances(source.integration, spec_of(profile_text(closed)),
                                 source.secret, prod=False)


@pytest.mark.parametrize(("target", "reason"), [
    ("http://127.0.0.1:{port}/v1/balances", "pull.url must be https"),
    ("https://127.0.0.1:{port}/v1/balances", "a loopback address"),
    ("https://10.1.2.3/v1/balances", "a private address"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
])
async def test_prod_refuses_a_pull_url_that_is_not_public_https_before_calling(
        erp, vendor, target, reason):
    port = vendor.base.rsplit(":", 1)[1]
    url = target.format(port=port)
    source = await erp(url)
    vendor.serve("/v1/balances", {"data": [balance("ERP-1", "1.00")]})

    with pytest.raises(pull.PullFailed, match=reason):
        await pull.pull_balances(source.integration, spec_of(profile_text(url)),
                                 source.secret, prod=True)

    assert vendor.requests == []


# --- the scheduled job --------------------------------------------------------------------


async def test_the_scheduled_sync_pulls_and_logs_an_unusable_answer(
        erp, vendor, settings: Settings, caplog):
    good = await erp(vendor.url("/v1/good"))
    bad = await erp(vendor.url("/v1/broken"))
    vendor.credential = None
    vendor.serve("/v1/good", {"data": [balance("ERP-1", "12.34"), balance("ERP-9", "1.00")]})
    vendor.serve("/v1/broken", b"{not json")
    now = datetime.now(UTC)
    for source in (good, bad):
        await Integration.filter(id=source.integration.id).update(
            sync_frequency_seconds=3600, last_synced_at=now)
    queue = await open_queue(Settings())
    try:
        with caplog.at_level(logging.INFO, logger="ccm_gateway.sync"):
            done = await run_scheduled(queue, settings, now=now + timedelta(hours=2))
    finally:
        await queue.aclose()
        await Integration.filter(id__in=[good.integration.id, bad.integration.id]).update(
            sync_frequency_seconds=None)

    by_id = {str(s.integration_id): s for s in done}
    pulled = by_id[str(good.integration.id)].pulled
    assert pulled is not None
    assert (pulled.written, pulled.outside_segments) == (1, 1)
    assert [(str(r.customer_id), r.balance_minor, r.source)
            for r in await reports(good.integration)] == [
        (good.customers["ERP-1"], 1234, "pull")]
    failed = by_id[str(bad.integration.id)]
    assert failed.pulled is None
    assert failed.pull_error is not None and "not valid JSON" in failed.pull_error
    assert await reports(bad.integration) == []
    # The sync's own errors (the embedded worker's other jobs log into the same capture).
    errors = [r for r in caplog.records
              if r.levelno == logging.ERROR and r.name.startswith("ccm_gateway.sync")]
    assert [r.integration for r in errors] == [bad.integration.slug]  # type: ignore[attr-defined]
    assert "balance pull wrote nothing" in errors[0].getMessage()
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert good.secret not in logged and bad.secret not in logged
    # The secret went only to the vendor, as the bearer token.
    assert {r["headers"]["authorization"] for r in vendor.asked("/v1/good")} == {
        f"Bearer {good.secret}"}


# --- the pull section's validation --------------------------------------------------------

GOOD = profile_text("https://erp.example/v1/balances", name="erp-test")


def bad(old: str, new: str) -> str:
    """GOOD with ``old`` replaced once in its pull section."""
    head, pull_section = GOOD.split("pull:\n")
    assert old in pull_section, old
    return f"{head}pull:\n{pull_section.replace(old, new, 1)}"


def line_of(text: str, needle: str) -> int:
    """The line of ``needle`` in the pull section (or of the section itself)."""
    lines = text.splitlines()
    start = lines.index("pull:")
    return next(n for n, line in enumerate(lines[start:], start + 1) if needle in line)


def test_a_good_pull_section_loads_as_written():
    spec = spec_of(GOOD)
    assert (spec.url, spec.method, spec.body, spec.timeout_seconds) == (
        "https://erp.example/v1/balances", "GET", None, 2)
    assert (spec.auth.scheme, spec.auth.credential) == ("bearer", "integration_secret")
    assert (spec.balances, spec.next, spec.next_param, spec.max_pages) == (
        ("data",), ("links", "next"), None, 100)
    assert spec.as_of is not None and spec.as_of.path == ("as_of",)
    assert [f.name for f in spec.mapping.fields] == ["customer", "amount", "currency"]
    assert load_profile(BASE.format(name="no-pull"), "test").pull is None


BAD_PULLS = [
    # A missing key is reported at its mapping, whose first line is its first key.
    (bad("  url: https://erp.example/v1/balances\n", ""), "pull.url", "is required", "auth:"),
    (bad("https://erp.example/v1/balances", "ftp://erp.example/x"), "pull.url",
     "must be https or http, not ftp", "url:"),
    (bad("https://erp.example/v1/balances", "https://user:pw@erp.example/x"), "pull.url",
     "must not carry credentials", "url:"),
    (bad("  balances: data\n", "  balances: data\n  method: PUT\n"), "pull.method",
     "'PUT' must be one of GET, POST", "method:"),
    (bad("  balances: data\n", "  balances: data\n  body: '{}'\n"), "pull.body",
     "is sent only with method: POST", "body:"),
    (bad("  balances: data\n", "  balances: data\n  method: POST\n  body: '[1]'\n"),
     "pull.body", "must be a JSON object", "body:"),
    (bad("  next: links.next\n", "  next_param: cursor\n"), "pull.next_param",
     "is given without pull.next", "next_param:"),
    (bad(BEARER, "{scheme: oauth}"), "pull.auth.scheme",
     "'oauth' must be one of none, bearer, basic, header", "auth:"),
    (bad(BEARER, "{scheme: bearer}"), "pull.auth.credential", "is required", "auth:"),
    # A secret written into the profile is refused: the credential is the integration's.
    (bad(BEARER, "{scheme: bearer, credential: sk_live_1234}"), "pull.auth.credential",
     "must be one of integration_secret: a profile names where the credential comes "
     "from and never holds it", "auth:"),
    (bad(BEARER, "{scheme: bearer, credential: integration_secret, token: abc}"),
     "pull.auth.token", "unknown key", "auth:"),
    (bad(BEARER, "{scheme: basic, credential: integration_secret}"),
     "pull.auth.username", "is required", "auth:"),
    (bad(BEARER, "{scheme: basic, credential: integration_secret, username: 'a:b'}"),
     "pull.auth.username", "is not a user name", "auth:"),
    (bad(BEARER, "{scheme: header, credential: integration_secret}"),
     "pull.auth.header", "is required", "auth:"),
    (bad("  timeout_seconds: 2\n", "  timeout_seconds: 0\n"), "pull.timeout_seconds",
     "0 must be between 1 and 60", "timeout_seconds:"),
    (bad("  balances: data\n", "  balances: data\n  max_pages: 5000\n"), "pull.max_pages",
     "5000 must be between 1 and 1000", "max_pages:"),
    (bad("  balances: data\n", "  balances: 'data items'\n"), "pull.balances",
     "is not a dotted path", "balances:"),
    (bad("    currency: {path: balance.currency, upper: true}\n", ""),
     "pull.fields.currency", "is required", "customer:"),
    (bad("{path: balance.amount, format: decimal}", "balance.amount"),
     "pull.fields.amount", "an amount needs {path: ..., format: minor | decimal}", "amount:"),
    (bad("format: decimal}", "format: cents}"), "pull.fields.amount.format",
     "'cents' must be one of minor, decimal", "amount:"),
    (bad("{path: as_of, format: iso8601}", "{path: as_of, format: rfc2822}"),
     "pull.fields.as_of.format", "'rfc2822' must be one of unix, iso8601", "as_of:"),
    (bad("    as_of:", "    site: site\n    as_of:"), "pull.fields.site", "unknown key",
     "site:"),
    (bad("  fields:\n", "  interval: 60\n  fields:\n"), "pull.interval", "unknown key",
     "interval:"),
]


@pytest.mark.parametrize(("text", "field_name", "problem", "at"), BAD_PULLS,
                         ids=[f"{f}:{p[:24]}" for _, f, p, _ in BAD_PULLS])
def test_a_bad_pull_section_is_refused_naming_line_and_field(text, field_name, problem, at):
    with pytest.raises(ProfileError) as refused:
        load_profile(text, "uploaded profile")

    error = refused.value
    assert error.field == field_name
    assert problem in error.message
    assert error.line == line_of(text, at)
    assert error.message.startswith(f"uploaded profile line {error.line}, field {field_name}:")


async def test_an_upload_with_a_bad_pull_section_is_bad_input_and_stores_nothing(gql):
    name = f"erp-{uuid.uuid4().hex[:8]}"
    text = profile_text("https://erp.example/v1", name=name).replace(
        BEARER, "{scheme: bearer, credential: hunter2}")

    refused = await gql(UPLOAD_PROFILE, {"input": {"source": text}})

    assert refused.error_code == "BAD_USER_INPUT"
    assert "field pull.auth.credential" in refused.errors[0]["message"]
    assert "hunter2" not in json.dumps(refused.body)  # a secret written there is not echoed
    listed = await gql("{ protocolProfiles { name } }")
    assert name not in {p["name"] for p in listed.data["protocolProfiles"]}
