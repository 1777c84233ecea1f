"""Test harness: one app per session on the backend chosen by CCM_TEST_BACKEND.

- ``sqlite`` (default): a fresh SQLite file and the embedded queue.
- ``postgres``: a fresh PostgreSQL database (created and dropped here) and
  Redis at CCM_TEST_REDIS_URL. With CI=true an unreachable service fails the
  run instead of skipping it.

The schema comes from the dialect's migration chain, so the tests exercise
the same tables, constraints and triggers as production.
"""

from __future__ import annotations

import contextvars
import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from testkit import require_service

from ccm_gateway.app import create_app
from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import Settings
from ccm_gateway.db import migrate

BACKEND = os.environ.get("CCM_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("CCM_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CCM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_report_header(config: Any) -> str:
    return f"ccm-gateway test backend: {BACKEND}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def settings(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    # Rate limiting off: the suite sends hundreds of requests as one principal;
    # tests/auth/test_auth_rate_limit.py builds apps with limits of their own.
    base = Settings(max_page_size=100, db_pool_size=20, rate_limit_per_second=0)
    if BACKEND == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "ccm.sqlite3"
        yield replace(base, database_url=f"sqlite://{path}")
        return
    if BACKEND != "postgres":
        raise RuntimeError(f"CCM_TEST_BACKEND must be sqlite or postgres, not {BACKEND!r}")
    name = f"ccm_test_{uuid.uuid4().hex[:12]}"
    try:
        await _pg_admin(f'CREATE DATABASE "{name}"')
    except OSError as exc:
        require_service("PostgreSQL", str(exc))
    try:
        import redis.asyncio as aioredis

        client = aioredis.from_url(REDIS_URL)
        await client.flushdb()
        await client.aclose()
    except OSError as exc:
        require_service("Redis", str(exc))
    admin_base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield replace(base, database_url=f"{admin_base}/{name}", redis_url=REDIS_URL,
                  embedded_worker=True)
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    await migrate(settings)
    application = create_app(settings)
    # The shutdown waits for the embedded worker's job in flight; on a loaded machine that
    # took longer than asgi_lifespan's default 5 s and failed the last test's teardown.
    async with LifespanManager(application, startup_timeout=60, shutdown_timeout=60):
        yield application


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ccm.test") as c:
        yield c


@pytest.fixture(scope="session")
def tokens(settings: Settings) -> TokenService:
    return TokenService(settings)


@dataclass
class GraphQLResult:
    status: int
    body: dict[str, Any]

    def assert_ok(self) -> None:
        """The call succeeded: no GraphQL errors."""
        assert not self.body.get("errors"), self.body.get("errors")

    @property
    def data(self) -> dict[str, Any]:
        self.assert_ok()
        return self.body["data"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.body.get("errors") or []

    @property
    def error_code(self) -> str:
        assert self.errors, f"expected an error, got {self.body}"
        return self.errors[0]["extensions"]["code"]


class GraphQLClient:
    """Post GraphQL over HTTP as a given role."""

    def __init__(self, http: httpx.AsyncClient, tokens: TokenService) -> None:
        self.http = http
        self.tokens = tokens

    def token(self, role: str = "admin", subject: str | None = None,
              partner_id: str | None = None) -> str:
        return self.tokens.issue(subject or f"test-{role}", [role], partner_id=partner_id)

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *,
                       role: str = "admin", token: str | None = None) -> GraphQLResult:
        headers = {"Authorization": f"Bearer {token or self.token(role)}"}
        response = await self.http.post("/graphql", json={"query": query,
                                                          "variables": variables or {}},
                                        headers=headers)
        return GraphQLResult(response.status_code, response.json())


@pytest.fixture(scope="session")
def gql(client: httpx.AsyncClient, tokens: TokenService) -> GraphQLClient:
    return GraphQLClient(client, tokens)


# --- small factories ------------------------------------------------------------

CREATE_CUSTOMER = """
mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { id version currency }
}"""
CREATE_SITE = """
mutation($input: CreateSiteInput!) { createSite(input: $input) { id code } }"""


@pytest.fixture
def make_customer(gql: GraphQLClient):
    async def make(limit: str = "1000.00", currency: str = "USD", **extra: Any) -> str:
        payload = {"name": f"Customer {uuid.uuid4().hex[:8]}", "segment": "haulage",
                   "currency": currency, "creditLimit": {"amount": limit, "currency": currency}}
        payload.update(extra)
        result = await gql(CREATE_CUSTOMER, {"input": payload})
        return result.data["createCustomer"]["id"]

    return make


@pytest.fixture
def make_site(gql: GraphQLClient):
    async def make(**extra: Any) -> str:
        payload = {"code": f"S-{uuid.uuid4().hex[:8]}", "name": "Yard"} | extra
        return (await gql(CREATE_SITE, {"input": payload})).data["createSite"]["id"]

    return make


_counting: contextvars.ContextVar[bool] = contextvars.ContextVar("counting", default=False)


class QueryCounter(logging.Handler):
    """Counts SQL statements Tortoise sends, through its debug log.

    Only statements sent from the test's own context count: the embedded
    worker and dispatcher run in tasks started before the test, and their
    polling would otherwise land in the count whenever it happens to fall
    inside the measured call.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if _counting.get():
            self.count += 1


@pytest.fixture
def count_queries():
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    token = _counting.set(True)
    try:
        yield counter
    finally:
        _counting.reset(token)
        logger.removeHandler(counter)
        logger.setLevel(previous)
