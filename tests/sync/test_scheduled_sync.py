"""Scheduled sync at each integration's frequency: ``syncFrequencySeconds`` through GraphQL,
which integrations are due and claimed (once per window, whatever the number of workers),
and the ``credit.snapshot`` push of every customer an integration may see, in batches.

The session's embedded worker runs ``sync.scheduled`` on the real clock. These tests run
it on their own clock two hours ahead, with their integrations marked synced at the real
now, so the worker's runs never find them due meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from testkit import eventually

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.config import Settings
from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.integration.models import Integration
from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.delivery import DELIVER
from ccm_gateway.outbound.models import (
    DeliveryStatus,
    OutboundDelivery,
    OutboundEndpoint,
    OutboundStream,
)
from ccm_gateway.sync import payloads, snapshot
from ccm_gateway.sync.tasks import run_scheduled
from ccm_gateway.worker import CRON_JOBS, open_queue

CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) {
  createIntegration(input: $input) {
    integration { id refSystem syncFrequencySeconds lastSyncedAt version }
  }
}"""
UPDATE_INTEGRATION = """
mutation($input: UpdateIntegrationInput!) {
  updateIntegration(input: $input) { id syncFrequencySeconds version }
}"""
INTEGRATION = """
query($id: ID!) { integration(id: $id) { syncFrequencySeconds lastSyncedAt version } }"""
LINK_REF = """
mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }"""

HOUR = 3600
# The tests' clock: far enough ahead that the embedded worker's runs never see it.
AHEAD = timedelta(hours=2)


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


@dataclass
class Synced:
    """An integration under test, with scheduled sync on."""

    id: str
    ref_system: str
    segments: list[str]


@pytest.fixture
async def queue() -> AsyncIterator[ArqRedis]:
    """A queue of the tests' own (the embedded one), where the wakes can be read back before
    any worker takes them."""
    own = await open_queue(Settings())
    yield own
    await own.aclose()


@pytest.fixture
async def synced(gql: Any) -> AsyncIterator[Any]:
    """Makes integrations with scheduled sync on, marked synced at the real now; turns
    their sync off afterwards so later tests' runs leave them alone."""
    made: list[str] = []

    async def make(segments: list[str], *, frequency: int = HOUR,
                   profile: str = "standard-webhooks") -> Synced:
        result = await gql(CREATE_INTEGRATION, {"input": {
            "slug": f"sync-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
            "profile": profile, "segments": segments, "syncFrequencySeconds": frequency}})
        data = result.data["createIntegration"]["integration"]
        made.append(data["id"])
        await Integration.filter(id=data["id"]).update(last_synced_at=datetime.now(UTC))
        return Synced(data["id"], data["refSystem"], segments)

    yield make
    if made:
        await Integration.filter(id__in=made).update(sync_frequency_seconds=None)


@pytest.fixture
def endpoint(settings: Settings) -> Any:
    """An endpoint created directly (its management API is not this test's subject). Its
    URL is a closed loopback port: these tests read what was queued, not what was sent."""
    async def make(integration: Synced, event_types: list[str] | None = None,
                   **extra: Any) -> OutboundEndpoint:
        endpoint_id = uuid.uuid4()
        box = SecretBox.from_settings(settings)
        return await OutboundEndpoint.create(
            id=endpoint_id, integration_id=integration.id, url="http://127.0.0.1:9/hook",
            event_types=event_types or [payloads.SNAPSHOT_TYPE],
            secret=box.encrypt(standard_webhooks.new_secret(),
                               context=f"outbound_endpoint:{endpoint_id}:secret"), **extra)

    return make


@pytest.fixture
def customers(gql: Any, make_customer: Any) -> Any:
    """``count`` customers of ``segment``, each with an ExternalRef in ``ref_system``."""
    async def make(segment: str, count: int, ref_system: str | None = None) -> list[str]:
        ids = []
        for n in range(count):
            customer_id = await make_customer(segment=segment, limit=f"{100 * (n + 1)}.00")
            if ref_system is not None:
                await gql(LINK_REF, {"input": {"customerId": customer_id, "system": ref_system,
                                               "externalId": f"ERP-{uuid.uuid4().hex[:8]}"}})
            ids.append(customer_id)
        return ids

    return make


def segment() -> str:
    """A segment of the test's own: the session's other customers are all haulage."""
    return f"seg-{uuid.uuid4().hex[:10]}"


def later(by: timedelta = timedelta()) -> datetime:
    return datetime.now(UTC) + AHEAD + by


async def snapshots(endpoint: OutboundEndpoint,
                    status: DeliveryStatus | None = None) -> list[OutboundDelivery]:
    query = OutboundDelivery.filter(endpoint_id=endpoint.id, event_type=payloads.SNAPSHOT_TYPE)
    if status is not None:
        query = query.filter(status=status)
    rows = await query
    return sorted(rows, key=lambda d: (d.created_at, d.payload["data"]["batch"]))


