"""Reconciliation: external balances matched with the ledger, breaks and their lifecycle.

Every external figure is a ``BalanceReport`` (source webhook, pull or csv), so one matcher
handles all three. A run compares each figure in its scope with the customer's ledger
balance as of the figure's own time: the sum of the customer's entries whose
``occurred_at`` is at or before it. ``occurred_at`` (when the charge or payment
happened), not ``recorded_at`` (when the gateway learned of it), because the external
system's figure counts the same business events by the time they happened: a charge
made at 10:00 that reached us at 10:05 is in the building system's 10:02 balance.

Scope: a CSV run matches the file's rows; a webhook or pull run matches the latest
figure per customer (by its ``reported_at``) that the integration reported through that
source. A difference above tolerance opens a break, or updates the customer's
unresolved break of that integration; a later run that matches resolves it.

A run is one transaction under the integration's lock, so two runs of one integration
never open two breaks for one customer.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit import service as audit
from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.integration.models import BalanceReport, Integration
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.locking import lock_key
from ccm_gateway.kit.money import check_current_currency, format_minor, parse_amount
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.kit.progress import Progress, no_progress
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.principal import SYSTEM_ACTOR, Actor
from ccm_gateway.reconciliation.models import (
    BreakStatus,
    ReconciliationBreak,
    ReconciliationRun,
    ReconciliationSource,
)

# 0.01 % of the larger absolute balance, the "one hundredth of a percent".
DEFAULT_TOLERANCE_PPM = 100
PPM = 1_000_000
MAX_NOTE = 1000
# Rows of one as-of balance statement (3 parameters each: under SQLite's 999).
CHUNK = 300
ALERT_KIND = "reconciliation.break"
# How many unknown customer refs of a CSV run the audit event names.
UNKNOWN_REFS_AUDITED = 100


# --- tolerance -------------------------------------------------------------------


def within_tolerance(external_minor: int, ledger_minor: int, tolerance_ppm: int) -> bool:
    """|external - ledger| <= ppm of the larger absolute balance, and never less than
    one minor unit. Integers only: d <= ppm * larger / 10^6 is d * 10^6 <= ppm * larger."""
    difference = abs(external_minor - ledger_minor)
    if difference <= 1:
        return True
    larger = max(abs(external_minor), abs(ledger_minor))
    return difference * PPM <= tolerance_ppm * larger


def check_tolerance(tolerance_ppm: int | None, field: str = "tolerancePpm") -> int:
    if tolerance_ppm is None:
        return DEFAULT_TOLERANCE_PPM
    if not 0 <= tolerance_ppm <= PPM:
        raise BadInput(f"{field} must be between 0 and {PPM} (parts per million)", field=field)
    return tolerance_ppm


# --- reading -----------------------------------------------------------------------


def _runs(integration_id: Any, source: ReconciliationSource | None) -> QuerySet[ReconciliationRun]:
    query = ReconciliationRun.all()
    if integration_id is not None:
        query = query.filter(integration_id=integration_id)
    if source is not None:
        query = query.filter(source=source)
    return query


async def page_runs(*, integration_id: Any, source: ReconciliationSource | None,
                    window: Window, max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    return await page_newest_first(_runs(integration_id, source), time_field="started_at",
                                   window=window, id_type=uuid.UUID)


async def get_run(run_id: Any, field: str = "id") -> ReconciliationRun:
    found = await ReconciliationRun.get_or_none(id=parse_uuid(run_id, field))
    if found is None:
        raise NotFound(f"reconciliation run {run_id} not found", field=field)
    return found


async def get_break(break_id: Any, field: str = "id") -> ReconciliationBreak:
    found = await ReconciliationBreak.get_or_none(id=parse_uuid(break_id, field))
    if found is None:
        raise NotFound(f"reconciliation break {break_id} not found", field=field)
    return found


async def page_breaks(*, integration_id: Any, customer_id: Any, status: BreakStatus | None,
                      window: Window, max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    query = ReconciliationBreak.all()
    if integration_id is not None:
        query = query.filter(integration_id=integration_id)
    if customer_id is not None:
        query = query.filter(customer_id=customer_id)
    if status is not None:
        query = query.filter(status=status)
    return await page_newest_first(query, time_field="created_at", window=window,
                                   id_type=uuid.UUID)


async def breaks_by_run(run_ids: list[Any]) -> list[list[ReconciliationBreak]]:
    """Each run's breaks: those it opened or found still broken (or resolved), oldest
    first; one query for any number of runs (a DataLoader's batch)."""
    rows = await ReconciliationBreak.filter(Q(run_id__in=run_ids) | Q(last_run_id__in=run_ids)) \
        .order_by("created_at", "id")
    grouped: dict[str, list[ReconciliationBreak]] = {str(i): [] for i in run_ids}
    for row in rows:
        for run_id in dict.fromkeys((str(row.run_id), str(row.last_run_id))):
            if run_id in grouped:
                grouped[run_id].append(row)
    return [grouped[str(i)] for i in run_ids]


async def integration_by_slug(slug: str) -> Integration:
    found = await Integration.get_or_none(slug=slug, deleted_at__isnull=True)
    if found is None:
        raise NotFound(f"integration {slug!r} not found", field="integration")
    return found


async def live_integration(integration_id: Any, field: str = "integrationId") -> Integration:
    found = await Integration.get_or_none(id=parse_uuid(integration_id, field),
                                          deleted_at__isnull=True)
    if found is None:
        raise NotFound(f"integration {integration_id} not found", field=field)
    return found


# --- CSV batches --------------------------------------------------------------------

CSV_COLUMNS = ("balance", "currency", "as_of")
REF_COLUMNS = ("customer_ref", "customer_id")


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int
    ref: str  # a customer ref in the integration's ref system, or a customer id
    balance_minor: int
    currency: str
    as_of: datetime


def parse_csv(text: str, *, now: datetime | None = None) -> tuple[str, list[CsvRow]]:
    """The rows of a balance file, and which column names the customer (customer_ref or
    customer_id). A bad row refuses the whole file: BAD_USER_INPUT naming the line."""
    now = now or datetime.now(UTC)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in reader.fieldnames or []]
    reader.fieldnames = header
    refs = [c for c in REF_COLUMNS if c in header]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if len(refs) != 1 or missing:
        raise BadInput("line 1: the header must name customer_ref or customer_id (one of "
                       f"them) and {', '.join(CSV_COLUMNS)}; it is {','.join(header) or 'empty'}",
                       field="csv")
    ref_column = refs[0]
    rows: list[CsvRow] = []
    first_line: dict[str, int] = {}
    line = 1
    try:
        for record in reader:
            line = reader.line_num
            if None in record or any(record.get(c) is None for c in header):
                raise BadInput(f"line {line}: expected {len(header)} fields", field="csv")
            row = _csv_row(line, ref_column, record, now)
            if row.ref in first_line:
                raise BadInput(f"line {line}: {ref_column} {row.ref!r} is on line "
                               f"{first_line[row.ref]} already", field="csv")
            first_line[row.ref] = line
            rows.append(row)
    except csv.Error as exc:
        raise BadInput(f"line {reader.line_num}: not CSV: {exc}", field="csv") from None
    if not rows:
        raise BadInput("the file has no rows after its header", field="csv")
    return ref_column, rows


