"""CCM Gateway benchmark: the running service over HTTP, side by side with a bare endpoint.

What it does, start to end (see bench/README.md):

1. creates a fresh PostgreSQL database (``--db``, default ``ccm_bench``) and runs
   ``ccm-gateway migrate`` on it;
2. for each ``--workers`` variant (default ``1,2``): starts ``ccm-gateway serve``,
   seeds sites and ``--customers`` customers through GraphQL (first variant
   only), mints an admin token with ``ccm-gateway token``, and drives the
   scenarios below with ``bench/load.py`` in a separate process; then starts
   ``bench/bare_app.py`` under uvicorn (uvloop + httptools) with as many
   workers on the same database and drives the same load shapes;
3. prints a side-by-side table (throughput, p50/p99, errors, the CPU each of
   server / PostgreSQL / load generator used, and the ratio service/bare),
   checks the targets, runs ``ccm-gateway verify`` (balances and audit chains
   still consistent after both apps wrote to the same tables), and always stops
   the servers and drops the database at the end, also on error or Ctrl-C.

Scenarios:

* ``check``: ``creditCheck`` over all customers, closed loop at ``--concurrency``;
* ``check-open``: ``creditCheck``, open loop at a fixed ``--check-rate`` (500/s);
* ``auth``: ``authorizeCredit`` over all customers, closed loop;
* ``auth-hot``: ``authorizeCredit`` on one hot customer, closed loop;
* ``auth-open``: ``authorizeCredit`` over all customers, open loop at
  ``--auth-rate`` (off unless listed in ``--scenarios``).

Everything is on loopback addresses; every loop is bounded in count and time.

    /work/venv/bin/python bench/run.py                     # defaults, ~5 minutes
    /work/venv/bin/python bench/run.py --workers 1 --duration 5 --customers 200
    /work/venv/bin/python bench/run.py --profile /tmp/ccm-profiles   # + py-spy pass
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

Q_CHECK = ("query Check($c: ID!, $a: MoneyInput!) { creditCheck(customerId: $c, amount: $a) "
           "{ approved reason message available { amount currency } } }")
Q_AUTH = ("mutation Auth($i: AuthorizeCreditInput!) { authorizeCredit(input: $i) { __typename "
          "... on Hold { id status amount { amount currency } } "
          "... on CreditDeclined { reason message } } }")
M_SITE = "mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }"
M_CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"

CURRENCY = "USD"
CHECK_AMOUNT = "10.00"
AUTH_AMOUNT = "1.00"
# 10 billion: no authorisation in a run gets anywhere near it, so none is declined.
CREDIT_LIMIT = "10000000000.00"

SCENARIOS = {
    "check": "creditCheck, many customers, closed loop",
    "check-open": "creditCheck, many customers, open loop",
    "auth": "authorizeCredit, many customers, closed loop",
    "auth-hot": "authorizeCredit, one hot customer, closed loop",
    "auth-open": "authorizeCredit, many customers, open loop",
}
DEFAULT_SCENARIOS = "check,check-open,auth,auth-hot"


class BenchError(Exception):
    pass


# --- processes ----------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """utime + stime of one process, in seconds; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def _all_procs() -> list[tuple[int, int, str]]:
    """(pid, ppid, comm) of every process."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                data = f.read()
        except OSError:
            continue
        comm = data[data.index("(") + 1:data.rindex(")")]
        ppid = int(data.rsplit(")", 1)[1].split()[1])
        out.append((int(entry), ppid, comm))
    return out


def _tree(root: int, procs: list[tuple[int, int, str]]) -> set[int]:
    pids, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid, _ in procs:
            if ppid == parent and pid not in pids:
                pids.add(pid)
                frontier.append(pid)
    return pids


def _machine_busy() -> float:
    """CPU seconds all CPUs spent busy (not idle or iowait) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(ticks[:7]) - ticks[3] - ticks[4]) / CLK_TCK  # user..softirq minus idle, iowait


