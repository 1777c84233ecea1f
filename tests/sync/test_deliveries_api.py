"""Outbound deliveries through GraphQL: the listing and its filters, a delivery with its
attempts, resending (events as they were, states as they are now) and recovering what an
endpoint failed to receive; partner principals see none of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from endpoint_kit import SET_ENABLED, make_attempt, make_delivery, make_endpoint, make_integration
from testkit import eventually

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.outbound.models import AttemptTarget, DeliveryStatus, OutboundDelivery
from ccm_gateway.sync import types as sync_types

DELIVERIES = """
query($filter: OutboundDeliveryFilter, $first: Int, $after: String) {
  outboundDeliveries(filter: $filter, first: $first, after: $after) {
    edges { node { id status eventType customerId endpointId } }
    pageInfo { hasNextPage endCursor } } }"""
DELIVERY = """
query($id: ID!) { outboundDelivery(id: $id) {
  id webhookId eventType customerId version payload status attemptCount nextAttemptAt
  lastStatusCode lastError changedAt createdAt deliveredAt endpoint { id url }
  attempts { attemptedAt target url statusCode durationMs responseExcerpt errorClass
             succeeded } } }"""
RESEND = """
mutation($ids: [ID!]!) { resendOutboundDelivery(input: {ids: $ids}) {
  deliveries { id status nextAttemptAt } refreshedCustomerIds } }"""
RECOVER = """
mutation($id: ID!, $since: DateTime!) {
  recoverOutboundEndpoint(input: {endpointId: $id, since: $since}) {
    endpoint { id } resent refreshedCustomers } }"""


@pytest.fixture
def woken(monkeypatch) -> list[set[str]]:
    """The endpoints each wake_deliverers call named (the job queue is left alone)."""
    calls: list[set[str]] = []

    async def spy(queue: Any, endpoint_ids: set[Any]) -> None:
        assert queue is not None
        calls.append({str(e) for e in endpoint_ids})

    monkeypatch.setattr(sync_types, "wake_deliverers", spy)
    return calls


def _ids(result: Any) -> list[str]:
    return [e["node"]["id"] for e in result.data["outboundDeliveries"]["edges"]]


async def _endpoint(gql: Any, **extra: Any) -> tuple[Any, str]:
    partner = await make_integration(gql)
    created = await make_endpoint(gql, partner.integration_id, **extra)
    return partner, created["endpoint"]["id"]


async def test_the_listing_filters_by_each_field_newest_first(gql):
    _, endpoint_id = await _endpoint(gql)
    _, other_id = await _endpoint(gql)
    now = datetime.now(UTC)
    customer = uuid.uuid4()
    old = await make_delivery(endpoint_id, status=DeliveryStatus.SUCCEEDED,
                              created_at=now - timedelta(hours=3))
    failed = await make_delivery(endpoint_id, status=DeliveryStatus.FAILED, customer_id=customer,
                                 created_at=now - timedelta(hours=2))
    alert = await make_delivery(endpoint_id, status=DeliveryStatus.PENDING,
                                event_type="alert.raised", created_at=now - timedelta(hours=1))
    elsewhere = await make_delivery(other_id, status=DeliveryStatus.FAILED, customer_id=customer)

    mine = await gql(DELIVERIES, {"filter": {"endpointId": endpoint_id}})
    assert _ids(mine) == [str(alert.id), str(failed.id), str(old.id)]
    cases = [
        ({"endpointId": endpoint_id, "status": "FAILED"}, [failed]),
        ({"endpointId": endpoint_id, "eventType": "alert.raised"}, [alert]),
        ({"customerId": str(customer)}, [elsewhere, failed]),
        ({"endpointId": endpoint_id, "createdAfter": (now - timedelta(minutes=150)).isoformat()},
         [alert, failed]),
        ({"endpointId": endpoint_id, "createdBefore": (now - timedelta(minutes=90)).isoformat()},
         [failed, old]),
        ({"endpointId": endpoint_id, "status": "SUCCEEDED", "createdBefore": now.isoformat()},
         [old]),
    ]
    for flt, expected in cases:
        assert _ids(await gql(DELIVERIES, {"filter": flt})) == [str(d.id) for d in expected], flt
    page = (await gql(DELIVERIES, {"filter": {"endpointId": endpoint_id}, "first": 2})
            ).data["outboundDeliveries"]
    assert page["pageInfo"]["hasNextPage"]
    rest = await gql(DELIVERIES, {"filter": {"endpointId": endpoint_id}, "first": 2,
                                  "after": page["pageInfo"]["endCursor"]})
    assert _ids(rest) == [str(old.id)]


@pytest.mark.parametrize(("flt", "field"), [
    ({"endpointId": "nope"}, "filter.endpointId"),
    ({"customerId": "nope"}, "filter.customerId"),
    ({"createdAfter": "2025-01-01T00:00:00"}, "filter.createdAfter"),
])
async def test_a_bad_filter_names_its_field(gql, flt, field):
    result = await gql(DELIVERIES, {"filter": flt})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field


async def test_a_delivery_shows_its_attempts_oldest_first(gql):
    _, endpoint_id = await _endpoint(gql, fallbackUrl="http://127.0.0.1:9/fallback")
    customer = uuid.uuid4()
    delivery = await make_delivery(endpoint_id, status=DeliveryStatus.SUCCEEDED,
                                   event_type="credit.updated", customer_id=customer,
                                   version=2**40, attempts=2, last_status_code=200)
    now = datetime.now(UTC)
    await make_attempt(delivery, succeeded=True, at=now, target=AttemptTarget.FALLBACK,
                       url="http://127.0.0.1:9/fallback", excerpt="ok", duration_ms=40)
    await make_attempt(delivery, succeeded=False, at=now - timedelta(seconds=5),
                       status_code=503, error_class="http_503", excerpt="busy",
                       duration_ms=7)
    found = (await gql(DELIVERY, {"id": str(delivery.id)})).data["outboundDelivery"]
    assert found["webhookId"] == delivery.webhook_id and found["status"] == "SUCCEEDED"
    assert found["version"] == str(2**40) and found["customerId"] == str(customer)
    assert found["payload"] == delivery.payload and found["attemptCount"] == 2
    assert found["endpoint"]["id"] == endpoint_id
    assert found["attempts"] == [
        {"attemptedAt": (now - timedelta(seconds=5)).isoformat(), "target": "PRIMARY",
         "url": "http://127.0.0.1:9/hooks", "statusCode": 503, "durationMs": 7,
         "responseExcerpt": "busy", "errorClass": "http_503", "succeeded": False},
        {"attemptedAt": now.isoformat(), "target": "FALLBACK",
         "url": "http://127.0.0.1:9/fallback", "statusCode": 200, "durationMs": 40,
         "responseExcerpt": "ok", "errorClass": None, "succeeded": True}]
    assert (await gql(DELIVERY, {"id": str(uuid.uuid4())})).data == {"outboundDelivery": None}
    node = await gql("query($id: ID!) { node(id: $id) { __typename id } }",
                     {"id": str(delivery.id)})
    assert node.data["node"] == {"__typename": "OutboundDelivery", "id": str(delivery.id)}


async def test_attempts_of_a_page_of_deliveries_take_one_query(gql, count_queries):
    _, endpoint_id = await _endpoint(gql)
    for _ in range(3):
        delivery = await make_delivery(endpoint_id)
        await make_attempt(delivery, succeeded=False)
    query = """query($f: OutboundDeliveryFilter, $n: Int) { outboundDeliveries(filter: $f,
        first: $n) { edges { node { id attempts { succeeded } endpoint { id } } } } }"""
    before = count_queries.count
    await gql(query, {"f": {"endpointId": endpoint_id}, "n": 1})
    one = count_queries.count - before
    before = count_queries.count
    three = await gql(query, {"f": {"endpointId": endpoint_id}, "n": 3})
    assert len(three.data["outboundDeliveries"]["edges"]) == 3
    assert count_queries.count - before == one


async def test_resend_makes_events_due_now_and_wakes_their_deliverer(gql, make_customer, woken):
    partner, endpoint_id = await _endpoint(gql)
    customer = await make_customer(segment=partner.segment)
    failed = await make_delivery(endpoint_id, status=DeliveryStatus.FAILED, customer_id=customer,
                                 attempts=8, primary_failures=3)
    delivered = await make_delivery(endpoint_id, status=DeliveryStatus.SUCCEEDED)
    sending = await make_delivery(endpoint_id, status=DeliveryStatus.SENDING)
    before = datetime.now(UTC)
    result = await gql(RESEND, {"ids": [str(failed.id), str(delivered.id), str(sending.id)]})
    resent = result.data["resendOutboundDelivery"]
    assert [d["id"] for d in resent["deliveries"]] == [str(failed.id), str(delivered.id)]
    assert resent["refreshedCustomerIds"] == []
    for delivery in (failed, delivered):
        row = await OutboundDelivery.get(id=delivery.id)
        assert row.status == DeliveryStatus.PENDING and row.primary_failures == 0
        assert row.next_attempt_at is not None
        assert before <= row.next_attempt_at <= datetime.now(UTC)
        assert row.webhook_id == delivery.webhook_id  # the receiver can drop a repeat
    assert (await OutboundDelivery.get(id=sending.id)).status == DeliveryStatus.SENDING
    assert woken == [{endpoint_id}]
    audit = await AuditEvent.filter(action="outbound_delivery.resend",
                                    object_id=str(failed.id)).first()
    assert audit is not None and audit.before["status"] == "failed"
    assert audit.after == {"status": "pending"}


async def test_resending_a_state_sends_the_customers_current_state_instead(gql, make_customer,
                                                                         woken):
    partner, endpoint_id = await _endpoint(gql, eventTypes=["credit.updated"])
    customer = await make_customer(segment=partner.segment)

    async def states() -> list[OutboundDelivery]:
        return list(await OutboundDelivery.filter(
            endpoint_id=endpoint_id, customer_id=customer).order_by("version"))

    first = (await eventually(states))[0]
    assert first.version is not None
    await OutboundDelivery.filter(id=first.id).update(status=DeliveryStatus.FAILED)
    result = await gql(RESEND, {"ids": [str(first.id)]})
    resent = result.data["resendOutboundDelivery"]
    assert resent == {"deliveries": [], "refreshedCustomerIds": [customer]}
    # The old state is not sent again; a newer one, of the customer as it is now, is.
    fresh = await eventually(lambda: _newer(states, first.version))
    # Queued to go (the worker's deliverer may have taken it already), not dropped.
    assert fresh.status not in (DeliveryStatus.SUPERSEDED, DeliveryStatus.SKIPPED)
    assert fresh.payload["data"]["customerId"] == customer
    assert fresh.payload["data"]["version"] == fresh.version
    # Never sent again as it was: left failed, or superseded by the fresh state (when the
    # worker's deliverer had it in hand as the test marked it).
    assert (await OutboundDelivery.get(id=first.id)).status in (DeliveryStatus.FAILED,
                                                                DeliveryStatus.SUPERSEDED)


async def _newer(states: Any, version: int) -> OutboundDelivery | None:
    return next((d for d in await states() if d.version and d.version > version), None)


async def test_resend_refuses_what_must_not_go_again_and_changes_nothing(gql, make_customer,
                                                                       woken):
    _, endpoint_id = await _endpoint(gql)
    failed = await make_delivery(endpoint_id, status=DeliveryStatus.FAILED)
    snapshot = await make_delivery(endpoint_id, status=DeliveryStatus.FAILED,
                                   event_type="credit.snapshot")
    stranger = await make_customer(segment=f"other-{uuid.uuid4().hex[:8]}")
    outside = await make_delivery(endpoint_id, status=DeliveryStatus.FAILED,
                                  customer_id=stranger)
    cases = [
        ([failed.id, uuid.uuid4()], "NOT_FOUND"),
        ([failed.id, snapshot.id], "BAD_USER_INPUT"),
        ([failed.id, outside.id], "CONFLICT"),
        ([], "BAD_USER_INPUT"),
        ([uuid.uuid4() for _ in range(101)], "BAD_USER_INPUT"),
    ]
    for ids, code in cases:
        result = await gql(RESEND, {"ids": [str(i) for i in ids]})
        assert result.error_code == code, (ids, result.errors)
        assert result.errors[0]["extensions"]["field"] == "ids"
    await gql(SET_ENABLED, {"input": {"id": endpoint_id, "enabled": False}})
    disabled = await gql(RESEND, {"ids": [str(failed.id)]})
    assert disabled.error_code == "CONFLICT"
    assert (await OutboundDelivery.get(id=failed.id)).status == DeliveryStatus.FAILED
    assert woken == []


async def test_recover_resends_what_failed_since_then(gql, make_customer, woken):
    partner, endpoint_id = await _endpoint(gql, eventTypes=["ledger.entry.posted",
                                                             "credit.updated"])
    customer = await make_customer(segment=partner.segment)
    now = datetime.now(UTC)
    recent = await make_delivery(endpoint_id, created_at=now - timedelta(hours=2))
    also = await make_delivery(endpoint_id, created_at=now - timedelta(days=2),
                               event_type="alert.raised")
    before = await make_delivery(endpoint_id, created_at=now - timedelta(days=4))
    delivered = await make_delivery(endpoint_id, status=DeliveryStatus.SUCCEEDED,
                                    created_at=now - timedelta(hours=1))
    state = await make_delivery(endpoint_id, event_type="credit.updated", customer_id=customer,
                                version=1, created_at=now - timedelta(hours=1))
    result = await gql(RECOVER, {"id": endpoint_id,
                                 "since": (now - timedelta(days=3)).isoformat()})
    recovered = result.data["recoverOutboundEndpoint"]
    assert recovered == {"endpoint": {"id": endpoint_id}, "resent": 2, "refreshedCustomers": 1}
    statuses = {d.id: d.status for d in await OutboundDelivery.filter(endpoint_id=endpoint_id)}
    assert statuses[recent.id] == statuses[also.id] == DeliveryStatus.PENDING
    assert statuses[before.id] == DeliveryStatus.FAILED
    assert statuses[delivered.id] == DeliveryStatus.SUCCEEDED
    assert statuses[state.id] == DeliveryStatus.FAILED  # replaced by the current state
    assert woken == [{endpoint_id}]
    audit = await AuditEvent.filter(action="outbound_endpoint.recover",
                                    object_id=endpoint_id).first()
    assert audit is not None and audit.after["resent"] == 2
    again = (await gql(RECOVER, {"id": endpoint_id, "since": (now - timedelta(days=3))
                                 .isoformat()})).data["recoverOutboundEndpoint"]
    assert again["resent"] == 0  # nothing failed any more


@pytest.mark.parametrize("since", [
    lambda now: now - timedelta(days=14, minutes=1),
    lambda now: now + timedelta(hours=1),
    lambda now: now.replace(tzinfo=None),
])
async def test_recover_reaches_back_14_days_at_most(gql, since, woken):
    _, endpoint_id = await _endpoint(gql)
    failed = await make_delivery(endpoint_id, created_at=datetime.now(UTC) - timedelta(days=1))
    result = await gql(RECOVER, {"id": endpoint_id,
                                 "since": since(datetime.now(UTC)).isoformat()})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "since"
    assert (await OutboundDelivery.get(id=failed.id)).status == DeliveryStatus.FAILED
    assert woken == []


async def test_recover_of_an_unknown_endpoint_is_not_found(gql, woken):
    result = await gql(RECOVER, {"id": str(uuid.uuid4()),
                                 "since": datetime.now(UTC).isoformat()})
    assert result.error_code == "NOT_FOUND"
    assert result.errors[0]["extensions"]["field"] == "endpointId"


async def test_partner_principals_see_no_deliveries_and_resend_none(gql, woken):
    _, endpoint_id = await _endpoint(gql)
    failed = await make_delivery(endpoint_id)
    portal = gql.token("admin", subject="portal-admin", partner_id="partner-1")
    for query, variables in [
        (DELIVERIES, {"filter": {"endpointId": endpoint_id}}),
        (DELIVERY, {"id": str(failed.id)}),
        (RESEND, {"ids": [str(failed.id)]}),
        (RECOVER, {"id": endpoint_id, "since": datetime.now(UTC).isoformat()}),
    ]:
        result = await gql(query, variables, token=portal)
        assert result.error_code == "FORBIDDEN", query
    node = await gql("query($id: ID!) { node(id: $id) { id } }", {"id": str(failed.id)},
                     token=portal)
    assert node.data == {"node": None}
    assert (await OutboundDelivery.get(id=failed.id)).status == DeliveryStatus.FAILED
    assert woken == []