def _csv_row(line: int, ref_column: str, record: dict[str, str], now: datetime) -> CsvRow:
    def fail(message: str) -> BadInput:
        return BadInput(f"line {line}: {message}", field="csv")

    ref = record[ref_column].strip()
    if not ref:
        raise fail(f"{ref_column} is empty")
    if ref_column == "customer_id":
        try:
            ref = str(uuid.UUID(ref))
        except ValueError:
            raise fail(f"customer_id {ref!r} is not a UUID") from None
    currency = record["currency"].strip()
    try:
        check_current_currency(currency, new="a balance")
        balance = parse_amount(record["balance"].strip(), currency, allow_negative=True,
                               allow_zero=True)
    except BadInput as exc:
        raise fail(exc.message) from None
    try:
        as_of = datetime.fromisoformat(record["as_of"].strip())
    except ValueError:
        raise fail(f"as_of {record['as_of']!r} is not an ISO 8601 time such as "
                   "2026-01-31T23:59:59Z") from None
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise fail("as_of needs a UTC offset, e.g. 2026-01-31T23:59:59Z")
    if as_of > now:
        raise fail(f"as_of {as_of.isoformat()} is in the future")
    return CsvRow(line, ref, balance, currency, as_of.astimezone(UTC))


# --- the matcher ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """One external balance to match: a stored BalanceReport."""

    customer_id: Any
    balance_minor: int
    currency: str
    as_of: datetime


