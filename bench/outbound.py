"""CCM Gateway outbound delivery benchmark: signed deliveries per worker process against a
bare httpx loop, and the lag from a change's commit to the receiver at a steady rate.

What it does, start to end (bench/README.md, "Outbound delivery"):

1. creates a fresh PostgreSQL database (``--db``), migrates it, mints an admin token,
   starts ``bench/receiver_app.py`` (a bare ASGI receiver under uvicorn, 204 to every
   POST, arrivals remembered) and ``ccm-gateway serve``; through GraphQL creates an ERP
   integration, ``--customers`` customers, and two outbound endpoints on the receiver:
   ``/throughput`` (``ledger.entry.posted``) and ``/lag`` (``credit.updated``);
2. ``deliver``: with no worker running, inserts ``--deliveries`` pending deliveries for
   the throughput endpoint (each the size of a real ``ledger.entry.posted``), starts one
   ``ccm-gateway worker`` and measures from the first delivery that succeeded to the
   last: deliveries/s and the worker's CPU per delivery;
3. ``bare``: a separate process posts the same number of payloads, signed before it
   starts (Standard Webhooks headers, as the service sends them), to the same receiver
   with httpx at the same concurrency as the worker's delivery job;
4. ``lag``: ``authorizeCredit`` through the service, open loop at ``--lag-rate`` for
   ``--lag-duration`` seconds over the customers; every hold changes a customer's state,
   so the lag endpoint gets a ``credit.updated`` per change (fewer when a newer state
   supersedes one still waiting). Lag = the receiver's arrival time - the change's
   commit (``outbound_delivery.changed_at``), per delivered state;
5. prints the table, checks the targets (>= 0.7x the bare loop, lag p99 < 1 s), runs
   ``ccm-gateway verify``, and always stops every process, drops the database and
   removes its Redis keys.

    /work/main/.venv/bin/python bench/outbound.py                # defaults, ~2 minutes
    /work/main/.venv/bin/python bench/outbound.py --deliveries 2000 --lag-duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.dont_write_bytecode = True  # before the imports below: leave no __pycache__ in bench/

from harness import (  # noqa: E402 - after dont_write_bytecode
    BENCH_DIR,
    BenchError,
    Server,
    Session,
    add_common_options,
    answers,
    ccm_gateway_cli,
    check_common_options,
    cpu_delta,
    cpu_snapshot,
    graphql,
    load_options,
    query,
    run_load,
    seed,
)

M_INTEGRATION = ("mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) "
                 "{ integration { id } } }")
M_ENDPOINT = ("mutation($i: CreateOutboundEndpointInput!) { createOutboundEndpoint(input: $i) "
              "{ endpoint { id } secret } }")
Q_AUTH = ("mutation Auth($i: AuthorizeCreditInput!) { authorizeCredit(input: $i) { __typename "
          "... on Hold { id } ... on CreditDeclined { reason } } }")
ARQ_QUEUE = "arq:queue"
COUNTS_SQL = ('SELECT (SELECT count(*) FROM "outbound_delivery") AS deliveries, '
              '(SELECT count(*) FROM "outbound_attempt") AS attempts, '
              '(SELECT count(*) FROM "hold") AS holds')
COUNTS = "{deliveries} deliveries, {attempts} attempts, {holds} holds"
# The in-flight requests of one delivery job (outbound/delivery.py), for the bare loop.
DEFAULT_CONCURRENCY = 16


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_common_options(p, port=8770, db="ccm_bench_outbound", redis_url="redis://127.0.0.1:6379/6")
    p.add_argument("--receiver-port", type=int, default=8772)
    p.add_argument("--deliveries", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY,
                   help="bare loop: requests in flight (the delivery job's own bound)")
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--lag-rate", type=float, default=200.0)
    p.add_argument("--lag-duration", type=float, default=20.0)
    p.add_argument("--lag-timeout", type=float, default=60.0)
    p.add_argument("--timeout", type=float, default=120.0, help="most seconds one scenario runs")
    p.add_argument("--bare-child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.bare_child:
        return args
    # The shared checks want these; this driver has one shape of each.
    args.workers, args.scenarios, args.warmup, args.ramp = "1", "x", 1.0, 1.0
    args.client, args.duration, args.requests = "raw", args.lag_duration, 10_000_000
    args.pool_size = None
    check_common_options(p, args, {"x": ""})
    return args


# --- the bare loop (its own process, so its CPU is its own) -------------------------


async def _bare(requests: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    import httpx

    cpu0, t0 = time.process_time(), time.perf_counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for r in requests:
            queue.put_nowait(r)
        ok = 0

        async def worker() -> None:
            nonlocal ok
            while not queue.empty():
                r = queue.get_nowait()
                response = await client.post(r["url"], content=r["body"].encode(),
                                             headers=r["headers"])
                ok += 200 <= response.status_code < 300

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - cpu0, "ok": ok,
            "sent": len(requests)}


def bare_child(args: argparse.Namespace) -> int:
    requests = [json.loads(line) for line in Path(args.bare_child).read_text().splitlines()]
    print(json.dumps(asyncio.run(_bare(requests, args.concurrency))))
    return 0


def signed_requests(path: Path, url: str, secret: str, payloads: list[str]) -> None:
    """Each payload with the headers a delivery carries, signed now."""
    from ccm_gateway.kit import standard_webhooks

    now = int(time.time())
    with path.open("w") as out:
        for body in payloads:
            webhook_id = f"msg_{uuid.uuid4().hex}"
            headers = standard_webhooks.headers([secret], webhook_id, now, body.encode())
            out.write(json.dumps({"url": url, "body": body, "headers": headers}) + "\n")


# --- setup --------------------------------------------------------------------------


def entry_payload(customer_id: str, n: int) -> dict[str, Any]:
    """A ``ledger.entry.posted`` body of the real size and shape."""
    return {"type": "ledger.entry.posted", "timestamp": "2026-12-02T00:00:00+00:00", "data": {
        "entryId": str(uuid.uuid4()), "customerId": customer_id, "kind": "CHARGE",
        "amount": {"amount": f"{n % 1000}.50", "currency": "USD"}, "originalAmount": None,
        "fxRate": None, "siteId": None, "reversesId": None, "refundsId": None,
        "holdId": str(uuid.uuid4()), "overLimit": False, "externalRef": f"ticket-{n}",
        "description": "capture of hold", "occurredAt": "2026-12-02T00:00:00+00:00"}}


async def _setup(url: str, token: str, receiver: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"},
                                 timeout=30) as client:
        integration = (await graphql(client, url, M_INTEGRATION, {"i": {
            "slug": "bench-erp", "name": "Bench ERP", "kind": "ERP",
            "profile": "standard-webhooks", "segments": ["*"]}}))["createIntegration"]
        made = {}
        for name, types in (("throughput", ["ledger.entry.posted"]),
                            ("lag", ["credit.updated"])):
            data = (await graphql(client, url, M_ENDPOINT, {"i": {
                "integrationId": integration["integration"]["id"],
                "url": f"{receiver}/{name}", "eventTypes": types, "timeoutSeconds": 10,
                "description": f"bench {name}"}}))["createOutboundEndpoint"]
            made[name] = {"id": data["endpoint"]["id"], "secret": data["secret"]}
    return made


def insert_deliveries(dsn: str, endpoint_id: str, customers: list[str], count: int) -> list[str]:
    """``count`` pending deliveries for the endpoint; their bodies, as the worker sends them."""
    rng = random.Random(7)
    rows, bodies = [], []
    for n in range(count):
        payload = entry_payload(rng.choice(customers), n)
        bodies.append(json.dumps(payload, separators=(",", ":")))
        rows.append((uuid.uuid4(), uuid.UUID(endpoint_id), f"msg_{uuid.uuid4().hex}",
                     json.dumps(payload)))
    asyncio.run(_insert(dsn, rows))
    return bodies


async def _insert(dsn: str, rows: list[tuple[Any, ...]]) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn.replace("postgres://", "postgresql://", 1))
    try:
        await conn.executemany(
            'INSERT INTO "outbound_delivery" (id, endpoint_id, webhook_id, event_type, '
            "payload, status, attempts, primary_failures, changed_at, created_at, updated_at) "
            "VALUES ($1, $2, $3, 'ledger.entry.posted', $4::jsonb, 'pending', 0, 0, now(), "
            "now(), now())", rows)
    finally:
        await conn.close()


def start_worker(s: Session) -> Server:
    import redis

    r = redis.Redis.from_url(s.args.redis_url)
    try:
        return s.start("worker", [ccm_gateway_cli(), "worker"],
                       lambda: bool(r.exists(f"{ARQ_QUEUE}:health-check")), timeout=30, poll=0.1)
    finally:
        r.close()


def arrivals(port: int) -> list[tuple[str, str, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/arrivals", timeout=30) as r:
        return [tuple(a) for a in json.loads(r.read())]  # type: ignore[misc]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- scenarios ----------------------------------------------------------------------


def drive_deliver(s: Session, endpoint: dict[str, str], customers: list[str]) -> dict[str, Any]:
    count = s.args.deliveries
    bodies = insert_deliveries(s.dsn, endpoint["id"], customers, count)
    succeeded = ("SELECT count(*) AS n FROM outbound_delivery WHERE endpoint_id = $1 "
                 "AND status = 'succeeded'")
    worker = start_worker(s)
    deadline = time.monotonic() + s.args.timeout
    before: dict[str, dict[int, float]] = {}
    t_first = t_last = 0.0
    done = 0
    while time.monotonic() < deadline:
        done = query(s.dsn, succeeded, uuid.UUID(endpoint["id"]))[0]["n"]
        now = time.monotonic()
        if done and not before:
            before, t_first, first_done = cpu_snapshot(worker.pid, None), now, done
        if done >= count:
            t_last = now
            break
        time.sleep(0.05)
    else:
        raise BenchError(f"deliver: {done} of {count} succeeded within {s.args.timeout:.0f} s")
    after = cpu_snapshot(worker.pid, None)
    wall = max(t_last - t_first, 1e-9)
    cpu = cpu_delta(before, after, wall)
    rate = (count - first_done) / wall
    s.stop(worker)
    return {"throughput": rate, "count": count, "cores": cpu.get("server", 0.0),
            "cpu_ms": cpu.get("server", 0.0) / rate * 1000 if rate else None,
            "bodies": bodies}


def drive_bare(s: Session, endpoint: dict[str, str], bodies: list[str]) -> dict[str, Any]:
    path = s.workdir / "bare-requests.jsonl"
    signed_requests(path, f"http://127.0.0.1:{s.args.receiver_port}/bare", endpoint["secret"],
                    bodies)
    argv = [sys.executable, str(Path(__file__).resolve()), "--bare-child", str(path),
            "--concurrency", str(s.args.concurrency)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=s.args.timeout,
                         env=s.env, check=False)
    if out.returncode != 0:
        raise BenchError(f"bare loop failed: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["ok"] != result["sent"]:
        raise BenchError(f"bare loop: {result['ok']} of {result['sent']} answered 2xx")
    rate = result["sent"] / result["seconds"]
    return {"throughput": rate, "count": result["sent"],
            "cores": result["cpu"] / result["seconds"],
            "cpu_ms": result["cpu"] / result["sent"] * 1000}


def drive_lag(s: Session, service: Server, endpoint: dict[str, str],
              customers: list[str]) -> dict[str, Any]:
    worker = start_worker(s)
    bodies = s.workdir / "bodies-lag.jsonl"
    rng = random.Random(11)
    with bodies.open("w") as out:
        for cid in rng.sample(customers, len(customers)):
            out.write(json.dumps({"query": Q_AUTH, "variables": {"i": {
                "customerId": cid, "amount": {"amount": "1.00", "currency": "USD"}}}},
                separators=(",", ":")) + "\n")
    argv = load_options(s.args, f"http://127.0.0.1:{service.port}/graphql", bodies,
                        '"__typename":"Hold"', s.args.lag_rate, duration=s.args.lag_duration,
                        extra=["--header", f"Authorization: Bearer {s.token}"])
    load, _ = run_load(service, argv, "lag", warmup=s.args.warmup, duration=s.args.lag_duration,
                       others={"worker": worker.pid})
    waiting = ("SELECT count(*) AS n FROM outbound_delivery WHERE endpoint_id = $1 AND status "
               "IN ('pending', 'sending', 'retrying')")
    deadline = time.monotonic() + s.args.lag_timeout
    left = 0
    while time.monotonic() < deadline:
        left = query(s.dsn, waiting, uuid.UUID(endpoint["id"]))[0]["n"]
        outbox = query(s.dsn, "SELECT count(*) AS n FROM outbox_message")[0]["n"]
        if not left and not outbox:
            break
        time.sleep(0.2)
    rows = query(s.dsn, "SELECT webhook_id, changed_at, status FROM outbound_delivery "
                        "WHERE endpoint_id = $1", uuid.UUID(endpoint["id"]))
    changed = {r["webhook_id"]: r["changed_at"].timestamp() for r in rows}
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    seen: dict[str, float] = {}
    for path, webhook_id, at in arrivals(s.args.receiver_port):
        if path == "/lag" and webhook_id in changed:
            seen.setdefault(webhook_id, at)  # the first arrival: a retry is not the lag
    # Only the measured window, as the load generator reports it.
    start = (load.get("measure_started_at") or 0.0)
    lags = [(at - changed[w]) * 1000 for w, at in seen.items() if changed[w] >= start]
    s.stop(worker)
    return {"holds_per_s": load["throughput"], "errors": load["errors"],
            "delivered": len(lags), "statuses": statuses, "left": left,
            "p50_ms": percentile(lags, 0.50), "p99_ms": percentile(lags, 0.99),
            "max_ms": max(lags) if lags else None}


# --- main ---------------------------------------------------------------------------


def fmt(value: Any, spec: str = ".1f") -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_child:
        return bare_child(args)
    # Tokens are minted for the gateway the bench talks to (their issuer).
    with Session(args, title="CCM Gateway outbound delivery benchmark",
                 workdir_prefix="ccm-bench-outbound-", workdir_label="server logs",
                 env={"CCM_PUBLIC_URL": f"http://127.0.0.1:{args.port}"}) as s:
        token = s.prepare_database()
        receiver_argv = [sys.executable, "-m", "uvicorn", "receiver_app:create_app",
                         "--factory", "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1",
                         "--port", str(args.receiver_port), "--loop", "uvloop", "--http",
                         "httptools", "--no-access-log", "--log-level", "warning"]
        s.start("receiver", receiver_argv, answers(args.receiver_port, "/healthz"),
                port=args.receiver_port)
        service = s.start_service(1)
        graphql_url = f"http://127.0.0.1:{service.port}/graphql"
        seeded = seed(graphql_url, token, args.customers, 1)
        customers = seeded["customers"]
        # The seeding's own messages (a state per new customer) are not part of a run.
        query(s.dsn, "DELETE FROM outbox_message RETURNING 1")
        receiver = f"http://127.0.0.1:{args.receiver_port}"
        endpoints = asyncio.run(_setup(graphql_url, token, receiver))
        print(f"seeded {len(customers)} customers in {seeded['seconds']:.1f} s", flush=True)

        deliver = drive_deliver(s, endpoints["throughput"], customers)
        print(f"  service deliver {deliver['throughput']:.0f}/s, "
              f"{fmt(deliver['cpu_ms'], '.3f')} ms CPU each", flush=True)
        bare = drive_bare(s, endpoints["throughput"], deliver.pop("bodies"))
        print(f"  bare loop       {bare['throughput']:.0f}/s, "
              f"{fmt(bare['cpu_ms'], '.3f')} ms CPU each", flush=True)
        lag = drive_lag(s, service, endpoints["lag"], customers)
        print(f"  lag at {args.lag_rate:g}/s: p50 {fmt(lag['p50_ms'])} ms, p99 "
              f"{fmt(lag['p99_ms'])} ms, max {fmt(lag['max_ms'])} ms over {lag['delivered']} "
              f"delivered states; deliveries by status {lag['statuses']}", flush=True)

        ratio = deliver["throughput"] / bare["throughput"] if bare["throughput"] else 0.0
        print()
        print(f"results ({os.cpu_count()} CPUs; 1 worker process; bare loop: httpx, "
              f"{args.concurrency} in flight; receiver: bare ASGI, 204)")
        print("| what | deliveries/s | CPU cores | CPU ms/delivery | ratio |")
        print("| --- | --- | --- | --- | --- |")
        print(f"| service, 1 worker | {deliver['throughput']:.0f} | {deliver['cores']:.2f} | "
              f"{fmt(deliver['cpu_ms'], '.3f')} | {ratio:.2f} |")
        print(f"| bare httpx loop | {bare['throughput']:.0f} | {bare['cores']:.2f} | "
              f"{fmt(bare['cpu_ms'], '.3f')} | 1.00 |")
        print(f"| lag at {args.lag_rate:g} changes/s (holds {lag['holds_per_s']:.0f}/s, "
              f"errors {lag['errors']}) | p50 {fmt(lag['p50_ms'])} ms | p99 "
              f"{fmt(lag['p99_ms'])} ms | max {fmt(lag['max_ms'])} ms | |")
        print()
        misses = []
        if ratio < 0.7:
            misses.append(f"deliveries/s {ratio:.2f}x the bare loop (target >= 0.7x)")
        if lag["p99_ms"] is None or lag["p99_ms"] >= 1000:
            misses.append(f"lag p99 {fmt(lag['p99_ms'])} ms (target < 1000 ms)")
        if lag["left"]:
            misses.append(f"{lag['left']} lag deliveries still waiting at the end")
        print("targets: " + ("all met" if not misses else "MISSED: " + "; ".join(misses)))
        s.verify(COUNTS_SQL, COUNTS)
    return s.exit_code


if __name__ == "__main__":
    sys.exit(main())
