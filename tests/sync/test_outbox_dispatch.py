"""The transactional outbox and its dispatcher: what a change writes, what a rollback
leaves, which endpoints hear of it, and latest-state coalescing per (endpoint, customer)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from testkit import eventually
from tortoise.transactions import in_transaction

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.outbox import OutboxMessage
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import EntryKind
from ccm_gateway.outbound.models import (
    DeliveryStatus,
    OutboundDelivery,
    OutboundEndpoint,
    OutboundStream,
)
from ccm_gateway.principal import SYSTEM_ACTOR
from ccm_gateway.sync import dispatch

CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) { integration { id refSystem } }
}"""
LINK_REF = """
mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }"""
AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename ... on Hold { id } }
}"""
POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) { __typename ... on LedgerEntry { id } }
}"""
SET_LIMIT = """
mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { version } }"""
UPDATE_CUSTOMER = """
mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { version } }"""
ALL = ["credit.updated", "ledger.entry.posted", "alert.raised"]


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


@pytest.fixture
def endpoint(gql: Any, settings: Any):
    """An integration (by its segments) with one endpoint subscribed to ``event_types``.
    Its URL is a closed loopback port: these tests read what was queued, not what was
    received."""
    async def make(segments: list[str], event_types: list[str] = ALL) -> OutboundEndpoint:
        result = await gql(CREATE_INTEGRATION, {"input": {
            "slug": f"erp-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
            "profile": "standard-webhooks", "segments": segments}})
        integration = result.data["createIntegration"]["integration"]
        endpoint_id = uuid.uuid4()
        box = SecretBox.from_settings(settings)
        return await OutboundEndpoint.create(
            id=endpoint_id, integration_id=integration["id"], url="http://127.0.0.1:9/hook",
            event_types=event_types,
            secret=box.encrypt(standard_webhooks.new_secret(),
                               context=f"outbound_endpoint:{endpoint_id}:secret"))

    return make


async def deliveries(endpoint: OutboundEndpoint, customer_id: str,
                     event_type: str | None = None) -> list[OutboundDelivery]:
    query = OutboundDelivery.filter(endpoint_id=endpoint.id, customer_id=customer_id)
    if event_type:
        query = query.filter(event_type=event_type)
    return await query.order_by("created_at", "version")


async def drained() -> bool:
    """Nothing left in the outbox (the embedded worker's dispatcher took it)."""
    await dispatch.dispatch_once()
    return not await OutboxMessage.exists()


async def test_a_committed_change_becomes_a_signed_state_delivery(gql, make_customer, endpoint):
    ep = await endpoint(["haulage"])
    customer_id = await make_customer(limit="1000.00")
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                            "amount": usd("250.00")}})).data
    assert hold["authorizeCredit"]["__typename"] == "Hold"
    await eventually(drained)
    states = await deliveries(ep, customer_id, "credit.updated")
    assert states, "the hold's state change was not queued"
    latest = states[-1]
    body = latest.payload
    assert body["type"] == "credit.updated"
    data = body["data"]
    assert data["customerId"] == customer_id
    assert data["limit"] == usd("1000.00")
    assert data["held"] == usd("250.00")
    assert data["balance"] == usd("0.00")
    assert data["available"] == usd("750.00")
    assert data["utilization"] == 0.25
    assert data["status"] == "ACTIVE"
    assert data["gateAllowed"] is True
    assert data["terms"] == {"netDays": 30, "invoicingCycle": "MONTHLY"}
    assert data["version"] == latest.version
    assert latest.webhook_id.startswith("msg_")


async def test_a_rolled_back_change_writes_nothing_and_sends_nothing(make_customer, endpoint):
    ep = await endpoint(["*"])
    customer_id = await make_customer(limit="1000.00")
    await eventually(drained)
    before = len(await deliveries(ep, customer_id))

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with in_transaction():
            hold = await ledger_service.authorize(
                SYSTEM_ACTOR, customer_id, 10_000, "USD", expires_in=timedelta(hours=1))
            assert not isinstance(hold, ledger_service.Declined)
            await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.PAYMENT,
                                            5_000, "USD")
            # The hold's state change, and the entry (its event and its state change).
            assert await OutboxMessage.filter(customer_id=customer_id).count() == 2
            raise Abort
    assert not await OutboxMessage.filter(customer_id=customer_id).exists()
    await dispatch.dispatch_once()
    assert len(await deliveries(ep, customer_id)) == before


async def test_each_entry_is_an_event_and_the_state_coalesces(gql, make_customer, endpoint):
    ep = await endpoint(["*"])
    customer_id = await make_customer(limit="1000.00")
    await eventually(drained)
    # Five entries in one transaction: five events, one newest state at most per pass.
    async with in_transaction():
        for _ in range(5):
            await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.CHARGE,
                                            1_000, "USD")
    await eventually(drained)
    events = await deliveries(ep, customer_id, "ledger.entry.posted")
    assert len(events) == 5
    assert {e.payload["data"]["kind"] for e in events} == {"CHARGE"}
    assert all(e.payload["data"]["amount"] == usd("10.00") for e in events)
    assert len({e.webhook_id for e in events}) == 5

    states = await deliveries(ep, customer_id, "credit.updated")
    versions = [s.version for s in states]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    newest = states[-1]
    assert newest.payload["data"]["balance"] == usd("50.00")
    # Every older state still waiting was superseded by the newest one.
    waiting = [s for s in states[:-1] if s.status in (DeliveryStatus.PENDING,
                                                      DeliveryStatus.RETRYING)]
    assert waiting == []
    stream = await OutboundStream.get(endpoint_id=ep.id, customer_id=customer_id)
    assert stream.latest_version == newest.version


