"""The profile's collect section: what loads, and what is refused naming the field."""

from __future__ import annotations

import pytest

from ccm_gateway.integration.profiles.loading import ProfileError, load_profile, shipped_profiles

BASE = """name: psp-test
description: test
body: json
signature: {scheme: standard-webhooks}
event: {id: "header:webhook-id", type: type}
events:
  paid:
    canonical: payment.succeeded
    fields: {customer: c, amount: {path: a, format: minor}, currency: cur, collection: ref}
"""
STRIPE = """collect:
  adapter: stripe
  url: https://api.stripe.example
  auth: {scheme: bearer, credential: endpoint_credentials}
"""
JSON = """collect:
  adapter: json
  auth: {scheme: bearer, credential: integration_secret}
  charge:
    url: https://psp.example/charges
    body: {amount: "{amount_minor}", ref: "{reference}"}
  status: {url: "https://psp.example/charges?key={idempotency_key}"}
  result: {status: state, succeeded: [ok], declined: [refused]}
"""


def load(text: str):
    return load_profile(BASE + text, "upload")


def test_the_shipped_collect_sections_load() -> None:
    stripe = shipped_profiles()["stripe"].collect
    psp = shipped_profiles()["generic-psp"].collect

    assert stripe is not None and stripe.adapter == "stripe"
    assert stripe.url == "https://api.stripe.com" and stripe.timeout_seconds == 20
    assert psp is not None and psp.charge is not None and psp.result is not None
    assert dict(psp.charge.body)["amount_cents"] == "{amount_minor}"
    assert psp.idempotency_header == "x-request-key"
    assert psp.result.declined == ("refused",) and psp.result.status == ("payment", "state")


def test_a_minimal_json_collect_section_loads_with_its_defaults() -> None:
    spec = load(JSON).collect

    assert spec is not None and spec.charge is not None and spec.status is not None
    assert (spec.charge.method, spec.status.method) == ("POST", "GET")
    assert spec.timeout_seconds == 10 and spec.idempotency_header == "idempotency-key"
    assert spec.auth.credential == "integration_secret"
    assert load("").events[0].field("collection") is not None


@pytest.mark.parametrize(("text", "field"), [
    (STRIPE.replace("stripe\n", "paypal\n", 1), "collect.adapter"),
    (STRIPE.replace("  url: https://api.stripe.example\n", ""), "collect.url"),
    (STRIPE.replace("https://api", "ftp://api"), "collect.url"),
    (STRIPE.replace("endpoint_credentials", "sk_live_abc"), "collect.auth.credential"),
    (STRIPE + "  timeout_seconds: 0\n", "collect.timeout_seconds"),
    (JSON.replace("{reference}", "{secret}"), "collect.charge.body.ref"),
    (JSON.replace("{idempotency_key}", "{api_key}"), "collect.status.url"),
    (JSON.replace("  result: {status: state, succeeded: [ok], declined: [refused]}\n", ""),
     "collect.result"),
    (JSON.replace("succeeded: [ok]", "succeeded: []"), "collect.result.succeeded"),
    (JSON.replace("body: {amount", "bodyy: {amount"), "collect.charge.bodyy"),
])
def test_a_bad_collect_section_is_refused_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(ProfileError) as refused:
        load(text)

    assert refused.value.field == field, refused.value.message
    assert "sk_live_abc" not in refused.value.message
