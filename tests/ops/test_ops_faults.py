"""Faults of the services the gateway depends on: Redis lost and back, Redis unreachable at
start-up, the database unreachable, missing or behind the code's migrations.

Real processes throughout: a redis-server of the test's own on a free port (killed with
SIGKILL and started again), `ccm-gateway serve` and `ccm-gateway worker` subprocesses on
the session's database, and servers pointed at a database that is not there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from integration.webhook_kit import payment_intent, stripe_event, stripe_headers
from ops_kit import cli_env, free_port, run_cli
from testkit import eventually, require_service
from tortoise import connections

from ccm_gateway.app import create_app
from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.db import migrations_dir
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.worker import open_queue

BACKEND = os.environ.get("CCM_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("CCM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
SITES = "{ sites { id } }"


def service_env(settings: Any, **variables: str) -> dict[str, str]:
    """The session's database and secret key; no embedded worker."""
    return cli_env(CCM_DATABASE_URL=settings.database_url, CCM_SECRET_KEY=settings.secret_key,
                   CCM_EMBEDDED_WORKER="false", CCM_RATE_LIMIT_PER_SECOND="0",
                   CCM_LOG_LEVEL="INFO", **variables)


def one_line_naming(output: str, name: str) -> str:
    lines = [line for line in output.splitlines() if name in line]
    assert len(lines) == 1, output
    return lines[0]


# --- Redis ----------------------------------------------------------------------------------


async def test_the_worker_reconnects_when_its_redis_comes_back_and_applies_new_events(
        settings, redis_server, processes, make_integration, linked_customer):
    hook = await make_integration("stripe")
    await linked_customer(hook, "cus_redis_restart")
    env = service_env(settings, CCM_REDIS_URL=redis_server.url)
    worker = processes.start("worker", env, "worker")
    await processes.wait_for_log(worker, "Starting worker")
    base = await processes.serve("serve", env)

    redis_server.kill()
    await processes.wait_for_log(worker, "CCM_REDIS_URL", timeout=15)
    await asyncio.sleep(3)  # the old worker exited 0.7 s after its Redis went away
    assert worker.poll() is None, processes.log(worker)
    lost = one_line_naming(processes.log(worker).split("Starting worker", 1)[1],
                           "lost Redis")
    assert f"redis://127.0.0.1:{redis_server.port}/0" in lost and "reconnecting" in lost

    redis_server.start()
    await processes.wait_for_log(worker, "Redis is back", timeout=30)
    event = stripe_event("payment_intent.succeeded", payment_intent("cus_redis_restart", 1234))
    body = json.dumps(event)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.post(f"/webhooks/{hook.slug}", content=body,
                                   headers=stripe_headers(body, hook.secret))
    assert response.status_code == 202, response.text
    event_id = response.json()["id"]

    async def applied() -> bool:
        row = await InboundEvent.get(id=event_id)
        return row.status == InboundStatus.APPLIED

    await eventually(applied, timeout=60)
    assert worker.poll() is None


async def test_the_worker_stops_on_sigterm_while_its_redis_is_down(
        settings, redis_server, processes):
    worker = processes.start("worker", service_env(settings, CCM_REDIS_URL=redis_server.url),
                             "worker")
    await processes.wait_for_log(worker, "Starting worker")
    redis_server.kill()
    await processes.wait_for_log(worker, "lost Redis", timeout=15)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0, processes.log(worker)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_redis_unreachable_at_start_up_is_one_line_naming_the_setting(settings, command):
    port = free_port()
    env = service_env(settings, CCM_REDIS_URL=f"redis://:hunter2@127.0.0.1:{port}/3")
    args = ["serve", "--port", str(free_port())] if command == "serve" else ["worker"]
    completed = run_cli(env, *args, timeout=90)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output
    assert "Traceback" not in output
    line = one_line_naming(output, "CCM_REDIS_URL")
    assert f"redis://127.0.0.1:{port}/3" in line and "cannot reach Redis" in line
    assert "hunter2" not in output


async def test_metrics_answer_503_json_when_redis_is_lost(settings, redis_server):
    queued = replace(settings, redis_url=redis_server.url)
    app = create_app(queued)
    app.state.queue = await open_queue(queued)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as c:
            assert (await c.get("/metrics")).status_code == 200
            redis_server.kill()
            response = await c.get("/metrics")
    finally:
        await app.state.queue.aclose()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"].isdigit()
    body = response.json()
    assert body["error"] == "QUEUE_UNAVAILABLE"
    assert body["detail"]


# --- the database ---------------------------------------------------------------------------


