"""The embedded default's SQLite file: a path that cannot be opened is a configuration error,
and the CLI writes to the file while the server does.

Each test makes its own SQLite file (or path that cannot be one), whatever the session's
backend; the side-by-side test runs a real `ccm-gateway serve` subprocess and real
`ccm-gateway clients create` / `keys rotate` subprocesses against it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import httpx
import pytest
from ops_kit import cli_env, run_cli

from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import Settings

BACKEND = os.environ.get("CCM_TEST_BACKEND", "sqlite")
SECRET = "sqlite-side-by-side-" + uuid.uuid4().hex
AUTHORIZATIONS = 250
CONCURRENCY = 10
CLI_ROUNDS = 5
CREATE_CUSTOMER = """mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { id } }"""
AUTHORIZE = """mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) { __typename ... on Hold { id } ... on CreditDeclined { reason } }
}"""


def unopenable_paths(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """(CCM_DATABASE_URL, the path its message must name) per way of being unopenable."""
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "a-file").write_text("not a directory")
    return {
        "missing directory": ("sqlite:///nonexistent/dir/x.db", "/nonexistent/dir/x.db"),
        "a directory": (f"sqlite://{tmp_path / 'a-directory'}", str(tmp_path / "a-directory")),
        "under a file": (f"sqlite://{tmp_path / 'a-file' / 'x.db'}",
                         str(tmp_path / "a-file" / "x.db")),
    }


@pytest.mark.parametrize("case", ["missing directory", "a directory", "under a file"])
@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "1"], ["verify"],
                                     ["clients", "list"]],
                         ids=["migrate", "serve", "verify", "clients-list"])
def test_an_sqlite_path_that_cannot_be_opened_is_a_configuration_error(tmp_path, case, command):
    url, path = unopenable_paths(tmp_path)[case]
    completed = run_cli(cli_env(CCM_DATABASE_URL=url), *command, timeout=30)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    [line] = [text for text in completed.stderr.splitlines() if "CCM_DATABASE_URL" in text]
    assert line.startswith("configuration error: CCM_DATABASE_URL") and path in line, line


async def test_the_cli_writes_while_the_server_takes_writes(tmp_path, processes):
    if BACKEND != "sqlite":
        pytest.skip("SQLite's file locking (the embedded default: CCM_TEST_BACKEND=sqlite)")
    database_url = f"sqlite://{tmp_path / 'side-by-side.sqlite3'}"
    env = cli_env(CCM_DATABASE_URL=database_url, CCM_SECRET_KEY=SECRET, CCM_LOG_LEVEL="WARNING",
                  CCM_RATE_LIMIT_PER_SECOND="0")
    base = await processes.serve("serve", env)
    token = TokenService(Settings(secret_key=SECRET, public_url=base)).issue("side-by-side",
                                                                            ["admin"])
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY, keepalive_expiry=1.0)
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers,
                                 limits=limits) as http:
        created = await http.post("/graphql", json={"query": CREATE_CUSTOMER, "variables": {
            "input": {"name": "Side by side", "segment": "haulage", "currency": "USD",
                      "creditLimit": {"amount": "1000000.00", "currency": "USD"}}}})
        customer_id = created.json()["data"]["createCustomer"]["id"]
        failures: list[str] = []
        sent = 0

        async def authorize() -> None:
            nonlocal sent
            # Until the CLI is done, and at least AUTHORIZATIONS in all: every CLI run
            # overlaps the server's writes.
            while not cli.done() or sent < AUTHORIZATIONS:
                sent += 1
                response = await http.post("/graphql", json={"query": AUTHORIZE, "variables": {
                    "input": {"customerId": customer_id, "reference": f"side-{sent}",
                              "amount": {"amount": "1.00", "currency": "USD"}}}})
                body = response.json()
                if body.get("errors") or body["data"]["authorizeCredit"]["__typename"] != "Hold":
                    failures.append(str(body))

        def cli_rounds() -> list[str]:
            problems = []
            for i in range(CLI_ROUNDS):
                for args in (["clients", "create", "--name", f"cli-{i}", "--role", "viewer"],
                             ["keys", "rotate"]):
                    done = run_cli(env, *args, timeout=120)
                    if done.returncode != 0:
                        problems.append(f"{' '.join(args)}: {done.returncode} {done.stderr}")
            return problems

        cli = asyncio.create_task(asyncio.to_thread(cli_rounds))
        await asyncio.gather(*(authorize() for _ in range(CONCURRENCY)))
        cli_problems = await cli
    assert not failures, f"{len(failures)} of {sent} failed: {failures[:3]}"
    assert not cli_problems, cli_problems
    verify = run_cli(env, "verify", timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
