"""Billing jobs for the arq worker: invoices issued at each customer's cycle, terms enforced."""

from __future__ import annotations

import logging
from typing import Any

from ccm_gateway.billing import service as billing_service
from ccm_gateway.kit import outbox

log = logging.getLogger("ccm_gateway.billing")


async def issue_invoices(ctx: dict[str, Any]) -> int:
    """`invoice.issue`: each customer's invoices at its invoicing cycle; running again
    issues nothing new."""
    async with outbox.waking(ctx.get("redis")):
        issued = await billing_service.issue_due_invoices(
            issuer=ctx["settings"].invoice_issuer)
    if issued:
        log.info("issued invoices", extra={"count": issued})
    return issued


async def enforce_terms(ctx: dict[str, Any]) -> int:
    """`invoice.overdue`: OVERDUE for invoices past their due date (alert and event once
    each), then ON_HOLD for customers overdue past their segment's hold days."""
    marked = held = 0
    async with outbox.waking(ctx.get("redis")):
        while batch := await billing_service.mark_overdue():
            marked += batch
        while batch := await billing_service.hold_overdue_customers():
            held += batch
    if marked or held:
        log.info("terms enforced", extra={"overdue": marked, "held": held})
    return marked + held