@dataclass(slots=True)
class _Tally:
    matched: int = 0
    broken: int = 0
    missing_in_ledger: int = 0
    missing_externally: int = 0
    seen: int = 0  # customers with a figure the ledger knows
    unknown_refs: list[str] = field(default_factory=list)


def _placeholder(n: int) -> str:
    return f"${n}" if connections.get("default").capabilities.dialect == "postgres" else "?"


def _on_postgres() -> bool:
    return bool(connections.get("default").capabilities.dialect == "postgres")


async def balances_as_of(pairs: Sequence[tuple[Any, datetime]]) -> list[int]:
    """Each (account id, time)'s ledger balance: the sum of the account's entries that
    occurred at or before the time. One statement per CHUNK pairs, on both dialects."""
    found: list[int] = []
    pg = _on_postgres()
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start:start + CHUNK]
        values: list[str] = []
        args: list[Any] = []
        for i, (account_id, at) in enumerate(chunk):
            n = len(args)
            if pg:
                values.append(f"(${n + 1}::int, ${n + 2}::uuid, ${n + 3}::timestamptz)")
            else:
                values.append("(?, ?, ?)")
            # SQLite compares the stored text: both sides UTC, as Tortoise writes them.
            args += [i, str(account_id), at.astimezone(UTC)]
        # Placeholders only are joined in; every value is a parameter.
        sql = ('SELECT t.column1 AS k, COALESCE(SUM(e."amount_minor"), 0) AS balance '  # noqa: S608
               f'FROM (VALUES {", ".join(values)}) AS t '
               'LEFT JOIN "ledger_entry" e ON e."account_id" = t.column2 '
               'AND e."occurred_at" <= t.column3 GROUP BY t.column1')
        _, rows = await connections.get("default").execute_query(sql, args)
        by_key = {int(r["k"]): int(r["balance"]) for r in rows}
        found += [by_key.get(i, 0) for i in range(len(chunk))]
    return found


async def latest_figures(integration_id: Any, source: ReconciliationSource) -> list[Figure]:
    """The latest figure per customer that the integration reported through ``source``
    (by reported_at, then id), in one statement."""
    # Placeholders only are formatted in; the values are parameters.
    sql = ('SELECT b."customer_id", b."balance_minor", b."currency", b."reported_at" '  # noqa: S608
           f'FROM "balance_report" b WHERE b."integration_id" = {_placeholder(1)} '
           f'AND b."source" = {_placeholder(2)} '
           'AND NOT EXISTS (SELECT 1 FROM "balance_report" n '
           'WHERE n."integration_id" = b."integration_id" AND n."source" = b."source" '
           'AND n."customer_id" = b."customer_id" AND (n."reported_at" > b."reported_at" '
           'OR (n."reported_at" = b."reported_at" AND n."id" > b."id"))) '
           'ORDER BY b."customer_id"')
    arg: Any = integration_id if _on_postgres() else str(integration_id)
    _, rows = await connections.get("default").execute_query(sql, [arg, source.value])
    return [Figure(r["customer_id"], int(r["balance_minor"]), r["currency"],
                   _aware(r["reported_at"])) for r in rows]