def states_of(deliveries: list[OutboundDelivery]) -> dict[str, dict[str, Any]]:
    return {s["customerId"]: s for d in deliveries for s in d.payload["data"]["states"]}


# --- syncFrequencySeconds through GraphQL ---------------------------------------------


async def test_sync_frequency_is_set_changed_turned_off_and_audited(gql):
    created = (await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"freq-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
        "profile": "standard-webhooks", "segments": ["*"], "syncFrequencySeconds": 300}}))
    integration = created.data["createIntegration"]["integration"]
    integration_id = integration["id"]
    assert integration["syncFrequencySeconds"] == 300
    assert integration["lastSyncedAt"] is None

    changed = await gql(UPDATE_INTEGRATION, {"input": {"id": integration_id,
                                                       "syncFrequencySeconds": 600}})
    assert changed.data["updateIntegration"]["syncFrequencySeconds"] == 600
    renamed = await gql(UPDATE_INTEGRATION, {"input": {"id": integration_id, "name": "ERP 2"}})
    assert renamed.data["updateIntegration"]["syncFrequencySeconds"] == 600  # left out: kept
    off = await gql(UPDATE_INTEGRATION, {"input": {"id": integration_id,
                                                   "syncFrequencySeconds": None}})
    assert off.data["updateIntegration"]["syncFrequencySeconds"] is None
    assert (await Integration.get(id=integration_id)).sync_frequency_seconds is None

    audit = await AuditEvent.filter(object_type="integration",
                                    object_id=integration_id).order_by("seq")
    assert [(a.action, (a.before or {}).get("sync_frequency_seconds"),
             (a.after or {}).get("sync_frequency_seconds")) for a in audit] == [
        ("integration.create", None, 300),
        ("integration.update", 300, 600),
        ("integration.update", 600, 600),
        ("integration.update", 600, None),
    ]


@pytest.mark.parametrize("seconds", [0, 59, 86401, -60])
async def test_sync_frequency_out_of_range_is_refused_naming_the_field(gql, seconds):
    slug = f"freq-{uuid.uuid4().hex[:10]}"
    refused = await gql(CREATE_INTEGRATION, {"input": {
        "slug": slug, "name": "ERP", "kind": "ERP", "profile": "standard-webhooks",
        "segments": ["*"], "syncFrequencySeconds": seconds}})
    assert refused.error_code == "BAD_USER_INPUT"
    assert refused.errors[0]["extensions"]["field"] == "syncFrequencySeconds"
    assert "between 60 and 86400" in refused.errors[0]["message"]
    assert not await Integration.exists(slug=slug)

    created = await gql(CREATE_INTEGRATION, {"input": {
        "slug": slug, "name": "ERP", "kind": "ERP", "profile": "standard-webhooks",
        "segments": ["*"], "syncFrequencySeconds": 60}})
    integration = created.data["createIntegration"]["integration"]
    refused = await gql(UPDATE_INTEGRATION, {"input": {"id": integration["id"],
                                                       "syncFrequencySeconds": seconds}})
    assert refused.error_code == "BAD_USER_INPUT"
    assert refused.errors[0]["extensions"]["field"] == "syncFrequencySeconds"
    after = (await gql(INTEGRATION, {"id": integration["id"]})).data["integration"]
    assert after["syncFrequencySeconds"] == 60
    assert after["version"] == integration["version"]
    await Integration.filter(id=integration["id"]).update(sync_frequency_seconds=None)


@pytest.mark.parametrize("seconds", [60, 86400])
async def test_sync_frequency_bounds_are_accepted(gql, seconds):
    created = await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"freq-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
        "profile": "standard-webhooks", "segments": ["*"], "syncFrequencySeconds": seconds}})
    assert created.data["createIntegration"]["integration"]["syncFrequencySeconds"] == seconds
    await Integration.filter(id=created.data["createIntegration"]["integration"]["id"]) \
        .update(sync_frequency_seconds=None)


def test_the_worker_runs_the_scheduled_sync_every_ten_seconds_once_at_a_time():
    (job,) = [c for c in CRON_JOBS if c.name == "sync.scheduled"]
    assert job.unique
    assert sorted(job.second) == [2, 12, 22, 32, 42, 52]  # type: ignore[arg-type]


# --- the snapshot ---------------------------------------------------------------------


