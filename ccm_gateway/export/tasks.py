"""The ERP daily batch job for the arq worker."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from ccm_gateway.export import service as export_service
from ccm_gateway.kit import outbox
from ccm_gateway.principal import SYSTEM_ACTOR

log = logging.getLogger("ccm_gateway.export")


async def daily_export(ctx: dict[str, Any], day: date | None = None) -> int:
    """`ledger.daily_export`: yesterday's (UTC) batch, to CCM_EXPORT_DIR if set and to the
    endpoints that subscribe to ledger.daily_export if any; nothing when neither."""
    day = day or datetime.now(UTC).date() - timedelta(days=1)
    directory = ctx["settings"].export_dir
    deliver = await export_service.subscribed()
    if not directory and not deliver:
        return 0
    export = await export_service.build(day)
    if directory:
        export_service.write_files(export, Path(directory))
    messages = 0
    if deliver:
        async with outbox.waking(ctx.get("redis")), in_transaction():
            messages = await export_service.record_delivery(SYSTEM_ACTOR, export)
    log.info("daily export", extra={"date": day.isoformat(), "entries": len(export.entries),
                                    "invoices": len(export.invoices), "messages": messages})
    return len(export.entries) + len(export.invoices)