def _aware(value: Any) -> datetime:
    """A timestamp column read raw: a datetime on PostgreSQL, text on SQLite."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def _segment_customer_count(integration: Integration) -> int:
    query = CreditAccount.all()
    if "*" not in integration.segments:
        query = query.filter(customer__segment__in=list(integration.segments))
    return await query.count()


async def _match(actor: Actor, run: ReconciliationRun, integration: Integration,
                 figures: Sequence[Figure], tally: _Tally, progress: Progress,
                 total_steps: int, done_steps: int) -> None:
    customer_ids = list({f.customer_id for f in figures})
    accounts = {str(a.customer_id): a for a in
                await CreditAccount.filter(customer_id__in=customer_ids)}
    open_breaks = {str(b.customer_id): b for b in await ReconciliationBreak.filter(
        integration_id=integration.id, customer_id__in=customer_ids,
        status__in=[BreakStatus.OPEN, BreakStatus.ACKNOWLEDGED]).select_for_update()}
    comparable = [f for f in figures if str(f.customer_id) in accounts]
    tally.missing_in_ledger += len(figures) - len(comparable)
    tally.seen += len(comparable)
    for start in range(0, len(comparable), CHUNK):
        chunk = comparable[start:start + CHUNK]
        balances = await balances_as_of(
            [(accounts[str(f.customer_id)].id, f.as_of) for f in chunk])
        for figure, ledger_minor in zip(chunk, balances, strict=True):
            account = accounts[str(figure.customer_id)]
            existing = open_breaks.get(str(figure.customer_id))
            same_currency = figure.currency == account.currency
            if same_currency and within_tolerance(figure.balance_minor, ledger_minor,
                                                  run.tolerance_ppm):
                tally.matched += 1
                if existing is not None:
                    await _auto_resolve(existing, run)
                continue
            tally.broken += 1
            await _break(actor, run, integration, account, figure, ledger_minor, existing)
        done_steps += 1
        progress(done_steps, total_steps, "matching")


def _break_snapshot(b: ReconciliationBreak) -> dict[str, Any]:
    return {"status": BreakStatus(b.status).value, "currency": b.currency,
            "external_balance_minor": b.external_balance_minor,
            "ledger_balance_minor": b.ledger_balance_minor,
            "difference_minor": b.difference_minor, "as_of": b.as_of.isoformat(),
            "note": b.note, "version": b.version, "last_run_id": str(b.last_run_id)}


async def _break(actor: Actor, run: ReconciliationRun, integration: Integration,
                 account: CreditAccount, figure: Figure, ledger_minor: int,
                 existing: ReconciliationBreak | None) -> None:
    currency = account.currency
    mismatch = None
    if figure.currency != currency:
        # Not comparable: a break of its own kind, for a person to look at; the figures
        # stay in their own currencies and the note says so.
        mismatch = (f"currency mismatch: the external figure is "
                    f"{format_minor(figure.balance_minor, figure.currency)} {figure.currency}, "
                    f"the account is in {currency}")
    difference = figure.balance_minor - ledger_minor
    if existing is not None:
        before = _break_snapshot(existing)
        existing.external_balance_minor = figure.balance_minor
        existing.ledger_balance_minor = ledger_minor
        existing.difference_minor = difference
        existing.as_of = figure.as_of
        existing.last_run_id = run.id
        existing.currency = figure.currency if mismatch else currency
        if mismatch:
            existing.note = mismatch
        existing.version += 1
        await existing.save(update_fields=[
            "external_balance_minor", "ledger_balance_minor", "difference_minor", "as_of",
            "last_run_id", "currency", "note", "version", "updated_at"])
        await audit.record(actor, "reconciliation_break.update",
                           object_type="reconciliation_break", object_id=existing.id,
                           before=before, after=_break_snapshot(existing),
                           stream=audit.customer_stream(account.customer_id))
        return
    found = await ReconciliationBreak.create(
        id=uuid.uuid4(), run_id=run.id, last_run_id=run.id, integration_id=integration.id,
        customer_id=account.customer_id, currency=figure.currency if mismatch else currency,
        external_balance_minor=figure.balance_minor, ledger_balance_minor=ledger_minor,
        difference_minor=difference, as_of=figure.as_of, note=mismatch)
    await audit.record(actor, "reconciliation_break.open", object_type="reconciliation_break",
                       object_id=found.id, after=_break_snapshot(found),
                       stream=audit.customer_stream(account.customer_id))
    shown = mismatch or (
        f"external balance {format_minor(figure.balance_minor, currency)} {currency} differs "
        f"from the ledger's {format_minor(ledger_minor, currency)} as of "
        f"{figure.as_of.isoformat()} by {format_minor(difference, currency)}")
    await raise_alert(ALERT_KIND, AlertSeverity.WARNING,
                      f"reconciliation break with {integration.slug}: {shown}",
                      customer_id=account.customer_id, integration_id=integration.id,
                      details={"break_id": str(found.id), "run_id": str(run.id),
                               "external_balance_minor": figure.balance_minor,
                               "ledger_balance_minor": ledger_minor,
                               "difference_minor": difference, "currency": found.currency,
                               "as_of": figure.as_of.isoformat()})


async def _auto_resolve(existing: ReconciliationBreak, run: ReconciliationRun) -> None:
    before = _break_snapshot(existing)
    now = datetime.now(UTC)
    existing.status = BreakStatus.RESOLVED
    existing.note = f"matched in run {run.id}"
    existing.resolved_at = now
    existing.resolved_by = SYSTEM_ACTOR.id
    existing.last_run_id = run.id
    existing.version += 1
    await existing.save(update_fields=["status", "note", "resolved_at", "resolved_by",
                                       "last_run_id", "version", "updated_at"])
    await audit.record(SYSTEM_ACTOR, "reconciliation_break.resolve",
                       object_type="reconciliation_break", object_id=existing.id,
                       before=before, after=_break_snapshot(existing),
                       stream=audit.customer_stream(existing.customer_id))


async def _start(actor: Actor, integration: Integration, source: ReconciliationSource,
                 tolerance_ppm: int, file_name: str | None) -> ReconciliationRun:
    # One run of an integration at a time: a second waits, then sees the first's breaks.
    await lock_key(f"reconciliation:{integration.id}")
    return await ReconciliationRun.create(
        id=uuid.uuid4(), integration_id=integration.id, source=source, file_name=file_name,
        started_at=datetime.now(UTC), tolerance_ppm=tolerance_ppm, actor=actor.id)


async def _finish(actor: Actor, run: ReconciliationRun, integration: Integration,
                  tally: _Tally) -> ReconciliationRun:
    run.missing_externally = max(0, await _segment_customer_count(integration) - tally.seen)
    run.matched, run.broken = tally.matched, tally.broken
    run.missing_in_ledger = tally.missing_in_ledger
    run.finished_at = datetime.now(UTC)
    await run.save(update_fields=["matched", "broken", "missing_in_ledger",
                                  "missing_externally", "finished_at"])
    after: dict[str, Any] = {
        "integration_id": str(integration.id), "source": ReconciliationSource(run.source).value,
        "file_name": run.file_name, "matched": run.matched, "broken": run.broken,
        "missing_in_ledger": run.missing_in_ledger,
        "missing_externally": run.missing_externally, "tolerance_ppm": run.tolerance_ppm}
    if tally.unknown_refs:
        after["unknown_refs"] = tally.unknown_refs[:UNKNOWN_REFS_AUDITED]
    await audit.record(actor, "reconciliation.run", object_type="reconciliation_run",
                       object_id=run.id, after=after)
    return run


async def run_reported(actor: Actor, integration: Integration, source: ReconciliationSource,
                       *, tolerance_ppm: int | None = None,
                       progress: Progress = no_progress) -> ReconciliationRun:
    """A run over the latest webhook or pull figure per customer; call in a transaction."""
    if source == ReconciliationSource.CSV:
        raise BadInput("a csv run needs its file: reconcileBalances", field="source")
    run = await _start(actor, integration, source, check_tolerance(tolerance_ppm), None)
    figures = await latest_figures(integration.id, source)
    tally = _Tally()
    steps = max(1, -(-len(figures) // CHUNK))
    await _match(actor, run, integration, figures, tally, progress, steps, 0)
    if not figures:
        progress(1, 1, "matching")
    return await _finish(actor, run, integration, tally)


async def _resolve_refs(integration: Integration, ref_column: str,
                        rows: Sequence[CsvRow]) -> dict[str, Customer]:
    """The customers the rows name that the integration may see (its segments)."""
    refs = [r.ref for r in rows]
    found: dict[str, Customer] = {}
    for start in range(0, len(refs), CHUNK):
        chunk = refs[start:start + CHUNK]
        if ref_column == "customer_id":
            for customer in await Customer.filter(id__in=chunk):
                found[str(customer.id)] = customer
        else:
            for ref in await ExternalRef.filter(system=integration.ref_system,
                                                external_id__in=chunk).select_related("customer"):
                found[ref.external_id] = ref.customer
    if "*" in integration.segments:
        return found
    return {k: c for k, c in found.items() if c.segment in integration.segments}


async def reconcile_csv(actor: Actor, integration: Integration, text: str, file_name: str, *,
                        tolerance_ppm: int | None = None,
                        progress: Progress = no_progress) -> ReconciliationRun:
    """Store a balance file's rows as ``csv`` BalanceReports and match them; call in a
    transaction. A bad row refuses the file before anything is written. A ref that names
    no customer the integration may see counts as missing in the ledger."""
    tolerance = check_tolerance(tolerance_ppm)
    name = (file_name or "").strip()
    if not name or len(name) > 500:
        raise BadInput("fileName must be 1 to 500 characters", field="fileName")
    ref_column, rows = parse_csv(text)
    customers = await _resolve_refs(integration, ref_column, rows)
    accounts = {str(a.customer_id): a for a in await CreditAccount.filter(
        customer_id__in=[c.id for c in customers.values()])}
    line_of: dict[str, int] = {}
    for row in rows:
        customer = customers.get(row.ref)
        account = accounts.get(str(customer.id)) if customer else None
        if customer is not None:
            if str(customer.id) in line_of:
                raise BadInput(f"line {row.line}: names the same customer as line "
                               f"{line_of[str(customer.id)]}", field="csv")
            line_of[str(customer.id)] = row.line
        if account is not None and account.currency != row.currency:
            raise BadInput(f"line {row.line}: the balance is in {row.currency}; the "
                           f"customer's account is in {account.currency}", field="csv")
    steps = 1 + max(1, -(-len(rows) // CHUNK))
    progress(0, steps, "storing")
    run = await _start(actor, integration, ReconciliationSource.CSV, tolerance, name)
    tally = _Tally()
    figures: list[Figure] = []
    reports: list[BalanceReport] = []
    for row in rows:
        customer = customers.get(row.ref)
        if customer is None:
            tally.missing_in_ledger += 1
            tally.unknown_refs.append(row.ref)
            continue
        reports.append(BalanceReport(
            integration_id=integration.id, customer_id=customer.id, inbound_event_id=None,
            source=ReconciliationSource.CSV.value, balance_minor=row.balance_minor,
            currency=row.currency, reported_at=row.as_of))
        figures.append(Figure(customer.id, row.balance_minor, row.currency, row.as_of))
    if reports:
        await BalanceReport.bulk_create(reports, batch_size=CHUNK)
    progress(1, steps, "matching")
    await _match(actor, run, integration, figures, tally, progress, steps, 1)
    if not figures:
        progress(steps, steps, "matching")
    return await _finish(actor, run, integration, tally)


# --- the lifecycle of a break ------------------------------------------------------------


def _note(note: str) -> str:
    value = (note or "").strip()
    if not value:
        raise BadInput("note is required: say what was found or done", field="note")
    if len(value) > MAX_NOTE:
        raise BadInput(f"note must be at most {MAX_NOTE} characters", field="note")
    return value


async def _locked_break(break_id: Any, expected_version: int | None) -> ReconciliationBreak:
    found = await ReconciliationBreak.filter(id=parse_uuid(break_id, "id")) \
        .select_for_update().first()
    if found is None:
        raise NotFound(f"reconciliation break {break_id} not found", field="id")
    if expected_version is not None and expected_version != found.version:
        raise Conflict(f"the break is at version {found.version}, not {expected_version}",
                       field="expectedVersion")
    return found


async def acknowledge_break(actor: Actor, break_id: Any, note: str,
                            expected_version: int | None) -> ReconciliationBreak:
    """OPEN -> ACKNOWLEDGED: someone is on it. Call in a transaction."""
    text = _note(note)
    found = await _locked_break(break_id, expected_version)
    if found.status != BreakStatus.OPEN:
        raise Conflict(f"the break is {BreakStatus(found.status).name}; only an OPEN break "
                       "is acknowledged", field="id")
    before = _break_snapshot(found)
    found.status = BreakStatus.ACKNOWLEDGED
    found.note = text
    found.acknowledged_at = datetime.now(UTC)
    found.acknowledged_by = actor.id
    found.version += 1
    await found.save(update_fields=["status", "note", "acknowledged_at", "acknowledged_by",
                                    "version", "updated_at"])
    await audit.record(actor, "reconciliation_break.acknowledge",
                       object_type="reconciliation_break", object_id=found.id,
                       before=before, after=_break_snapshot(found),
                       stream=audit.customer_stream(found.customer_id))
    return found


async def resolve_break(actor: Actor, break_id: Any, note: str,
                        expected_version: int | None) -> ReconciliationBreak:
    """OPEN or ACKNOWLEDGED -> RESOLVED, by hand. Call in a transaction."""
    text = _note(note)
    found = await _locked_break(break_id, expected_version)
    if found.status == BreakStatus.RESOLVED:
        raise Conflict(f"the break was resolved by {found.resolved_by} at "
                       f"{found.resolved_at.isoformat() if found.resolved_at else '?'}",
                       field="id")
    before = _break_snapshot(found)
    found.status = BreakStatus.RESOLVED
    found.note = text
    found.resolved_at = datetime.now(UTC)
    found.resolved_by = actor.id
    found.version += 1
    await found.save(update_fields=["status", "note", "resolved_at", "resolved_by",
                                    "version", "updated_at"])
    await audit.record(actor, "reconciliation_break.resolve",
                       object_type="reconciliation_break", object_id=found.id,
                       before=before, after=_break_snapshot(found),
                       stream=audit.customer_stream(found.customer_id))
    return found


# --- the periodic run -----------------------------------------------------------------


async def due_runs(now: datetime | None = None) -> list[tuple[Any, ReconciliationSource]]:
    """(integration, source) pairs with a webhook or pull figure stored after the
    start of their last run of that source (or never run): what the cron reconciles."""
    due = []
    for source in (ReconciliationSource.WEBHOOK, ReconciliationSource.PULL):
        integration_ids = await BalanceReport.filter(source=source.value) \
            .distinct().values_list("integration_id", flat=True)
        for integration_id in sorted(set(integration_ids), key=str):
            last = await ReconciliationRun.filter(integration_id=integration_id,
                                                  source=source).order_by("-started_at") \
                .first()
            query = BalanceReport.filter(integration_id=integration_id, source=source.value)
            if last is not None:
                query = query.filter(created_at__gte=last.started_at)
            if await query.exists():
                due.append((integration_id, source))
    return due
