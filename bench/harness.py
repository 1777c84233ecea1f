"""What both benchmark drivers stand on: ``run.py`` (GraphQL) and ``webhooks.py`` (webhooks).

A driver adds its own options to the ones they share (``add_load_options``,
``add_common_options``, ``check_common_options``), then runs its scenarios inside one
``Session``. The session owns what a run must undo: it makes the work dir and the servers'
environment, creates and migrates the database and mints the admin token, starts and stops
the servers, and on the way out, whatever happened (an error, Ctrl-C, SIGTERM), stops every
process it started, drops the database and removes the work dir (kept after a failure).
The rest is what a scenario needs to measure and report: ``run_load`` (``load.py`` in a
subprocess, with the CPU of each process group sampled over the measured window), py-spy,
seeding through GraphQL, and the result table.

Everything is on loopback addresses; every wait is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CLK_TCK = os.sysconf("SC_CLK_TCK")

M_SITE = "mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }"
M_CUSTOMER = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"
CURRENCY = "USD"
# 10 billion: no authorisation in a run gets anywhere near it, so none is declined.
CREDIT_LIMIT = "10000000000.00"


class BenchError(Exception):
    pass


# --- CPU sampling -------------------------------------------------------------


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


def other_cores(cpu: dict[str, float]) -> float:
    """Cores busy outside the benchmark's processes (other load on the machine)."""
    return max(0.0, cpu.get("machine", 0.0) - sum(v for k, v in cpu.items() if k != "machine"))


def connection_split(server_pid: int, port: int) -> list[int]:
    """Established connections to ``port`` held by each process of the server's tree."""
    inodes: set[str] = set()
    hex_port = f":{port:04X}"
    for table_path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table_path).read_text().splitlines()[1:]:
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


def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs, {model}"


# --- processes ----------------------------------------------------------------


@dataclass
class Server:
    """A process the benchmark started in a session of its own (a server or the worker)."""

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


def ccm_gateway_cli() -> str:
    """The ``ccm-gateway`` of this interpreter's venv, else the one on PATH."""
    return shutil.which("ccm-gateway", path=str(Path(sys.executable).parent)) or "ccm-gateway"


def spawn(name: str, argv: list[str], env: dict[str, str], workdir: Path, port: int = 0,
          ready_path: str = "") -> Server:
    """Start ``argv`` with its output in ``workdir/NAME.log``."""
    log_path = workdir / f"{name}.log"
    with open(log_path, "ab") as log:
        # Its own session, so stopping it stops uvicorn's worker processes too.
        proc = subprocess.Popen(argv, env=env, cwd=REPO_DIR, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(name, proc, port, log_path, ready_path)


def wait_ready(server: Server, ready: Callable[[], bool], timeout: float,
               poll: float) -> None:
    """Until ``ready()``; BenchError, with the log's tail, if it exits or times out first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.proc.returncode}:\n"
                             f"{server.log_tail()}")
        if ready():
            return
        time.sleep(poll)
    stop_server(server)
    where = f" on port {server.port}" if server.port else ""
    raise BenchError(f"{server.name} not ready{where} within {timeout:.0f} s:\n"
                     f"{server.log_tail()}")


def answers(port: int, path: str) -> Callable[[], bool]:
    """A readiness check: GET ``path`` on loopback ``port`` answers 200."""
    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    return ready


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
    done = subprocess.run([ccm_gateway_cli(), *args], env=env, cwd=REPO_DIR,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    if done.returncode not in ok_codes:
        raise BenchError(f"ccm-gateway {' '.join(args)} failed ({done.returncode}):\n"
                         f"{done.stdout}\n{done.stderr}")
    return done.stdout


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP end the run like Ctrl-C, so that the cleanup runs."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


# --- py-spy -------------------------------------------------------------------


def py_spy() -> str:
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("--profile needs py-spy: pip install py-spy")
    return spy


def start_py_spy(pid: int, duration: float, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [py_spy(), "record", "--pid", str(pid), "--duration", str(max(1, int(duration) - 1)),
         "--rate", "200", "--format", "raw", "--subprocesses", "-o", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def wait_py_spy(spy: subprocess.Popen | None) -> None:
    """Let py-spy write its stacks (it stops by itself after its duration)."""
    if spy is None:
        return
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(5)


def summarise_profile(stacks: Path, *options: Any) -> str:
    """Summarise py-spy's ``stacks`` (``profile_summary.summarise(samples, *options)``) into
    NAME.summary.txt beside them; return the summary."""
    import profile_summary

    summary = (profile_summary.summarise(profile_summary.load(str(stacks)), *options)
               if stacks.exists() else "no profile")
    stacks.with_suffix(".summary.txt").write_text(summary + "\n")
    return summary


# --- load ---------------------------------------------------------------------


def load_options(args: argparse.Namespace, url: str, bodies: Path, expect: str,
                 rate: float | None, *, duration: float | None = None,
                 requests: int | None = None, extra: Sequence[str] = ()) -> list[str]:
    """``load.py``'s options for one run: open loop at ``rate``, or (None) closed loop at
    --concurrency; ``duration`` and ``requests`` default to the driver's options."""
    argv = ["--url", url, "--bodies", str(bodies), "--expect", expect, *extra,
            "--duration", str(duration or args.duration),
            "--requests", str(requests or args.requests), "--warmup", str(args.warmup),
            "--ramp", str(args.ramp), "--client", args.client]
    if rate is not None:
        return [*argv, "--mode", "open", "--rate", str(rate)]
    return [*argv, "--mode", "closed", "--concurrency", str(args.concurrency)]


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
        if gen.stdout is None:
            raise BenchError("the load generator has no stdout pipe")
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
        wait_py_spy(spy)
    if result is None:
        err = gen.stderr.read() if gen.stderr else ""
        raise BenchError(f"load generator gave no result for {label}:\n{err[-2000:]}")
    wall = max(t_end - t_start, 1e-9)
    cpu = cpu_delta(before, after, wall) if before and after else {}
    result["connections_per_process"] = split
    result["measure_started_at"] = started_at
    return result, cpu


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


async def _query(dsn: str, sql: str, *params: Any) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return await conn.fetch(sql, *params)
    finally:
        await conn.close()


def query(dsn: str, sql: str, *params: Any) -> list[Any]:
    return asyncio.run(_query(dsn, sql, *params))


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
    """``sites`` sites and ``customers`` customers, plus one "hot" one, with a limit no run
    reaches; their ids and the seconds it took."""
    t0 = time.perf_counter()
    data = asyncio.run(_seed(url, token, customers, sites))
    data["seconds"] = time.perf_counter() - t0
    return data


# --- reporting ----------------------------------------------------------------


@dataclass
class Row:
    workers: int
    scenario: str
    app: str
    shape: str
    result: dict[str, Any]
    cpu: dict[str, float] = field(default_factory=dict)  # cores used on average
    ratio: float | None = None


def fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec)


