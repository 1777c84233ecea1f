"""Rate limits at the webhook edge: only verified callbacks spend an integration's budget;
refused ones (unsigned, badly signed, unknown integration, ...) spend their sender address's
own budget, which is checked before any signature is computed, so a junk flood can neither
starve a vendor nor buy unbounded CPU."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from webhook_kit import (
    inbox_count,
    payment_intent,
    stripe_event,
    stripe_headers,
)

from ccm_gateway.integration import endpoints


def _address() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@pytest.fixture
async def from_address(app: Any) -> AsyncIterator[Callable[[], Any]]:
    """``sender = await from_address()``: an HTTP client from an address of its own."""
    opened: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(_address(), 40000))
        http = httpx.AsyncClient(transport=transport, base_url="http://ccm.test")
        opened.append(http)
        return http

    yield make
    for http in opened:
        await http.aclose()


def _event() -> str:
    return json.dumps(stripe_event("payment_intent.succeeded", payment_intent("nobody", 1)))


async def signed(http: httpx.AsyncClient, hook: Any) -> httpx.Response:
    body = _event()
    return await http.post(f"/webhooks/{hook.slug}", content=body,
                           headers=stripe_headers(body, hook.secret))


async def unsigned(http: httpx.AsyncClient, hook: Any) -> httpx.Response:
    return await http.post(f"/webhooks/{hook.slug}", content=_event(),
                           headers={"Content-Type": "application/json"})


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.fixture
def address_budget(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Callable[[float], None]]:
    """Set the per-address budget for refused callbacks, on a clock the test moves."""
    def set_budget(rate: float, burst: int) -> Callable[[float], None]:
        offset = [0.0]
        start = time.time()
        monkeypatch.setattr(endpoints, "REFUSED_PER_ADDRESS", (rate, burst))
        monkeypatch.setattr(endpoints, "REFUSED_CLOCK", lambda: start + offset[0])

        def advance(seconds: float) -> None:
            offset[0] += seconds

        return advance

    return set_budget


async def test_unsigned_junk_does_not_spend_the_integrations_limit(make_integration,
                                                                   from_address):
    hook = await make_integration("stripe", rateLimit={"perSecond": 1, "burst": 2})
    junk, vendor = await from_address(), await from_address()
    for _ in range(5):
        response = await unsigned(junk, hook)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "MISSING_HEADER"
    # The vendor's budget is whole: two signed callbacks pass, and only the third, a
    # verified one over the integration's own burst, is limited.
    assert [(await signed(vendor, hook)).status_code for _ in range(2)] == [202, 202]
    assert_limited(await signed(vendor, hook))
    assert await inbox_count(hook.slug) == 2


async def test_refused_callbacks_are_limited_per_address_before_the_signature_is_checked(
        make_integration, from_address, address_budget):
    advance = address_budget(1 / 60, 3)
    hook = await make_integration("stripe")
    junk, vendor = await from_address(), await from_address()
    for _ in range(3):
        assert (await unsigned(junk, hook)).status_code == 401
    assert_limited(await unsigned(junk, hook))
    # Decided before the signature is checked: from this address even a genuinely signed
    # callback waits, and nothing is stored.
    assert_limited(await signed(junk, hook))
    assert await inbox_count(hook.slug) == 0
    # The vendor, elsewhere, is not affected.
    assert (await signed(vendor, hook)).status_code == 202
    # Unknown integrations are refusals too (each one costs a database lookup).
    assert_limited(await junk.post("/webhooks/no-such-integration", content=_event(),
                                   headers={"Content-Type": "application/json"}))
    # Once the bucket has refilled (a minute per request here), the address may try again.
    advance(61)
    assert (await signed(junk, hook)).status_code == 202
    assert await inbox_count(hook.slug) == 2


async def test_verified_callbacks_do_not_spend_the_address_budget(make_integration,
                                                                  from_address, address_budget):
    address_budget(1 / 60, 2)
    hook = await make_integration("stripe")
    vendor = await from_address()
    for _ in range(5):
        assert (await signed(vendor, hook)).status_code == 202
    assert [(await unsigned(vendor, hook)).status_code for _ in range(3)] == [401, 401, 429]


@pytest.mark.parametrize("refusal", ["unknown_integration", "content_type", "too_large",
                                     "bad_signature"])
async def test_each_kind_of_refusal_spends_the_address_budget(refusal, make_integration,
                                                              from_address, address_budget,
                                                              settings):
    address_budget(1 / 60, 2)
    hook = await make_integration("stripe")
    sender = await from_address()
    body = _event()
    slug, headers = hook.slug, stripe_headers(body, hook.secret)
    expected = {"unknown_integration": 404, "content_type": 415, "too_large": 413,
                "bad_signature": 401}[refusal]
    if refusal == "unknown_integration":
        slug = f"missing-{uuid.uuid4().hex[:8]}"
    elif refusal == "content_type":
        headers["Content-Type"] = "text/plain"
    elif refusal == "too_large":
        body = json.dumps({"padding": "x" * settings.webhook_max_body_bytes})
    else:
        headers = stripe_headers(body, "whsec_" + "x" * 32)
    codes = [(await sender.post(f"/webhooks/{slug}", content=body, headers=headers)).status_code
             for _ in range(3)]
    assert codes == [expected, expected, 429]
