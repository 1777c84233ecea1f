"""Read benchmark (issue 16): the lists a front end reads, through the gateway and through
PostGraphile 4 over the same rows, side by side in one run.

What it does, start to end (see bench/README.md, "Reads (issue 16)"):

1. creates a fresh PostgreSQL database (``--db``, default ``ccm_bench_reads``), migrates it
   and mints an admin token;
2. starts the service once and seeds, through GraphQL, the sites and ``--integrations``
   integrations (which also writes their audit events), then with bulk SQL ``--customers``
   customers with their credit accounts, site limits, pending holds and external
   references, plus what the other lists read: ledger entries and pending holds of one
   customer, inbound events and alerts;
3. creates the schema ``ccm_pgl``: views over those tables with PostGraphile smart comments
   (primary keys, foreign keys, a unique key), a ``money`` composite type and computed
   columns, so that PostGraphile serves the same rows with the same nesting;
4. installs PostGraphile 4 into ``bench/postgraphile`` on first use (``npm ci``, from the
   committed package-lock.json);
5. starts every app (the service; ``--before-cmd``, a second build of it, e.g. from another
   worktree; PostGraphile) and, for each scenario, lets them take turns: closed loop at
   ``--concurrency`` (16), then one request at a time (``--single-duration``), with the CPU
   of the server process tree (node's too) sampled over the measured window;
6. prints the table, the ratios to PostGraphile and the issue's targets, and always stops
   the servers and drops the database at the end, also on an error or Ctrl-C.

Scenarios: ``page`` (the issue's page of 100 customers with their credit accounts),
``nested`` (the same page with site limits, pending holds and external references), and
one page of 100 of each other list the console reads: ``ledger``, ``holds``, ``inbound``,
``audit``, ``alerts``, ``integrations`` (the service only: PostGraphile serves the two
customer pages).

    .venv/bin/python bench/reads.py                                  # defaults, ~4 minutes
    .venv/bin/python bench/reads.py --scenarios page --duration 5    # quick
    .venv/bin/python bench/reads.py --before-cmd "/work/bench-before/.venv/bin/ccm-gateway \\
        serve --port {port} --workers {workers}"                     # before/after in one run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # before the imports below: leave no __pycache__ in bench/

from harness import (  # noqa: E402 - after dont_write_bytecode
    BENCH_DIR,
    BenchError,
    Row,
    Server,
    Session,
    add_common_options,
    add_load_options,
    fmt,
    graphql,
    load_options,
    port_free,
    report_run,
    run_load,
    summarise_profile,
)

PGL_DIR = BENCH_DIR / "postgraphile"
PGL_CLI = PGL_DIR / "node_modules" / "postgraphile" / "build" / "postgraphile" / "cli.js"
PGL_SCHEMA = "ccm_pgl"

M_SITE = "mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }"
M_INTEGRATION = ("mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) "
                 "{ integration { id } } }")

# The issue's page, as a console sends it.
Q_PAGE = ("{ customers(first: 100) { edges { node { id name segment creditAccount "
          "{ limit { amount } balance { amount } held { amount } } } } } }")
Q_NESTED = ("{ customers(first: 100) { edges { node { id name segment creditAccount "
            "{ limit { amount } balance { amount } held { amount } } "
            "siteLimits { id limit { amount } balance { amount } } "
            "holds { id status amount { amount } expiresAt } "
            "externalRefs { system externalId } } } } }")
# PostGraphile's documents: the same fields and the same nesting (aliases give the
# responses the gateway's shape); customers by name, as the gateway lists them.
PGL_PAGE = ("{ customers: allCustomers(first: 100, orderBy: [NAME_ASC, ID_ASC]) { edges "
            "{ node { id name segment creditAccount: creditAccountByCustomerId "
            "{ limit { amount } balance { amount } held { amount } } } } } }")
PGL_NESTED = ("{ customers: allCustomers(first: 100, orderBy: [NAME_ASC, ID_ASC]) { edges "
              "{ node { id name segment creditAccount: creditAccountByCustomerId "
              "{ limit { amount } balance { amount } held { amount } } "
              "siteLimits: siteLimitsByCustomerIdList(orderBy: [ID_ASC]) "
              "{ id limit { amount } balance { amount } } "
              "holds: holdsByCustomerIdList(orderBy: [CREATED_AT_ASC, ID_ASC]) "
              "{ id status amount { amount } expiresAt } "
              "externalRefs: externalRefsByCustomerIdList(orderBy: [SYSTEM_ASC, EXTERNAL_ID_ASC]) "
              "{ system externalId } } } } }")
Q_LEDGER = ("query($c: ID!) { customer(id: $c) { ledger(first: 100) { edges { node { id kind "
            "amount { amount currency } description occurredAt recordedAt } } } } }")
Q_HOLDS = ("query($c: ID!) { customer(id: $c) { holds { id status amount { amount currency } "
           "expiresAt createdAt } } }")
Q_INBOUND = ("{ inboundEvents(first: 100) { edges { node { id integrationId externalId "
             "eventType status attempts receivedAt } } } }")
Q_AUDIT = ("{ auditLog(first: 100) { edges { node { id stream seq actorType actorId action "
           "objectType objectId createdAt } } } }")
Q_ALERTS = ("{ alerts(first: 100) { edges { node { id kind severity message customerId "
            "createdAt acknowledgedAt } } } }")
Q_INTEGRATIONS = ("{ integrations(first: 100) { edges { node { id slug name kind profile "
                  "segments enabled rateLimit { perSecond burst } } } } }")

SCENARIOS: dict[str, str] = {
    "page": "customers(first: 100) with their credit accounts (the issue's page)",
    "nested": "the page with site limits, pending holds and external refs nested",
    "ledger": "customer(id) { ledger(first: 100) }",
    "holds": "customer(id) { holds } (100 pending holds)",
    "inbound": "inboundEvents(first: 100)",
    "audit": "auditLog(first: 100)",
    "alerts": "alerts(first: 100)",
    "integrations": "integrations(first: 100)",
}
DEFAULT_SCENARIOS = ",".join(SCENARIOS)
PGL_SCENARIOS = {"page": PGL_PAGE, "nested": PGL_NESTED}

SITES = 4
SITE_LIMITS_PER_CUSTOMER = 2
HOLDS_PER_CUSTOMER = 3
REFS_PER_CUSTOMER = 2
LIST_ROWS = 150  # each other list has more than a page

# Customers, their accounts, site limits, pending holds (held moves with them) and
# external references, in one transaction. $1: the site ids.
SQL_SEED_CUSTOMERS = [
    # A utility statement takes no parameters: {customers} is formatted in (an int).
    """
    CREATE TEMP TABLE bench_c ON COMMIT DROP AS
    SELECT gen_random_uuid() AS id, gen_random_uuid() AS account_id, n
    FROM generate_series(0, {customers} - 1) AS n
    """,
    """
    INSERT INTO "customer" ("id", "name", "segment", "risk_profile", "status", "currency",
                            "partner_id", "version", "created_at", "updated_at")
    SELECT id, 'Bench customer ' || lpad(n::text, 5, '0'), 'bench', 'medium', 'active', 'USD',
           NULL, 1, now(), now() FROM bench_c
    """,
    f"""
    INSERT INTO "credit_account" ("id", "currency", "credit_limit_minor",
                                  "posted_balance_minor", "held_minor", "net_days",
                                  "invoicing_cycle", "version", "updated_at", "customer_id")
    SELECT account_id, 'USD', 1000000000, 0, {HOLDS_PER_CUSTOMER} * 1500, 30, 'monthly', 1,
           now(), id FROM bench_c
    """,  # noqa: S608 - the bench's own constants
    f"""
    INSERT INTO "site_limit" ("limit_minor", "posted_minor", "held_minor", "updated_at",
                              "account_id", "site_id")
    SELECT 50000000, 0, 0, now(), c.account_id, ($1::uuid[])[k]
    FROM bench_c c, generate_series(1, {SITE_LIMITS_PER_CUSTOMER}) AS k
    """,  # noqa: S608 - the bench's own constants
    f"""
    INSERT INTO "hold" ("id", "amount_minor", "captured_minor", "currency", "status",
                        "reference", "source_type", "source_id", "expires_at", "created_at",
                        "updated_at", "account_id", "site_id")
    SELECT gen_random_uuid(), 1500, 0, 'USD', 'pending', 'bench-' || k, 'user', 'bench',
           now() + interval '30 days', now() - k * interval '1 minute', now(),
           c.account_id, NULL
    FROM bench_c c, generate_series(1, {HOLDS_PER_CUSTOMER}) AS k
    """,  # noqa: S608 - the bench's own constants
    f"""
    INSERT INTO "external_ref" ("system", "external_id", "created_at", "customer_id")
    SELECT 'sys' || k, 'ext-' || c.n || '-' || k, now(), c.id
    FROM bench_c c, generate_series(1, {REFS_PER_CUSTOMER}) AS k
    """,  # noqa: S608 - the bench's own constants
]
# The other lists: one customer with LIST_ROWS ledger entries (its balance moved with them)
# and 100 more pending holds; inbound events of the first integration; alerts.
# $1: the customer, or the integration for the inbound events.
SQL_SEED_LISTS = [
    f"""
    WITH a AS (SELECT "id" FROM "credit_account" WHERE "customer_id" = $1::uuid),
    e AS (INSERT INTO "ledger_entry" ("id", "kind", "amount_minor", "currency", "source_type",
                                      "source_id", "description", "over_limit", "occurred_at",
                                      "recorded_at", "account_id")
          SELECT gen_random_uuid(), 'charge', 1000 + k, 'USD', 'user', 'bench',
                 'bench charge ' || k, false, now() - k * interval '1 hour',
                 now() - k * interval '1 second', a."id"
          FROM a, generate_series(1, {LIST_ROWS}) AS k RETURNING "amount_minor")
    UPDATE "credit_account" SET "posted_balance_minor" = (SELECT sum("amount_minor") FROM e)
    WHERE "id" = (SELECT "id" FROM a)
    """,  # noqa: S608 - the bench's own constants
    """
    WITH a AS (SELECT "id" FROM "credit_account" WHERE "customer_id" = $1::uuid),
    h AS (INSERT INTO "hold" ("id", "amount_minor", "captured_minor", "currency", "status",
                              "reference", "source_type", "source_id", "expires_at",
                              "created_at", "updated_at", "account_id", "site_id")
          SELECT gen_random_uuid(), 100, 0, 'USD', 'pending', NULL, 'user', 'bench',
                 now() + interval '30 days', now() - k * interval '1 second', now(), a."id", NULL
          FROM a, generate_series(1, 97) AS k RETURNING "amount_minor")
    UPDATE "credit_account" SET "held_minor" = "held_minor" + (SELECT sum("amount_minor") FROM h)
    WHERE "id" = (SELECT "id" FROM a)
    """,
    f"""
    INSERT INTO "inbound_event" ("id", "external_id", "event_type", "canonical_type", "status",
                                 "content_type", "payload", "occurred_at", "received_at",
                                 "applied_at", "attempts", "customer_id", "integration_id")
    SELECT gen_random_uuid(), 'evt_bench_' || k, 'payment_intent.succeeded', 'payment',
           'applied', 'application/json', convert_to('{{}}', 'UTF8'), now(),
           now() - k * interval '1 second', now(), 1, NULL, $1::uuid
    FROM generate_series(1, {LIST_ROWS}) AS k
    """,  # noqa: S608 - the bench's own constants
    f"""
    INSERT INTO "alert" ("id", "kind", "severity", "message", "customer_id", "integration_id",
                         "details", "created_at")
    SELECT gen_random_uuid(), 'credit.threshold', 'warning', 'bench alert ' || k, $1::uuid,
           NULL, '{{"threshold": 0.8}}'::jsonb, now() - k * interval '1 second'
    FROM generate_series(1, {LIST_ROWS}) AS k
    """,  # noqa: S608 - the bench's own constants
]

# PostGraphile's view of the same tables: a schema of views with smart comments (keys and
# relations PostGraphile cannot read off a view), money as (amount, currency) computed by
# SQL functions it inlines into its one statement. Two-decimal currencies only (the seed's).
_ACCOUNT_TAGS = ("@primaryKey id\\n@unique customer_id\\n"
                 f"@foreignKey (customer_id) references {PGL_SCHEMA}.customers (id)")
SQL_PGL = [
    f'DROP SCHEMA IF EXISTS "{PGL_SCHEMA}" CASCADE',
    f'CREATE SCHEMA "{PGL_SCHEMA}"',
    f"CREATE TYPE {PGL_SCHEMA}.money AS (amount text, currency text)",
    f"""CREATE VIEW {PGL_SCHEMA}.customers AS
        SELECT id, name, segment, risk_profile, status, currency, partner_id, version,
               created_at, updated_at FROM public.customer""",  # noqa: S608 - the bench's own constants
    f"""CREATE VIEW {PGL_SCHEMA}.credit_accounts AS
        SELECT id, customer_id, currency, credit_limit_minor, posted_balance_minor,
               held_minor, net_days, invoicing_cycle, version FROM public.credit_account""",  # noqa: S608 - the bench's own constants
    f"""CREATE VIEW {PGL_SCHEMA}.site_limits AS
        SELECT sl.id, ca.customer_id, ca.currency, sl.site_id, sl.limit_minor, sl.posted_minor,
               sl.held_minor FROM public.site_limit sl
        JOIN public.credit_account ca ON ca.id = sl.account_id""",  # noqa: S608 - the bench's own constants
    f"""CREATE VIEW {PGL_SCHEMA}.holds AS
        SELECT h.id, ca.customer_id, h.status, h.amount_minor, h.currency, h.expires_at,
               h.created_at FROM public.hold h
        JOIN public.credit_account ca ON ca.id = h.account_id WHERE h.status = 'pending'""",  # noqa: S608 - the bench's own constants
    f"""CREATE VIEW {PGL_SCHEMA}.external_refs AS
        SELECT id, customer_id, system, external_id, created_at FROM public.external_ref""",  # noqa: S608 - the bench's own constants
    f"""CREATE FUNCTION {PGL_SCHEMA}.format_minor(minor bigint, currency text)
        RETURNS {PGL_SCHEMA}.money LANGUAGE sql IMMUTABLE AS
        $$ SELECT ((minor::numeric / 100)::numeric(20, 2)::text,
                   currency)::{PGL_SCHEMA}.money $$""",
    *[f"""CREATE FUNCTION {PGL_SCHEMA}.{view}_{name}(r {PGL_SCHEMA}.{view})
          RETURNS {PGL_SCHEMA}.money LANGUAGE sql STABLE AS
          $$ SELECT {PGL_SCHEMA}.format_minor(r.{column}, r.currency) $$"""
      for view, name, column in [
          ("credit_accounts", "limit", "credit_limit_minor"),
          ("credit_accounts", "balance", "posted_balance_minor"),
          ("credit_accounts", "held", "held_minor"),
          ("site_limits", "limit", "limit_minor"),
          ("site_limits", "balance", "posted_minor"),
          ("holds", "amount", "amount_minor")]],
    f"COMMENT ON VIEW {PGL_SCHEMA}.customers IS E'@primaryKey id'",
    f"COMMENT ON VIEW {PGL_SCHEMA}.credit_accounts IS E'{_ACCOUNT_TAGS}'",
    *[f"""COMMENT ON VIEW {PGL_SCHEMA}.{view} IS
          E'@primaryKey id\\n@foreignKey (customer_id) references {PGL_SCHEMA}.customers (id)'"""
      for view in ("site_limits", "holds", "external_refs")],
]

NOTES = [
    ("CPU cores: average cores busy during the measured window for the server's process "
     "tree (node for PostGraphile) / all PostgreSQL processes / the load generator."),
    "srv CPU ms/req: server CPU time per answered request (cores / throughput).",
    "ratio: throughput / PostGraphile's at the same load, same scenario.",
    "c=1: one request at a time (the p50 is the one-at-a-time latency).",
]


# --- setup --------------------------------------------------------------------


async def _seed_api(url: str, token: str, integrations: int) -> dict[str, Any]:
    import httpx

    sem = asyncio.Semaphore(8)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                 timeout=30) as client:
        async def gql(doc: str, variables: dict[str, Any]) -> dict[str, Any]:
            async with sem:
                return await graphql(client, url, doc, variables)

        sites = [(await gql(M_SITE, {"i": {"code": f"BENCH-{n:02d}",
                                             "name": f"Bench site {n}"}}))["createSite"]["id"]
                 for n in range(SITES)]
        made = await asyncio.gather(*(gql(M_INTEGRATION, {"i": {
            "slug": f"bench-{n:03d}", "name": f"Bench integration {n}",
            "kind": "PAYMENT_PROCESSOR", "profile": "stripe", "segments": ["*"]}})
            for n in range(integrations)))
    return {"sites": sites,
            "integrations": [m["createIntegration"]["integration"]["id"] for m in made]}


async def _seed_sql(dsn: str, customers: int, sites: list[str],
                    integration: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        async with conn.transaction():
            for sql in SQL_SEED_CUSTOMERS:
                args = [sites] if "$1" in sql else []
                await conn.execute(sql.replace("{customers}", str(int(customers))), *args)
        # The list customer: the first by name, so the page holds it too.
        list_customer = str(await conn.fetchval(
            'SELECT "id" FROM "customer" ORDER BY "name", "id" LIMIT 1'))
        async with conn.transaction():
            for sql in SQL_SEED_LISTS:
                await conn.execute(sql, integration if "inbound_event" in sql else list_customer)
        for sql in SQL_PGL:
            await conn.execute(sql)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return list_customer


def ensure_postgraphile() -> None:
    """``npm ci`` into bench/postgraphile, once (like tests/oidc's provider)."""
    if PGL_CLI.exists():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise BenchError("PostGraphile needs node and npm on PATH (or --skip-postgraphile)")
    print("installing PostGraphile (npm ci in bench/postgraphile) ...", flush=True)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PGL_DIR,
                          capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0 or not PGL_CLI.exists():
        raise BenchError(f"npm ci in bench/postgraphile failed:\n{done.stderr[-2000:]}")


def graphql_ready(port: int) -> Callable[[], bool]:
    """Ready when POST /graphql answers ``{ __typename }``."""
    def ready() -> bool:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=b'{"query":"{ __typename }"}',
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=2) as r:  # noqa: S310 - loopback http
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    return ready


