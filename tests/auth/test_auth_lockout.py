"""Brute force on /oauth/token without lockout: failed client authentications are counted
per (client_id, source address), with a wider budget per address, so guessing from one
place cannot lock the real client out from another."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from ccm_gateway.auth import clients, endpoints

GRANT = {"grant_type": "client_credentials"}


def _address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@pytest.fixture
async def from_address(app: Any) -> AsyncIterator[Callable[[], Any]]:
    """``http = await from_address()``: a client from an address of its own."""
    opened: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(_address(), 1234))
        http = httpx.AsyncClient(transport=transport, base_url="http://ccm.test")
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """No bucket refills while a test runs: each scrypt check takes a while."""
    now = time.time()
    monkeypatch.setattr(endpoints, "FAILED_AUTH_CLOCK", lambda: now)


async def token(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return await http.post("/oauth/token", data=GRANT,
                           headers={"Authorization": f"Basic {basic}"})


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert "too many attempts" in response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"


async def test_an_attacker_elsewhere_cannot_lock_out_the_real_client(from_address):
    real = await clients.create_client(f"locked-{uuid.uuid4().hex[:8]}", ["viewer"])
    attacker, owner = await from_address(), await from_address()
    _, burst = endpoints.FAILED_AUTH_PER_CLIENT
    for _ in range(burst):
        assert (await token(attacker, real.client_id, "guess")).status_code == 401
    for _ in range(3):
        assert_throttled(await token(attacker, real.client_id, "guess"))
    # The owner, from its own address, is not locked out...
    response = await token(owner, real.client_id, real.client_secret)
    assert response.status_code == 200, response.text
    # ...and the attacker's address still is, the right secret included.
    assert_throttled(await token(attacker, real.client_id, real.client_secret))


async def test_an_address_spraying_client_ids_meets_the_wider_per_address_limit(
        from_address):
    real = await clients.create_client(f"bystander-{uuid.uuid4().hex[:8]}", ["viewer"])
    sprayer, owner = await from_address(), await from_address()
    _, per_pair = endpoints.FAILED_AUTH_PER_CLIENT
    _, per_address = endpoints.FAILED_AUTH_PER_IP
    assert per_address > per_pair
    # One failure per client id never empties a (client id, address) bucket; the
    # address's own bucket is what stops the spray.
    for _ in range(per_address):
        response = await token(sprayer, f"ccm_{uuid.uuid4().hex[:24]}", "guess")
        assert response.status_code == 401, response.text
    assert_throttled(await token(sprayer, f"ccm_{uuid.uuid4().hex[:24]}", "guess"))
    assert_throttled(await token(sprayer, real.client_id, real.client_secret))
    assert (await token(owner, real.client_id, real.client_secret)).status_code == 200