def shape(args: argparse.Namespace, rate: float | None) -> str:
    """The load shape's label: open loop at ``rate``, or closed loop."""
    return f"open {rate:g}/s" if rate is not None else f"closed c={args.concurrency}"


def report_run(line: str, result: dict[str, Any]) -> None:
    """Print one run's progress ``line``, and what went wrong if any request failed."""
    print(line, flush=True)
    if result["errors"]:
        print(f"    errors: {result['error_kinds']} e.g. {result['error_sample']}", flush=True)


def set_ratios(rows: list[Row], compared: Callable[[Row], bool]) -> None:
    """Give each service row that ``compared`` picks its throughput over the bare app's, at
    the same workers and scenario."""
    for r in rows:
        if r.app == "service" and compared(r):
            bare = next((b for b in rows if b.app == "bare" and
                         (b.workers, b.scenario) == (r.workers, r.scenario)), None)
            if bare and bare.result["throughput"]:
                r.ratio = r.result["throughput"] / bare.result["throughput"]


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
            f"{res['duration_s']:>6.1f} {res['throughput']:>8.1f} {fmt(res['p50_ms'], '.2f'):>8} "
            f"{fmt(res['p99_ms'], '.2f'):>8} {res['errors']:>6} "
            f"{'/'.join(map(str, res.get('connections_per_process') or [])) or '-':>6}  "
            f"{cpu:<{cw}} {fmt(per_req, '.2f'):>14} {fmt(r.ratio, '.2f'):>6}")
    return "\n".join(lines)


# --- options ------------------------------------------------------------------


def add_load_options(p: argparse.ArgumentParser) -> None:
    """The load shape and the servers' pool, as both drivers take them."""
    p.add_argument("--concurrency", type=int, default=32, help="closed-loop connections")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each")
    p.add_argument("--ramp", type=float, default=1.0,
                   help="closed loop: seconds over which the load generator opens its "
                        "connections, so several server processes get an even share")
    p.add_argument("--client", choices=["raw", "aiohttp", "httpx"], default="raw",
                   help="load generator HTTP client (raw costs least CPU)")
    p.add_argument("--pool-size", type=int, default=None,
                   help="DB pool per server process, for both apps (default: the service's "
                        "CCM_DB_POOL_SIZE default, 10)")
    p.add_argument("--skip-bare", action="store_true", help="service only")