async def test_snapshot_holds_every_customer_of_the_segments_in_batches(
        synced, endpoint, customers, queue, settings, monkeypatch):
    monkeypatch.setattr(snapshot, "BATCH", 3)
    seen, other = segment(), segment()
    integration = await synced([seen])
    ep = await endpoint(integration)
    mine = await customers(seen, 7, integration.ref_system)
    hidden = await customers(other, 2, integration.ref_system)
    # A ref in another system is not this integration's to know.
    await ExternalRef.create(customer_id=mine[0], system=f"crm-{uuid.uuid4().hex[:6]}",
                             external_id="C-1")

    done = await run_scheduled(queue, settings, now=later())

    assert [s.integration_id for s in done if str(s.integration_id) == integration.id]
    sent = await snapshots(ep)
    assert len(sent) == math.ceil(7 / 3)
    assert [d.payload["data"]["batch"] for d in sent] == [1, 2, 3]
    assert {d.payload["data"]["batches"] for d in sent} == {3}
    assert [len(d.payload["data"]["states"]) for d in sent] == [3, 3, 1]
    assert len({d.webhook_id for d in sent}) == 3
    assert all(d.status == DeliveryStatus.PENDING and d.customer_id is None for d in sent)
    states = states_of(sent)
    assert sorted(states) == sorted(mine)
    assert not set(hidden) & set(states)
    for customer_id in mine:
        customer = await Customer.get(id=customer_id)
        account = await CreditAccount.get(customer_id=customer_id)
        refs = await ExternalRef.filter(customer_id=customer_id,
                                        system=integration.ref_system).order_by("id")
        assert states[customer_id] == payloads.credit_state(customer, account, refs, 0)
    assert [r["system"] for r in states[mine[0]]["externalRefs"]] == [integration.ref_system]
    body = sent[0].payload
    assert body["type"] == "credit.snapshot"
    assert datetime.fromisoformat(body["timestamp"]) == sent[0].changed_at