def _pg_url(database: str, *, port: int | None = None, password: str | None = None) -> str:
    parts = urlsplit(PG_ADMIN_URL)
    user = parts.username or "postgres"
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}{':' + password if password else ''}@{host}:{port or parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{database}"))


UNREACHABLE = {
    "wrong port": lambda: _pg_url("ccm", port=free_port(), password="hunter2"),
    "missing database": lambda: _pg_url(f"ccm_missing_{uuid.uuid4().hex[:8]}",
                                        password="hunter2"),
}


@pytest.mark.parametrize("database_url", UNREACHABLE.values(), ids=UNREACHABLE.keys())
async def test_every_entry_point_answers_503_json_while_the_database_is_unavailable(
        database_url, processes, settings):
    url = database_url()
    base = await processes.serve("serve", cli_env(CCM_DATABASE_URL=url, CCM_LOG_LEVEL="INFO",
                                            CCM_RATE_LIMIT_PER_SECOND="0"))
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        answers = {
            "webhook": await http.post("/webhooks/stripe-eu", content=b"{}",
                                       headers={"content-type": "application/json"}),
            "token": await http.post("/oauth/token", data={
                "grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}),
            "jwks": await http.get("/.well-known/jwks.json"),
        }
        for name, response in answers.items():
            assert response.status_code == 503, (name, response.text)
            assert response.headers["content-type"] == "application/json", name
            assert int(response.headers["retry-after"]) >= 1, name
            body = response.json()
            assert body["error"] == "DATABASE_UNAVAILABLE", (name, body)
            assert body["detail"] and "hunter2" not in response.text, name
        assert answers["token"].headers["cache-control"] == "no-store"

        # Issued for the served process's issuer: its public URL, with its port.
        token = TokenService(replace(settings, public_url=base)).issue("o", ["admin"])
        graphql = await http.post("/graphql", json={"query": SITES},
                                  headers={"Authorization": f"Bearer {token}"})
        body = graphql.json()
        [error] = body["errors"]
        assert error["extensions"]["code"] == "DATABASE_UNAVAILABLE", body
        assert error["extensions"]["retryAfter"] >= 1
        assert "hunter2" not in graphql.text

        ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"].startswith("error")
    log = processes.log(processes.started[0][1])
    assert "hunter2" not in log
    assert "CCM_DATABASE_URL" in log  # the operator's log says which setting points where


async def test_readyz_is_not_ready_until_a_new_postgres_database_is_migrated(processes):
    if BACKEND != "postgres":
        pytest.skip("an unmigrated PostgreSQL database (CCM_TEST_BACKEND=postgres)")
    import asyncpg

    name = f"ccm_unmigrated_{uuid.uuid4().hex[:8]}"
    admin_url = PG_ADMIN_URL.replace("postgres://", "postgresql://", 1)
    try:
        admin = await asyncpg.connect(admin_url)
    except OSError as exc:
        require_service("PostgreSQL", str(exc))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        env = cli_env(CCM_DATABASE_URL=_pg_url(name), CCM_LOG_LEVEL="WARNING")
        base = await processes.serve("serve", env)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"] == "ok"
        assert checks["schema"].startswith("error: not migrated"), checks

        migrated = await asyncio.to_thread(run_cli, env, "migrate", timeout=120)
        assert migrated.returncode == 0, migrated.stderr
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["schema"] == "ok"
    finally:
        processes.stop_all()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def newest_migration(dialect: str) -> str:
    files = (migrations_dir(dialect) / "models").glob("[0-9]*_*.py")
    return max(files, key=lambda p: int(p.name.split("_", 1)[0])).name


async def test_readyz_is_not_ready_while_the_schema_is_behind_the_code(client, settings):
    newest = newest_migration(settings.dialect)
    conn = connections.get("default")
    placeholder = "?" if settings.is_sqlite else "$1"
    [row] = await conn.execute_query_dict(
        f"SELECT id, version, app, content FROM aerich WHERE version = {placeholder}", [newest])
    await conn.execute_query(f"DELETE FROM aerich WHERE version = {placeholder}", [newest])
    try:
        behind = await client.get("/readyz")
    finally:
        values = [row["id"], row["version"], row["app"], row["content"]]
        if not isinstance(values[3], str):
            values[3] = json.dumps(values[3])
        marks = ", ".join("?" if settings.is_sqlite else f"${i}" for i in range(1, 5))
        await conn.execute_query(
            f"INSERT INTO aerich (id, version, app, content) VALUES ({marks})", values)
    assert behind.status_code == 503
    schema = behind.json()["checks"]["schema"]
    assert schema.startswith("error: behind the code") and newest in schema, schema
    assert (await client.get("/readyz")).status_code == 200