def add_common_options(p: argparse.ArgumentParser, *, port: int, db: str, redis_url: str,
                       redis_help: str | None = None) -> None:
    """Where the servers listen, PostgreSQL and Redis, and what is kept at the end."""
    p.add_argument("--port", type=int, default=port, help="service port")
    p.add_argument("--bare-port", type=int, default=port + 1)
    p.add_argument("--db", default=db, help="database to create and drop")
    p.add_argument("--admin-db", default="postgres", help="database to connect to for that")
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--pg-user", default="postgres")
    p.add_argument("--redis-url", default=redis_url, help=redis_help)
    p.add_argument("--no-verify", action="store_true", help="skip `ccm-gateway verify` at the end")
    p.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    p.add_argument("--json-out", help="also write every result as JSON to this file")


def check_common_options(p: argparse.ArgumentParser, args: argparse.Namespace,
                         scenarios: dict[str, str]) -> None:
    """Parse --workers and --scenarios into ``worker_list`` and ``scenario_list``; refuse what
    neither driver runs (unknown scenarios, worker counts, servers off loopback, odd names),
    and exit 2 if --port or --bare-port is taken. After the driver's own checks."""
    args.worker_list = [int(w) for w in args.workers.split(",") if w.strip()]
    args.scenario_list = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenario_list) - set(scenarios)
    if unknown:
        p.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not args.worker_list or min(args.worker_list) < 1 or max(args.worker_list) > 16:
        p.error("--workers: 1 to 16 each")
    if args.pg_host not in LOOPBACK or urlsplit(args.redis_url).hostname not in LOOPBACK:
        p.error("PostgreSQL and Redis must be on loopback addresses")
    if not args.db.replace("_", "").isalnum():
        p.error("--db: letters, digits and _ only")
    for port in (args.port, args.bare_port):
        if not port_free(port):
            p.exit(2, f"port {port} is in use; pick another with --port/--bare-port\n")


# --- the run ------------------------------------------------------------------