async def test_a_newer_state_supersedes_an_older_one_still_waiting(make_customer, endpoint):
    ep = await endpoint(["*"], ["credit.updated"])
    customer_id = await make_customer(limit="1000.00")
    await eventually(drained)
    first = (await deliveries(ep, customer_id, "credit.updated"))[-1]
    # Keep it waiting (as a delivery being retried would), then change the state again.
    await OutboundDelivery.filter(id=first.id).update(status=DeliveryStatus.RETRYING)
    async with in_transaction():
        await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.CHARGE, 100, "USD")
    await eventually(drained)
    states = await deliveries(ep, customer_id, "credit.updated")
    assert (await OutboundDelivery.get(id=first.id)).status == DeliveryStatus.SUPERSEDED
    assert states[-1].version > first.version
    assert states[-1].payload["data"]["balance"] == usd("1.00")


async def test_an_older_state_than_one_dispatched_is_dropped(make_customer, endpoint):
    ep = await endpoint(["*"], ["credit.updated"])
    customer_id = await make_customer(limit="1000.00")
    await eventually(drained)
    count = len(await deliveries(ep, customer_id))
    # A message whose id is below what the stream has already dispatched (as one
    # committed late by a second dispatcher would be) makes no delivery.
    stream = await OutboundStream.get(endpoint_id=ep.id, customer_id=customer_id)
    await OutboundStream.filter(id=stream.id).update(latest_version=10**15)
    async with in_transaction():
        await ledger_service.post_entry(SYSTEM_ACTOR, customer_id, EntryKind.CHARGE, 100, "USD")
    await eventually(drained)
    assert len(await deliveries(ep, customer_id)) == count


async def test_an_endpoint_hears_only_of_customers_in_its_segments(gql, make_customer, endpoint):
    retail = await endpoint(["retail"])
    everyone = await endpoint(["*"])
    haulage_customer = await make_customer(limit="100.00", segment="haulage")
    retail_customer = await make_customer(limit="100.00", segment="retail")
    await eventually(drained)
    assert await deliveries(retail, haulage_customer) == []
    assert await deliveries(retail, retail_customer)
    assert await deliveries(everyone, haulage_customer)
    # Moving the customer into the segment makes it visible from then on.
    version = 1
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": haulage_customer, "segment": "retail",
                                                   "expectedVersion": version}})
    result.assert_ok()
    await eventually(drained)
    moved = await deliveries(retail, haulage_customer, "credit.updated")
    assert len(moved) == 1


async def test_limit_status_and_terms_changes_are_state_changes(gql, make_customer, endpoint):
    ep = await endpoint(["*"], ["credit.updated"])
    customer_id = await make_customer(limit="100.00")
    await eventually(drained)
    result = await gql(SET_LIMIT, {"input": {"customerId": customer_id,
                                             "limit": usd("50.00")}})
    result.assert_ok()
    await eventually(drained)
    assert (await deliveries(ep, customer_id))[-1].payload["data"]["limit"] == usd("50.00")
    result = await gql(UPDATE_CUSTOMER, {"input": {"id": customer_id, "status": "ON_HOLD",
                                                   "expectedVersion": 1}})
    result.assert_ok()
    await eventually(drained)
    data = (await deliveries(ep, customer_id))[-1].payload["data"]
    assert data["status"] == "ON_HOLD"
    assert data["gateAllowed"] is False
    assert data["gateReason"] == "ACCOUNT_ON_HOLD"


async def test_alerts_go_to_the_integration_they_concern(endpoint):
    mine = await endpoint(["*"], ["alert.raised"])
    other = await endpoint(["*"], ["alert.raised"])
    async with in_transaction():
        alert = await raise_alert("outbound.test", AlertSeverity.WARNING, "about one",
                                  integration_id=mine.integration_id)
    await eventually(drained)
    got = await OutboundDelivery.filter(endpoint_id=mine.id, event_type="alert.raised")
    assert [d.payload["data"]["alertId"] for d in got] == [str(alert.id)]
    assert got[0].payload["data"]["severity"] == "WARNING"
    assert not await OutboundDelivery.filter(endpoint_id=other.id,
                                             event_type="alert.raised").exists()


async def test_a_disabled_endpoint_is_given_nothing(make_customer, endpoint):
    ep = await endpoint(["*"])
    await OutboundEndpoint.filter(id=ep.id).update(enabled=False)
    customer_id = await make_customer(limit="100.00")
    await eventually(drained)
    assert await deliveries(ep, customer_id) == []


async def test_the_worker_dispatches_on_its_own_after_a_commit(make_customer, endpoint):
    """No test-side dispatch: the embedded worker's dispatcher, woken after the
    mutation, turns the message into a delivery."""
    ep = await endpoint(["*"], ["credit.updated"])
    customer_id = await make_customer(limit="100.00")

    async def queued() -> bool:
        return bool(await deliveries(ep, customer_id))

    await eventually(queued)
