"""Helpers for the insights tests: the reports' invoice factory (tests/reports/reports_kit.py),
a unique segment per test, and a change of terms dated in the past."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from reports.reports_kit import DAY, Books, at
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.service import SET_TERMS_ACTION

__all__ = ["DAY", "Books", "at", "change_terms", "segment"]


def segment() -> str:
    """A segment of the test's own: the shared database holds every other test's customers."""
    return f"ins-{uuid.uuid4().hex[:10]}"


async def change_terms(customer_id: str, net_days: int, *, on: datetime) -> None:
    """The account's net days changed as setCreditTerms changes them (the same snapshots,
    the same audit action), its audit event dated ``on``. The event joins the customer's
    hash chain like any other (``ccm-gateway verify`` stays clean); only its time is the
    test's. Nothing else writes the test's own customer's stream meanwhile."""
    async with in_transaction():
        account = await ledger_service.get_account(customer_id, lock=True)
        before = ledger_service.account_snapshot(account)
        account.net_days = net_days
        account.version += 1
        await account.save(update_fields=["net_days", "version"])
        stream = audit.customer_stream(customer_id)
        last = await AuditEvent.filter(stream=stream).order_by("-seq").first()
        head = audit.Head.of(None if last is None else {"seq": last.seq, "hash": last.hash})
        event = AuditEvent(stream=stream, seq=head.seq + 1, actor_type="user",
                           actor_id="insights-test", action=SET_TERMS_ACTION,
                           object_type="credit_account", object_id=str(customer_id),
                           before=before, after=ledger_service.account_snapshot(account),
                           request_id=None, created_at=on, prev_hash=head.hash)
        event.hash = audit.compute_hash(event)
        await event.save()


def figures(result: Any, field: str) -> dict[str, Any]:
    return result.data[field]
