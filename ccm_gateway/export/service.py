"""The ERP daily batch: one UTC day's ledger entries and invoices as CSV and JSON Lines,
with a ``sha256sum -c`` checksum file, and as ``ledger.daily_export`` deliveries.

A day's entries are those *recorded* that day (``recorded_at``), not those that
occurred then: the ledger is append-only and ``recorded_at`` is set once, so every entry
lands in exactly one day's batch, and a day that is over never changes. Invoices are
those issued that day, with what is fixed at issue (number, customer, total, dates,
lines); payments and voids reach the ERP as the PAYMENT and CREDIT_NOTE entries of the
day they happen. So running the export again for a past day gives the same bytes: rows
in a fixed order (recorded_at or issued_at, then id), no generation time in the content.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from ccm_gateway.audit import service as audit
from ccm_gateway.billing.models import Invoice, InvoiceLine
from ccm_gateway.errors import BadInput
from ccm_gateway.kit import outbox
from ccm_gateway.kit.money import format_minor
from ccm_gateway.ledger.models import CreditAccount, EntryKind, LedgerEntry, SourceType
from ccm_gateway.outbound.models import OutboundEndpoint
from ccm_gateway.principal import Actor

EVENT_TYPE = "ledger.daily_export"
# Rows of each kind per ledger.daily_export delivery: about 150 KB of JSON at most.
DELIVERY_BATCH = 250

ENTRY_COLUMNS = (
    "entry_id", "recorded_at", "occurred_at", "customer_id", "account_id", "site_id", "kind",
    "amount", "amount_minor", "currency", "original_amount", "original_amount_minor",
    "original_currency", "fx_rate", "source_type", "source_id", "external_ref",
    "description", "reverses_id", "refunds_id", "hold_id", "over_limit")
INVOICE_COLUMNS = (
    "invoice_id", "number", "issuer", "issued_at", "customer_id", "account_id", "site_id",
    "currency", "total", "total_minor", "period_start", "period_end", "net_days", "due_at",
    "line_count")
LINE_COLUMNS = ("entry_id", "amount", "amount_minor", "occurred_at", "site_id")


def parse_day(text: str, *, today: date | None = None, field: str = "date") -> date:
    """YYYY-MM-DD, not after today (UTC)."""
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BadInput(f"{field} {text!r} is not a date such as 2026-01-31", field=field) \
            from None
    if len(text) != 10:
        raise BadInput(f"{field} {text!r} is not YYYY-MM-DD", field=field)
    if day > (today or datetime.now(UTC).date()):
        raise BadInput(f"{field} {day.isoformat()} is in the future", field=field)
    return day


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _at(value: datetime | None) -> str | None:
    """Always with microseconds and Z: one spelling per instant, whatever the driver."""
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class DailyExport:
    day: date
    entries: list[dict[str, Any]]
    invoices: list[dict[str, Any]]  # each with its "lines"
    files: dict[str, bytes]  # file name -> content, the checksum file last

    @property
    def checksums(self) -> dict[str, str]:
        return {name: hashlib.sha256(content).hexdigest()
                for name, content in self.files.items() if name != checksum_name(self.day)}


def checksum_name(day: date) -> str:
    return f"SHA256SUMS-{day.isoformat()}"


def _entry_row(entry: LedgerEntry, customer_id: Any) -> dict[str, Any]:
    original = entry.original_amount_minor
    return {
        "entry_id": str(entry.id), "recorded_at": _at(entry.recorded_at),
        "occurred_at": _at(entry.occurred_at), "customer_id": _id(customer_id),
        "account_id": str(entry.account_id), "site_id": _id(entry.site_id),
        "kind": EntryKind(entry.kind).name,
        "amount": format_minor(entry.amount_minor, entry.currency),
        "amount_minor": entry.amount_minor, "currency": entry.currency,
        "original_amount": format_minor(original, entry.original_currency)
        if original is not None and entry.original_currency else None,
        "original_amount_minor": original, "original_currency": entry.original_currency,
        "fx_rate": entry.fx_rate, "source_type": SourceType(entry.source_type).name,
        "source_id": entry.source_id, "external_ref": entry.external_ref,
        "description": entry.description, "reverses_id": _id(entry.reverses_id),
        "refunds_id": _id(entry.refunds_id), "hold_id": _id(entry.hold_id),
        "over_limit": entry.over_limit}


def _invoice_row(invoice: Invoice, lines: Sequence[InvoiceLine]) -> dict[str, Any]:
    currency = invoice.currency
    return {
        "invoice_id": str(invoice.id), "number": invoice.number, "issuer": invoice.issuer,
        "issued_at": _at(invoice.issued_at), "customer_id": str(invoice.customer_id),
        "account_id": str(invoice.account_id), "site_id": _id(invoice.site_id),
        "currency": currency, "total": format_minor(invoice.total_minor, currency),
        "total_minor": invoice.total_minor, "period_start": _at(invoice.period_start),
        "period_end": _at(invoice.period_end), "net_days": invoice.net_days,
        "due_at": _at(invoice.due_at), "line_count": len(lines),
        "lines": [{"entry_id": str(line.entry_id),
                   "amount": format_minor(line.amount_minor, currency),
                   "amount_minor": line.amount_minor, "occurred_at": _at(line.occurred_at),
                   "site_id": _id(line.site_id)} for line in lines]}


def _csv(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else
                         ("true" if row[c] is True else "false" if row[c] is False else row[c])
                         for c in columns])
    return out.getvalue().encode()


def _jsonl(rows: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                    for row in rows)


async def build(day: date) -> DailyExport:
    """The day's batch, in memory."""
    start, end = _bounds(day)
    entries = await LedgerEntry.filter(recorded_at__gte=start, recorded_at__lt=end) \
        .order_by("recorded_at", "id")
    customers = dict(await CreditAccount.filter(
        id__in=list({e.account_id for e in entries})).values_list("id", "customer_id"))
    entry_rows = [_entry_row(e, customers.get(e.account_id)) for e in entries]
    invoices = await Invoice.filter(issued_at__gte=start, issued_at__lt=end) \
        .order_by("issued_at", "id")
    lines: dict[Any, list[InvoiceLine]] = {i.id: [] for i in invoices}
    for line in await InvoiceLine.filter(invoice_id__in=list(lines)) \
            .order_by("occurred_at", "id"):
        lines[line.invoice_id].append(line)
    invoice_rows = [_invoice_row(i, lines[i.id]) for i in invoices]
    stamp = day.isoformat()
    files = {
        f"ledger-entries-{stamp}.csv": _csv(ENTRY_COLUMNS, entry_rows),
        f"ledger-entries-{stamp}.jsonl": _jsonl(entry_rows),
        f"invoices-{stamp}.csv": _csv(INVOICE_COLUMNS, invoice_rows),
        f"invoices-{stamp}.jsonl": _jsonl(invoice_rows),
    }
    sums = "".join(f"{hashlib.sha256(content).hexdigest()}  {name}\n"
                   for name, content in sorted(files.items()))
    files[checksum_name(day)] = sums.encode()
    return DailyExport(day, entry_rows, invoice_rows, files)


