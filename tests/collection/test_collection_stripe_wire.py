"""The Stripe adapter speaks raw httpx (its client is injected, with the profile's
timeouts); these tests hold it and the fake Stripe to Stripe's own library: the official
client's requests and ours carry the same form fields, each finds the other's intents
the way Stripe searches, and a decline that the library raises as a CardError is what
the adapter reads as DECLINED."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import stripe
from processors import API_KEY

from ccm_gateway.collection.adapters import ChargeRequest, ChargeStatus, adapter_for
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import Integration

# stripe's HTTPXClient hands httpx its body as data=bytes, which httpx deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")


@pytest.fixture
async def official(make_processor: Any) -> AsyncIterator[tuple[Any, stripe.StripeClient]]:
    processor = await make_processor("stripe")
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(API_KEY, base_addresses={"api": processor.fake.base_url},
                                 http_client=http, max_network_retries=0)
    yield processor, client
    await http.close_async()


async def _adapter(processor: Any, client: httpx.AsyncClient) -> Any:
    integration = await Integration.get(id=processor.integration_id)
    spec = (await integration_service.resolve_profile(integration.profile)).collect
    assert spec is not None
    return adapter_for(spec, client, API_KEY)


def _form(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.body.decode()).items()}


async def test_our_charge_sends_what_the_official_client_sends(
        official: tuple[Any, stripe.StripeClient]) -> None:
    processor, client = official
    fake = processor.fake
    fake.add_customer("cus_wire")
    theirs = await client.v1.payment_intents.create_async(params={
        "amount": 1000, "currency": "usd", "customer": "cus_wire",
        "payment_method": "pm_card_visa", "off_session": True, "confirm": True,
        "metadata": {"ccm_reference": "col_theirs", "ccm_idempotency_key": "k-theirs"}},
        options={"idempotency_key": "k-theirs"})
    async with httpx.AsyncClient() as http:
        ours = await (await _adapter(processor, http)).charge(ChargeRequest(
            reference="col_ours", idempotency_key="k-ours", amount_minor=1000,
            currency="USD", customer_ref="cus_wire"))

    their_request, our_request = fake.requests("/v1/payment_intents")
    assert theirs.status == "succeeded" and ours.status == ChargeStatus.SUCCEEDED
    assert set(_form(our_request)) == set(_form(their_request))
    assert _form(our_request) | {"metadata[ccm_reference]": "col_theirs",
                                 "metadata[ccm_idempotency_key]": "k-theirs"} == \
        _form(their_request)
    assert our_request.headers["idempotency-key"] == "k-ours"
    assert their_request.headers["idempotency-key"] == "k-theirs"


async def test_each_finds_the_others_intent_by_our_reference(
        official: tuple[Any, stripe.StripeClient]) -> None:
    processor, client = official
    processor.fake.add_customer("cus_find")
    async with httpx.AsyncClient() as http:
        adapter = await _adapter(processor, http)
        ours = await adapter.charge(ChargeRequest(
            reference="col_find1", idempotency_key="col_find1-0-0", amount_minor=250,
            currency="USD", customer_ref="cus_find"))
        found = await client.v1.payment_intents.search_async(
            params={"query": "metadata['ccm_reference']:'col_find1'"})
        await client.v1.payment_intents.create_async(params={
            "amount": 300, "currency": "usd", "customer": "cus_find",
            "payment_method": "pm_card_visa", "off_session": True, "confirm": True,
            "metadata": {"ccm_reference": "col_find2", "ccm_idempotency_key": "col_find2-0-0"}})
        status = await adapter.status("col_find2", "col_find2-0-0")
        by_id = await adapter.status("col_find1", "col_find1-0-0", ours.payment_id)
        none = await adapter.status("col_nobody", "col_nobody-0-0")

    assert [i.id for i in found.data] == [ours.payment_id]
    assert status.status == ChargeStatus.SUCCEEDED and status.payment_id
    assert by_id.status == ChargeStatus.SUCCEEDED and by_id.payment_id == ours.payment_id
    assert none.status == ChargeStatus.NOT_FOUND


async def test_a_decline_the_library_raises_as_a_card_error_is_declined(
        official: tuple[Any, stripe.StripeClient]) -> None:
    processor, client = official
    processor.fake.add_customer("cus_poor")
    processor.fake.program.decline = 2
    with pytest.raises(stripe.CardError) as raised:
        await client.v1.payment_intents.create_async(params={
            "amount": 999, "currency": "usd", "customer": "cus_poor",
            "payment_method": "pm_card_visa", "off_session": True, "confirm": True})
    async with httpx.AsyncClient() as http:
        ours = await (await _adapter(processor, http)).charge(ChargeRequest(
            reference="col_poor", idempotency_key="col_poor-0-0", amount_minor=999,
            currency="USD", customer_ref="cus_poor"))

    assert raised.value.code == "card_declined"
    assert ours.status == ChargeStatus.DECLINED and ours.status_code == 402
    assert ours.decline_code == "insufficient_funds" and ours.payment_id
