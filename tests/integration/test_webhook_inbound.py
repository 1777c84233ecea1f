"""POST /webhooks/{integration} end to end, with callbacks signed by the vendors' libraries.

Invariant 5: an acknowledged callback is stored before the 2xx and applied
exactly once; a refused one leaves no trace in the inbox or the ledger.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from webhook_kit import (
    balance,
    entries,
    inbox_count,
    payment_intent,
    settled,
    standard_headers,
    stripe_event,
    stripe_headers,
)

from ccm_gateway.alert.models import Alert
from ccm_gateway.integration import inbox, processing
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.verify import verify_all


async def test_stripe_payment_is_applied_once(make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_A1")
    event = stripe_event("payment_intent.succeeded", payment_intent("cus_A1", 2500, pi="pi_A1"))

    first = await send_stripe(hook, event)
    assert first.status_code == 202, first.text
    event_id = first.json()["id"]
    applied = await settled(event_id)
    assert applied.status == InboundStatus.APPLIED, applied.last_error
    assert applied.canonical_type == "payment.succeeded"
    assert await balance(customer) == -2500

    again = await send_stripe(hook, event)  # the vendor retries the same event
    assert again.status_code == 200
    assert again.json()["id"] == event_id and again.json()["duplicate"] is True
    assert again.json()["status"] == "applied"
    (entry,) = await entries(customer)
    assert entry.kind == EntryKind.PAYMENT and entry.amount_minor == -2500
    assert entry.external_ref == "pi_A1" and entry.source_id == hook.slug
    assert str(entry.source_type) == "integration"
    assert entry.idempotency_key == f"{hook.slug}:{event['id']}"
    assert await inbox_count(hook.slug) == 1


async def test_concurrent_duplicates_store_one_event(make_integration, linked_customer,
                                                     send_stripe):
    import asyncio

    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_dup")
    event = stripe_event("payment_intent.succeeded", payment_intent("cus_dup", 100))
    responses = await asyncio.gather(*(send_stripe(hook, event) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [202]
    assert len({r.json()["id"] for r in responses}) == 1
    await settled(responses[0].json()["id"])
    assert await balance(customer) == -100


async def test_standard_webhooks_signature_from_the_official_library(
        make_integration, linked_customer, send):
    hook = await make_integration("standard-webhooks")
    assert hook.secret.startswith("whsec_")
    customer = await linked_customer(hook, "sw-1")
    body = json.dumps({"type": "payment.succeeded", "timestamp": datetime.now(UTC).isoformat(),
                       "data": {"customer": "sw-1", "amount": "12.34", "currency": "usd",
                                "reference": "pay-1"}})
    headers = standard_headers(body, hook.secret, msg_id="msg_sw_1")
    response = await send(hook.slug, body, headers)
    assert response.status_code == 202, response.text
    event = await settled(response.json()["id"])
    assert event.status == InboundStatus.APPLIED, event.last_error
    assert event.external_id == "msg_sw_1"  # the webhook-id header
    assert await balance(customer) == -1234
    (entry,) = await entries(customer)
    assert entry.external_ref == "pay-1"


# --- refusals: right code, no trace ------------------------------------------------


def _tamper(body: str) -> str:
    return body.replace("2500", "9500")


@pytest.mark.parametrize("case", ["tampered", "wrong_secret", "stale", "future", "no_header",
                                  "garbled_header"])
async def test_bad_signatures_are_refused_without_trace(case, make_integration,
                                                        linked_customer, send):
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, f"cus_{case}")
    body = json.dumps(stripe_event("payment_intent.succeeded",
                                   payment_intent(f"cus_{case}", 2500)))
    now = int(time.time())
    headers = stripe_headers(body, hook.secret)
    expected = "SIGNATURE_MISMATCH"
    if case == "tampered":
        body = _tamper(body)
    elif case == "wrong_secret":
        headers = stripe_headers(body, "whsec_" + "x" * 32)
    elif case == "stale":
        headers = stripe_headers(body, hook.secret, timestamp=now - 3600)
        expected = "TIMESTAMP_OUT_OF_TOLERANCE"
    elif case == "future":
        headers = stripe_headers(body, hook.secret, timestamp=now + 3600)
        expected = "TIMESTAMP_OUT_OF_TOLERANCE"
    elif case == "no_header":
        headers = {"Content-Type": "application/json"}
        expected = "MISSING_HEADER"
    elif case == "garbled_header":
        headers = {"Stripe-Signature": "t=abc,v9=;;", "Content-Type": "application/json"}
    response = await send(hook.slug, body, headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"] == expected
    assert await inbox_count(hook.slug) == 0
    assert await balance(customer) == 0


async def test_malformed_json_is_400_without_trace(make_integration, send):
    hook = await make_integration("stripe")
    body = '{"id": "evt_1", "type": '
    response = await send(hook.slug, body, stripe_headers(body, hook.secret))
    assert response.status_code == 400 and response.json()["error"] == "MALFORMED_BODY"
    assert await inbox_count(hook.slug) == 0


async def test_missing_event_id_is_400(make_integration, send):
    hook = await make_integration("stripe")
    body = json.dumps({"type": "payment_intent.succeeded", "data": {"object": {}}})
    response = await send(hook.slug, body, stripe_headers(body, hook.secret))
    assert response.status_code == 400, response.text
    assert await inbox_count(hook.slug) == 0


async def test_wrong_content_type_is_415(make_integration, send):
    hook = await make_integration("stripe")
    body = json.dumps(stripe_event("payment_intent.succeeded", payment_intent("c", 1)))
    headers = stripe_headers(body, hook.secret) | {"Content-Type": "text/plain"}
    response = await send(hook.slug, body, headers)
    assert response.status_code == 415 and response.json()["error"] == "UNSUPPORTED_MEDIA_TYPE"
    assert await inbox_count(hook.slug) == 0


async def test_oversized_body_is_413(make_integration, send, settings):
    hook = await make_integration("stripe")
    event = stripe_event("payment_intent.succeeded", payment_intent("c", 1))
    event["padding"] = "x" * settings.webhook_max_body_bytes
    body = json.dumps(event)
    response = await send(hook.slug, body, stripe_headers(body, hook.secret))
    assert response.status_code == 413 and response.json()["error"] == "PAYLOAD_TOO_LARGE"
    assert await inbox_count(hook.slug) == 0


async def test_unknown_integration_is_404(send):
    response = await send("no-such-integration", "{}", {"Content-Type": "application/json"})
    assert response.status_code == 404 and response.json()["error"] == "NOT_FOUND"


async def test_disabled_and_deleted_integrations(gql, make_integration, send_stripe):
    hook = await make_integration("stripe")
    event = stripe_event("payment_intent.succeeded", payment_intent("c", 1))
    await gql("""mutation($input: SetIntegrationEnabledInput!) {
        setIntegrationEnabled(input: $input) { enabled } }""",
              {"input": {"id": hook.id, "enabled": False}})
    response = await send_stripe(hook, event)
    assert response.status_code == 403 and response.json()["error"] == "INTEGRATION_DISABLED"
    await gql("""mutation($input: DeleteIntegrationInput!) {
        deleteIntegration(input: $input) { deletedAt } }""", {"input": {"id": hook.id}})
    assert (await send_stripe(hook, event)).status_code == 404
    assert await inbox_count(hook.slug) == 0


async def test_rate_limit_per_integration(make_integration, send_stripe):
    hook = await make_integration("stripe", rateLimit={"perSecond": 1, "burst": 2})
    other = await make_integration("stripe")
    codes = []
    for _ in range(4):
        event = stripe_event("payment_intent.succeeded", payment_intent("nobody", 1))
        response = await send_stripe(hook, event)
        codes.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"] == "RATE_LIMITED"
    assert codes[:2] == [202, 202] and 429 in codes[2:]
    # Another integration's budget is its own.
    event = stripe_event("payment_intent.succeeded", payment_intent("nobody", 1))
    assert (await send_stripe(other, event)).status_code == 202


# --- processing outcomes -----------------------------------------------------------


async def test_unknown_customer_is_parked_with_an_alert_then_replayed(
        gql, make_integration, linked_customer, make_customer, send_stripe):
    hook = await make_integration("stripe")
    event = stripe_event("payment_intent.succeeded", payment_intent("cus_later", 700))
    response = await send_stripe(hook, event)
    event_id = response.json()["id"]
    parked = await settled(event_id)
    assert parked.status == InboundStatus.PARKED
    assert parked.last_error.startswith("UNKNOWN_CUSTOMER")
    alert = await Alert.filter(kind="webhook.parked.unknown_customer",
                               integration_id=hook.id).first()
    assert alert is not None and alert.details["inbound_event_id"] == event_id

    customer = await linked_customer(hook, "cus_later")
    replay = """mutation($input: ReplayInboundEventInput!) {
        replayInboundEvent(input: $input) { id status } }"""
    result = await gql(replay, {"input": {"ids": [event_id]}})
    assert result.data["replayInboundEvent"][0]["status"] == "RECEIVED"
    applied = await settled(event_id)
    assert applied.status == InboundStatus.APPLIED, applied.last_error
    assert await balance(customer) == -700
    # Replaying an applied event again changes nothing.
    again = await gql(replay, {"input": {"ids": [event_id]}})
    assert again.data["replayInboundEvent"][0]["status"] == "APPLIED"
    assert await balance(customer) == -700


async def test_segment_not_allowed_is_dead_lettered(gql, make_integration, linked_customer,
                                                    send_stripe):
    hook = await make_integration("stripe", segments=["retail"])
    customer = await linked_customer(hook, "cus_seg")  # segment "haulage"
    response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                    payment_intent("cus_seg", 100)))
    dead = await settled(response.json()["id"])
    assert dead.status == InboundStatus.DEAD
    assert dead.last_error.startswith("SEGMENT_NOT_ALLOWED")
    # An admin inspects the dead letter as it was received.
    shown = await gql("""query($id: ID!) { inboundEvent(id: $id) {
        status lastError payload payloadRetained } }""", {"id": str(dead.id)})
    node = shown.data["inboundEvent"]
    assert node["status"] == "DEAD" and node["payloadRetained"]
    assert json.loads(node["payload"])["data"]["object"]["customer"] == "cus_seg"
    assert await Alert.filter(kind="webhook.dead_letter", integration_id=hook.id).exists()
    assert await balance(customer) == 0


async def test_unmapped_event_type_is_ignored(make_integration, send_stripe):
    hook = await make_integration("stripe")
    response = await send_stripe(hook, stripe_event("customer.created", {"id": "cus_x"}))
    assert response.status_code == 202
    ignored = await settled(response.json()["id"])
    assert ignored.status == InboundStatus.IGNORED and ignored.last_error is None


async def test_refund_before_its_payment_applies_once_both_arrive(
        app, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_ooo")
    refund = stripe_event("charge.refunded", {
        "id": "ch_ooo", "object": "charge", "amount": 4000, "amount_refunded": 4000,
        "currency": "usd", "customer": "cus_ooo", "payment_intent": "pi_ooo"})
    refund_id = (await send_stripe(hook, refund)).json()["id"]
    waiting = await settled(refund_id)
    assert waiting.status == InboundStatus.RETRYING
    assert waiting.next_attempt_at is not None and waiting.attempts == 1

    payment = stripe_event("payment_intent.succeeded",
                           payment_intent("cus_ooo", 4000, pi="pi_ooo"))
    assert (await settled((await send_stripe(hook, payment)).json()["id"])).status \
        == InboundStatus.APPLIED
    # The scheduled retry, run now rather than in 5 s.
    outcome = await processing.process(refund_id, delays=(5,), queue=app.state.queue)
    assert outcome is not None and outcome.status == InboundStatus.APPLIED
    assert await balance(customer) == 0
    kinds = [e.kind for e in await entries(customer)]
    assert kinds == [EntryKind.PAYMENT, EntryKind.REVERSAL]
    # A second run of the same job finds nothing to do.
    assert await processing.process(refund_id, delays=(5,), queue=app.state.queue) is None
    assert await balance(customer) == 0


async def test_retries_run_out_into_a_dead_letter_with_an_alert(
        app, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    await linked_customer(hook, "cus_never")
    refund = stripe_event("charge.refunded", {
        "id": "ch_n", "amount_refunded": 100, "currency": "usd", "customer": "cus_never",
        "payment_intent": "pi_never"})
    event_id = (await send_stripe(hook, refund)).json()["id"]
    assert (await settled(event_id)).status == InboundStatus.RETRYING  # the first attempt
    # Two retries on this schedule, run now rather than when due; then nothing is left.
    delays = (5, 5)
    statuses = []
    for _ in range(3):
        outcome = await processing.process(event_id, delays=delays, queue=app.state.queue)
        statuses.append(outcome.status if outcome else None)
    assert statuses == [InboundStatus.RETRYING, InboundStatus.DEAD, None]
    dead = await InboundEvent.get(id=event_id)
    assert dead.status == InboundStatus.DEAD and dead.attempts == 3
    assert "not in the ledger yet" in dead.last_error
    assert await Alert.filter(kind="webhook.dead_letter", integration_id=hook.id).exists()


async def test_sweep_enqueues_what_a_lost_queue_message_left_behind(
        app, make_integration, linked_customer):
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_lost")
    body = json.dumps(stripe_event("payment_intent.succeeded",
                                   payment_intent("cus_lost", 300))).encode()
    # Stored, but its queue message never sent (as if Redis lost it).
    lost = await InboundEvent.create(
        id=uuid.uuid4(), integration_id=hook.id, external_id=f"evt_{uuid.uuid4().hex}",
        event_type="payment_intent.succeeded", content_type="application/json",
        payload=body, received_at=datetime.now(UTC) - timedelta(minutes=5))
    assert await inbox.sweep(app.state.queue, older_than=timedelta(seconds=60)) >= 1
    assert (await settled(str(lost.id))).status == InboundStatus.APPLIED
    assert await balance(customer) == -300


async def test_retention_deletes_old_payloads_and_keeps_metadata(
        make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    await linked_customer(hook, "cus_ret")
    response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                    payment_intent("cus_ret", 5)))
    event_id = response.json()["id"]
    await settled(event_id)
    await inbox.purge_payloads(older_than_days=30)
    still = await InboundEvent.get(id=event_id)
    assert still.payload is not None
    later = datetime.now(UTC) + timedelta(days=31)
    assert await inbox.purge_payloads(older_than_days=30, now=later) >= 1
    purged = await InboundEvent.get(id=event_id)
    assert purged.payload is None and purged.status == InboundStatus.APPLIED
    assert purged.external_id == json.loads(response.request.content)["id"]


async def test_secret_rotation_overlap(gql, make_integration, linked_customer, send_stripe):
    from webhook_kit import Hook

    hook = await make_integration("stripe")
    rotate = """mutation($input: RotateIntegrationSecretInput!) {
        rotateIntegrationSecret(input: $input) { secret
          integration { previousSecretExpiresAt } } }"""
    result = await gql(rotate, {"input": {"id": hook.id, "overlapSeconds": 3600}})
    new_secret = result.data["rotateIntegrationSecret"]["secret"]
    assert new_secret and new_secret != hook.secret
    assert result.data["rotateIntegrationSecret"]["integration"]["previousSecretExpiresAt"]
    new = Hook(hook.id, hook.slug, new_secret, hook.ref_system)
    for h in (hook, new):  # both verify during the overlap
        event = stripe_event("customer.created", {"id": "c"})
        assert (await send_stripe(h, event)).status_code == 202
    await gql(rotate, {"input": {"id": hook.id, "overlapSeconds": 0}})
    for h in (hook, new):  # with no overlap, only the newest verifies
        response = await send_stripe(h, stripe_event("customer.created", {"id": "c"}))
        assert response.status_code == 401


async def test_verify_is_clean_after_webhook_traffic():
    report = await verify_all()
    assert report["ok"], report


async def test_stripe_partial_refunds_apply_the_new_part_of_the_running_total(
        make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    customer = await linked_customer(hook, "cus_part")
    payment = stripe_event("payment_intent.succeeded",
                           payment_intent("cus_part", 10000, pi="pi_part"))
    assert (await settled((await send_stripe(hook, payment)).json()["id"])).status \
        == InboundStatus.APPLIED

    def refunded(total: int) -> dict:
        return stripe_event("charge.refunded", {
            "id": "ch_part", "object": "charge", "amount": 10000, "amount_refunded": total,
            "currency": "usd", "customer": "cus_part", "payment_intent": "pi_part"})

    first, second, late = refunded(3000), refunded(7000), refunded(3000)
    for event in (first, second, late):  # the first total delivered again, late
        outcome = await settled((await send_stripe(hook, event)).json()["id"])
        assert outcome.status == InboundStatus.APPLIED, outcome.last_error
    refunds = [e.amount_minor for e in await entries(customer) if e.kind == EntryKind.REFUND]
    assert refunds == [3000, 4000]
    assert await balance(customer) == -10000 + 7000


async def test_metrics_count_callbacks_refusals_and_outcomes(client, make_integration,
                                                             linked_customer, send_stripe):
    from prometheus_client.parser import text_string_to_metric_families

    hook = await make_integration("stripe")
    await linked_customer(hook, "cus_metrics")
    ok = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                              payment_intent("cus_metrics", 10)))
    await settled(ok.json()["id"])
    stale = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                 payment_intent("cus_metrics", 10)),
                              timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401

    async def scrape() -> dict:
        text = (await client.get("/metrics")).text
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.labels.get("integration") == hook.slug:
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    found[key] = sample.value
        return found

    def value(found: dict, name: str, **labels: str) -> float:
        return found.get((name, tuple(sorted({"integration": hook.slug, **labels}.items()))), 0)

    from testkit import eventually

    async def counted() -> dict | None:
        found = await scrape()
        done = value(found, "webhook_events_processed_total", outcome="applied") == 1
        return found if done else None

    found = await eventually(counted)
    assert value(found, "webhook_callbacks_received_total") == 2
    assert value(found, "webhook_callbacks_refused_total",
                 reason="TIMESTAMP_OUT_OF_TOLERANCE") == 1
    assert value(found, "webhook_ingest_seconds_count") == 1
    assert value(found, "webhook_sync_lag_seconds_count") == 1


async def test_sweep_leaves_an_event_whose_job_still_waits_in_the_queue(app, make_integration):
    hook = await make_integration("stripe")
    waiting = await InboundEvent.create(
        id=uuid.uuid4(), integration_id=hook.id, external_id=f"evt_{uuid.uuid4().hex}",
        event_type="customer.created", content_type="application/json",
        payload=b'{"id": "x", "type": "customer.created"}',
        received_at=datetime.now(UTC) - timedelta(minutes=5))
    # Its own job, deferred so that it is still queued when the sweep looks.
    await inbox.enqueue(app.state.queue, waiting.id, defer_seconds=3600)
    await inbox.sweep(app.state.queue, older_than=timedelta(seconds=60))
    assert await app.state.queue.keys(f"arq:job:inbound:{waiting.id}:sweep*") == []
    assert (await InboundEvent.get(id=waiting.id)).status == InboundStatus.RECEIVED
    await InboundEvent.filter(id=waiting.id).update(status=InboundStatus.IGNORED)


async def test_a_change_made_by_another_process_reaches_the_edge_within_its_cache_time(
        make_integration, send_stripe, monkeypatch):
    from ccm_gateway.integration import service as integration_service
    from ccm_gateway.integration.models import Integration

    hook = await make_integration("stripe")

    def event() -> dict:
        return stripe_event("customer.created", {"id": "c"})

    assert (await send_stripe(hook, event())).status_code == 202  # now cached here
    # Another API process disables it: a row update this process hears nothing of.
    await Integration.filter(id=hook.id).update(enabled=False)
    assert (await send_stripe(hook, event())).status_code == 202  # the cached copy, < 2 s
    monkeypatch.setattr(integration_service, "EDGE_CACHE_SECONDS", 0.0)  # time has passed
    assert (await send_stripe(hook, event())).status_code == 403
