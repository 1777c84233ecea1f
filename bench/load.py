"""A small HTTP load generator for the CCM Gateway benchmark.

Two load shapes, both bounded in count and in time:

* closed loop: ``--concurrency C`` workers, each sending its next request when
  the previous one has answered, until ``--requests N`` have been sent or
  ``--duration T`` seconds have passed, whichever comes first. Measures the
  throughput the server sustains at that concurrency.
* open loop: requests are *scheduled* at a fixed ``--rate R`` per second for
  ``--duration T`` seconds, whatever the server does. Latency is measured from
  each request's scheduled send time, not from when it was actually sent, so a
  slow server (or a busy generator) shows up in the latency instead of quietly
  lowering the rate (no coordinated omission). In-flight requests are capped
  (``--max-inflight``); a request that finds the cap reached is counted as an
  error (``dropped``) rather than queued without bound.

Each request body is a line of ``--bodies`` (a JSON-lines file), used in turn.
``--headers-file`` (optional, JSON lines of ``{"Name": "value"}``, one per body)
adds headers to the request with the same index, e.g. a pre-computed webhook
signature. A response counts as OK when its status is ``--expect-status`` (200)
and its body contains the ``--expect`` byte string (GraphQL answers errors with
a 200, so the status alone says little).

Clients (``--client``): ``raw`` (default) is a minimal HTTP/1.1 keep-alive
client on asyncio protocols with every request pre-serialised; it costs far
less CPU per request than ``aiohttp`` or ``httpx``, which matters on a 2-core
machine where the generator competes with the server and PostgreSQL for CPU.
``aiohttp`` and ``httpx`` are there to cross-check it. The generator reports
its own CPU time so the competition can be seen.

Output: one JSON object on stdout (``--json``) or a short text summary. With
``--markers`` it first prints ``{"event": "measure_start"}`` and
``{"event": "measure_end"}`` lines around the measured phase (after warm-up),
so a driver can sample other processes' CPU over exactly that window.

Usage::

    python bench/load.py --url http://127.0.0.1:8710/graphql --bodies bodies.jsonl \\
        --header "Authorization: Bearer $TOKEN" --expect '"approved":true' \\
        --mode closed --concurrency 32 --duration 10
    python bench/load.py ... --mode open --rate 500 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import resource
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

REQUEST_TIMEOUT = 10.0  # seconds, per request
DRAIN_TIMEOUT = 15.0  # seconds to wait for in-flight requests at the end of a run


# --- results ----------------------------------------------------------------


@dataclass
class Result:
    mode: str
    client: str
    requests: int = 0  # answered or failed, within the measured window
    ok: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_sample: str | None = None
    duration_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)  # of OK requests
    send_lag_ms: list[float] = field(default_factory=list)  # open loop: actual - scheduled
    cpu_s: float = 0.0  # this process, over the measured window
    target_rate: float | None = None
    concurrency: int | None = None

    def error(self, kind: str, sample: str | None = None) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if self.error_sample is None and sample:
            self.error_sample = sample[:500]

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        lag = sorted(self.send_lag_ms)
        return {
            "mode": self.mode,
            "client": self.client,
            "concurrency": self.concurrency,
            "target_rate": self.target_rate,
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "error_kinds": self.error_kinds,
            "error_sample": self.error_sample,
            "duration_s": round(self.duration_s, 3),
            "throughput": round(self.ok / self.duration_s, 1) if self.duration_s else 0.0,
            "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99),
            "max_ms": round(lat[-1], 3) if lat else None,
            "send_lag_p99_ms": percentile(lag, 99),
            "gen_cpu_s": round(self.cpu_s, 3),
            "gen_cpu_us_per_req": round(self.cpu_s / self.requests * 1e6, 1)
            if self.requests else None,
        }


def percentile(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 3)


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --- clients ----------------------------------------------------------------


class _RawConnection(asyncio.Protocol):
    """One HTTP/1.1 keep-alive connection; one request at a time; Content-Length bodies."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def _parse(self) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        try:
            status = int(head[9:12])
            i = head.find(b"\r\ncontent-length:")
            if i < 0:
                raise ValueError("no content-length (chunked responses are not supported)")
            j = head.find(b"\r\n", i + 2)
            length = int(head[i + 17:j if j > 0 else None])
        except ValueError as exc:
            waiter.set_exception(ConnectionError(f"bad response head: {exc}"))
            self.close()
            return
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        body = bytes(self.buffer[end + 4:total])
        del self.buffer[:total]
        waiter.set_result((status, body))
        if b"\r\nconnection: close" in head:
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def send(self, data: bytes) -> tuple[int, bytes]:
        loop = asyncio.get_running_loop()
        if self.transport is None:
            raise ConnectionError("not connected")
        self.waiter = loop.create_future()
        self.transport.write(data)
        return await self.waiter


