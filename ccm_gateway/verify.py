"""`ccm-gateway verify`: balances equal their entries, refunds, captures, reversals and
idempotency records are consistent, every applied webhook has exactly one effect, and the
audit chains are intact."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ccm_gateway.audit import service as audit_service
from ccm_gateway.integration.verification import verify_inbox
from ccm_gateway.ledger.verification import verify_balances, verify_ledger


async def verify_all() -> dict[str, Any]:
    accounts, mismatches = await verify_balances()
    ledger_problems = await verify_ledger()
    inbound, inbox_problems = await verify_inbox()
    events, breaks = await audit_service.verify_chains()
    return {
        "ok": not (mismatches or ledger_problems or inbox_problems or breaks),
        "accounts_checked": accounts,
        "balance_mismatches": [asdict(m) for m in mismatches],
        "ledger_problems": [asdict(p) for p in ledger_problems],
        "applied_events_checked": inbound,
        "inbox_problems": [asdict(p) for p in inbox_problems],
        "audit_events_checked": events,
        "audit_chain_breaks": [asdict(b) for b in breaks],
    }
