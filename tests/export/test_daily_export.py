"""The ERP daily batch: the documented columns, checksums that `sha256sum -c` verifies,
byte-identical reruns, atomic writes, the CLI, the cron, and the ledger.daily_export
delivery to a real loopback receiver, verified with the standardwebhooks package."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ops_kit import cli_env, run_cli
from receiver import Receiver
from tortoise.transactions import in_transaction

from ccm_gateway.billing.models import Invoice, InvoiceLine
from ccm_gateway.config import Settings
from ccm_gateway.errors import BadInput, ConfigError
from ccm_gateway.export import service as export_service
from ccm_gateway.export import tasks as export_tasks
from ccm_gateway.kit import outbox
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount, EntryKind, LedgerEntry
from ccm_gateway.principal import Actor

SETUP = Actor(type="user", id="export-setup")
# A past day of the invoices these tests issue: nothing else in the suite issues on it.
PAST = date(2001, 2, 3)


def today() -> date:
    return datetime.now(UTC).date()


async def _entry(customer_id: str, amount_minor: int, **extra: Any) -> LedgerEntry:
    async with in_transaction():
        entry = await ledger_service.post_entry(
            SETUP, customer_id, EntryKind.CHARGE, amount_minor, "USD",
            occurred_at=datetime.now(UTC) - timedelta(minutes=5), enforce_limit=False,
            **extra)
    assert isinstance(entry, LedgerEntry)
    return entry


async def _invoice(customer_id: str, entries: list[LedgerEntry], issued_at: datetime) -> Invoice:
    account = await CreditAccount.get(customer_id=customer_id)
    issuer = f"T{uuid.uuid4().hex[:8]}"
    invoice = await Invoice.create(
        id=uuid.uuid4(), number=f"{issuer}-{issued_at.year}-000001", issuer=issuer,
        year=issued_at.year, sequence=1, customer_id=customer_id, account_id=account.id,
        currency="USD", total_minor=sum(e.amount_minor for e in entries),
        period_start=issued_at - timedelta(days=30), period_end=issued_at, net_days=30,
        issued_at=issued_at, due_at=issued_at + timedelta(days=30))
    for entry in entries:
        await InvoiceLine.create(invoice_id=invoice.id, entry_id=entry.id,
                                 amount_minor=entry.amount_minor, occurred_at=entry.occurred_at)
    return invoice


def _sha256sum_check(directory: Path, sums: str) -> subprocess.CompletedProcess[str]:
    """`sha256sum -c` (GNU coreutils) run in ``directory``, as an ERP's import would."""
    tool = shutil.which("sha256sum")
    if tool is None:
        pytest.skip("sha256sum is not installed")
    return subprocess.run([tool, "-c", sums], cwd=directory, capture_output=True, text=True,
                          check=False)


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode(), newline="")))