class RawClient:
    """Pre-serialised requests over a pool of raw keep-alive connections."""

    name = "raw"

    def __init__(self, url: str, headers: dict[str, str], bodies: list[bytes],
                 max_connections: int,
                 per_request: list[dict[str, str]] | None = None) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                "Content-Type: application/json", "Accept: application/json"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        prefix = "\r\n".join(head)
        extra = [("".join(f"\r\n{k}: {v}" for k, v in h.items()) if per_request else "")
                 for h in (per_request or [{}] * len(bodies))]
        self.requests = [
            f"{prefix}{x}\r\nContent-Length: {len(b)}\r\n\r\n".encode() + b
            for b, x in zip(bodies, extra, strict=True)
        ]
        self.max_connections = max_connections
        self.idle: list[_RawConnection] = []
        self.count = 0
        self.waiters: collections.deque[asyncio.Future] = collections.deque()

    async def _connect(self) -> _RawConnection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_RawConnection, self.host, self.port)
        return conn

    async def _acquire(self) -> _RawConnection:
        while True:
            while self.idle:
                conn = self.idle.pop()
                if not conn.closed:
                    return conn
                self.count -= 1
            if self.count < self.max_connections:
                self.count += 1
                try:
                    return await self._connect()
                except BaseException:
                    self.count -= 1
                    self._wake()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter in self.waiters:
                    self.waiters.remove(waiter)
                raise

    def _wake(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, conn: _RawConnection) -> None:
        if conn.closed:
            self.count -= 1
        else:
            self.idle.append(conn)
        self._wake()

    async def request(self, i: int) -> tuple[int, bytes]:
        conn = await self._acquire()
        try:
            return await conn.send(self.requests[i % len(self.requests)])
        except BaseException:
            conn.close()
            raise
        finally:
            self._release(conn)

    async def aclose(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


class AiohttpClient:
    name = "aiohttp"

    def __init__(self, url: str, headers: dict[str, str], bodies: list[bytes],
                 max_connections: int,
                 per_request: list[dict[str, str]] | None = None) -> None:
        import aiohttp

        self.url = url
        self.bodies = bodies
        self.per_request = per_request
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max_connections, force_close=False),
            headers={"Content-Type": "application/json", **headers},
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
        )

    async def request(self, i: int) -> tuple[int, bytes]:
        n = i % len(self.bodies)
        extra = self.per_request[n] if self.per_request else None
        async with self.session.post(self.url, data=self.bodies[n], headers=extra) as r:
            return r.status, await r.read()

    async def aclose(self) -> None:
        await self.session.close()


class HttpxClient:
    name = "httpx"

    def __init__(self, url: str, headers: dict[str, str], bodies: list[bytes],
                 max_connections: int,
                 per_request: list[dict[str, str]] | None = None) -> None:
        import httpx

        self.url = url
        self.bodies = bodies
        self.per_request = per_request
        self.client = httpx.AsyncClient(
            headers={"Content-Type": "application/json", **headers},
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            timeout=REQUEST_TIMEOUT,
        )

    async def request(self, i: int) -> tuple[int, bytes]:
        n = i % len(self.bodies)
        extra = self.per_request[n] if self.per_request else None
        r = await self.client.post(self.url, content=self.bodies[n], headers=extra)
        return r.status_code, r.content

    async def aclose(self) -> None:
        await self.client.aclose()