async def test_snapshot_states_carry_the_version_the_endpoint_has_reached(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    integration = await synced([seen])
    ep, other_ep = await endpoint(integration), await endpoint(integration)
    first, second = await customers(seen, 2)
    await OutboundStream.create(endpoint_id=ep.id, customer_id=first, latest_version=42,
                                sent_version=40)
    await OutboundStream.create(endpoint_id=other_ep.id, customer_id=first, latest_version=7)

    await run_scheduled(queue, settings, now=later())

    mine, theirs = states_of(await snapshots(ep)), states_of(await snapshots(other_ep))
    assert (mine[first]["version"], mine[second]["version"]) == (42, 0)
    assert (theirs[first]["version"], theirs[second]["version"]) == (7, 0)


async def test_an_integration_of_every_segment_sees_every_customer(
        synced, endpoint, customers, queue, settings):
    integration = await synced(["*"])
    ep = await endpoint(integration)
    await customers(segment(), 1)

    await run_scheduled(queue, settings, now=later())

    assert len(states_of(await snapshots(ep))) == await Customer.all().count()


async def test_snapshot_goes_only_to_live_endpoints_that_subscribe_to_it(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    integration = await synced([seen])
    subscribed = await endpoint(integration, ["credit.updated", "credit.snapshot"])
    states_only = await endpoint(integration, ["credit.updated"])
    disabled = await endpoint(integration, enabled=False)
    deleted = await endpoint(integration, deleted_at=datetime.now(UTC))
    await customers(seen, 1)

    await run_scheduled(queue, settings, now=later())

    assert len(await snapshots(subscribed)) == 1
    for ep in (states_only, disabled, deleted):
        assert await snapshots(ep) == []
    # Each endpoint given deliveries is woken once, after the commit.
    woken = [j.decode() for j in await queue.zrange(queue.default_queue_name, 0, -1)]
    assert [j for j in woken if str(subscribed.id) in j] != []
    assert not [j for j in woken if any(str(e.id) in j for e in (states_only, disabled,
                                                                  deleted))]
    job = await queue.get(f"arq:job:{next(j for j in woken if str(subscribed.id) in j)}")
    assert DELIVER.encode() in job and str(subscribed.id).encode() in job


async def test_a_snapshot_still_waiting_is_superseded_by_the_next(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    integration = await synced([seen], frequency=HOUR)
    ep = await endpoint(integration)
    await customers(seen, 1)
    await run_scheduled(queue, settings, now=later())
    (first,) = await snapshots(ep)
    await OutboundDelivery.filter(id=first.id).update(status=DeliveryStatus.SENDING)
    await run_scheduled(queue, settings, now=later(timedelta(seconds=HOUR)))
    await OutboundDelivery.filter(id=first.id).update(status=DeliveryStatus.SUCCEEDED)
    await run_scheduled(queue, settings, now=later(timedelta(seconds=2 * HOUR)))

    statuses = [d.status for d in await snapshots(ep)]
    # One in flight finishes; one waiting gives way to the newer snapshot.
    assert statuses == [DeliveryStatus.SUCCEEDED, DeliveryStatus.SUPERSEDED,
                        DeliveryStatus.PENDING]


async def test_an_integration_with_no_customers_to_show_is_sent_nothing(
        synced, endpoint, queue, settings):
    integration = await synced([segment()])
    ep = await endpoint(integration)

    await run_scheduled(queue, settings, now=later())

    assert await snapshots(ep) == []
    assert (await Integration.get(id=integration.id)).last_synced_at is not None


# --- when: the frequency window, and one sync per window ---------------------------


async def test_an_integration_syncs_once_per_frequency_window(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    integration = await synced([seen], frequency=HOUR)
    ep = await endpoint(integration)
    await customers(seen, 1)
    start = later()

    await run_scheduled(queue, settings, now=start)
    await run_scheduled(queue, settings, now=start + timedelta(seconds=HOUR - 1))
    assert len(await snapshots(ep)) == 1
    row = await Integration.get(id=integration.id)
    assert row.last_synced_at == start

    await run_scheduled(queue, settings, now=start + timedelta(seconds=HOUR))
    assert len(await snapshots(ep)) == 2


async def test_an_integration_is_not_due_before_its_frequency_has_passed(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    integration = await synced([seen], frequency=HOUR)
    ep = await endpoint(integration)
    await customers(seen, 1)

    # Marked synced at the real now: an hour has not passed a minute from now.
    await run_scheduled(queue, settings, now=datetime.now(UTC) + timedelta(minutes=1))

    assert await snapshots(ep) == []


async def test_two_runs_at_once_sync_a_due_integration_once(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    integrations = [await synced([seen]) for _ in range(3)]
    eps = [await endpoint(i) for i in integrations]
    await customers(seen, 2)
    at = later()

    first, second = await asyncio.gather(run_scheduled(queue, settings, now=at),
                                         run_scheduled(queue, settings, now=at))

    ours = {i.id for i in integrations}
    claimed = [str(s.integration_id) for s in (*first, *second)
               if str(s.integration_id) in ours]
    assert sorted(claimed) == sorted(ours)  # each by exactly one of the two runs
    for ep in eps:
        assert len(await snapshots(ep)) == 1


async def test_disabled_deleted_and_unscheduled_integrations_are_not_synced(
        synced, endpoint, customers, queue, settings):
    seen = segment()
    disabled, deleted, unscheduled = [await synced([seen]) for _ in range(3)]
    eps = [await endpoint(i) for i in (disabled, deleted, unscheduled)]
    await customers(seen, 1)
    await Integration.filter(id=disabled.id).update(enabled=False)
    await Integration.filter(id=deleted.id).update(enabled=False, deleted_at=datetime.now(UTC))
    await Integration.filter(id=unscheduled.id).update(sync_frequency_seconds=None)

    done = await run_scheduled(queue, settings, now=later())

    ids = {disabled.id, deleted.id, unscheduled.id}
    assert not [s for s in done if str(s.integration_id) in ids]
    for ep in eps:
        assert await snapshots(ep) == []


class TaskQueries(logging.Handler):
    """Counts the SQL statements one asyncio task sends (the embedded worker's dispatcher
    and crons run in this process too)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.task = asyncio.current_task()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(RuntimeError):
            if asyncio.current_task() is self.task:
                self.count += 1


async def queries_of(work: Any) -> int:
    logger = logging.getLogger("tortoise.db_client")
    counter, level = TaskQueries(), logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        await work
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    return counter.count


async def test_snapshot_reads_a_batch_in_a_few_queries_whatever_its_size(
        synced, endpoint, customers, settings, monkeypatch):
    monkeypatch.setattr(snapshot, "BATCH", 5)
    seen = segment()
    integration = await synced([seen])
    await endpoint(integration)
    await endpoint(integration)
    await customers(seen, 5, integration.ref_system)
    row = await Integration.get(id=integration.id)

    one_batch = await queries_of(snapshot.push_snapshot(row, later()))
    await customers(seen, 15, integration.ref_system)
    four_batches = await queries_of(snapshot.push_snapshot(row, later()))

    # Each further batch of 5 customers x 2 endpoints costs the same few queries.
    per_batch = (four_batches - one_batch) / 3
    assert per_batch <= 6, (one_batch, four_batches)


async def test_the_running_worker_syncs_a_due_integration_on_its_own(
        synced, endpoint, customers):
    seen = segment()
    integration = await synced([seen], frequency=60)
    ep = await endpoint(integration)
    await customers(seen, 1)
    await Integration.filter(id=integration.id).update(last_synced_at=None)

    # The session's embedded worker runs sync.scheduled every ten seconds.
    sent = await eventually(lambda: snapshots(ep), timeout=30)

    assert len(sent) == 1
    assert (await Integration.get(id=integration.id)).last_synced_at is not None