async def test_the_entries_files_have_the_documented_columns(make_customer):
    customer_id = await make_customer()
    entry = await _entry(customer_id, 1250, external_ref="ERP-1", description="gate fee")

    export = await export_service.build(today())

    stamp = today().isoformat()
    content = export.files[f"ledger-entries-{stamp}.csv"]
    assert content.split(b"\r\n")[0].decode() == ",".join(export_service.ENTRY_COLUMNS)
    [row] = [r for r in _rows(content) if r["entry_id"] == str(entry.id)]
    assert row | {"recorded_at": "", "occurred_at": "", "source_id": ""} == {
        "entry_id": str(entry.id), "recorded_at": "", "occurred_at": "",
        "customer_id": customer_id, "account_id": str(entry.account_id), "site_id": "",
        "kind": "CHARGE", "amount": "12.50", "amount_minor": "1250", "currency": "USD",
        "original_amount": "", "original_amount_minor": "", "original_currency": "",
        "fx_rate": "", "source_type": "USER", "source_id": "", "external_ref": "ERP-1",
        "description": "gate fee", "reverses_id": "", "refunds_id": "", "hold_id": "",
        "over_limit": "false"}
    assert row["occurred_at"] == entry.occurred_at.astimezone(UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")
    lines = export.files[f"ledger-entries-{stamp}.jsonl"].decode().splitlines()
    [record] = [json.loads(line) for line in lines if str(entry.id) in line]
    assert list(record) == list(export_service.ENTRY_COLUMNS)
    assert (record["amount"], record["amount_minor"], record["over_limit"]) == ("12.50", 1250,
                                                                               False)
    assert {k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in record.items()} == row


async def test_the_invoices_files_carry_what_is_fixed_at_issue(make_customer):
    customer_id = await make_customer()
    entries = [await _entry(customer_id, 1000), await _entry(customer_id, 234)]
    invoice = await _invoice(customer_id, entries, datetime(2001, 2, 3, 10, 0, tzinfo=UTC))

    export = await export_service.build(PAST)

    [row] = [r for r in _rows(export.files["invoices-2001-02-03.csv"])
             if r["invoice_id"] == str(invoice.id)]
    assert list(row) == list(export_service.INVOICE_COLUMNS)
    assert (row["number"], row["total"], row["total_minor"], row["currency"]) == (
        invoice.number, "12.34", "1234", "USD")
    assert (row["issued_at"], row["due_at"], row["line_count"]) == (
        "2001-02-03T10:00:00.000000Z", "2001-03-05T10:00:00.000000Z", "2")
    [record] = [json.loads(line) for line in
                export.files["invoices-2001-02-03.jsonl"].decode().splitlines()
                if str(invoice.id) in line]
    assert [(line["entry_id"], line["amount"]) for line in record["lines"]] == [
        (str(e.id), a) for e, a in zip(entries, ("10.00", "2.34"), strict=True)]


def test_a_day_is_a_past_or_current_date():
    assert export_service.parse_day("2026-01-31", today=date(2026, 2, 1)) == date(2026, 1, 31)
    for bad in ("2026-1-31", "31.01.2026", "2026-02-02"):
        with pytest.raises(BadInput):
            export_service.parse_day(bad, today=date(2026, 2, 1))


async def test_the_checksum_file_verifies_with_sha256sum_and_catches_a_change(
        make_customer, tmp_path):
    customer_id = await make_customer()
    await _invoice(customer_id, [await _entry(customer_id, 500)],
                   datetime(2001, 2, 3, 12, tzinfo=UTC))
    export = await export_service.build(PAST)
    export_service.write_files(export, tmp_path)

    checked = _sha256sum_check(tmp_path, "SHA256SUMS-2001-02-03")

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(checked.stdout.splitlines()) == sorted(
        f"{name}: OK" for name in export.files if not name.startswith("SHA256SUMS"))
    with (tmp_path / "invoices-2001-02-03.csv").open("ab") as out:
        out.write(b"tampered\r\n")
    tampered = _sha256sum_check(tmp_path, "SHA256SUMS-2001-02-03")
    assert tampered.returncode != 0
    assert "invoices-2001-02-03.csv: FAILED" in tampered.stdout


async def test_running_it_again_for_a_past_day_writes_the_same_bytes(make_customer, tmp_path):
    customer_id = await make_customer()
    await _invoice(customer_id, [await _entry(customer_id, 700)],
                   datetime(2001, 2, 3, 23, 59, 59, 999999, tzinfo=UTC))
    first = tmp_path / "first"
    second = tmp_path / "second"
    first.mkdir()
    second.mkdir()

    export_service.write_files(await export_service.build(PAST), first)
    export_service.write_files(await export_service.build(PAST), second)
    export_service.write_files(await export_service.build(PAST), second)  # over itself

    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())  # no temporary files left
    assert names == ["SHA256SUMS-2001-02-03", "invoices-2001-02-03.csv",
                     "invoices-2001-02-03.jsonl", "ledger-entries-2001-02-03.csv",
                     "ledger-entries-2001-02-03.jsonl"]
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)


async def test_the_cli_writes_the_days_files(settings, make_customer, tmp_path):
    customer_id = await make_customer()
    await _invoice(customer_id, [await _entry(customer_id, 900)],
                   datetime(2001, 2, 3, 8, tzinfo=UTC))
    env = cli_env(CCM_DATABASE_URL=settings.database_url)

    done = run_cli(env, "export", "--date", "2001-02-03", "--dir", str(tmp_path))

    assert done.returncode == 0, done.stderr
    export = await export_service.build(PAST)
    assert done.stdout.splitlines() == [str(tmp_path / n) for n in export.files]
    assert all((tmp_path / n).read_bytes() == c for n, c in export.files.items())
    assert f"{len(export.invoices)} invoices" in done.stderr