def write_files(export: DailyExport, directory: Path) -> list[Path]:
    """Each file through a temporary file and a rename, so a reader never sees half a
    file; the checksum file last, so its presence means the batch is complete."""
    written = []
    for name, content in export.files.items():
        target = directory / name
        temporary = directory / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            with temporary.open("wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
        written.append(target)
    return written


async def subscribed() -> bool:
    """Whether a live endpoint takes ``ledger.daily_export``."""
    endpoints = await OutboundEndpoint.filter(enabled=True, deleted_at=None) \
        .values_list("event_types", flat=True)
    return any(EVENT_TYPE in (types or []) for types in endpoints)


def delivery_batches(export: DailyExport) -> list[dict[str, Any]]:
    """``ledger.daily_export``'s data, batch by batch: each carries the day, the counts,
    the files' checksums and up to DELIVERY_BATCH rows of each kind."""
    size = DELIVERY_BATCH
    batches = max(1, -(-max(len(export.entries), len(export.invoices)) // size))
    common = {"date": export.day.isoformat(), "batches": batches,
              "counts": {"ledgerEntries": len(export.entries), "invoices": len(export.invoices)},
              "checksums": export.checksums}
    return [common | {"batch": n + 1, "ledgerEntries": export.entries[n * size:(n + 1) * size],
                      "invoices": export.invoices[n * size:(n + 1) * size]}
            for n in range(batches)]


async def record_delivery(actor: Actor, export: DailyExport) -> int:
    """Write the batch's ``ledger.daily_export`` messages to the outbox (call in a
    transaction); they go to the endpoints of integrations that see every segment.
    Returns how many messages."""
    batches = delivery_batches(export)
    for data in batches:
        await outbox.record(event_type=EVENT_TYPE, data=data)
    await audit.record(actor, "ledger.daily_export", object_type="ledger_export",
                       object_id=export.day.isoformat(),
                       after={"date": export.day.isoformat(), "batches": len(batches),
                              "ledger_entries": len(export.entries),
                              "invoices": len(export.invoices),
                              "checksums": export.checksums})
    return len(batches)
