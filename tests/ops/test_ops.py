"""Operations: health, request ids, error masking, query limits, GraphiQL, settings, logs."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccm_gateway.api.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from ccm_gateway.app import create_app
from ccm_gateway.config import DEV_SECRET_KEY, Settings
from ccm_gateway.customer import service as customer_service
from ccm_gateway.db import migrate
from ccm_gateway.errors import ConfigError
from ccm_gateway.observability import JsonFormatter, request_id_var
from ccm_gateway.verify import verify_all

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
PROD_SECRET = "prod-secret-key-that-is-long-enough-0123456789"


def auth(gql: Any, role: str = "viewer") -> dict[str, str]:
    return {"Authorization": f"Bearer {gql.token(role)}"}


# --- health -------------------------------------------------------------------------------


async def test_healthz_answers_ok(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_with_database_and_queue_ok(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready",
                               "checks": {"database": "ok", "schema": "ok", "queue": "ok"}}


async def test_health_endpoints_need_no_token(client):
    for path in ("/healthz", "/readyz"):
        assert (await client.get(path)).status_code == 200


# --- request ids --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/healthz", 200),
    ("GET", "/readyz", 200),
    ("POST", "/graphql", 401),
    ("GET", "/no-such-page", 404),
])
async def test_every_response_carries_a_generated_request_id(client, method, path, status):
    response = await client.request(method, path, json={"query": "{ sites { id } }"}
                                    if method == "POST" else None)
    assert response.status_code == status
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_each_request_gets_its_own_request_id(client):
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_a_successful_graphql_response_carries_a_request_id(client, gql):
    response = await client.post("/graphql", json={"query": "{ sites { id } }"},
                                 headers=auth(gql))
    assert response.status_code == 200
    assert GENERATED_ID.match(response.headers["x-request-id"])


@pytest.mark.parametrize("sane", ["abc-123", "req_42.retry:1", "A" * 64,
                                  "0f8fad5b-d9cb-469f-a165-70867728950e"])
async def test_a_sane_caller_request_id_is_echoed(client, sane):
    response = await client.get("/healthz", headers={"X-Request-ID": sane})
    assert response.headers["x-request-id"] == sane


@pytest.mark.parametrize("insane", ["", "has space", "A" * 65, "semi;colon", "<script>",
                                    "line\tbreak", "caf\u00e9"])
async def test_an_insane_caller_request_id_is_replaced(client, insane):
    response = await client.get("/healthz",
                                headers=[("X-Request-ID", insane.encode("latin-1"))])
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_graphql_errors_carry_the_request_id(client, gql):
    response = await client.post(
        "/graphql", json={"query": "{ customer(id: \"not-a-uuid\") { id } }"},
        headers=auth(gql) | {"X-Request-ID": "trace-graphql-1"})
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["requestId"] == "trace-graphql-1"
    assert response.headers["x-request-id"] == "trace-graphql-1"


async def test_query_validation_errors_carry_the_request_id(client, gql):
    response = await client.post("/graphql", json={"query": "{ noSuchField }"},
                                 headers=auth(gql) | {"X-Request-ID": "trace-graphql-2"})
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "requestId": "trace-graphql-2"}


async def test_an_unexpected_exception_is_masked_as_internal_with_the_request_id(
        client, gql, monkeypatch, caplog):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("connection to db-primary:5432 refused, password=hunter2")

    monkeypatch.setattr(customer_service, "get_readable_customer", broken)
    with caplog.at_level(logging.ERROR, logger="ccm_gateway.graphql"):
        response = await client.post(
            "/graphql", json={"query": f"{{ customer(id: \"{uuid.uuid4()}\") {{ id }} }}"},
            headers=auth(gql) | {"X-Request-ID": "trace-internal-1"})

    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "trace-internal-1"}
    assert "trace-internal-1" in error["message"]
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    [logged] = [r for r in caplog.records if r.name == "ccm_gateway.graphql"]
    assert logged.request_id == "trace-internal-1"
    assert isinstance(logged.exc_info[1], RuntimeError)


# --- query limits -------------------------------------------------------------------------


def nested(depth: int) -> str:
    """A query whose selection sets nest ``depth`` fields deep (the fields need not exist)."""
    return "{ " + "f { " * depth + "leaf" + " }" * depth + " }"


async def post_query(client: Any, gql: Any, query: str) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query}, headers=auth(gql))
    assert response.status_code == 200
    return response.json()


async def test_a_query_deeper_than_the_limit_is_refused(client, gql):
    body = await post_query(client, gql, nested(MAX_DEPTH + 1))
    assert body["data"] is None
    depth_errors = [e for e in body["errors"] if "maximum operation depth" in e["message"]]
    assert depth_errors, body["errors"]
    assert depth_errors[0]["message"] == \
        f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"
    assert depth_errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_query_at_the_depth_limit_is_not_refused_for_depth(client, gql):
    body = await post_query(client, gql, nested(MAX_DEPTH))
    assert not [e for e in body["errors"] if "maximum operation depth" in e["message"]]


async def test_the_deepest_real_query_runs(client, gql):
    body = await post_query(client, gql, """{ customers(first: 1) { edges { node {
        ledger(first: 1) { edges { node { site { code } } } } } } } }""")
    assert "errors" not in body


async def test_more_aliases_than_the_limit_are_refused(client, gql):
    query = "{ " + " ".join(f"a{i}: sites {{ id }}" for i in range(MAX_ALIASES + 1)) + " }"
    body = await post_query(client, gql, query)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["message"] == f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_aliases_up_to_the_limit_are_accepted(client, gql):
    query = "{ " + " ".join(f"a{i}: sites {{ id }}" for i in range(MAX_ALIASES)) + " }"
    body = await post_query(client, gql, query)
    assert "errors" not in body
    assert len(body["data"]) == MAX_ALIASES


async def test_a_query_with_too_many_tokens_is_refused(client, gql):
    query = "{ sites { " + "id " * MAX_TOKENS + "} }"
    body = await post_query(client, gql, query)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "token" in body["errors"][0]["message"].lower()


# --- GraphiQL -----------------------------------------------------------------------------

HTML = {"Accept": "text/html"}


async def test_graphiql_is_served_in_dev_without_a_token(client):
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()
    assert GENERATED_ID.match(response.headers["x-request-id"])


def prod_settings() -> Settings:
    """Production-shaped settings; never validated, never connected to."""
    return Settings(env="prod", secret_key=PROD_SECRET,
                    database_url="postgres://ccm@db.invalid:5432/ccm",
                    redis_url="redis://redis.invalid:6379/0")


async def ide_response(app: Any, token: str | None = None) -> httpx.Response:
    headers = dict(HTML)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://ccm.test") as c:
        return await c.get("/graphql", headers=headers)


@pytest.mark.parametrize("variant", ["prod", "dev-graphiql-off"])
async def test_graphiql_is_not_served_when_disabled(settings, variant):
    built = prod_settings() if variant == "prod" else replace(settings, graphiql=False)
    app = create_app(built)

    anonymous = await ide_response(app)
    assert anonymous.status_code == 401
    assert "graphiql" not in anonymous.text.lower()

    token = app.state.tokens.issue("ops", ["viewer"])
    authenticated = await ide_response(app, token)
    assert authenticated.status_code == 404
    assert "graphiql" not in authenticated.text.lower()


def test_graphiql_defaults_follow_the_environment():
    assert Settings(env="dev").graphiql_enabled is True
    assert Settings(env="prod").graphiql_enabled is False
    assert Settings(env="prod", graphiql=True).graphiql_enabled is True


# --- Settings.from_env --------------------------------------------------------------------


def test_from_env_reads_typed_ccm_variables():
    settings = Settings.from_env({
        "CCM_PORT": "9000", "CCM_GRAPHIQL": "off", "CCM_EMBEDDED_WORKER": "yes",
        "CCM_MAX_PAGE_SIZE": "50", "CCM_DEFAULT_PAGE_SIZE": "10", "CCM_LOG_LEVEL": "debug",
        "CCM_REDIS_URL": "", "UNRELATED": "x"})
    assert (settings.port, settings.graphiql, settings.embedded_worker) == (9000, False, True)
    assert (settings.max_page_size, settings.default_page_size) == (50, 10)
    assert settings.redis_url is None
    assert settings.env == "dev"


def test_from_env_with_nothing_set_is_the_embedded_dev_default():
    settings = Settings.from_env({})
    assert settings.is_sqlite and settings.run_worker_in_process and not settings.is_prod


def test_prod_refuses_every_dev_default_and_names_each_setting():
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"CCM_ENV": "prod"})
    message = str(refused.value)
    assert "CCM_ENV=prod" in message
    for name in ("CCM_SECRET_KEY", "CCM_DATABASE_URL", "CCM_REDIS_URL"):
        assert name in message


@pytest.mark.parametrize("missing", ["CCM_SECRET_KEY", "CCM_DATABASE_URL", "CCM_REDIS_URL"])
def test_prod_names_only_the_setting_still_missing(missing):
    complete = {"CCM_ENV": "prod", "CCM_SECRET_KEY": PROD_SECRET,
                "CCM_DATABASE_URL": "postgres://ccm@db:5432/ccm",
                "CCM_REDIS_URL": "redis://redis:6379/0"}
    del complete[missing]
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(complete)
    named = {n for n in ("CCM_SECRET_KEY", "CCM_DATABASE_URL", "CCM_REDIS_URL")
             if n in str(refused.value)}
    assert named == {missing}


def test_prod_refuses_a_short_secret_key():
    with pytest.raises(ConfigError, match=r"CCM_SECRET_KEY .shorter than 32"):
        Settings.from_env({"CCM_ENV": "prod", "CCM_SECRET_KEY": "short",
                           "CCM_DATABASE_URL": "postgres://ccm@db:5432/ccm",
                           "CCM_REDIS_URL": "redis://redis:6379/0"})


def test_prod_with_everything_set_is_accepted():
    settings = Settings.from_env({"CCM_ENV": "prod", "CCM_SECRET_KEY": PROD_SECRET,
                                  "CCM_DATABASE_URL": "postgresql://ccm@db:5432/ccm",
                                  "CCM_REDIS_URL": "redis://redis:6379/0",
                                  "CCM_PUBLIC_URL": "https://ccm.example.com",
                                  "CCM_METRICS_TOKEN": "metrics-" + PROD_SECRET})
    assert settings.is_prod and not settings.graphiql_enabled
    assert settings.secret_key != DEV_SECRET_KEY
    assert not settings.run_worker_in_process


@pytest.mark.parametrize(("name", "value", "kind"), [
    ("CCM_PORT", "eighty", "int"),
    ("CCM_TOKEN_TTL_SECONDS", "1.5", "int"),
    ("CCM_MAX_PAGE_SIZE", "", None),
    ("CCM_GRAPHIQL", "maybe", "bool"),
    ("CCM_EMBEDDED_WORKER", "2", "bool"),
])
def test_from_env_names_a_variable_that_does_not_parse(name, value, kind):
    if kind is None:  # empty means unset
        assert Settings.from_env({name: value}) == Settings()
        return
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({name: value})
    assert str(refused.value) == f"{name}={value!r} is not a valid {kind}"


@pytest.mark.parametrize(("variables", "named"), [
    ({"CCM_ENV": "staging"}, "CCM_ENV"),
    ({"CCM_DATABASE_URL": "mysql://db/ccm"}, "CCM_DATABASE_URL"),
    ({"CCM_PORT": "0"}, "CCM_PORT"),
    ({"CCM_PORT": "70000"}, "CCM_PORT"),
    ({"CCM_DB_POOL_SIZE": "-1"}, "CCM_DB_POOL_SIZE"),
    ({"CCM_MAX_PAGE_SIZE": "5000"}, "CCM_MAX_PAGE_SIZE"),
    ({"CCM_DEFAULT_PAGE_SIZE": "101"}, "CCM_DEFAULT_PAGE_SIZE"),
    ({"CCM_LOG_LEVEL": "LOUD"}, "CCM_LOG_LEVEL"),
])
def test_from_env_refuses_an_out_of_range_value_naming_it(variables, named):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(variables)
    assert named in str(refused.value)


def test_unknown_ccm_env_is_refused_with_the_value():
    with pytest.raises(ConfigError, match="CCM_ENV must be 'dev' or 'prod', not 'staging'"):
        Settings.from_env({"CCM_ENV": "staging"})


# --- structured logs ----------------------------------------------------------------------


def record(msg: str = "payment applied", **extra: Any) -> logging.LogRecord:
    return logging.makeLogRecord({"name": "ccm_gateway.ledger", "levelno": logging.INFO,
                                  "levelname": "INFO", "msg": msg, "args": (),
                                  "created": datetime(2025, 1, 31, 12, tzinfo=UTC).timestamp(),
                                  **extra})


def test_json_log_line_has_time_level_logger_message_and_request_id():
    line = json.loads(JsonFormatter().format(record(request_id="req-7", customer="c-1")))
    assert line == {"ts": "2025-01-31T12:00:00.000+00:00", "level": "info",
                    "logger": "ccm_gateway.ledger", "msg": "payment applied",
                    "request_id": "req-7", "customer": "c-1"}


def test_json_log_line_takes_the_request_id_of_the_current_request():
    token = request_id_var.set("req-from-context")
    try:
        line = json.loads(JsonFormatter().format(record()))
    finally:
        request_id_var.reset(token)
    assert line["request_id"] == "req-from-context"


def test_json_log_line_without_a_request_has_no_request_id():
    assert "request_id" not in json.loads(JsonFormatter().format(record()))


def test_json_log_line_carries_the_exception():
    try:
        raise ValueError("boom")
    except ValueError:
        rec = record(exc_info=sys.exc_info())
    line = json.loads(JsonFormatter().format(rec))
    assert "ValueError: boom" in line["exc"]


async def test_each_request_writes_one_json_access_log_line_with_its_request_id(client):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("ccm_gateway.access")
    previous = access.level
    access.setLevel(logging.INFO)
    access.addHandler(handler)
    try:
        await client.get("/healthz", headers={"X-Request-ID": "trace-access-1"})
    finally:
        access.removeHandler(handler)
        access.setLevel(previous)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["request_id"] == "trace-access-1"
    assert (line["logger"], line["msg"], line["level"]) == ("ccm_gateway.access", "request",
                                                            "info")
    assert (line["method"], line["path"], line["status"]) == ("GET", "/healthz", 200)
    assert isinstance(line["duration_ms"], float)


# --- verify -------------------------------------------------------------------------------


def cli_env(database_url: str) -> dict[str, str]:
    names = {f"CCM_{f.name.upper()}" for f in fields(Settings)}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return env | {"CCM_DATABASE_URL": database_url}


def run_verify_cli(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ccm_gateway.cli", "verify"],
                          env=cli_env(database_url), capture_output=True, text=True,
                          timeout=120, check=False)


async def test_verify_all_finds_the_ledger_and_audit_chains_intact(gql, make_customer):
    customer_id = await make_customer(limit="100.00")
    await gql("""mutation($input: AuthorizeCreditInput!) {
        authorizeCredit(input: $input) { __typename } }""", {"input": {
        "customerId": customer_id, "amount": {"amount": "12.34", "currency": "USD"}}})
    report = await verify_all()
    assert report["ok"] is True, report
    assert report["balance_mismatches"] == [] and report["audit_chain_breaks"] == []
    assert report["accounts_checked"] >= 1 and report["audit_events_checked"] >= 2


async def test_verify_cli_exits_0_and_prints_an_ok_report(settings, make_customer):
    await make_customer()
    completed = run_verify_cli(settings.database_url)
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert report["ok"] is True
    assert report["accounts_checked"] >= 1
    assert report["balance_mismatches"] == [] and report["audit_chain_breaks"] == []


async def test_verify_cli_exits_1_when_a_cached_balance_disagrees_with_its_entries(
        tmp_path: Path):
    path = tmp_path / "broken.sqlite3"
    await migrate(Settings(database_url=f"sqlite://{path}"))
    customer_id, now = str(uuid.uuid4()), datetime.now(UTC).isoformat()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO customer (id, name, segment, risk_profile, status, currency, "
                   "version, created_at, updated_at) VALUES (?, 'Broken', 'x', 'medium', "
                   "'active', 'USD', 1, ?, ?)", (customer_id, now, now))
        db.execute("INSERT INTO credit_account (id, currency, credit_limit_minor, "
                   "posted_balance_minor, held_minor, net_days, invoicing_cycle, version, "
                   "updated_at, customer_id) VALUES (?, 'USD', 1000, 500, 0, 30, 'monthly', "
                   "1, ?, ?)", (str(uuid.uuid4()), now, customer_id))
    completed = run_verify_cli(f"sqlite://{path}")
    assert completed.returncode == 1, completed.stderr
    report = json.loads(completed.stdout)
    assert report["ok"] is False
    [mismatch] = report["balance_mismatches"]
    assert mismatch["customer_id"] == customer_id


def test_verify_cli_exits_2_on_bad_configuration():
    completed = subprocess.run([sys.executable, "-m", "ccm_gateway.cli", "verify"],
                               env=cli_env("mysql://db/ccm"), capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 2
    assert "CCM_DATABASE_URL" in completed.stderr
    assert completed.stdout == ""


async def test_unknown_path_answers_json_not_found(client):
    response = await client.get("/no-such-path")
    assert response.status_code == 404
    assert response.json() == {"error": "NOT_FOUND", "detail": "Not Found"}
    assert response.headers["x-request-id"]


async def test_wrong_method_answers_json_method_not_allowed(client):
    response = await client.put("/graphql")
    assert response.status_code == 405
    assert response.json()["error"] == "METHOD_NOT_ALLOWED"


async def test_graphql_body_that_is_not_json_answers_json_bad_input(client, gql):
    response = await client.post(
        "/graphql", content=b"{not json",
        headers={"Authorization": f"Bearer {gql.token()}", "content-type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "BAD_USER_INPUT"
    assert body["detail"]


# --- introspection and body size ---------------------------------------------------------

INTROSPECTION = "{ __schema { queryType { name } } }"


def test_introspection_defaults_follow_the_environment():
    assert Settings(env="dev").introspection_enabled is True
    assert Settings(env="prod").introspection_enabled is False
    assert Settings(env="prod", introspection=True).introspection_enabled is True


async def test_introspection_is_refused_when_disabled():
    from ccm_gateway.api.schema import build_schema

    result = await build_schema(introspection=False).execute(INTROSPECTION)
    assert result.data is None
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"
    assert "introspection" in result.errors[0].message.lower()


async def test_introspection_answers_in_dev(client, gql):
    body = await post_query(client, gql, INTROSPECTION)
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"


async def small_body_client(settings: Settings, limit: int) -> httpx.AsyncClient:
    app = create_app(replace(settings, max_body_bytes=limit))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ccm.test")


async def test_a_declared_body_over_the_limit_is_refused_with_413(settings):
    async with await small_body_client(settings, 64) as c:
        response = await c.post("/graphql", content=b"x" * 65,
                                headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json() == {"error": "PAYLOAD_TOO_LARGE",
                               "detail": "request body exceeds 64 bytes"}
    assert GENERATED_ID.match(response.headers["x-request-id"])


async def test_a_streamed_body_over_the_limit_is_refused_with_413(settings, gql):
    async def chunks():
        for _ in range(10):
            yield b"x" * 20

    async with await small_body_client(settings, 64) as c:
        # Authenticated, so the GraphQL view goes on to read the (undeclared) body.
        response = await c.post("/graphql", content=chunks(),
                                headers={"content-type": "application/json",
                                         "Authorization": f"Bearer {gql.token()}"})
    assert response.status_code == 413
    assert response.json()["error"] == "PAYLOAD_TOO_LARGE"


def test_max_body_bytes_must_be_positive():
    with pytest.raises(ConfigError, match="CCM_MAX_BODY_BYTES"):
        Settings.from_env({"CCM_MAX_BODY_BYTES": "0"})


async def test_a_refused_body_still_carries_the_security_headers(settings):
    async with await small_body_client(settings, 8) as c:
        response = await c.post("/graphql", content=b"x" * 9)
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"
