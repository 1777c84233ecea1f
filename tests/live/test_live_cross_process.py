"""Subscriptions across processes: a subscriber on a `ccm-gateway serve` process hears a
change committed by a separate `ccm-gateway worker` process (a hold it expires), through
Redis pub/sub. (The serve process runs no worker: CCM_EMBEDDED_WORKER=false.)

Only on PostgreSQL + Redis: the embedded default is one process. The processes get a
database of their own (the session app's embedded dispatcher would otherwise dispatch
their outbox too, publishing on its own channel) and Redis database 5.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import websockets

from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import Settings
from ccm_gateway.queue import enqueue_job
from ccm_gateway.worker import open_queue

BACKEND = os.environ.get("CCM_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("CCM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CCM_TEST_LIVE_REDIS_URL", "redis://127.0.0.1:6379/5")
START_TIMEOUT = 30.0
PUSH_TIMEOUT = 30.0

pytestmark = pytest.mark.skipif(
    BACKEND != "postgres",
    reason="needs PostgreSQL + Redis and separate API and worker processes "
           "(CCM_TEST_BACKEND=postgres); the embedded default runs in one process")

SUBSCRIBE = """subscription($id: ID!) {
  creditUpdated(customerId: $id) { id creditAccount { held { amount } } } }"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def _processes(env: dict[str, str], logs: Path) -> Iterator[Any]:
    started: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(name: str, *args: str) -> subprocess.Popen[bytes]:
        with (logs / f"{name}.log").open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "ccm_gateway.cli", *args], env=env,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        started.append((name, proc))
        return proc

    try:
        yield start
    finally:
        for _, proc in started:
            if proc.poll() is None:
                proc.terminate()
        for _, proc in started:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


async def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as http:
        while True:
            assert proc.poll() is None, f"ccm-gateway serve exited with {proc.returncode}"
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/readyz")).status_code == 200:
                    return
            assert time.monotonic() < deadline, f"{base}/readyz not ready in {START_TIMEOUT}s"
            await asyncio.sleep(0.1)


async def test_a_subscriber_hears_a_change_a_worker_process_commits(settings, tmp_path):
    name = f"ccm_test_live_{uuid.uuid4().hex[:12]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    redis = aioredis.from_url(REDIS_URL)
    await redis.flushdb()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCM_")}
    env.update({"CCM_DATABASE_URL": f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}",
                "CCM_REDIS_URL": REDIS_URL, "CCM_SECRET_KEY": settings.secret_key,
                "CCM_EMBEDDED_WORKER": "false", "CCM_RATE_LIMIT_PER_SECOND": "0",
                "CCM_HOST": "127.0.0.1", "CCM_PORT": str(port)})
    tokens = TokenService(Settings.from_env(env))
    headers = {"Authorization": f"Bearer {tokens.issue('live-cross', ['admin'])}"}
    try:
        migrate = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ccm_gateway.cli", "migrate", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        output, _ = await asyncio.wait_for(migrate.communicate(), START_TIMEOUT)
        assert migrate.returncode == 0, output
        with _processes(env, tmp_path) as start:
            base = f"http://127.0.0.1:{port}"
            serve = start("serve", "serve", "--host", "127.0.0.1", "--port", str(port))
            start("worker", "worker")
            await _wait_ready(base, serve)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
                async def gql(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                    body = (await http.post("/graphql", json={"query": query,
                                                             "variables": variables})).json()
                    assert not body.get("errors"), body
                    return body["data"]

                customer = (await gql("""mutation($input: CreateCustomerInput!) {
                    createCustomer(input: $input) { id } }""", {"input": {
                    "name": "Cross-process", "segment": "haulage", "currency": "USD",
                    "creditLimit": {"amount": "500.00", "currency": "USD"}}}))[
                    "createCustomer"]["id"]
                placed = (await gql("""mutation($input: AuthorizeCreditInput!) {
                    authorizeCredit(input: $input) { ... on Hold { id expiresAt } } }""",
                    {"input": {"customerId": customer, "expiresInSeconds": 1,
                               "amount": {"amount": "100.00", "currency": "USD"}}}))[
                    "authorizeCredit"]
                hold = placed["id"]
                expires_at = datetime.fromisoformat(placed["expiresAt"])

                async with websockets.connect(f"ws://127.0.0.1:{port}/graphql",
                                              subprotocols=["graphql-transport-ws"]) as ws:
                    await ws.send(json.dumps({"type": "connection_init", "payload": headers}))
                    assert json.loads(await ws.recv())["type"] == "connection_ack"
                    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                        "query": SUBSCRIBE, "variables": {"id": customer}}}))

                    async def next_held(timeout: float) -> str:
                        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                        assert message["type"] == "next", message
                        data = message["payload"]["data"]["creditUpdated"]
                        assert data["id"] == customer
                        return data["creditAccount"]["held"]["amount"]

                    # No worker yet, so nothing dispatches: announce a change on the
                    # channel by hand until the subscription answers, so it is known to
                    # listen before the worker starts.
                    deadline = time.monotonic() + START_TIMEOUT
                    while True:
                        await redis.publish("ccm:live:db5", json.dumps(
                            {"kind": "credit", "customerId": customer, "data": {}}))
                        with contextlib.suppress(TimeoutError):
                            assert await next_held(0.5) == "100.00"
                            break
                        assert time.monotonic() < deadline, "the subscription never listened"
                    left = (expires_at - datetime.now(UTC)).total_seconds()
                    await asyncio.sleep(max(0.0, left) + 0.05)
                    # The hold is past its expiry now: the worker process expires it
                    # (hold.expire, asked for now rather than at its minute), and its
                    # dispatcher publishes the change.
                    queue = await open_queue(Settings(redis_url=REDIS_URL))
                    await enqueue_job(queue, "hold.expire", [], job_id=uuid.uuid4().hex)
                    await queue.aclose()
                    deadline = time.monotonic() + PUSH_TIMEOUT
                    while (held := await next_held(PUSH_TIMEOUT)) != "0.00":
                        assert held == "100.00"
                        assert time.monotonic() < deadline
                status = (await gql("query($id: ID!) { hold(id: $id) { status } }",
                                    {"id": hold}))["hold"]["status"]
                assert status == "EXPIRED"
    finally:
        await redis.flushdb()
        await redis.aclose()
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