class Session:
    """One benchmark run, as a context manager: what it sets up and everything it must undo.

    Entering makes the work dir, prints the run's header and turns SIGTERM/SIGHUP into
    KeyboardInterrupt. Leaving, whatever happened, stops every process started through it,
    drops the database (unless --keep-db), runs the ``at_cleanup`` callbacks and removes the
    work dir, which is kept after a failure (or with ``keep_logs``). A BenchError or an
    interrupt is reported and ends up in ``exit_code`` (1, 130); a failed verify sets 1."""

    def __init__(self, args: argparse.Namespace, *, title: str, workdir_prefix: str,
                 workdir_label: str, env: dict[str, str] | None = None,
                 keep_logs: bool = False) -> None:
        self.args = args
        self.title = title
        self.workdir_prefix = workdir_prefix
        self.workdir_label = workdir_label
        self.keep_logs = keep_logs
        self.dsn = f"postgres://{args.pg_user}@{args.pg_host}:{args.pg_port}/{args.db}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CCM_", "BARE_"))}
        self.env.update(CCM_DATABASE_URL=self.dsn, CCM_REDIS_URL=args.redis_url, CCM_ENV="dev",
                        # One bench principal sends everything: a limit it never reaches keeps
                        # the limiter's cost (one EVALSHA per request) in the measurement.
                        CCM_RATE_LIMIT_PER_SECOND="1000000", CCM_RATE_LIMIT_BURST="1000000",
                        BARE_DATABASE_URL=self.dsn, PYTHONUNBUFFERED="1",
                        PYTHONDONTWRITEBYTECODE="1")
        self.env.update(env or {})
        if args.pool_size:
            self.env.update(CCM_DB_POOL_SIZE=str(args.pool_size),
                            BARE_POOL_SIZE=str(args.pool_size))
        self.servers: list[Server] = []
        self.db_created = False
        self.exit_code = 0
        self.token = ""
        self.started = dt.datetime.now(dt.UTC)
        self.workdir = Path()
        self._cleanups: list[Callable[[], Any]] = []
        self._signals = signals_as_interrupt()

    def __enter__(self) -> Self:
        self.workdir = Path(tempfile.mkdtemp(prefix=self.workdir_prefix))
        print(f"{self.title}, {self.started:%Y-%m-%d %H:%M} UTC; {machine()}")
        print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        print(f"work dir ({self.workdir_label}): {self.workdir}", flush=True)
        self._signals.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        self._signals.__exit__(None, None, None)
        handled = False
        if isinstance(exc, BenchError):
            print(f"\nbenchmark failed: {exc}", file=sys.stderr)
            self.exit_code, handled = 1, True
        elif isinstance(exc, KeyboardInterrupt):
            print(f"\ninterrupted ({exc}); cleaning up", file=sys.stderr)
            self.exit_code, handled = 130, True
        elif exc is not None:
            self.exit_code = 1  # it propagates; its logs are what explain it
        self._cleanup()
        return handled

    def _cleanup(self) -> None:
        for server in self.servers:
            stop_server(server)
        self.servers.clear()
        if self.db_created and not self.args.keep_db:
            try:
                drop_database(self.args)
                print(f"dropped database {self.args.db}")
            except Exception as exc:  # noqa: BLE001 - report, never mask the run's outcome
                print(f"could not drop database {self.args.db}: {exc}", file=sys.stderr)
        for cleanup in self._cleanups:
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - report, never mask the run's outcome
                print(f"cleanup failed: {exc}", file=sys.stderr)
        if self.exit_code == 0 and not self.keep_logs:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print(f"logs kept in {self.workdir}", file=sys.stderr)

    def at_cleanup(self, cleanup: Callable[[], Any]) -> None:
        """Also run ``cleanup`` on the way out, after the database is dropped."""
        self._cleanups.append(cleanup)

    # setup

    def prepare_database(self) -> str:
        """Create the database (dropping one left under its name), migrate it, and mint the
        admin token the drivers send; the token."""
        print(f"creating database {self.args.db} and migrating ...", flush=True)
        create_database(self.args)
        self.db_created = True
        run_cli(["migrate"], self.env)
        self.token = run_cli(["token", "--subject", "bench", "--role", "admin",
                              "--ttl", "86400"], self.env).strip()
        return self.token

    # processes

    def start(self, name: str, argv: list[str], ready: Callable[[], bool], *, port: int = 0,
              ready_path: str = "", timeout: float = 60.0, poll: float = 0.25) -> Server:
        """Start ``argv`` and wait until ``ready()``; it is stopped on the way out at the
        latest, also when it never gets ready."""
        server = spawn(name, argv, self.env, self.workdir, port, ready_path)
        self.servers.append(server)
        wait_ready(server, ready, timeout, poll)
        return server

    def start_http(self, name: str, argv: list[str], port: int, ready_path: str) -> Server:
        return self.start(name, argv, answers(port, ready_path), port=port,
                          ready_path=ready_path)

    def start_service(self, workers: int, cmd: str | None = None) -> Server:
        """``ccm-gateway serve`` on --port, or ``cmd`` ({python}, {port} and {workers}
        substituted); ready when /readyz answers."""
        port = self.args.port
        argv = [ccm_gateway_cli(), "serve", "--port", str(port), "--workers", str(workers)]
        if cmd:
            argv = shlex.split(cmd.format(python=sys.executable, port=port, workers=workers))
        return self.start_http(f"service-w{workers}", argv, port, "/readyz")

    def start_bare(self, module: str, workers: int) -> Server:
        """``module``'s reference app under uvicorn (uvloop + httptools) on --bare-port."""
        port = self.args.bare_port
        argv = [sys.executable, "-m", "uvicorn", f"{module}:create_app", "--factory",
                "--app-dir", str(BENCH_DIR), "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
                "--no-access-log", "--log-level", "warning"]
        return self.start_http(f"bare-w{workers}", argv, port, "/healthz")

    def stop(self, server: Server) -> None:
        stop_server(server)
        self.servers.remove(server)

    # the end

    def print_table(self, rows: list[Row], notes: Sequence[str], condition: str = "",
                    show_other: bool = False) -> None:
        """The result table, under a line that says where and how it was measured (and
        ``condition``), followed by ``notes`` that explain its columns."""
        a = self.args
        print(f"results ({machine()}; PostgreSQL at {a.pg_host}:{a.pg_port}, db {a.db}; "
              f"client {a.client}; warm-up {a.warmup:g} s; "
              f"{condition + '; ' if condition else ''}"
              f"latency from scheduled send time in open loop)")
        print(table(rows, show_other=show_other))
        for note in notes:
            print(note)

    def verify(self, counts_sql: str, counts: str) -> None:
        """Unless --no-verify: ``ccm-gateway verify``, printed with what the run left in the
        database (``counts``, formatted with the one row of ``counts_sql``); exit code 1 when
        it is not ok."""
        if self.args.no_verify or not self.db_created:
            return
        report = json.loads(run_cli(["verify"], self.env, timeout=600, ok_codes=(0, 1)) or "{}")
        row = dict(query(self.dsn, counts_sql)[0])
        print(f"\nccm-gateway verify: ok={report.get('ok')} ({counts.format(**row)})")
        if not report.get("ok"):
            print(json.dumps(report, indent=2)[:4000])
            self.exit_code = 1

    def write_json(self, rows: list[Row], **more: Any) -> None:
        """With --json-out: every result (and ``more``) as JSON."""
        if self.args.json_out:
            Path(self.args.json_out).write_text(json.dumps({
                "started": self.started.isoformat(), "machine": machine(), "argv": sys.argv,
                "rows": [r.__dict__ for r in rows], **more}, indent=2, default=str))
