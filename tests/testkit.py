"""Helpers shared by test modules. A module of its own: ``from conftest import ...`` would
resolve to whichever conftest.py was imported last (tests/auth has one too)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(name: str, reason: str) -> None:
    """Skip when a service is missing on a laptop; fail under CI=true."""
    message = f"{name} unreachable: {reason}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns truthy or the deadline passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


class Clock:
    """A clock a test moves by hand (``clock.now += 5``); pass it where code takes one."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def npm_installed(directory: Path, package: str) -> str:
    """The node binary, with ``directory``'s npm dependencies installed (``npm ci``, as .ci/run
    does, when ``package`` is missing). Skips on a laptop without node; fails under CI=true."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        require_service("node and npm", "not installed")
    if not (directory / "node_modules" / package).is_dir():
        command = "ci" if (directory / "package-lock.json").exists() else "install"
        try:
            done = subprocess.run([npm, command, "--no-audit", "--no-fund"], cwd=directory,
                                  capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            require_service(f"npm {command} in {directory.name}", str(exc))
        if done.returncode != 0:
            require_service(f"npm {command} in {directory.name}", done.stderr[-2000:])
    return node  # type: ignore[return-value]


_REQUEST_LIMIT = """mutation($input: RequestCreditLimitChangeInput!) {
  requestCreditLimitChange(input: $input) { id status } }"""
_APPROVE_LIMIT = """mutation($input: ApproveCreditLimitChangeInput!) {
  approveCreditLimitChange(input: $input) { id status } }"""


async def raise_limit(gql: Any, customer_id: str, amount: str, currency: str = "USD") -> None:
    """Raise a credit limit as production does (setCreditLimit refuses increases that need
    approval): a credit manager's request, then the approvals its band needs, a second
    credit manager's and then finance's."""
    made = await gql(_REQUEST_LIMIT, {"input": {
        "customerId": customer_id, "limit": {"amount": amount, "currency": currency}}},
        token=gql.token("credit_manager", subject="limit-maker"))
    request = made.data["requestCreditLimitChange"]
    for subject, role in (("limit-checker", "credit_manager"), ("limit-finance", "finance")):
        if request["status"] != "PENDING":
            break
        approved = await gql(_APPROVE_LIMIT, {"input": {"requestId": request["id"]}},
                             token=gql.token(role, subject=subject))
        request = approved.data["approveCreditLimitChange"]
    assert request["status"] == "APPLIED", request
