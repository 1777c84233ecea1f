"""The ops console's finance pages in a real browser (Debian's Chromium, Python Playwright):
sign-in, the overview's charts against the seeded figures, customer search and detail, limit
approvals (an approver's button, a viewer's missing one and the API's refusal of the viewer),
insights with Propose, keyboard use, and the tablet layout. Every page is screenshotted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from console_kit import (
    REQUESTER,
    TABLET,
    Gateway,
    Seed,
    chart_data,
    charts_ready,
    screenshot,
    signed_in,
)

OVERVIEW_CHARTS = ("chart-utilisation", "chart-segments", "chart-aging", "chart-dso",
                   "chart-alerts", "chart-integrations", "chart-sync-latency")
UTILISATION_LABELS = ["0-10 %", "10-20 %", "20-30 %", "30-40 %", "40-50 %", "50-60 %",
                      "60-70 %", "70-80 %", "80-90 %", "90-100 %", "over 100 %", "no limit"]

_LIMIT = "query($id: ID!) { customer(id: $id) { creditAccount { limit { amount } } } }"
_REQUEST = "query($id: ID!) { creditLimitChangeRequest(id: $id) { status } }"
_PENDING = """query($id: ID!) {
  creditLimitChangeRequests(filter: {customerId: $id, status: PENDING}) {
    edges { node { id requestedLimit { amount } reason } } } }"""


def dataset(chart: dict[str, Any], label: str) -> list[Any]:
    [found] = [d["data"] for d in chart["datasets"] if d["label"] == label]
    return found


async def test_a_dev_sign_in_shows_the_overview_charted_from_the_seeded_portfolio(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    page = await open_page()
    await page.goto("/console")
    await page.get_by_test_id("dev-sign-in").wait_for()
    await screenshot(page, "sign-in")
    await signed_in(page, ["admin"], subject="ada")
    await charts_ready(page, *OVERVIEW_CHARTS)
    await screenshot(page, "overview")

    utilisation = await chart_data(page, "chart-utilisation")
    expected = dict.fromkeys(UTILISATION_LABELS, 0)
    for c in seed.customers.values():
        expected[UTILISATION_LABELS[min(c.exposure * 10 // c.limit, 9)]] += 1
    assert dict(zip(utilisation["labels"], dataset(utilisation, "Customers"),
                    strict=True)) == expected

    segments = await chart_data(page, "chart-segments")
    sums: dict[str, list[int]] = {}
    for c in seed.customers.values():
        s = sums.setdefault(f"{c.segment} ({c.currency})", [0, 0])
        s[0] += c.limit
        s[1] += c.exposure
    assert segments["labels"] == sorted(sums)
    assert dataset(segments, "Limit") == [sums[k][0] for k in sorted(sums)]
    assert dataset(segments, "Exposure") == [sums[k][1] for k in sorted(sums)]

    aging = await chart_data(page, "chart-aging")
    invoiced: dict[str, int] = {}
    for c in seed.customers.values():
        if c.invoiced:
            invoiced[c.currency] = invoiced.get(c.currency, 0) + c.charged
    assert aging["labels"] == sorted(invoiced)
    # Issued today at net 30: everything is current.
    assert dataset(aging, "Current") == [invoiced[k] for k in sorted(invoiced)]
    assert dataset(aging, "1-30 days") == [0] * len(invoiced)

    dso = await chart_data(page, "chart-dso")
    assert len(dso["labels"]) == 6
    now = datetime.now(UTC)
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    report = await gateway.gql("""query($from: DateTime!, $to: DateTime!) {
      dsoReport(from: $from, to: $to) { figures { currency simple } } }""",
                               {"from": month.isoformat(), "to": now.isoformat()})
    for figure in report["dsoReport"]["figures"]:
        points = dataset(dso, figure["currency"])
        assert points[:-1] == [None] * 5, "no sales before this month"
        assert points[-1] == pytest.approx(float(figure["simple"]), abs=0.1)

    alerts = await chart_data(page, "chart-alerts")
    assert sum(dataset(alerts, "Thresholds")) == seed.alerts
    assert sum(dataset(alerts, "Breaches")) == 0

    health = await chart_data(page, "chart-integrations")
    assert health["labels"] == ["Yard payments"]
    assert dataset(health, "Inbound failure rate %") == [0]
    assert dataset(health, "Uptime %") == [None], "nothing attempted: no uptime to show"
    latency = await chart_data(page, "chart-sync-latency")
    assert dataset(latency, "Seconds behind") == [0]

    # Every chart says what it shows to a screen reader, from the same figures.
    label = await page.get_by_test_id("chart-aging").locator("canvas").get_attribute(
        "aria-label")
    assert "USD" in label and "13500" in label.replace(",", ""), label


async def test_signing_out_ends_the_session_on_the_server(open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["viewer"])
    await page.get_by_test_id("sign-out").click()
    await page.get_by_test_id("dev-sign-in").wait_for()
    session = await page.evaluate("fetch('console/session').then((r) => r.json())")
    assert session["signedIn"] is False


async def rows(page: Any, testid: str = "customers-table") -> list[str]:
    await page.get_by_test_id("customer-results").locator('[aria-busy="true"]').wait_for(
        state="detached")
    return sorted(await page.get_by_test_id("customer-link").all_inner_texts())


async def search(page: Any, **fields: str) -> list[str]:
    for name, value in fields.items():
        field = page.get_by_test_id(f"filter-{name}")
        if name == "status":
            await field.select_option(value)
        else:
            await field.fill(value)
    await page.get_by_role("button", name="Search").click()
    await page.get_by_test_id("customer-results").get_by_role("table").or_(
        page.get_by_test_id("customer-results").get_by_text("No customer matches")).wait_for()
    return await rows(page)


async def test_customers_are_found_by_name_and_filters_and_open_on_their_page(
        open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["viewer"])
    await page.get_by_test_id("nav-customers").click()
    await page.get_by_test_id("customers-table").wait_for()
    assert await rows(page) == sorted(seed.customers)
    await screenshot(page, "customers")

    assert await search(page, name="fjord") == ["Fjord Yards"]
    assert await search(page, name="", segment="storage") == ["Cobalt Storage", "Delta Depots"]
    assert await search(page, segment="", status="BLOCKED") == ["Granite Works"]
    assert await search(page, status="", utilization="80") == ["Acme Haulage", "Cobalt Storage"]
    # A filter the server cannot take says what was wrong, and changes nothing.
    await page.get_by_test_id("filter-utilization").fill("-5")
    await page.get_by_role("button", name="Search").click()
    error = page.get_by_test_id("customer-search").get_by_role("alert")
    assert "Utilisation above must be a number of percent" in await error.inner_text()

    await page.get_by_test_id("filter-utilization").fill("")
    await search(page, name="Acme")
    await page.get_by_role("link", name="Acme Haulage").click()
    await page.get_by_role("heading", level=1, name="Acme Haulage").wait_for()
    await charts_ready(page, "credit-gauge")
    acme = seed.customer("Acme Haulage")
    gauge = page.get_by_test_id("credit-gauge")
    assert await gauge.get_attribute("data-limit") == str(acme.limit)
    assert await gauge.get_attribute("data-balance") == str(acme.charged)
    assert await gauge.get_attribute("data-available") == str(acme.limit - acme.exposure)
    assert await page.get_by_test_id("credit-utilization").inner_text() == "85.0 %"
    gates = page.get_by_test_id("gate-access-table")
    await gates.wait_for()
    assert await gates.locator("tbody tr").count() == len(seed.sites)
    assert "allowed" in await gates.inner_text()
    ledger = page.get_by_test_id("ledger")
    await ledger.wait_for()
    assert "8,500.00 USD" in await ledger.inner_text()
    await page.get_by_test_id("invoices").wait_for()
    assert "8,500.00 USD" in await page.get_by_test_id("invoices").inner_text()
    await page.get_by_test_id("alerts").wait_for()
    assert "credit.threshold" in await page.get_by_test_id("alerts").inner_text()
    # A viewer reads; neither the request form nor Approve is there for them.
    assert await page.get_by_test_id("request-change").count() == 0
    await screenshot(page, "customer")


async def test_an_approver_approves_a_pending_request_and_sees_the_new_limit(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    birch = seed.customer("Birch Freight")
    request_id = seed.pending["Birch Freight"]
    page = await signed_in(await open_page(), ["finance"], subject="approver")
    await page.get_by_test_id("nav-approvals").click()
    queue = page.get_by_test_id("limit-requests")
    await queue.wait_for()
    assert await page.get_by_test_id(f"approve-{request_id}").is_visible()
    await screenshot(page, "approvals")

    await page.get_by_role("link", name="Birch Freight").first.click()
    await page.get_by_role("heading", level=1, name="Birch Freight").wait_for()
    await page.get_by_test_id(f"approve-{request_id}").click()
    await page.get_by_test_id("confirm-yes").click()
    await page.get_by_test_id("decision-notice").wait_for()
    limit = page.get_by_test_id("credit-limit")
    await page.wait_for_function(
        "(el) => el.textContent === '21,000.00 USD'", arg=await limit.element_handle())
    assert "applied" in (await page.get_by_test_id("limit-requests").inner_text()).lower()
    data = await gateway.gql(_LIMIT, {"id": birch.id})
    assert data["customer"]["creditAccount"]["limit"]["amount"] == "21000.00"


async def test_a_viewer_sees_no_approve_button_and_the_api_refuses_the_viewers_token(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    request_id = seed.pending["Delta Depots"]
    page = await signed_in(await open_page(), ["viewer"], subject="watcher")
    await page.get_by_test_id("nav-approvals").click()
    await page.get_by_test_id("limit-requests").wait_for()
    assert "Delta Depots" in await page.get_by_test_id("limit-requests").inner_text()
    assert await page.get_by_role("button", name="Approve").count() == 0
    assert await page.get_by_role("button", name="Reject").count() == 0

    answer = await page.evaluate("""async ([query, requestId]) => {
      const session = await (await fetch('console/session')).json();
      const minted = await (await fetch('console/token', { method: 'POST',
        headers: { 'X-CSRF-Token': session.csrfToken } })).json();
      const response = await fetch('graphql', { method: 'POST',
        headers: { 'Content-Type': 'application/json',
                   Authorization: `Bearer ${minted.accessToken}` },
        body: JSON.stringify({ query, variables: { input: { requestId } } }) });
      return response.json();
    }""", ["""mutation($input: ApproveCreditLimitChangeInput!) {
      approveCreditLimitChange(input: $input) { id status } }""", request_id])
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN", answer
    assert "credit:limit:approve" in error["message"]
    status = await gateway.gql(_REQUEST, {"id": request_id})
    assert status["creditLimitChangeRequest"]["status"] == "PENDING"


async def test_a_refused_approval_shows_the_servers_reason(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    """The requester holds credit:limit:approve, so the button is there; the server still
    refuses their own request, and the page says why."""
    request_id = seed.pending["Delta Depots"]
    page = await signed_in(await open_page(), ["credit_manager"], subject=REQUESTER)
    await page.goto(f"/console#/customers/{seed.customer('Delta Depots').id}")
    await page.get_by_test_id(f"approve-{request_id}").click()
    await page.get_by_test_id("confirm-yes").click()
    alert = page.get_by_test_id("limit-requests").get_by_role("alert")
    await alert.wait_for()
    text = await alert.inner_text()
    assert "own" in text.lower(), text
    status = await gateway.gql(_REQUEST, {"id": request_id})
    assert status["creditLimitChangeRequest"]["status"] == "PENDING"


async def test_insights_chart_their_figures_and_propose_opens_a_limit_change_request(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["credit_manager"], subject="optimiser")
    await page.get_by_test_id("nav-insights").click()
    await charts_ready(page, "chart-risk profile-rates", "chart-limit band-rates",
                       "chart-terms-dso", "chart-terms-change")
    methods = await page.get_by_test_id("method").all_inner_texts()
    assert len(methods) >= 3 and all("customers" in m for m in methods), methods
    risk = await chart_data(page, "chart-risk profile-rates")
    assert set(risk["labels"]) <= {"low", "medium", "high"} and risk["labels"]
    await page.get_by_test_id("suggestions").wait_for()
    await screenshot(page, "insights")

    propose = page.locator('[data-testid^="propose-"]').first
    customer_id = (await propose.get_attribute("data-testid")).removeprefix("propose-")
    await propose.click()
    await page.get_by_test_id("proposed").wait_for()
    found = await gateway.gql(_PENDING, {"id": customer_id})
    [made] = [e["node"] for e in found["creditLimitChangeRequests"]["edges"]
              if (e["node"]["reason"] or "").startswith("Limit optimisation")]
    assert made["requestedLimit"]["amount"]


async def focused(page: Any) -> dict[str, Any]:
    info: dict[str, Any] = await page.evaluate("""() => { const el = document.activeElement;
      const style = getComputedStyle(el);
      return { tag: el.tagName, text: el.textContent.trim(), testid: el.dataset.testid ?? null,
               inNav: Boolean(el.closest('#nav')), outline: style.outlineStyle,
               outlineWidth: parseFloat(style.outlineWidth) }; }""")
    return info


async def tab_to(page: Any, wanted: Any, limit: int = 40, key: str = "Tab") -> dict[str, Any]:
    for _ in range(limit):
        await page.keyboard.press(key)
        info = await focused(page)
        if wanted(info):
            return info
    raise AssertionError("the keyboard never reached the control")


async def test_the_keyboard_alone_signs_in_reaches_the_nav_and_presses_a_button(
        open_page: Any, seed: Seed) -> None:
    page = await open_page()
    await page.goto("/console")
    await page.get_by_test_id("dev-sign-in").wait_for()
    first = await tab_to(page, lambda f: True)
    assert first["testid"] == "skip-link", "the first stop skips to the content"
    await tab_to(page, lambda f: f["text"] == "Sign in with a development token")
    await page.keyboard.press("Enter")
    await page.get_by_test_id("who").wait_for()
    # Signed in, focus is on the overview's heading; the nav is just before it.
    await page.wait_for_function("document.activeElement.tagName === 'H1'")
    link = await tab_to(page, lambda f: f["inNav"] and f["text"] == "Customers", key="Shift+Tab")
    assert link["outline"] != "none" and link["outlineWidth"] >= 2, "focus is visible"
    await page.keyboard.press("Enter")
    await page.get_by_role("heading", level=1, name="Customers").wait_for()
    await page.get_by_test_id("customers-table").wait_for()
    await tab_to(page, lambda f: f["testid"] == "filter-name")
    await page.keyboard.type("Birch")
    button = await tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Search")
    assert button["outline"] != "none"
    await page.keyboard.press("Enter")
    await page.wait_for_function("""() => [...document.querySelectorAll(
      '[data-testid="customer-link"]')].map((a) => a.textContent).join() === 'Birch Freight'""")


async def test_every_page_fits_a_tablet_without_sideways_scrolling(
        open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(viewport=TABLET), ["admin"])
    pages = {"overview": "#/overview", "customers": "#/customers", "approvals": "#/approvals",
             "insights": "#/insights",
             "customer": f"#/customers/{seed.customer('Birch Freight').id}"}
    for name, route in pages.items():
        await page.goto(f"/console{route}")
        await page.locator("main h1").wait_for()
        await page.locator("main .progress").first.wait_for(state="detached")
        await page.wait_for_load_state("networkidle")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 768px"
        await screenshot(page, f"tablet-{name}")