def cpu_snapshot(server_pid: int | None, loadgen_pid: int | None,
                 others: dict[str, int] | None = None) -> dict[str, dict[int, float]]:
    """CPU seconds used so far, per pid, by the server's process tree, PostgreSQL, the generator
    (and the process tree of each of ``others``: {group: root pid}); "machine": all CPUs busy,
    so that load from processes outside the benchmark shows up."""
    procs = _all_procs()
    snap: dict[str, dict[int, float]] = {"server": {}, "postgres": {}, "loadgen": {},
                                         "machine": {0: _machine_busy()}}
    if server_pid:
        snap["server"] = {p: _proc_cpu(p) for p in _tree(server_pid, procs)}
    for group, root in (others or {}).items():
        snap[group] = {p: _proc_cpu(p) for p in _tree(root, procs)}
    snap["postgres"] = {p: _proc_cpu(p) for p, _, comm in procs if comm.startswith("postgres")}
    if loadgen_pid:
        snap["loadgen"] = {loadgen_pid: _proc_cpu(loadgen_pid)}
    return snap


def cpu_delta(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]],
              wall: float) -> dict[str, float]:
    """Average cores per group over the window. A process that ended in between is left out
    (its CPU cannot be read any more); one that started counts from zero."""
    return {group: sum(max(0.0, cpu - before[group].get(pid, 0.0))
                       for pid, cpu in after[group].items()) / wall
            for group in before}


def connection_split(server_pid: int, port: int) -> list[int]:
    """Established connections to ``port`` held by each process of the server's tree."""
    inodes: set[str] = set()
    hex_port = f":{port:04X}"
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[1].endswith(hex_port) and cols[3] == "01":  # local port, ESTABLISHED
                    inodes.add(cols[9])
    counts = []
    for pid in sorted(_tree(server_pid, _all_procs())):
        n = 0
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        n += 1
        if n:
            counts.append(n)
    return sorted(counts, reverse=True)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    log_path: Path
    ready_path: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_server(name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str,
                 workdir: Path, timeout: float = 60.0) -> Server:
    log_path = workdir / f"{name}.log"
    log = open(log_path, "ab")
    # Its own session, so stopping it stops uvicorn's worker processes too.
    proc = subprocess.Popen(argv, env=env, cwd=REPO_DIR, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    server = Server(name, proc, port, log_path, ready_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited with {proc.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{ready_path}", timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    stop_server(server)
    raise BenchError(f"{name} not ready on port {port} within {timeout:.0f} s:\n"
                     f"{server.log_tail()}")


def stop_server(server: Server, timeout: float = 15.0) -> None:
    if server.proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.proc.pid, signal.SIGTERM)
    try:
        server.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(5)


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        # Like uvicorn: connections of a previous run in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300.0,
            ok_codes: tuple[int, ...] = (0,)) -> str:
    cli = shutil.which("ccm-gateway", path=str(Path(sys.executable).parent)) or "ccm-gateway"
    done = subprocess.run([cli, *args], env=env, cwd=REPO_DIR, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)
    if done.returncode not in ok_codes:
        raise BenchError(f"ccm-gateway {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stdout}\n{done.stderr}")
    return done.stdout


# --- database -----------------------------------------------------------------


async def _admin(args: argparse.Namespace, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=args.pg_host, port=args.pg_port, user=args.pg_user,
                                 database=args.admin_db, timeout=10)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def create_database(args: argparse.Namespace) -> None:
    asyncio.run(_admin(args, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)',
                       f'CREATE DATABASE "{args.db}"'))


def drop_database(args: argparse.Namespace) -> None:
    asyncio.run(_admin(args, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)'))


async def _table_counts(dsn: str) -> dict[str, int]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"')
                for t in ("customer", "hold", "audit_event")}
    finally:
        await conn.close()


# --- seeding ------------------------------------------------------------------


async def graphql(client: Any, url: str, query: str, variables: dict[str, Any],
                  what: str = "seeding") -> dict[str, Any]:
    """POST one GraphQL operation with an httpx client; its data, or BenchError."""
    r = await client.post(url, json={"query": query, "variables": variables})
    body = r.json()
    if r.status_code != 200 or body.get("errors"):
        raise BenchError(f"{what} failed: {r.status_code} {body}")
    return body["data"]


