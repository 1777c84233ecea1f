"""Scheduled sync: which integrations are due, and the ``credit.snapshot`` push.

An integration with ``sync_frequency_seconds`` set is due when its ``last_synced_at`` is
unset or at least that long ago. ``claim_due`` moves ``last_synced_at`` to now under a row
lock in one short transaction, so of several worker processes exactly one syncs each due
integration per window; a sync that fails after its claim is tried again in the next
window, not at once (a vendor that is down is not hammered every ten seconds).

A snapshot is every customer the integration may see, as ``credit.updated`` states in
batches of ``BATCH``, one delivery per batch for each of its endpoints that subscribes to
``credit.snapshot``. Each state carries the version the endpoint's stream has reached for
that customer; a receiver applies it only if that version is at least the one it holds,
so a snapshot never takes it back behind a ``credit.updated`` it has already applied.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.integration.models import Integration
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.models import (
    WAITING_STATUSES,
    DeliveryStatus,
    OutboundDelivery,
    OutboundEndpoint,
    OutboundStream,
)
from ccm_gateway.sync import payloads
from ccm_gateway.sync.dispatch import new_webhook_id

BATCH = 100
# Deliveries written per insert: each holds a batch's states, tens of kilobytes.
INSERT_EVERY = 20
# Integrations claimed per run; the rest wait for the next run, ten seconds on.
CLAIM_LIMIT = 100


def _is_due(integration: Integration, now: datetime) -> bool:
    frequency = integration.sync_frequency_seconds
    if frequency is None:
        return False
    last = integration.last_synced_at
    return last is None or last <= now - timedelta(seconds=frequency)


async def claim_due(now: datetime, *, limit: int = CLAIM_LIMIT) -> list[Integration]:
    """Integrations due for a sync at ``now``, each marked synced at ``now`` in the same
    transaction; one claimed elsewhere meanwhile is neither returned nor waited for."""
    async with in_transaction():
        # Rows another process is claiming are skipped, not waited for: it commits their
        # new last_synced_at, so they are not due here afterwards either. (SQLite runs one
        # transaction at a time and has no row locks to take.)
        rows = await Integration.filter(
            enabled=True, deleted_at=None, sync_frequency_seconds__isnull=False,
        ).order_by("id").select_for_update(skip_locked=True)
        # Each row's own frequency decides, so "due" is judged here rather than in SQL;
        # there are tens of integrations, not millions.
        due = [i for i in rows if _is_due(i, now)][:limit]
        if due:
            await Integration.filter(id__in=[i.id for i in due]).update(last_synced_at=now)
    for integration in due:
        integration.last_synced_at = now
    return due


async def snapshot_endpoints(integration: Integration) -> list[OutboundEndpoint]:
    """The integration's live endpoints that subscribe to ``credit.snapshot``."""
    rows = await OutboundEndpoint.filter(integration_id=integration.id, enabled=True,
                                         deleted_at=None).order_by("id")
    return [e for e in rows if payloads.SNAPSHOT_TYPE in e.event_types]


async def push_snapshot(integration: Integration, now: datetime) -> set[Any]:
    """Queue a snapshot for each subscribed endpoint in one transaction; the endpoints
    given deliveries (wake their deliverers after commit). A snapshot still waiting from an
    earlier window is superseded: the new one says everything it said, and more recently."""
    endpoints = await snapshot_endpoints(integration)
    if not endpoints:
        return set()
    segments = set(integration.segments)
    visible = Customer.all() if "*" in segments else Customer.filter(segment__in=segments)
    customer_ids = list(await visible.order_by("id").values_list("id", flat=True))
    if not customer_ids:
        return set()
    batches = [customer_ids[i:i + BATCH] for i in range(0, len(customer_ids), BATCH)]
    endpoint_ids = [e.id for e in endpoints]
    async with in_transaction():
        await OutboundDelivery.filter(
            endpoint_id__in=endpoint_ids, event_type=payloads.SNAPSHOT_TYPE,
            status__in=WAITING_STATUSES,
        ).update(status=DeliveryStatus.SUPERSEDED, next_attempt_at=None)
        deliveries: list[OutboundDelivery] = []
        for number, batch in enumerate(batches, start=1):
            states = await _states(endpoint_ids, batch, integration.ref_system)
            for endpoint_id in endpoint_ids:
                data = {"batch": number, "batches": len(batches),
                        "states": states[endpoint_id]}
                deliveries.append(OutboundDelivery(
                    id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=new_webhook_id(),
                    event_type=payloads.SNAPSHOT_TYPE,
                    payload=payloads.envelope(payloads.SNAPSHOT_TYPE, now, data),
                    changed_at=now))
            if len(deliveries) >= INSERT_EVERY:
                await OutboundDelivery.bulk_create(deliveries)
                deliveries = []
        if deliveries:
            await OutboundDelivery.bulk_create(deliveries)
    return set(endpoint_ids)


async def _states(endpoint_ids: Sequence[Any], customer_ids: Sequence[Any],
                  ref_system: str) -> dict[Any, list[dict[str, Any]]]:
    """Each endpoint's states of one batch of customers, in four queries."""
    # Versions are read before the accounts: a version's change committed before the
    # dispatcher recorded it, so the account read after is at least that new.
    versions = {(str(s.endpoint_id), str(s.customer_id)): s.latest_version
                for s in await OutboundStream.filter(endpoint_id__in=endpoint_ids,
                                                     customer_id__in=customer_ids)}
    customers = {str(c.id): c for c in await Customer.filter(id__in=customer_ids)}
    accounts = {str(a.customer_id): a
                for a in await CreditAccount.filter(customer_id__in=customer_ids)}
    refs: dict[str, list[ExternalRef]] = defaultdict(list)
    for ref in await ExternalRef.filter(customer_id__in=customer_ids,
                                        system=ref_system).order_by("id"):
        refs[str(ref.customer_id)].append(ref)
    states: dict[Any, list[dict[str, Any]]] = {e: [] for e in endpoint_ids}
    for customer_id in customer_ids:
        customer, account = customers.get(str(customer_id)), accounts.get(str(customer_id))
        if customer is None or account is None:  # removed since the ids were read
            continue
        state = payloads.credit_state(customer, account, refs[str(customer_id)], 0)
        for endpoint_id in endpoint_ids:
            version = versions.get((str(endpoint_id), str(customer_id)), 0)
            states[endpoint_id].append(state | {"version": version})
    return states