def test_the_cli_needs_a_directory_and_a_good_date(settings, tmp_path):
    env = cli_env(CCM_DATABASE_URL=settings.database_url)
    nowhere = run_cli(env, "export", "--date", "2001-02-03")
    assert (nowhere.returncode, nowhere.stderr.strip()) == (
        2, "error: say where to write: --dir DIR or CCM_EXPORT_DIR (or --deliver)")
    bad = run_cli(env, "export", "--date", "2001-02-30", "--dir", str(tmp_path))
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: date '2001-02-30' is not a date such as 2026-01-31"
    assert list(tmp_path.iterdir()) == []


def test_the_export_directory_is_checked_at_start_up(tmp_path):
    assert Settings.from_env({"CCM_EXPORT_DIR": str(tmp_path)}).export_dir == str(tmp_path)
    with pytest.raises(ConfigError, match="CCM_EXPORT_DIR: no such directory"):
        Settings.from_env({"CCM_EXPORT_DIR": str(tmp_path / "missing")})
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="CCM_EXPORT_DIR: no such directory"):
        Settings.from_env({"CCM_EXPORT_DIR": str(tmp_path / "file")})


async def test_the_cron_writes_yesterdays_files_only_when_configured(settings, tmp_path,
                                                                      monkeypatch):
    # Neither a directory nor a subscriber (other tests' endpoints in the shared database
    # may subscribe to every type): nothing is built.
    async def nobody() -> bool:
        return False

    with monkeypatch.context() as m:
        m.setattr(export_service, "subscribed", nobody)
        assert await export_tasks.daily_export({"settings": settings}, PAST) == 0
    ctx = {"settings": replace(settings, export_dir=str(tmp_path))}

    await export_tasks.daily_export(ctx, PAST)

    assert (tmp_path / "SHA256SUMS-2001-02-03").exists()
    assert (tmp_path / "invoices-2001-02-03.csv").read_bytes() == \
        (await export_service.build(PAST)).files["invoices-2001-02-03.csv"]


CREATE_INTEGRATION = """mutation($s: String!) { createIntegration(input: {slug: $s,
    name: "ERP batch", kind: ERP, profile: "stripe", segments: ["*"]}) { integration { id } } }"""
CREATE_ENDPOINT = """mutation($i: ID!, $u: String!) { createOutboundEndpoint(input: {
    integrationId: $i, url: $u, eventTypes: ["ledger.daily_export"]}) {
    secret endpoint { id } } }"""
DELETE_ENDPOINT = """mutation($e: ID!) { deleteOutboundEndpoint(input: {id: $e}) { id } }"""


async def test_the_batch_is_delivered_signed_in_batches_to_a_subscribed_endpoint(
        gql, app, make_customer, monkeypatch):
    monkeypatch.setattr(export_service, "DELIVERY_BATCH", 1)
    customer_id = await make_customer()
    for at in (datetime(2001, 2, 3, 9, tzinfo=UTC), datetime(2001, 2, 3, 11, tzinfo=UTC)):
        await _invoice(customer_id, [await _entry(customer_id, 100)], at)
    export = await export_service.build(PAST)
    integration = (await gql(CREATE_INTEGRATION, {"s": f"erp-{uuid.uuid4().hex[:8]}"})
                   ).data["createIntegration"]["integration"]["id"]
    async with Receiver() as receiver:
        created = (await gql(CREATE_ENDPOINT, {"i": integration, "u": receiver.url("/erp")})
                   ).data["createOutboundEndpoint"]
        receiver.secrets.append(created["secret"])
        try:
            assert await export_service.subscribed()
            async with in_transaction():
                messages = await export_service.record_delivery(SETUP, export)
            await outbox.wake(app.state.queue)

            await receiver.wait_for(lambda: len(receiver.answered("/erp")) >= messages)
        finally:
            await gql(DELETE_ENDPOINT, {"e": created["endpoint"]["id"]})

    got = receiver.answered("/erp")
    assert messages == len(export.invoices) >= 2
    assert all(r.verified for r in got)
    bodies = sorted((r.json() for r in got), key=lambda b: b["data"]["batch"])
    assert {b["type"] for b in bodies} == {"ledger.daily_export"}
    assert [b["data"]["batch"] for b in bodies] == list(range(1, messages + 1))
    first = bodies[0]["data"]
    assert (first["date"], first["batches"]) == ("2001-02-03", messages)
    assert first["counts"] == {"ledgerEntries": 0, "invoices": len(export.invoices)}
    assert first["checksums"] == export.checksums
    assert [i for b in bodies for i in b["data"]["invoices"]] == export.invoices


