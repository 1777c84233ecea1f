"""CCM Gateway receivables benchmark: invoices issued for --customers customers by the
invoicing cron, then the portfolio reports timed on PostgreSQL.

What it does, start to end (bench/README.md, "Receivables reports"):

1. creates a fresh PostgreSQL database (``--db``) and migrates it;
2. seeds, in bulk SQL (no service): ``--customers`` customers in four segments and three
   risk profiles, each with a monthly-invoiced credit account and two charges in each of
   the ``--months`` months before the current one (balances set to the charges' sum);
3. invoices the first ``--months`` - ``--issue-months`` months in bulk SQL (what the cron
   would have written: one invoice per customer and month, lines owning the charges), then
   issues the last ``--issue-months`` through the billing service's cron
   (``issue_due_invoices``) at 01:00 UTC of the month after, and prints invoices/s;
4. pays them in bulk SQL, as the allocation path leaves them (a payment entry, its
   allocation, the invoice's paid amount, status and paidAt): 60 % three days before the
   due date, 20 % ten days after it (when that has passed), 20 % never;
5. times each report ``--repeat`` times through the reports service, as the operator (the
   whole portfolio): aging as of now, the first page of 100 customers' aging, DSO and
   term compliance over the ``--months`` months, utilisation; prints min and median;
6. drops the database (``--keep-db`` keeps it).

    .venv/bin/python bench/receivables.py                   # defaults, about 5 minutes
    .venv/bin/python bench/receivables.py --customers 1000  # quick
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ccm_gateway.billing import service as billing_service
from ccm_gateway.config import Settings
from ccm_gateway.db import migrate, tortoise_config
from ccm_gateway.principal import Principal, Role
from ccm_gateway.reports import service as reports

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
ISSUER = "BENCH"

SEED_SQL = """
INSERT INTO customer (id, name, segment, risk_profile, status, currency, partner_id, version,
                      created_at, updated_at)
SELECT gen_random_uuid(), 'Bench ' || g, (ARRAY['haulage','retail','storage','fleet'])[1 + g % 4],
       (ARRAY['low','medium','high'])[1 + g % 3], 'active', 'USD', NULL, 1, now(), now()
FROM generate_series(1, {customers}) g;
INSERT INTO credit_account (id, currency, credit_limit_minor, posted_balance_minor, held_minor,
                            net_days, invoicing_cycle, version, updated_at, customer_id)
SELECT gen_random_uuid(), 'USD', 500000 * (1 + abs(hashtext(id::text)) % 8), 0, 0, 30,
       'monthly', 1, now(), id FROM customer;
INSERT INTO ledger_entry (id, kind, amount_minor, currency, source_type, source_id, over_limit,
                          occurred_at, recorded_at, account_id)
SELECT gen_random_uuid(), 'charge', 1000 + abs(hashtext(a.id::text || m || k)) % 90000, 'USD',
       'system', 'bench', false,
       '{start}'::timestamptz + make_interval(months => m, days => 2 + 12 * k), now(), a.id
