"""`ccm-gateway verify`: balances equal their entries, and the audit chains are intact."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tortoise import Tortoise

from ccm_gateway.audit import service as audit_service
from ccm_gateway.config import Settings
from ccm_gateway.db import tortoise_config
from ccm_gateway.ledger import service as ledger_service


async def verify_all() -> dict[str, Any]:
    accounts, mismatches = await ledger_service.verify_balances()
    events, breaks = await audit_service.verify_chains()
    return {
        "ok": not mismatches and not breaks,
        "accounts_checked": accounts,
        "balance_mismatches": [asdict(m) for m in mismatches],
        "audit_events_checked": events,
        "audit_chain_breaks": [asdict(b) for b in breaks],
    }


async def run_verify(settings: Settings) -> dict[str, Any]:
    await Tortoise.init(config=tortoise_config(settings))
    try:
        return await verify_all()
    finally:
        await Tortoise.close_connections()