async def _seed(url: str, token: str, customers: int, sites: int) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    sem = asyncio.Semaphore(8)

    async with httpx.AsyncClient(headers=headers, timeout=30) as client:
        async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
            async with sem:
                return await graphql(client, url, query, variables)

        site_ids = [(await gql(M_SITE, {"i": {"code": f"BENCH-{n:02d}",
                                               "name": f"Bench site {n}"}}))["createSite"]["id"]
                    for n in range(sites)]

        def customer(n: int, segment: str) -> dict[str, Any]:
            return {"i": {"name": f"Bench customer {n:05d}", "segment": segment,
                          "currency": CURRENCY,
                          "creditLimit": {"amount": CREDIT_LIMIT, "currency": CURRENCY}}}

        created = await asyncio.gather(*(gql(M_CUSTOMER, customer(n, "bench"))
                                         for n in range(customers)))
        hot = await gql(M_CUSTOMER, customer(customers, "bench-hot"))
    return {"sites": site_ids, "customers": [c["createCustomer"]["id"] for c in created],
            "hot": hot["createCustomer"]["id"]}


def seed(url: str, token: str, customers: int, sites: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    data = asyncio.run(_seed(url, token, customers, sites))
    data["seconds"] = time.perf_counter() - t0
    return data


# --- load ---------------------------------------------------------------------


@dataclass
class Row:
    workers: int
    scenario: str
    app: str
    shape: str
    result: dict[str, Any]
    cpu: dict[str, float] = field(default_factory=dict)  # cores used on average
    ratio: float | None = None


def write_bodies(path: Path, app: str, scenario: str, customers: list[str], hot: str) -> str:
    """Write the request bodies; return the byte string every OK answer contains."""
    rng = random.Random(42)
    ids = [hot] if scenario == "auth-hot" else rng.sample(customers, len(customers))
    is_check = scenario.startswith("check")
    amount = CHECK_AMOUNT if is_check else AUTH_AMOUNT
    lines = []
    for cid in ids:
        if app == "bare":
            body: dict[str, Any] = {"customerId": cid, "amount": amount, "currency": CURRENCY}
        elif is_check:
            body = {"query": Q_CHECK, "variables": {
                "c": cid, "a": {"amount": amount, "currency": CURRENCY}}}
        else:
            body = {"query": Q_AUTH, "variables": {"i": {
                "customerId": cid, "amount": {"amount": amount, "currency": CURRENCY}}}}
        lines.append(json.dumps(body, separators=(",", ":")))
    path.write_text("\n".join(lines) + "\n")
    return '"approved":true' if is_check else '"__typename":"Hold"'


def drive(args: argparse.Namespace, server: Server, app: str, scenario: str, token: str | None,
          seeded: dict[str, Any], workdir: Path, *, duration: float | None = None,
          profile_to: Path | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """Run one scenario against one server in a load.py subprocess; return result, CPU."""
    bodies = workdir / f"bodies-{app}-{scenario}.jsonl"
    expect = write_bodies(bodies, app, scenario, seeded["customers"], seeded["hot"])
    if app == "service":
        url = f"http://127.0.0.1:{server.port}/graphql"
    else:
        url = f"http://127.0.0.1:{server.port}/" + (
            "credit-check" if scenario.startswith("check") else "authorize")
    duration = duration or args.duration
    argv = ["--url", url, "--bodies", str(bodies),
            "--expect", expect, "--duration", str(duration), "--requests", str(args.requests),
            "--warmup", str(args.warmup), "--ramp", str(args.ramp), "--client", args.client]
    if token and app == "service":
        argv += ["--header", f"Authorization: Bearer {token}"]
    if scenario.endswith("-open"):
        rate = args.check_rate if scenario.startswith("check") else args.auth_rate
        argv += ["--mode", "open", "--rate", str(rate)]
    else:
        argv += ["--mode", "closed", "--concurrency", str(args.concurrency)]
    return run_load(server, argv, f"{app}/{scenario}", warmup=args.warmup, duration=duration,
                    profile_to=profile_to)


def run_load(server: Server, load_argv: list[str], label: str, *, warmup: float,
             duration: float, profile_to: Path | None = None,
             others: dict[str, int] | None = None) -> tuple[dict[str, Any], dict[str, float]]:
    """Run ``load.py`` with ``load_argv`` (its options, without --json/--markers) against
    ``server``; sample CPU over the measured window; return its result and the cores used.
    ``others``: more process trees to account, {group name: root pid}.
    ``result["measure_started_at"]`` is the wall-clock (time.time) start of the window."""
    argv = [sys.executable, str(BENCH_DIR / "load.py"), *load_argv, "--json", "--markers"]
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + warmup + duration + 60
    started_at = None
    before: dict[str, dict[int, float]] = {}
    after: dict[str, dict[int, float]] = {}
    split: list[int] = []
    t_start = t_end = 0.0
    result: dict[str, Any] | None = None
    spy: subprocess.Popen | None = None
    try:
        assert gen.stdout is not None
        for line in gen.stdout:  # bounded: load.py ends by itself; the deadline kills it
            if time.monotonic() > deadline:
                break
            line = line.strip()
            if not line.startswith("{"):
                continue
            msg = json.loads(line)
            if msg.get("event") == "measure_start":
                started_at = time.time()
                before, t_start = cpu_snapshot(server.pid, gen.pid, others), time.monotonic()
                split = connection_split(server.pid, server.port)
                if profile_to is not None:
                    spy = start_py_spy(server.pid, duration, profile_to)
            elif msg.get("event") == "measure_end":
                after, t_end = cpu_snapshot(server.pid, gen.pid, others), time.monotonic()
            elif "mode" in msg:
                result = msg
        gen.wait(max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        if gen.poll() is None:
            gen.kill()
            gen.wait(5)
        if spy is not None:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(5)
    if result is None:
        err = gen.stderr.read() if gen.stderr else ""
        raise BenchError(f"load generator gave no result for {label}:\n{err[-2000:]}")
    wall = max(t_end - t_start, 1e-9)
    cpu = cpu_delta(before, after, wall) if before and after else {}
    result["connections_per_process"] = split
    result["measure_started_at"] = started_at
    return result, cpu


def start_py_spy(pid: int, duration: float, out: Path) -> subprocess.Popen:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("--profile needs py-spy: pip install py-spy")
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(max(1, int(duration) - 1)),
         "--rate", "200", "--format", "raw", "--subprocesses", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


# --- reporting ----------------------------------------------------------------


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def shape_label(args: argparse.Namespace, scenario: str) -> str:
    if scenario == "check-open":
        return f"open {args.check_rate:g}/s"
    if scenario == "auth-open":
        return f"open {args.auth_rate:g}/s"
    return f"closed c={args.concurrency}"


def other_cores(cpu: dict[str, float]) -> float:
    """Cores busy outside the benchmark's processes (other load on the machine)."""
    return max(0.0, cpu.get("machine", 0.0) - sum(v for k, v in cpu.items() if k != "machine"))


def table(rows: list[Row], show_other: bool = False) -> str:
    """``show_other``: a fourth CPU figure, cores busy in processes outside the benchmark."""
    sw = max([10, *(len(r.scenario) for r in rows)])
    lw = max([14, *(len(r.shape) for r in rows)])
    cw = 25 if show_other else 20
    head = (f"{'workers':>7}  {'scenario':<{sw}} {'load':<{lw}} {'app':<7} {'requests':>8} "
            f"{'dur s':>6} {'thrpt/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
            f"{'conns':>6}  "
            f"{'CPU cores srv/pg/gen' + ('/other' if show_other else ''):<{cw}} "
            f"{'srv CPU ms/req':>14} {'ratio':>6}")
    lines = [head, "-" * len(head)]
    for r in rows:
        res = r.result
        cpu = "/".join(f"{r.cpu.get(k, 0):.2f}" for k in ("server", "postgres", "loadgen")) \
            if r.cpu else "-"
        if r.cpu and show_other:
            cpu += f"/{other_cores(r.cpu):.2f}"
        per_req = (r.cpu["server"] / res["throughput"] * 1000
                   if r.cpu and res["throughput"] else None)
        lines.append(
            f"{r.workers:>7}  {r.scenario:<{sw}} {r.shape:<{lw}} {r.app:<7} {res['requests']:>8} "
            f"{res['duration_s']:>6.1f} {res['throughput']:>8.1f} {_fmt(res['p50_ms'], '.2f'):>8} "
            f"{_fmt(res['p99_ms'], '.2f'):>8} {res['errors']:>6} "
            f"{'/'.join(map(str, res.get('connections_per_process') or [])) or '-':>6}  "
            f"{cpu:<{cw}} {_fmt(per_req, '.2f'):>14} {_fmt(r.ratio, '.2f'):>6}")
    return "\n".join(lines)


def targets(rows: list[Row], args: argparse.Namespace) -> list[str]:
    out = []

    def find(workers: int, scenario: str, app: str) -> Row | None:
        return next((r for r in rows if (r.workers, r.scenario, r.app) ==
                     (workers, scenario, app)), None)

    for workers in sorted({r.workers for r in rows}):
        tag = f"[{workers} worker{'s' if workers > 1 else ''}]"
        r = find(workers, "check-open", "service")
        if r:
            res = r.result
            ok = (res["p99_ms"] is not None and res["p99_ms"] < 10 and res["errors"] == 0
                  and res["throughput"] >= 0.98 * args.check_rate)
            out.append(f"{tag} creditCheck p99 < 10 ms at {args.check_rate:g}/s: "
                       f"{'MET' if ok else 'MISSED'} (p99 {_fmt(res['p99_ms'], '.1f')} ms, "
                       f"achieved {res['throughput']:.0f}/s, {res['errors']} errors)")
        r = find(workers, "auth", "service")
        if r:
            res = r.result
            ok = res["throughput"] >= 1000 and (res["p99_ms"] or 1e9) < 50 and not res["errors"]
            out.append(f"{tag} authorizeCredit >= 1000/s with p99 < 50 ms (many customers, "
                       f"c={args.concurrency}): {'MET' if ok else 'MISSED'} "
                       f"({res['throughput']:.0f}/s = {res['throughput'] / 10:.0f} % of target, "
                       f"p99 {_fmt(res['p99_ms'], '.1f')} ms)")
        for r in rows:
            if r.workers == workers and r.app == "service" and r.ratio is not None:
                out.append(f"{tag} ratio service/bare >= 0.7 for {r.scenario}: "
                           f"{'MET' if r.ratio >= 0.7 else 'MISSED'} ({r.ratio:.2f})")
    return out


# --- main ---------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Benchmark the running CCM Gateway against a bare Starlette + asyncpg "
                    "endpoint on the same PostgreSQL tables.",
        epilog="Scenarios: " + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()))
    p.add_argument("--workers", default="1,2",
                   help="comma-separated server process counts to try (default 1,2)")
    p.add_argument("--scenarios", default=DEFAULT_SCENARIOS,
                   help=f"comma-separated, from {', '.join(SCENARIOS)} "
                        f"(default {DEFAULT_SCENARIOS})")
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--sites", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=32, help="closed-loop connections")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    p.add_argument("--requests", type=int, default=200_000,
                   help="cap on measured requests per scenario")
    p.add_argument("--check-rate", type=float, default=500.0, help="creditCheck open-loop rate")
    p.add_argument("--auth-rate", type=float, default=1000.0, help="authorize open-loop rate")
    p.add_argument("--client", choices=["raw", "aiohttp", "httpx"], default="raw",
                   help="load generator HTTP client (raw costs least CPU)")
    p.add_argument("--pool-size", type=int, default=None,
                   help="DB pool per server process, for both apps (default: the service's "
                        "CCM_DB_POOL_SIZE default, 10)")
    p.add_argument("--service-cmd", metavar="TEMPLATE",
                   help="start the service with this command instead of `ccm-gateway serve` "
                        "(for A/B runs); {python}, {port} and {workers} are substituted; it "
                        "must answer GET /readyz")
    p.add_argument("--ramp", type=float, default=1.0,
                   help="closed loop: seconds over which the load generator opens its "
                        "connections, so several server processes get an even share")
    p.add_argument("--skip-bare", action="store_true", help="service only")
    p.add_argument("--skip-service", action="store_true", help="bare app only")
    p.add_argument("--profile", metavar="DIR",
                   help="after the measured runs, re-run each scenario on the 1-worker service "
                        "(and bare app) under py-spy and write collapsed stacks + summaries here")
    p.add_argument("--port", type=int, default=8710, help="service port")
    p.add_argument("--bare-port", type=int, default=8711)
    p.add_argument("--db", default="ccm_bench", help="database to create and drop")
    p.add_argument("--admin-db", default="postgres", help="database to connect to for that")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--no-verify", action="store_true", help="skip `ccm-gateway verify` at the end")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    p.add_argument("--json-out", help="also write every result as JSON to this file")
    args = p.parse_args(argv)
    args.worker_list = [int(w) for w in args.workers.split(",") if w.strip()]
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenario_list) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not args.worker_list or min(args.worker_list) < 1 or max(args.worker_list) > 16:
        p.error("--workers: 1 to 16 each")
    if not 0 < args.duration <= 600 or not 0 <= args.warmup <= 60:
        p.error("--duration in (0, 600], --warmup in [0, 60]")
    if not 1 <= args.customers <= 100_000 or not 1 <= args.concurrency <= 1024:
        p.error("--customers in [1, 100000], --concurrency in [1, 1024]")
    redis_host = urlsplit(args.redis_url).hostname
    if args.pg_host not in LOOPBACK or redis_host not in LOOPBACK:
        p.error("PostgreSQL and Redis must be on loopback addresses")
    if not args.db.replace("_", "").isalnum():
        p.error("--db: letters, digits and _ only")
    return args


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs, {model}"


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run like Ctrl-C, so the cleanup in ``finally`` runs."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.dont_write_bytecode = True  # leave no __pycache__ in bench/
    for port in (args.port, args.bare_port):
        if not port_free(port):
            print(f"port {port} is in use; pick another with --port/--bare-port", file=sys.stderr)
            return 2
    workdir = Path(tempfile.mkdtemp(prefix="ccm-bench-"))
    dsn = f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.db}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCM_", "BARE_"))}
    env.update(CCM_DATABASE_URL=dsn, CCM_REDIS_URL=args.redis_url, CCM_ENV="dev",
               # One bench principal sends everything: a limit it never reaches keeps
               # the limiter's cost (one EVALSHA per request) in the measurement.
               CCM_RATE_LIMIT_PER_SECOND="1000000", CCM_RATE_LIMIT_BURST="1000000",
               BARE_DATABASE_URL=dsn, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    if args.pool_size:
        env.update(CCM_DB_POOL_SIZE=str(args.pool_size), BARE_POOL_SIZE=str(args.pool_size))
    started = dt.datetime.now(dt.UTC)
    print(f"CCM Gateway benchmark, {started:%Y-%m-%d %H:%M} UTC; {machine()}")
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(f"work dir (server logs, request bodies): {workdir}", flush=True)

    rows: list[Row] = []
    servers: list[Server] = []
    db_created = False
    exit_code = 0
    seeded: dict[str, Any] | None = None
    token = ""

    def start(app: str, workers: int) -> Server:
        if app == "service":
            cli = shutil.which("ccm-gateway", path=str(Path(sys.executable).parent))
            argv = [cli or "ccm-gateway", "serve", "--port", str(args.port),
                    "--workers", str(workers)]
            if args.service_cmd:
                argv = shlex.split(args.service_cmd.format(
                    python=sys.executable, port=args.port, workers=workers))
            server = start_server(f"service-w{workers}", argv, env, args.port, "/readyz", workdir)
        else:
            argv = [sys.executable, "-m", "uvicorn", "bare_app:create_app", "--factory",
                    "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1",
                    "--port", str(args.bare_port), "--workers", str(workers),
                    "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                    "--log-level", "warning"]
            server = start_server(f"bare-w{workers}", argv, env, args.bare_port, "/healthz",
                                  workdir)
        servers.append(server)
        return server

    def stop(server: Server) -> None:
        stop_server(server)
        servers.remove(server)

    try:
        with signals_as_interrupt():
            print(f"creating database {args.db} and migrating ...", flush=True)
            create_database(args)
            db_created = True
            run_cli(["migrate"], env)
            token = run_cli(["token", "--subject", "bench", "--role", "admin",
                             "--ttl", "86400"], env).strip()
            apps = [a for a in ("service", "bare")
                    if not (a == "bare" and args.skip_bare)
                    and not (a == "service" and args.skip_service)]
            for workers in args.worker_list:
                for app in apps:
                    server = start(app, workers)
                    if seeded is None:
                        if app != "service":
                            # The bare app has no write API for customers: seed via a service.
                            stop(server)
                            helper = start("service", 1)
                            seeded = seed(f"http://127.0.0.1:{args.port}/graphql", token,
                                          args.customers, args.sites)
                            stop(helper)
                            server = start(app, workers)
                        else:
                            seeded = seed(f"http://127.0.0.1:{args.port}/graphql", token,
                                          args.customers, args.sites)
                        print(f"seeded {len(seeded['customers'])} customers + 1 hot, "
                              f"{len(seeded['sites'])} sites in {seeded['seconds']:.1f} s",
                              flush=True)
                    for scenario in args.scenario_list:
                        result, cpu = drive(args, server, app, scenario, token, seeded, workdir)
                        row = Row(workers, scenario, app, shape_label(args, scenario), result, cpu)
                        rows.append(row)
                        print(f"  {app:<7} w={workers} {scenario:<10} "
                              f"{result['throughput']:>8.1f}/s  p50 {_fmt(result['p50_ms'], '.2f')}"
                              f" ms  p99 {_fmt(result['p99_ms'], '.2f')} ms  errors "
                              f"{result['errors']}  gen {result['gen_cpu_us_per_req']} us/req",
                              flush=True)
                        if result["errors"]:
                            print(f"    errors: {result['error_kinds']} e.g. "
                                  f"{result['error_sample']}", flush=True)
                    stop(server)
            for r in rows:
                if r.app == "service" and not r.scenario.endswith("-open"):
                    bare = next((b for b in rows if b.app == "bare" and
                                 (b.workers, b.scenario) == (r.workers, r.scenario)), None)
                    if bare and bare.result["throughput"]:
                        r.ratio = r.result["throughput"] / bare.result["throughput"]

            if args.profile and seeded is not None:
                profile_dir = Path(args.profile)
                profile_dir.mkdir(parents=True, exist_ok=True)
                sys.path.insert(0, str(BENCH_DIR))
                from profile_summary import load, summarise

                for app in apps:
                    server = start(app, 1)
                    for scenario in args.scenario_list:
                        out = profile_dir / f"{app}-{scenario}.txt"
                        result, _ = drive(args, server, app, scenario, token, seeded, workdir,
                                          duration=min(args.duration, 10), profile_to=out)
                        summary = summarise(load(str(out))) if out.exists() else "no profile"
                        (profile_dir / f"{app}-{scenario}.summary.txt").write_text(summary + "\n")
                        print(f"profile {app} {scenario} ({result['throughput']:.0f}/s under "
                              f"py-spy): {out}")
                    stop(server)

        print()
        print(f"results ({machine()}; PostgreSQL at {args.pg_host}:{args.pg_port}, "
              f"db {args.db}; client {args.client}; warm-up {args.warmup:g} s; "
              f"latency from scheduled send time in open loop)")
        print(table(rows))
        print("CPU cores: average cores busy during the measured window for the server's "
              "processes / all PostgreSQL processes / the load generator.")
        print("conns: established connections per server process when measuring began.")
        print("srv CPU ms/req: server CPU time per answered request (cores / throughput).")
        print("ratio: service throughput / bare throughput, same workers and load shape.")
        print("Open loop: duration includes draining what was still in flight; throughput is "
              "what was achieved.")
        print()
        for line in targets(rows, args):
            print(line)
        if not args.no_verify and db_created:
            report = json.loads(run_cli(["verify"], env, timeout=600, ok_codes=(0, 1)) or "{}")
            counts = asyncio.run(_table_counts(dsn))
            print(f"\nccm-gateway verify: ok={report.get('ok')} ({counts['hold']} holds, "
                  f"{counts['audit_event']} audit events, {counts['customer']} customers)")
            if not report.get("ok"):
                print(json.dumps(report, indent=2)[:4000])
                exit_code = 1
        if args.json_out:
            Path(args.json_out).write_text(json.dumps({
                "started": started.isoformat(), "machine": machine(), "argv": sys.argv,
                "rows": [r.__dict__ for r in rows]}, indent=2))
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        exit_code = 1
    except KeyboardInterrupt as exc:
        print(f"\ninterrupted ({exc}); cleaning up", file=sys.stderr)
        exit_code = 130
    finally:
        for server in list(servers):
            stop_server(server)
        if db_created and not args.keep_db:
            try:
                drop_database(args)
                print(f"dropped database {args.db}")
            except Exception as exc:  # noqa: BLE001 - report, never mask the run's outcome
                print(f"could not drop database {args.db}: {exc}", file=sys.stderr)
        if exit_code == 0:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