FROM credit_account a, generate_series(0, {months} - 1) m, generate_series(0, 1) k;
UPDATE credit_account a SET posted_balance_minor = s.total
FROM (SELECT account_id, SUM(amount_minor) AS total FROM ledger_entry GROUP BY account_id) s
WHERE s.account_id = a.id;
ANALYZE;
"""

# The invoices the cron would have issued for the earlier months, in one statement each:
# one per account and month at 01:00 UTC of the next month, due 30 days later, with lines
# that own the month's charges (so the cron does not invoice them again).
HISTORY_SQL = """
WITH g AS (
  SELECT e.account_id, a.customer_id, SUM(e.amount_minor) AS total,
         MIN(e.occurred_at) AS first_at,
         date_trunc('month', e.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           + interval '1 month' AS period_end
  FROM ledger_entry e JOIN credit_account a ON a.id = e.account_id
  WHERE e.kind = 'charge' AND e.occurred_at < '{history_end}'::timestamptz
  GROUP BY 1, 2, 5
), n AS (SELECT g.*, row_number() OVER (ORDER BY period_end, account_id) AS seq FROM g)
INSERT INTO invoice (id, number, issuer, year, sequence, customer_id, account_id, site_id,
                     currency, total_minor, paid_minor, credited_minor, status, period_start,
                     period_end, net_days, issued_at, due_at, version, created_at, updated_at)
SELECT gen_random_uuid(), 'HIST-' || lpad(seq::text, 7, '0'), 'HIST', 2000, seq, customer_id,
       account_id, NULL, 'USD', total, 0, 0, 'open', first_at, period_end, 30,
       period_end + interval '1 hour', period_end + interval '1 hour' + interval '30 days', 1,
       now(), now()
FROM n;
INSERT INTO invoice_line (invoice_id, entry_id, amount_minor, description, site_id,
                          occurred_at)
SELECT i.id, e.id, e.amount_minor, NULL, NULL, e.occurred_at
FROM ledger_entry e JOIN invoice i ON i.account_id = e.account_id AND i.issuer = 'HIST'
  AND i.period_end = date_trunc('month', e.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                     + interval '1 month'
WHERE e.kind = 'charge';
ANALYZE;
"""

# The payment entry carries its invoice's id in its description for the allocation insert.
PAY_SQL = """
WITH chosen AS (
  SELECT i.id, i.account_id, i.total_minor,
         CASE WHEN abs(hashtext(i.id::text)) % 10 < 6 THEN i.due_at - interval '3 days'
              ELSE i.due_at + interval '10 days' END AS paid_at
  FROM invoice i WHERE abs(hashtext(i.id::text)) % 10 < 8
), paid AS (
  INSERT INTO ledger_entry (id, kind, amount_minor, currency, source_type, source_id,
                            over_limit, occurred_at, recorded_at, account_id, description)
  SELECT gen_random_uuid(), 'payment', -total_minor, 'USD', 'system', 'bench', false, paid_at,
         paid_at, account_id, id::text
  FROM chosen WHERE paid_at < now()
  RETURNING id, description, amount_minor, occurred_at
)
INSERT INTO payment_allocation (invoice_id, entry_id, amount_minor, by_reference, created_at)
SELECT description::uuid, id, -amount_minor, true, occurred_at FROM paid;
UPDATE invoice i SET paid_minor = pa.amount_minor, status = 'paid', paid_at = pa.created_at,
       version = version + 1
FROM payment_allocation pa WHERE pa.invoice_id = i.id;
UPDATE credit_account a SET posted_balance_minor = s.total
FROM (SELECT account_id, SUM(amount_minor) AS total FROM ledger_entry GROUP BY account_id) s
WHERE s.account_id = a.id;
ANALYZE;
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--customers", type=int, default=10_000)
    p.add_argument("--months", type=int, default=6, help="months of charges and invoices")
    p.add_argument("--issue-months", type=int, default=1,
                   help="the last months, invoiced through the cron (the earlier ones in "
                        "bulk SQL)")
    p.add_argument("--repeat", type=int, default=5, help="runs of each report")
    p.add_argument("--db", default="ccm_bench_receivables")
    p.add_argument("--keep-db", action="store_true")
    return p.parse_args(argv)


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def first_of_month(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def timed(label: str, repeat: int, work: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - started)
    row = {"report": label, "min_ms": min(times) * 1000,
           "median_ms": statistics.median(times) * 1000}
    print(f"{label:<28} min {row['min_ms']:8.1f} ms   median {row['median_ms']:8.1f} ms")
    return row | {"result": result}


async def run(args: argparse.Namespace) -> int:
    from tortoise import Tortoise, connections

    settings = Settings(database_url=f"postgres://postgres@127.0.0.1:5432/{args.db}")
    await _admin(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    await _admin(f'CREATE DATABASE "{args.db}"')
    try:
        await migrate(settings)
        await Tortoise.init(config=tortoise_config(settings))
        try:
            conn = connections.get("default")
            now = datetime.now(UTC)
            start = first_of_month(reports.months_back(now, args.months))
            began = time.perf_counter()
            await conn.execute_script(SEED_SQL.format(customers=args.customers,
                                                      months=args.months,
                                                      start=start.isoformat()))
            print(f"seeded {args.customers} customers, {2 * args.months} charges each, "
                  f"in {time.perf_counter() - began:.1f} s")
            history = args.months - args.issue_months
            history_end = reports.months_back(start, -history)
            began = time.perf_counter()
            await conn.execute_script(HISTORY_SQL.format(history_end=history_end.isoformat()))
            bulk = (await conn.execute_query_dict("SELECT COUNT(*) AS n FROM invoice"))[0]["n"]
            print(f"{bulk} invoices of the first {history} months in bulk SQL in "
                  f"{time.perf_counter() - began:.1f} s")
            issued, began = 0, time.perf_counter()
            for m in range(history + 1, args.months + 1):
                at = reports.months_back(start, -m) + timedelta(hours=1)
                count = await billing_service.issue_due_invoices(issuer=ISSUER, now=at)
                issued += count
                print(f"  cron at {at:%Y-%m-%d %H:%M}: {count} invoices")
            seconds = time.perf_counter() - began
            print(f"issued {issued} invoices in {seconds:.1f} s: {issued / seconds:.0f} "
                  "invoices/s (issue_due_invoices, one transaction per customer)")
            issued += bulk
            began = time.perf_counter()
            await conn.execute_script(PAY_SQL)
            print(f"paid in bulk SQL in {time.perf_counter() - began:.1f} s")
            operator = Principal.from_roles("bench", "user", frozenset({Role.ADMIN}))
            everyone = reports.ReportFilter()
            period = (start, now)
            print(f"reports over {issued} invoices ({args.repeat} runs each):")
            aging = await timed("aging (portfolio)", args.repeat,
                                lambda: reports.aging(operator, now, everyone))
            await timed("aging (100 customers)", args.repeat,
                        lambda: reports.aging_by_customer(operator, now, everyone, first=100))
            dso = await timed("dso (all methods)", args.repeat,
                              lambda: reports.dso(operator, *period, everyone))
            await timed("term compliance", args.repeat,
                        lambda: reports.term_compliance(operator, *period, everyone))
            await timed("utilisation", args.repeat,
                        lambda: reports.utilisation(operator, everyone))
            [buckets] = aging["result"]
            [figures] = dso["result"]
            print(f"aging: {buckets.invoices} invoices of {buckets.customers} customers owe "
                  f"{buckets.total_minor / 100:.2f} USD, {buckets.past_due_minor / 100:.2f} "
                  f"past due; DSO {reports.rounded(figures.simple)} (count-back "
                  f"{reports.rounded(figures.count_back)}, best possible "
                  f"{reports.rounded(figures.best_possible)})")
        finally:
            await Tortoise.close_connections()
    finally:
        if not args.keep_db:
            await _admin(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
