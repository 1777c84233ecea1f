"""Every `ccm-gateway` command against an empty database of each kind.

On the embedded default (SQLite) each command applies the pending migrations
first, as `serve` does, and then does its work. On PostgreSQL only `migrate`
changes the schema: any other command that needs the database refuses an
unmigrated one with one line naming it and `run: ccm-gateway migrate`, exit 2;
`serve` starts with that line as a warning and is not ready until migrated (an API
may start before its release's migration job has run).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from ops_kit import (
    LONG_RUNNING,
    NO_DATABASE,
    ONE_SHOT,
    REFUSE_MISSING,
    Processes,
    RedisServer,
    cli_env,
    commands,
    run_cli,
)
from testkit import require_service

from ccm_gateway.cli import build_parser
from ccm_gateway.db import newest_migration

PG_ADMIN_URL = os.environ.get("CCM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def test_the_table_covers_every_subcommand():
    assert commands(build_parser()) == set(ONE_SHOT) | LONG_RUNNING


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _applied(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [r[0] for r in db.execute("SELECT version FROM aerich ORDER BY id")]


@pytest.mark.parametrize("command", sorted(ONE_SHOT), ids=" ".join)
def test_on_an_empty_sqlite_database_each_command_migrates_first(command, tmp_path):
    path = tmp_path / "empty.sqlite3"
    result = run_cli(cli_env(CCM_DATABASE_URL=f"sqlite://{path}"), *command, *ONE_SHOT[command])

    assert "Traceback" not in result.stderr, result.stderr
    if command in NO_DATABASE:
        assert result.returncode == 0, result.stderr
        assert not path.exists()
        return
    assert _applied(path)[-1] == newest_migration("sqlite")
    if command in REFUSE_MISSING:  # it ran, against the migrated database
        assert result.returncode == 2 and REFUSE_MISSING[command] in result.stderr, \
            result.stderr
    else:
        assert result.returncode == 0, result.stderr


async def test_serve_and_worker_on_an_empty_sqlite_database_migrate_first(
        tmp_path: Path, processes: Processes, redis_server: RedisServer):
    served, worked = tmp_path / "serve.sqlite3", tmp_path / "worker.sqlite3"
    await processes.serve("serve", cli_env(CCM_DATABASE_URL=f"sqlite://{served}"))
    assert _applied(served)[-1] == newest_migration("sqlite")

    worker = processes.start("worker", cli_env(CCM_DATABASE_URL=f"sqlite://{worked}",
                                               CCM_REDIS_URL=redis_server.url), "worker")
    await processes.wait_for_log(worker, "applied migrations")
    assert _applied(worked)[-1] == newest_migration("sqlite")


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    import asyncpg

    name = f"ccm_test_empty_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    except OSError as exc:
        require_service("PostgreSQL", str(exc))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def _refusal(result, database_url: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert database_url.rsplit("/", 1)[1] in lines[0] and "CCM_DATABASE_URL" in lines[0]
    assert lines[0].endswith("run: ccm-gateway migrate"), lines[0]


@pytest.mark.parametrize("command", sorted(set(ONE_SHOT) - {("migrate",)}), ids=" ".join)
def test_on_an_unmigrated_postgres_database_each_command_says_run_migrate(
        command, empty_postgres):
    result = run_cli(cli_env(CCM_DATABASE_URL=empty_postgres), *command, *ONE_SHOT[command])
    if command in NO_DATABASE:
        assert result.returncode == 0, result.stderr
        return
    _refusal(result, empty_postgres)


async def test_serve_and_worker_on_an_unmigrated_postgres_database_say_run_migrate(
        empty_postgres, processes: Processes, redis_server: RedisServer):
    env = cli_env(CCM_DATABASE_URL=empty_postgres, CCM_REDIS_URL=redis_server.url)
    _refusal(run_cli(env, "worker"), empty_postgres)

    base = await processes.serve("serve", env)
    ((_, serve, _),) = processes.started
    warning = [line for line in processes.log(serve).splitlines()
               if line.startswith("warning: the database")]
    assert len(warning) == 1 and empty_postgres.rsplit("/", 1)[1] in warning[0], warning
    assert warning[0].endswith("/readyz reports not ready until: ccm-gateway migrate")
    async with httpx.AsyncClient(base_url=base) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["schema"].startswith("error: not migrated")


def test_migrate_then_every_command_works_on_postgres(empty_postgres):
    env = cli_env(CCM_DATABASE_URL=empty_postgres)
    assert run_cli(env, "migrate").returncode == 0
    for command in sorted(set(ONE_SHOT) - set(REFUSE_MISSING)):
        result = run_cli(env, *command, *ONE_SHOT[command])
        assert result.returncode == 0, (command, result.stderr)