# --- load ---------------------------------------------------------------------


def body_for(app: str, scenario: str, list_customer: str) -> dict[str, Any]:
    if app == "postgraphile":
        return {"query": PGL_SCENARIOS[scenario]}
    doc = {"page": Q_PAGE, "nested": Q_NESTED, "ledger": Q_LEDGER, "holds": Q_HOLDS,
           "inbound": Q_INBOUND, "audit": Q_AUDIT, "alerts": Q_ALERTS,
           "integrations": Q_INTEGRATIONS}[scenario]
    if scenario in ("ledger", "holds"):
        return {"query": doc, "variables": {"c": list_customer}}
    return {"query": doc}


def page_items(data: dict[str, Any], scenario: str) -> list[Any]:
    if scenario in ("ledger", "holds"):
        inner = data["customer"]
        return inner["holds"] if scenario == "holds" else inner["ledger"]["edges"]
    return next(iter(data.values()))["edges"]


def check_answer(url: str, headers: dict[str, str], body: dict[str, Any], scenario: str,
                 app: str) -> bytes:
    """One request before the load: a page of 100, no errors; the answer."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(),  # noqa: S310
                                 headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - loopback http
        raw: bytes = r.read()
    answer = json.loads(raw)
    if answer.get("errors") or not answer.get("data"):
        raise BenchError(f"{app}/{scenario}: {str(answer)[:2000]}")
    items = page_items(answer["data"], scenario)
    if len(items) != 100:
        raise BenchError(f"{app}/{scenario}: {len(items)} items, not 100")
    return raw


def drive(args: argparse.Namespace, server: Server, app: str, scenario: str, token: str,
          list_customer: str, workdir: Path, *, concurrency: int, duration: float,
          profile_to: Path | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    url = f"http://127.0.0.1:{server.port}/graphql"
    headers = {"Authorization": f"Bearer {token}"} if app != "postgraphile" else {}
    body = body_for(app, scenario, list_customer)
    check_answer(url, headers, body, scenario, app)
    bodies = workdir / f"bodies-{app}-{scenario}.jsonl"
    bodies.write_text(json.dumps(body, separators=(",", ":")) + "\n")
    extra = [arg for k, v in headers.items() for arg in ("--header", f"{k}: {v}")]
    # Every OK answer is a page of data; an error answer has no "data" object first.
    argv = load_options(args, url, bodies, '{"data":{', None, duration=duration, extra=extra)
    argv[argv.index("--concurrency") + 1] = str(concurrency)
    return run_load(server, argv, f"{app}/{scenario}", warmup=args.warmup, duration=duration,
                    profile_to=profile_to)


# --- reporting ----------------------------------------------------------------


def set_ratios(rows: list[Row]) -> None:
    for r in rows:
        if r.app == "postgraphile":
            continue
        ref = next((p for p in rows if p.app == "postgraphile" and
                    (p.scenario, p.shape) == (r.scenario, r.shape)), None)
        if ref and ref.result["throughput"]:
            r.ratio = r.result["throughput"] / ref.result["throughput"]


def targets(rows: list[Row], concurrency: int) -> list[str]:
    out = []
    loaded = f"closed c={concurrency}"
    for r in rows:
        if r.app == "postgraphile" or r.shape != loaded:
            continue
        res = r.result
        p99 = res["p99_ms"] or 1e9
        cpu_ms = r.cpu["server"] / res["throughput"] * 1000 if r.cpu and res["throughput"] \
            else None
        if r.scenario == "page":
            ok = r.ratio is not None and r.ratio >= 0.5
            out.append(f"[{r.app}] page throughput >= 0.5x PostGraphile's: "
                       f"{'MET' if ok else 'MISSED'} ({fmt(r.ratio, '.2f')})")
            out.append(f"[{r.app}] page p99 < 100 ms at c={concurrency}: "
                       f"{'MET' if p99 < 100 else 'MISSED'} ({p99:.1f} ms)")
            ok = cpu_ms is not None and cpu_ms < 10
            out.append(f"[{r.app}] page < 10 ms of server CPU: {'MET' if ok else 'MISSED'} "
                       f"({fmt(cpu_ms, '.2f')} ms)")
        elif r.scenario != "nested":
            out.append(f"[{r.app}] {r.scenario} p99 < 100 ms at c={concurrency}: "
                       f"{'MET' if p99 < 100 else 'MISSED'} ({p99:.1f} ms)")
    return out


# --- main ---------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark the gateway's list reads against PostGraphile 4 on the same "
                    "PostgreSQL rows.",
        epilog="Scenarios: " + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()))
    p.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                   help=f"comma-separated, from {', '.join(SCENARIOS)}")
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--integrations", type=int, default=LIST_ROWS,
                   help="integrations created through GraphQL (at least 100)")
    p.add_argument("--duration", type=float, default=8.0, help="measured seconds per run")
    p.add_argument("--single-duration", type=float, default=4.0,
                   help="measured seconds one request at a time (0: skip)")
    p.add_argument("--requests", type=int, default=200_000,
                   help="cap on measured requests per run")
    p.add_argument("--before-cmd", metavar="TEMPLATE",
                   help="also run another build of the service (label 'before'), e.g. from "
                        "another worktree; {python}, {port} and {workers} are substituted")
    p.add_argument("--service-cmd", metavar="TEMPLATE",
                   help="start the service with this command instead of `ccm-gateway serve`")
    p.add_argument("--skip-postgraphile", action="store_true")
    p.add_argument("--pgl-port", type=int, default=None,
                   help="PostGraphile's port (default --port + 2)")
    p.add_argument("--before-port", type=int, default=None,
                   help="the --before-cmd service's port (default --port + 3)")
    p.add_argument("--profile", metavar="DIR",
                   help="after the measured runs, py-spy the service under each scenario's "
                        "closed loop and write collapsed stacks + summaries here")
    add_load_options(p)
    add_common_options(p, port=8760, db="ccm_bench_reads", redis_url="redis://127.0.0.1:6379/9")
    p.set_defaults(concurrency=16)
    args = p.parse_args(argv)
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenario_list) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if args.integrations < 100 or args.customers < 100:
        p.error("--integrations and --customers: at least 100 (a page)")
    if not args.db.replace("_", "").isalnum():
        p.error("--db: letters, digits and _ only")
    args.pgl_port = args.pgl_port or args.port + 2
    args.before_port = args.before_port or args.port + 3
    for port in (args.port, args.pgl_port, args.before_port):
        if not port_free(port):
            p.exit(2, f"port {port} is in use; pick another with --port/--pgl-port\n")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[Row] = []
    with Session(args, title="CCM Gateway read benchmark (issue 16)",
                 workdir_prefix="ccm-bench-reads-", workdir_label="server logs") as s:
        # Tokens name their issuer, the public URL: one for every build on every port.
        s.env["CCM_PORT"] = str(args.port)
        s.env["CCM_PUBLIC_URL"] = f"http://127.0.0.1:{args.port}"
        token = s.prepare_database()
        if not args.skip_postgraphile:
            ensure_postgraphile()
        server = s.start_service(1, args.service_cmd)
        api = asyncio.run(_seed_api(f"http://127.0.0.1:{args.port}/graphql", token,
                                    args.integrations))
        s.stop(server)
        list_customer = asyncio.run(_seed_sql(s.dsn, args.customers, api["sites"],
                                              api["integrations"][0]))
        print(f"seeded {args.customers} customers, {SITES} sites, {args.integrations} "
              f"integrations, the lists of customer {list_customer}", flush=True)

        # Every app is up for the whole run and the apps take turns on each scenario, so
        # that a change in the machine's other load falls on all of them alike.
        servers = {"service": s.start_service(1, args.service_cmd)}
        if args.before_cmd:
            port = args.before_port
            argv = shlex.split(args.before_cmd.format(python=sys.executable, port=port,
                                                      workers=1))
            servers["before"] = s.start_http("before", argv, port, "/readyz")
        if not args.skip_postgraphile:
            argv = ["node", str(PGL_CLI), "--connection", s.dsn, "--schema", PGL_SCHEMA,
                    "--host", "127.0.0.1", "--port", str(args.pgl_port),
                    "--simple-collections", "both", "--disable-query-log",
                    "--max-pool-size", str(args.pool_size or 10)]
            servers["postgraphile"] = s.start("postgraphile", argv,
                                              graphql_ready(args.pgl_port),
                                              port=args.pgl_port, timeout=90)

        shapes = [(args.concurrency, args.duration)]
        if args.single_duration > 0:
            shapes.append((1, args.single_duration))
        for scenario in args.scenario_list:
            for concurrency, duration in shapes:
                for app, server in servers.items():
                    if app == "postgraphile" and scenario not in PGL_SCENARIOS:
                        continue
                    result, cpu = drive(args, server, app, scenario, token, list_customer,
                                        s.workdir, concurrency=concurrency, duration=duration)
                    rows.append(Row(1, scenario, app, f"closed c={concurrency}", result, cpu))
                    report_run(f"  {app:<12} {scenario:<12} c={concurrency:<3} "
                               f"{result['throughput']:>8.1f}/s  p50 "
                               f"{fmt(result['p50_ms'], '.2f')} ms  p99 "
                               f"{fmt(result['p99_ms'], '.2f')} ms  errors {result['errors']}",
                               result)
        for server in servers.values():
            s.stop(server)
        rows.sort(key=lambda r: ["service", "before", "postgraphile"].index(r.app))
        set_ratios(rows)

        if args.profile:
            profile_dir = Path(args.profile)
            profile_dir.mkdir(parents=True, exist_ok=True)
            server = s.start_service(1, args.service_cmd)
            for scenario in args.scenario_list:
                out = profile_dir / f"service-{scenario}.txt"
                result, _ = drive(args, server, "service", scenario, token, list_customer,
                                  s.workdir, concurrency=args.concurrency,
                                  duration=min(args.duration, 10), profile_to=out)
                summarise_profile(out)
                print(f"profile service {scenario} ({result['throughput']:.0f}/s under "
                      f"py-spy): {out}")
            s.stop(server)

        print()
        s.print_table(rows, NOTES, condition="1 server process each", show_other=True)
        print()
        for line in targets(rows, args.concurrency):
            print(line)
        s.write_json(rows, list_customer=list_customer)
    return s.exit_code


if __name__ == "__main__":
    sys.exit(main())
