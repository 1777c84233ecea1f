"""The ops console's operations pages in a real browser (Debian's Chromium, Python
Playwright): integrations (a secret shown exactly once, a dead letter replayed, the viewer's
missing buttons and the API's refusal), live alerts with acknowledge, a reconciliation run
with progress and a break resolved, and the audit log's filters and hash-chain state. Every
page tested is screenshotted."""

from __future__ import annotations

import asyncio
from typing import Any

from console_kit import TABLET, Gateway, Seed, screenshot, signed_in
from ops_fixtures import (
    Vendor,
    make_dead_letter,
    make_reported_balance,
    raise_threshold_alert,
    send_event,
)
from testkit import eventually

_INTEGRATIONS = "{ integrations(first: 100) { edges { node { id slug name } } } }"
_CREATE = """mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  secret integration { id } } }"""
_BREAKS = """query($id: ID!) { reconciliationBreaks(filter: {integrationId: $id}) {
  edges { node { id status note resolvedBy } } } }"""
_ALERT = """query($c: ID!) { alerts(customerId: $c) {
  edges { node { id acknowledgedAt acknowledgementNote } } } }"""
# money() writes a negative amount with a true minus sign.
MINUS_1000 = "\u22121,000.00 USD"


async def settled(page: Any, testid: str) -> None:
    """Waits until the region ``testid`` has drawn (no progress inside it)."""
    region = page.get_by_test_id(testid)
    await region.wait_for()
    await region.locator('[aria-busy="true"]').wait_for(state="detached")


