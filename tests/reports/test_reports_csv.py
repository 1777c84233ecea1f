"""CSV export: GET /reports/{report}.csv and `ccm-gateway report`, over the same service."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys
import uuid
from dataclasses import fields
from pathlib import Path

from reports_kit import Books, at

from ccm_gateway.config import Settings
from ccm_gateway.reports.export import AGING_COLUMNS, COMPLIANCE_COLUMNS, DSO_COLUMNS


def segment() -> str:
    return f"rpt-{uuid.uuid4().hex[:10]}"


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def ledger(make_customer, seg: str, **extra) -> tuple[str, str]:
    """Two customers of ``seg`` owing 1000.00 (31-60 days past due on 2026-03-01) and 250.00
    (current), one named like a spreadsheet formula."""
    one = await make_customer(segment=seg, limit="5000.00", name="=HYPERLINK(1)", **extra)
    two = await make_customer(segment=seg, limit="5000.00", name="Plain Yard Ltd", **extra)
    await Books(one).invoice(100000, issued=at("2026-01-01"), due=at("2026-01-31"))
    await Books(two).invoice(25000, issued=at("2026-02-15"), due=at("2026-03-17"))
    return one, two


async def test_aging_csv_over_http_has_the_documented_columns(client, gql, make_customer):
    seg = segment()
    one, two = await ledger(make_customer, seg)
    response = await client.get("/reports/aging.csv",
                                params={"asOf": "2026-03-01", "segment": seg},
                                headers={"Authorization": f"Bearer {gql.token('viewer')}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    got = rows(response.text)
    assert got[0] == AGING_COLUMNS
    # 2026-03-01 is 29 days after 01-31 (1-30) and before 03-17 (current).
    expected = {one: ["2026-03-01T00:00:00+00:00", one, "'=HYPERLINK(1)", "USD", "0.00",
                      "1000.00", "0.00", "0.00", "0.00", "1000.00", "1"],
                two: ["2026-03-01T00:00:00+00:00", two, "Plain Yard Ltd", "USD", "250.00",
                      "0.00", "0.00", "0.00", "0.00", "250.00", "1"]}
    assert got[1:] == [expected[c] for c in sorted(expected)]


async def test_dso_and_compliance_csv(client, gql, make_customer):
    seg = segment()
    await ledger(make_customer, seg)
    auth = {"Authorization": f"Bearer {gql.token('finance')}"}
    dso = await client.get("/reports/dso.csv", headers=auth, params={
        "from": "2026-01-01", "to": "2026-03-01", "segment": seg})
    # Days 31 + 28 = 59; sales 1250.00; AR 1250.00 of which 250.00 current.
    # Simple 59.00; best possible 250 / 1250 * 59 = 11.80; delinquent 47.20. Count-back:
    # February's 250 (28 days), then January's 1000 in full (31 days): 59.00.
    assert rows(dso.text) == [DSO_COLUMNS, [
        "2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00", "USD", "59.00", "1250.00",
        "250.00", "1250.00", "2", "2", "2", "59.00", "59.00", "11.80", "47.20"]]
    compliance = await client.get("/reports/compliance.csv", headers=auth, params={
        "from": "2026-01-01", "to": "2026-03-01", "segment": seg})
    # Due in the period: the 1000.00 of 01-31, unpaid.
    assert rows(compliance.text) == [COMPLIANCE_COLUMNS, [
        "2026-01-01T00:00:00+00:00", "2026-03-01T00:00:00+00:00", "USD", "1", "1", "0", "0",
        "1", "0.00", "1000.00", "0.00", "0.00", ""]]


async def test_the_csv_route_is_partner_scoped(client, gql, make_customer):
    seg, partner = segment(), f"partner-{uuid.uuid4().hex[:8]}"
    await ledger(make_customer, seg)
    mine = await ledger(make_customer, seg, partnerId=partner)
    token = gql.token("admin", partner_id=partner)
    response = await client.get("/reports/aging.csv", params={"segment": seg},
                                headers={"Authorization": f"Bearer {token}"})
    assert sorted(r[1] for r in rows(response.text)[1:]) == sorted(mine)


async def test_csv_route_errors_are_json(client, gql):
    auth = {"Authorization": f"Bearer {gql.token('viewer')}"}
    cases = [
        ({}, "/reports/aging.csv", {}, 401, "UNAUTHENTICATED"),
        (auth, "/reports/ledger.csv", {}, 400, "BAD_USER_INPUT"),
        (auth, "/reports/dso.csv", {"from": "2026-02-01", "to": "2026-01-01"}, 400,
         "BAD_USER_INPUT"),
        (auth, "/reports/dso.csv", {"to": "2026-01-01"}, 400, "BAD_USER_INPUT"),
        (auth, "/reports/aging.csv", {"asOf": "yesterday"}, 400, "BAD_USER_INPUT"),
        (auth, "/reports/aging.csv", {"asof": "2026-01-01"}, 400, "BAD_USER_INPUT"),
        (auth, "/reports/aging.csv", {"customerId": str(uuid.uuid4())}, 404, "NOT_FOUND"),
        (auth, "/reports/aging.csv", {"segment": "a\x00b"}, 400, "BAD_USER_INPUT"),
        (auth, "/reports/aging.csv", {"riskProfile": "extreme"}, 400, "BAD_USER_INPUT"),
    ]
    for headers, path, params, status, code in cases:
        response = await client.get(path, params=params, headers=headers)
        assert (response.status_code, response.json()["error"]) == (status, code), path
        assert response.json()["detail"]


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`ccm-gateway` on the tests' database, with no other CCM_ setting of the caller's."""
    names = {f"CCM_{f.name.upper()}" for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return subprocess.run([sys.executable, "-m", "ccm_gateway.cli", *args],
                          env=env | {"CCM_DATABASE_URL": settings.database_url},
                          capture_output=True, text=True, timeout=120, check=False)


async def test_the_cli_writes_the_same_csv(client, gql, make_customer, settings, tmp_path: Path):
    seg = segment()
    await ledger(make_customer, seg)
    served = await client.get("/reports/aging.csv", params={"asOf": "2026-03-01",
                                                            "segment": seg},
                              headers={"Authorization": f"Bearer {gql.token()}"})
    out = tmp_path / "aging.csv"
    done = await asyncio.to_thread(run_cli, settings, "report", "aging", "--as-of",
                                   "2026-03-01", "--segment", seg, "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == served.text
    refused = await asyncio.to_thread(run_cli, settings, "report", "dso", "--from",
                                      "2026-03-01", "--to", "2026-02-01")
    assert refused.returncode == 2 and refused.stderr.startswith("error: to ("), refused.stderr
