"""The bodies connected systems receive (README, "Outbound event catalogue"). Every
delivery is ``{"type", "timestamp", "data"}``; money is ``{"amount", "currency"}`` as in
GraphQL, enums are their GraphQL names."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ccm_gateway.customer.models import Customer, CustomerStatus, ExternalRef
from ccm_gateway.kit.money import format_minor
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, InvoicingCycle

# Raised when a type's data changes shape incompatibly; README documents each version.
CATALOGUE_VERSION = 1
STATE_TYPE = "credit.updated"
SNAPSHOT_TYPE = "credit.snapshot"
EVENT_TYPES = ("ledger.entry.posted", "alert.raised", "limit_change.requested",
               "limit_change.decided",
               "ledger.daily_export",
               # billing/allocation.py invoice_event
               "invoice.issued", "invoice.paid", "invoice.overdue", "invoice.voided")
ALL_TYPES = (STATE_TYPE, *EVENT_TYPES, SNAPSHOT_TYPE)


def money(minor: int, currency: str) -> dict[str, str]:
    return {"amount": format_minor(minor, currency), "currency": currency}


def envelope(event_type: str, at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": at.isoformat(), "data": data}


def credit_state(customer: Customer, account: CreditAccount, refs: Sequence[ExternalRef],
                 version: int) -> dict[str, Any]:
    """``credit.updated``'s data: one customer's credit as it stands, with the refs the
    receiving integration knows the customer by."""
    currency = account.currency
    gate = ledger_service.gate_decision(customer, account, None)
    return {
        "customerId": str(customer.id),
        "externalRefs": [{"system": r.system, "externalId": r.external_id} for r in refs],
        "limit": money(account.credit_limit_minor, currency),
        "balance": money(account.posted_balance_minor, currency),
        "held": money(account.held_minor, currency),
        "available": money(ledger_service.available_minor(account), currency),
        "utilization": ledger_service.utilization(account),
        "status": CustomerStatus(customer.status).name,
        "gateAllowed": gate.allowed,
        "gateReason": gate.reason,
        "terms": {"netDays": account.net_days,
                  "invoicingCycle": InvoicingCycle(account.invoicing_cycle).name},
        "version": version,
        "catalogueVersion": CATALOGUE_VERSION,
    }
