"""`ccm-gateway verify`: balances equal their entries, refunds, captures, reversals and
idempotency records are consistent, every applied webhook has exactly one effect, and the
audit chains are intact."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ccm_gateway.audit import service as audit_service
from ccm_gateway.integration.verification import verify_inbox
from ccm_gateway.kit.progress import Progress, no_progress
from ccm_gateway.ledger.verification import verify_balances, verify_ledger

STEPS = ("balances against their entries", "refunds, captures, reversals and idempotency",
         "applied webhooks", "audit chains")


async def verify_all(progress: Progress = no_progress) -> dict[str, Any]:
    total = len(STEPS)
    progress(0, total, STEPS[0])
    accounts, mismatches = await verify_balances()
    progress(1, total, STEPS[1])
    ledger_problems = await verify_ledger()
    progress(2, total, STEPS[2])
    inbound, inbox_problems = await verify_inbox()
    progress(3, total, STEPS[3])
    events, breaks = await audit_service.verify_chains()
    progress(total, total, "done")
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