async def call_api(page: Any, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The page's own api.js (its session's token) calls GraphQL: what the server answers."""
    answer: dict[str, Any] = await page.evaluate("""async ([query, variables]) => {
      const api = await import('./console/static/api.js');
      try { return { data: await api.gql(query, variables) }; }
      catch (err) { return { code: err.code, message: err.message }; }
    }""", [query, variables])
    return answer


async def test_adding_an_integration_shows_its_secret_once_and_never_after_a_reload(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["it_admin"], subject="ivy")
    await page.get_by_test_id("nav-integrations").click()
    await settled(page, "catalogue")
    await page.get_by_test_id("profile-standard-webhooks").wait_for()
    await screenshot(page, "integrations")

    slug = await page.get_by_test_id("slug-standard-webhooks").input_value()
    await page.get_by_test_id("add-standard-webhooks").click()
    secret_box = page.get_by_test_id("secret-once")
    await secret_box.wait_for()
    secret = (await page.get_by_test_id("secret-value").inner_text()).strip()
    assert secret.startswith("whsec_"), secret
    assert "shown once" in await secret_box.inner_text()
    await page.get_by_test_id("integrations-table").get_by_text(slug).wait_for()
    await screenshot(page, "integrations-secret-once")

    # The secret is the integration's: a callback signed with it is accepted (and ignored:
    # no customer has the ref).
    [made] = [e["node"] for e in (await gateway.gql(_INTEGRATIONS))["integrations"]["edges"]
              if e["node"]["slug"] == slug]
    await send_event(gateway, Vendor(made["id"], slug, slug, secret, made["name"]),
                     "payment.succeeded", {"customer": "nobody", "amount": "1.00",
                                           "currency": "USD"})

    # Stored nowhere the page could read it back from.
    stored = await page.evaluate("""() => JSON.stringify([location.href, document.cookie,
      Object.entries(localStorage), Object.entries(sessionStorage)])""")
    assert secret not in stored

    await page.reload()
    await settled(page, "integration-list")
    await page.get_by_test_id("integrations-table").get_by_text(slug).wait_for()
    assert await page.get_by_test_id("secret-once").count() == 0
    assert secret not in await page.content()


async def test_rotating_and_deleting_ask_first_and_disable_toggles(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    made = (await gateway.gql(_CREATE, {"i": {
        "slug": "toggle-me", "name": "Toggle me", "kind": "ERP", "profile": "generic-erp",
        "segments": ["*"]}}))["createIntegration"]["integration"]
    page = await signed_in(await open_page(), ["admin"])
    await page.goto(f"/console#/integrations/{made['id']}")
    summary = page.get_by_test_id("integration-summary")
    await summary.get_by_text("enabled").wait_for()

    await page.get_by_test_id("integration-toggle").click()
    await summary.get_by_text("disabled").wait_for()
    await page.get_by_test_id("integration-rotate").click()
    await page.get_by_test_id("confirm-dialog").wait_for()
    await page.get_by_test_id("confirm-yes").click()
    await page.get_by_test_id("secret-value").wait_for()

    await page.get_by_test_id("integration-delete").click()
    await page.get_by_test_id("confirm-no").click()
    assert await page.get_by_test_id("confirm-dialog").count() == 0
    await page.get_by_test_id("integration-delete").click()
    await page.get_by_test_id("confirm-yes").click()
    await summary.get_by_text("deleted").wait_for()
    assert await page.get_by_test_id("integration-delete").count() == 0


async def test_a_dead_letter_is_shown_as_one_and_replay_applies_it(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    dead = await make_dead_letter(gateway, seed.customer("Acme Haulage").id)
    page = await signed_in(await open_page(), ["it_admin"])
    await page.goto(f"/console#/integrations/{dead.vendor.id}")
    await settled(page, "inbound-events")
    await page.get_by_test_id("integration-health").get_by_text("1 dead letter").wait_for()

    await page.get_by_test_id("event-status-filter").select_option("DEAD")
    await page.get_by_test_id("event-filter-submit").click()
    await settled(page, "inbound-events")
    table = page.get_by_test_id("events-table")
    assert await table.get_by_test_id("event-status").all_inner_texts() == ["dead letter"]
    await table.get_by_text("SEGMENT_NOT_ALLOWED", exact=False).wait_for()
    await screenshot(page, "integration-dead-letter")

    await table.get_by_test_id("replay").click()
    await page.get_by_test_id("integration-status").get_by_text("applied").wait_for(timeout=30_000)
    await page.get_by_test_id("event-status-filter").select_option("")
    await page.get_by_test_id("event-filter-submit").click()
    await settled(page, "inbound-events")
    assert await page.get_by_test_id("events-table").get_by_test_id(
        "event-status").all_inner_texts() == ["applied"]
    await page.get_by_test_id("integration-health").get_by_text("No dead letters").wait_for()
    await screenshot(page, "integration-replayed")


async def test_a_viewer_sees_no_integration_page_and_the_api_refuses_it(
        open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["viewer"])
    assert await page.get_by_test_id("nav-integrations").count() == 0
    await page.goto("/console#/integrations")
    await page.get_by_role("alert").get_by_text("integration:read").wait_for()
    await screenshot(page, "integrations-viewer")

    answer = await call_api(page, _CREATE, {"i": {
        "slug": "viewer-try", "name": "x", "kind": "ERP", "profile": "generic-erp",
        "segments": ["*"]}})
    assert answer["code"] == "FORBIDDEN", answer


async def test_an_auditor_reads_integrations_without_write_buttons_and_is_refused_writes(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["auditor"])
    await page.get_by_test_id("nav-integrations").click()
    await settled(page, "catalogue")
    await page.get_by_test_id("integrations-table").get_by_text("yard-psp").wait_for()
    for testid in ("add-generic-psp", "integration-toggle", "integration-rotate",
                   "integration-delete", "upload-profile"):
        assert await page.get_by_test_id(testid).count() == 0, testid
    await page.goto(f"/console#/integrations/{seed.integration}")
    await settled(page, "inbound-events")
    assert await page.get_by_test_id("replay").count() == 0
    await screenshot(page, "integration-auditor")

    answer = await call_api(page, """mutation($i: SetIntegrationEnabledInput!) {
      setIntegrationEnabled(input: $i) { id } }""", {"i": {"id": seed.integration,
                                                           "enabled": False}})
    assert answer["code"] == "FORBIDDEN", answer
    assert "integration:write" in answer["message"]


async def test_a_new_alert_appears_live_and_is_acknowledged_with_a_note(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["credit_manager"])
    await page.get_by_test_id("nav-alerts").click()
    await settled(page, "alert-list")
    assert await page.get_by_test_id("live-table").count() == 0
    announcer = page.get_by_test_id("alerts-live-announcer")
    assert await announcer.get_attribute("aria-live") == "polite"

    # The socket subscribes lazily: raise alerts until the open page shows one, with no
    # reload in between.
    raised: list[str] = []

    async def shown() -> bool:
        raised.append(await raise_threshold_alert(gateway))
        try:
            await page.get_by_test_id("live-table").wait_for(timeout=3000)
        except Exception:  # noqa: BLE001 - not there yet: raise another
            return False
        return True

    await eventually(shown, timeout=60)
    live = page.get_by_test_id("live-table")
    messages = await live.get_by_test_id("alert-message").all_inner_texts()
    assert messages and all("80" in m for m in messages), messages
    assert "New" in await announcer.inner_text()
    await screenshot(page, "alerts-live")

    await live.get_by_test_id("acknowledge").first.click()
    await page.get_by_test_id("ack-note-save").click()  # an empty note is refused inline
    await page.get_by_test_id("ack-note").get_by_role("alert").wait_for()
    await page.get_by_test_id("ack-note-note").fill("Called the customer")
    await page.get_by_test_id("ack-note-save").click()
    await live.get_by_test_id("acknowledged").first.wait_for()
    # The list below shows it acknowledged too.
    acknowledged_message = (await live.locator("tr", has=page.get_by_test_id(
        "acknowledged")).get_by_test_id("alert-message").all_inner_texts())[0]
    await page.get_by_test_id("alerts-table").locator("tr", has_text=acknowledged_message) \
        .get_by_test_id("acknowledged").wait_for()

    async def acknowledged() -> bool:
        for customer_id in raised:
            for edge in (await gateway.gql(_ALERT, {"c": customer_id}))["alerts"]["edges"]:
                if edge["node"]["acknowledgementNote"] == "Called the customer":
                    return True
        return False

    assert await eventually(acknowledged, timeout=10)
    await screenshot(page, "alerts-acknowledged")


async def test_alerts_filter_by_acknowledgement_and_kind(open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["finance"])
    await page.goto("/console#/alerts")
    await settled(page, "alert-list")
    await page.get_by_test_id("filter-kind").fill("credit.threshold")
    await page.get_by_test_id("filter-acknowledged").select_option("no")
    await page.get_by_test_id("alert-filter-submit").click()
    await settled(page, "alert-list")
    kinds = await page.get_by_test_id("alerts-table").locator("code").all_inner_texts()
    assert kinds and set(kinds) == {"credit.threshold"}
    await page.get_by_test_id("filter-kind").fill("no.such.kind")
    await page.get_by_test_id("alert-filter-submit").click()
    await page.get_by_text("No alert matches these filters.").wait_for()


async def test_run_now_shows_progress_and_a_break_is_acknowledged_then_resolved(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    birch = seed.customer("Birch Freight")  # 5,000.00 USD posted
    vendor = await make_reported_balance(gateway, birch.id, "4000.00", "USD")
    page = await signed_in(await open_page(), ["finance"])
    await page.get_by_test_id("nav-reconciliation").click()
    await settled(page, "breaks")

    # Hold the run's answer back a moment, so its progress can be seen.
    release = asyncio.Event()

    async def slow_run(route: Any) -> None:
        if "runReconciliation" in (route.request.post_data or ""):
            await release.wait()
        await route.continue_()

    await page.route("**/graphql", slow_run)
    await page.get_by_test_id("run-integration").select_option(vendor.id)
    await page.get_by_test_id("run-now-submit").click()
    progress = page.get_by_test_id("run-now").get_by_role("status")
    await progress.get_by_text("Reconciling").wait_for()
    assert await page.get_by_test_id("run-now-submit").is_disabled()
    await screenshot(page, "reconciliation-running")
    release.set()
    result = page.get_by_test_id("run-result")
    await result.wait_for()
    assert "Broken" in await result.inner_text()
    await page.unroute("**/graphql", slow_run)

    def row_of_the_break() -> Any:
        return page.get_by_test_id("breaks-table").locator("tr", has_text=MINUS_1000)

    row = row_of_the_break()
    await row.wait_for()
    await row.get_by_test_id("break-acknowledge").click()
    await page.get_by_test_id("break-note-note").fill("ERP is missing a charge")
    await page.get_by_test_id("break-note-save").click()
    await page.get_by_test_id("break-status-filter").select_option("")
    await page.get_by_test_id("break-filter-submit").click()
    await settled(page, "breaks")
    row = row_of_the_break()
    await row.get_by_test_id("break-status").get_by_text("acknowledged").wait_for()
    await row.get_by_test_id("break-resolve").click()
    await page.get_by_test_id("break-note-note").fill("Charge posted in the ERP")
    await page.get_by_test_id("break-note-save").click()
    await row_of_the_break().get_by_test_id("break-status").get_by_text("resolved").wait_for()
    await screenshot(page, "reconciliation")

    [found] = [e["node"] for e in (await gateway.gql(_BREAKS, {"id": vendor.id}))[
        "reconciliationBreaks"]["edges"]]
    assert (found["status"], found["note"]) == ("RESOLVED", "Charge posted in the ERP")
    assert found["resolvedBy"] == "finance-user"


async def test_a_viewer_may_not_run_reconciliation(open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["auditor"])
    await page.get_by_test_id("nav-reconciliation").click()
    await settled(page, "breaks")
    assert await page.get_by_test_id("run-now").count() == 0
    assert await page.get_by_test_id("break-resolve").count() == 0
    answer = await call_api(page, """mutation($i: RunReconciliationInput!) {
      runReconciliation(input: $i) { id } }""", {"i": {"integrationId": seed.integration,
                                                       "source": "WEBHOOK"}})
    assert answer["code"] == "FORBIDDEN", answer


async def test_the_audit_log_filters_by_actor_action_and_object_and_shows_the_chain(
        open_page: Any, gateway: Gateway, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["auditor"])
    await page.get_by_test_id("nav-audit").click()
    chain = page.get_by_test_id("chain-state")
    await chain.wait_for()
    assert await chain.get_attribute("data-intact") == "true"
    assert "Intact" in await chain.inner_text()
    await settled(page, "audit-results")
    await screenshot(page, "audit")

    await page.get_by_test_id("filter-action").fill("integration.create")
    await page.get_by_test_id("audit-filter-submit").click()
    await settled(page, "audit-results")
    actions = await page.get_by_test_id("audit-action").all_inner_texts()
    assert actions and set(actions) == {"integration.create"}

    await page.get_by_test_id("filter-action").fill("")
    await page.get_by_test_id("filter-actor").fill("seeder")
    await page.get_by_test_id("filter-object").fill(seed.integration)
    await page.get_by_test_id("audit-filter-submit").click()
    await settled(page, "audit-results")
    assert await page.get_by_test_id("audit-action").all_inner_texts() == ["integration.create"]

    await page.get_by_test_id("filter-actor").fill("nobody-at-all")
    await page.get_by_test_id("audit-filter-submit").click()
    await page.get_by_text("No audit event matches these filters.").wait_for()
    await page.get_by_test_id("chain-check").click()
    await chain.wait_for()
    assert await chain.get_attribute("data-intact") == "true"


async def test_a_finance_user_has_no_audit_page(open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(), ["finance"])
    assert await page.get_by_test_id("nav-audit").count() == 0
    answer = await call_api(page, "{ auditChainStatus { intact } }", {})
    assert answer["code"] == "FORBIDDEN", answer


async def test_the_ops_pages_fit_a_tablet_without_sideways_scrolling(
        open_page: Any, seed: Seed) -> None:
    page = await signed_in(await open_page(TABLET), ["admin"])
    for route, ready in (("#/integrations", "integration-list"),
                         (f"#/integrations/{seed.integration}", "inbound-events"),
                         ("#/reconciliation", "breaks"), ("#/alerts", "alert-list"),
                         ("#/audit", "audit-results")):
        await page.goto(f"/console{route}")
        await settled(page, ready)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{route} scrolls sideways by {overflow} px at 768 px"
        await screenshot(page, f"tablet-{route.strip('#/').replace('/', '-')}")