CLIENTS = {"raw": RawClient, "aiohttp": AiohttpClient, "httpx": HttpxClient}


# --- load shapes ------------------------------------------------------------


Check = Callable[[int, bytes], bool]


async def _one(client: Any, i: int, check: Check, result: Result | None,
               started: float) -> None:
    """Send request ``i``; record its latency from ``started`` into ``result`` (if any)."""
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status, body = await client.request(i)
    except TimeoutError:
        if result is not None:
            result.requests += 1
            result.error("timeout")
        return
    except (OSError, ConnectionError) as exc:
        if result is not None:
            result.requests += 1
            result.error(type(exc).__name__, str(exc))
        return
    elapsed_ms = (time.perf_counter() - started) * 1000
    if result is None:
        return
    result.requests += 1
    if check(status, body):
        result.ok += 1
        result.latencies_ms.append(elapsed_ms)
    else:
        result.error("unexpected body" if status == getattr(check, "status", 200)
                     else f"http {status}",
                     body.decode("utf-8", "replace"))


async def closed_loop(client: Any, check: Check, *, concurrency: int, requests: int,
                      duration: float, warmup: float = 0.0, ramp: float = 0.0,
                      on_measure: Callable[[str], None] | None = None) -> Result:
    """``ramp``: seconds over which the workers start (and open their connections) in the
    first phase; staggered, a multi-process server's idle process tends to accept the next
    connection, instead of one process taking most of them in a burst."""
    result = Result(mode="closed", client=client.name, concurrency=concurrency)
    counter = 0

    async def phase(res: Result | None, limit: int, deadline: float, ramp: float) -> None:
        nonlocal counter
        sent = 0

        async def worker(k: int) -> None:
            nonlocal counter, sent
            if ramp > 0:
                await asyncio.sleep(k * ramp / concurrency)
            while sent < limit and time.perf_counter() < deadline:
                sent += 1
                i = counter
                counter += 1
                await _one(client, i, check, res, time.perf_counter())

        await asyncio.gather(*(worker(k) for k in range(concurrency)))

    if warmup > 0:
        await phase(None, 10**9, time.perf_counter() + max(warmup, ramp), ramp)
        ramp = 0.0
    if on_measure:
        on_measure("measure_start")
    cpu0, t0 = _cpu(), time.perf_counter()
    await phase(result, requests, t0 + duration, ramp)
    result.duration_s = time.perf_counter() - t0
    result.cpu_s = _cpu() - cpu0
    if on_measure:
        on_measure("measure_end")
    return result


async def open_loop(client: Any, check: Check, *, rate: float, duration: float,
                    requests: int, max_inflight: int, warmup: float = 0.0,
                    on_measure: Callable[[str], None] | None = None) -> Result:
    result = Result(mode="open", client=client.name, target_rate=rate)
    counter = 0

    async def phase(res: Result | None, seconds: float) -> None:
        nonlocal counter
        total = min(requests, int(rate * seconds)) if res is not None else int(rate * seconds)
        inflight: set[asyncio.Task] = set()
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        n = 0
        while n < total:
            now = time.perf_counter()
            due = t0 + n / rate
            if due > now:
                await asyncio.sleep(due - now)
                continue
            while n < total and t0 + n / rate <= now:
                scheduled = t0 + n / rate
                n += 1
                if len(inflight) >= max_inflight:
                    if res is not None:
                        res.requests += 1
                        res.error("dropped (max in-flight reached)")
                    continue
                if res is not None:
                    res.send_lag_ms.append((now - scheduled) * 1000)
                i = counter
                counter += 1
                task = loop.create_task(_one(client, i, check, res, scheduled))
                inflight.add(task)
                task.add_done_callback(inflight.discard)
        if inflight:
            _, pending = await asyncio.wait(inflight, timeout=DRAIN_TIMEOUT)
            for task in pending:
                task.cancel()
                if res is not None:
                    res.requests += 1
                    res.error("not answered at the end of the run")

    if warmup > 0:
        await phase(None, warmup)
    if on_measure:
        on_measure("measure_start")
    cpu0, t0 = _cpu(), time.perf_counter()
    await phase(result, duration)
    result.duration_s = time.perf_counter() - t0
    result.cpu_s = _cpu() - cpu0
    if on_measure:
        on_measure("measure_end")
    return result


def make_check(expect: bytes | None, expect_status: int = 200) -> Check:
    def check(status: int, body: bytes) -> bool:
        return status == expect_status and (not expect or expect in body)

    check.status = expect_status  # type: ignore[attr-defined]  # for naming errors
    return check


def read_requests(
        args: argparse.Namespace) -> tuple[list[bytes], list[dict[str, str]] | None]:
    """The request bodies and, if given, each request's own headers (read before the run)."""
    with open(args.bodies, "rb") as f:
        bodies = [line.rstrip(b"\n") for line in f if line.strip()]
    if not bodies:
        raise SystemExit(f"{args.bodies}: no request bodies")
    per_request = None
    if args.headers_file:
        with open(args.headers_file, "rb") as f:
            per_request = [json.loads(line) for line in f if line.strip()]
        if len(per_request) != len(bodies):
            raise SystemExit(f"{args.headers_file}: {len(per_request)} lines for "
                             f"{len(bodies)} bodies")
    return bodies, per_request


async def run(args: argparse.Namespace,
              on_measure: Callable[[str], None] | None = None) -> Result:
    bodies, per_request = read_requests(args)
    headers = dict(h.split(":", 1) for h in args.header)
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    conns = args.concurrency if args.mode == "closed" else args.max_connections
    client = CLIENTS[args.client](args.url, headers, bodies, conns, per_request)
    check = make_check(args.expect.encode() if args.expect else None, args.expect_status)
    try:
        if args.mode == "closed":
            return await closed_loop(client, check, concurrency=args.concurrency,
                                     requests=args.requests, duration=args.duration,
                                     warmup=args.warmup, ramp=args.ramp,
                                     on_measure=on_measure)
        return await open_loop(client, check, rate=args.rate, duration=args.duration,
                               requests=args.requests, max_inflight=args.max_inflight,
                               warmup=args.warmup, on_measure=on_measure)
    finally:
        await client.aclose()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="http://127.0.0.1:PORT/path (POST)")
    p.add_argument("--bodies", required=True, help="JSON-lines file of request bodies")
    p.add_argument("--header", action="append", default=[], help="'Name: value'; repeatable")
    p.add_argument("--expect", help="a byte string every OK response body contains")
    p.add_argument("--expect-status", type=int, default=200, help="the status of an OK answer")
    p.add_argument("--headers-file",
                   help="JSON-lines file of {header: value} objects, one per body line, "
                        "added to the request that sends that body")
    p.add_argument("--mode", choices=["closed", "open"], default="closed")
    p.add_argument("--concurrency", type=int, default=32, help="closed loop: workers")
    p.add_argument("--rate", type=float, default=500.0, help="open loop: requests per second")
    p.add_argument("--duration", type=float, default=10.0, help="seconds to measure (max)")
    p.add_argument("--requests", type=int, default=1_000_000, help="requests to measure (max)")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load first")
    p.add_argument("--ramp", type=float, default=1.0,
                   help="closed loop: seconds over which workers open their connections")
    p.add_argument("--max-connections", type=int, default=64, help="open loop: pool size")
    p.add_argument("--max-inflight", type=int, default=2000, help="open loop: in-flight cap")
    p.add_argument("--client", choices=sorted(CLIENTS), default="raw")
    p.add_argument("--json", action="store_true", help="print the result as one JSON line")
    p.add_argument("--markers", action="store_true",
                   help="print measure_start / measure_end event lines around the window")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.mode == "open" and args.rate <= 0:
        raise SystemExit("--rate must be positive")
    if args.duration <= 0 or args.duration > 3600:
        raise SystemExit("--duration must be in (0, 3600] seconds")

    def marker(event: str) -> None:
        if args.markers:
            print(json.dumps({"event": event}), flush=True)

    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        runner = asyncio.run
    result = runner(run(args, marker))
    summary = result.summary()
    if args.json:
        print(json.dumps(summary), flush=True)
    else:
        for key, value in summary.items():
            print(f"{key:>20}: {value}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
