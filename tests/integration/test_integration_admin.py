"""Integrations through GraphQL: create / update / enable / delete, secrets shown once and
encrypted at rest, health figures, the inbox listing, profiles and alerts."""

from __future__ import annotations

import json
import uuid

import pytest
from webhook_kit import (
    CREATE_INTEGRATION,
    payment_intent,
    settled,
    stripe_event,
)

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.integration.models import Integration

INTEGRATION = """
query($id: ID!) { integration(id: $id) {
  id slug name kind profile segments enabled version deletedAt secretOverlapSeconds
  rateLimit { perSecond burst }
  health { lastEventAt receivedLast24h failedLast24h failureRate deadLetters parked } } }"""
UPDATE = """
mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) {
  name segments version rateLimit { perSecond burst } } }"""
EVENTS = """
query($filter: InboundEventFilter, $first: Int, $after: String) {
  inboundEvents(filter: $filter, first: $first, after: $after) {
    edges { node { id externalId status canonicalType integrationId payloadRetained } }
    pageInfo { hasNextPage endCursor } } }"""


def _input(**extra):
    return {"slug": f"erp-{uuid.uuid4().hex[:10]}", "name": "ERP", "kind": "ERP",
            "profile": "stripe", "segments": ["haulage"]} | extra


async def test_secret_is_shown_once_and_stored_encrypted(gql):
    result = await gql(CREATE_INTEGRATION, {"input": _input()})
    created = result.data["createIntegration"]
    secret = created["secret"]
    assert secret.startswith("whsec_")
    row = await Integration.get(id=created["integration"]["id"])
    assert secret not in row.secret and row.previous_secret is None
    # No query returns it again, and the audit log never holds it.
    shown = await gql(INTEGRATION, {"id": str(row.id)})
    assert secret not in json.dumps(shown.body)
    audit = await AuditEvent.filter(object_id=str(row.id)).values_list("after", flat=True)
    assert audit and secret not in json.dumps(list(audit))


async def test_a_supplied_secret_is_not_echoed(gql):
    result = await gql(CREATE_INTEGRATION, {"input": _input(secret="whsec_" + "a1" * 16)})
    assert result.data["createIntegration"]["secret"] is None


@pytest.mark.parametrize(("change", "field"), [
    ({"slug": "Bad Slug"}, "slug"),
    ({"name": " "}, "name"),
    ({"profile": "no-such-profile"}, "profile"),
    ({"segments": []}, "segments"),
    ({"segments": ["ok", "bad segment"]}, "segments"),
    ({"refSystem": "has space"}, "refSystem"),
    ({"rateLimit": {"perSecond": 0, "burst": 1}}, "rateLimit.perSecond"),
    ({"rateLimit": {"perSecond": 5, "burst": 0}}, "rateLimit.burst"),
    ({"secretOverlapSeconds": -1}, "secretOverlapSeconds"),
    ({"profile": "standard-webhooks", "secret": "not-a-whsec"}, "secret"),
])
async def test_bad_input_is_refused_and_nothing_is_created(gql, change, field):
    payload = _input(**change)
    before = await Integration.all().count()
    result = await gql(CREATE_INTEGRATION, {"input": payload})
    assert result.error_code in ("BAD_USER_INPUT", "NOT_FOUND"), result.errors
    assert result.errors[0]["extensions"].get("field") == field
    assert await Integration.all().count() == before


async def test_slug_is_unique_even_after_delete(gql):
    payload = _input()
    created = (await gql(CREATE_INTEGRATION, {"input": payload})).data["createIntegration"]
    await gql("""mutation($input: DeleteIntegrationInput!) {
        deleteIntegration(input: $input) { enabled deletedAt } }""",
              {"input": {"id": created["integration"]["id"]}})
    again = await gql(CREATE_INTEGRATION, {"input": payload})
    assert again.error_code == "CONFLICT"


async def test_update_is_versioned_and_audited(gql):
    created = (await gql(CREATE_INTEGRATION, {"input": _input()})).data["createIntegration"]
    integration_id = created["integration"]["id"]
    result = await gql(UPDATE, {"input": {"id": integration_id, "expectedVersion": 1,
                                          "name": "ERP west", "segments": ["haulage", "retail"],
                                          "rateLimit": {"perSecond": 10, "burst": 20}}})
    updated = result.data["updateIntegration"]
    assert updated["name"] == "ERP west" and updated["version"] == 2
    assert updated["segments"] == ["haulage", "retail"]
    assert updated["rateLimit"] == {"perSecond": 10, "burst": 20}
    zero = await gql(UPDATE, {"input": {"id": integration_id,
                                        "rateLimit": {"perSecond": 0, "burst": 5}}})
    assert zero.error_code == "BAD_USER_INPUT"
    assert zero.errors[0]["extensions"]["field"] == "rateLimit.perSecond"
    stale = await gql(UPDATE, {"input": {"id": integration_id, "expectedVersion": 1,
                                         "name": "lost"}})
    assert stale.error_code == "CONFLICT"
    actions = await AuditEvent.filter(object_id=integration_id).values_list("action", flat=True)
    assert list(actions) == ["integration.create", "integration.update"]


async def test_list_and_health_figures(gql, make_integration, linked_customer, send_stripe):
    hook = await make_integration("stripe")
    await linked_customer(hook, "cus_h")
    ok = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                              payment_intent("cus_h", 10)))
    parked = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                  payment_intent("cus_unknown", 10)))
    await settled(ok.json()["id"])
    await settled(parked.json()["id"])
    health = (await gql(INTEGRATION, {"id": hook.id})).data["integration"]["health"]
    assert health["receivedLast24h"] == 2 and health["failedLast24h"] == 1
    assert health["failureRate"] == 0.5 and health["parked"] == 1
    assert health["deadLetters"] == 0 and health["lastEventAt"] is not None
    seen, after = [], None
    while True:  # every page, by slug
        page = (await gql("""query($a: String) { integrations(first: 100, after: $a) {
            edges { node { slug } } pageInfo { hasNextPage endCursor } } }""", {"a": after})
                ).data["integrations"]
        seen += [e["node"]["slug"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert hook.slug in seen and seen == sorted(seen)


async def test_inbound_events_filters_and_pages(gql, make_integration, linked_customer,
                                                send_stripe):
    hook = await make_integration("stripe")
    await linked_customer(hook, "cus_f")
    ids = []
    for _ in range(3):
        response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                        payment_intent("cus_f", 1)))
        ids.append(response.json()["id"])
    for event_id in ids:
        await settled(event_id)
    flt = {"integrationId": hook.id, "status": "APPLIED"}
    first = (await gql(EVENTS, {"filter": flt, "first": 2})).data["inboundEvents"]
    assert len(first["edges"]) == 2 and first["pageInfo"]["hasNextPage"]
    rest = (await gql(EVENTS, {"filter": flt, "first": 2,
                               "after": first["pageInfo"]["endCursor"]})).data["inboundEvents"]
    seen = [e["node"]["id"] for e in first["edges"] + rest["edges"]]
    assert sorted(seen) == sorted(ids) and not rest["pageInfo"]["hasNextPage"]
    assert all(e["node"]["canonicalType"] == "payment.succeeded" for e in first["edges"])
    none = await gql(EVENTS, {"filter": {"integrationId": hook.id, "status": "DEAD"}})
    assert none.data["inboundEvents"]["edges"] == []


async def test_shipped_profiles_are_listed(gql):
    result = await gql("query { protocolProfiles { name source scheme eventTypes } }")
    names = {p["name"]: p for p in result.data["protocolProfiles"]}
    assert {"standard-webhooks", "stripe", "generic-bms", "legacy-form"} <= set(names)
    assert names["stripe"]["source"] == "shipped"
    assert "payment_intent.succeeded" in names["stripe"]["eventTypes"]


async def test_uploaded_profile_names_line_and_field_of_an_error(gql):
    upload = """mutation($input: UploadProtocolProfileInput!) {
        uploadProtocolProfile(input: $input) { name source } }"""
    stripe = _profile_source("stripe")
    bad = stripe.replace("name: stripe", "name: acme", 1).replace("scheme: stripe",
                                                                  "scheme: rot13", 1)
    line = bad.splitlines().index("  scheme: rot13") + 1
    result = await gql(upload, {"input": {"source": bad}})
    assert result.error_code == "BAD_USER_INPUT"
    assert f"line {line}," in result.errors[0]["message"]
    assert "signature.scheme" in result.errors[0]["message"]
    shipped = await gql(upload, {"input": {"source": _profile_source("stripe")}})
    assert shipped.error_code == "CONFLICT"


def _profile_source(name: str) -> str:
    from ccm_gateway.db import webhooks_dir

    return (webhooks_dir() / f"{name}.yaml").read_text()


async def test_an_uploaded_profile_serves_a_new_vendor(gql, make_integration, linked_customer,
                                                       send_stripe):
    upload = """mutation($input: UploadProtocolProfileInput!) {
        uploadProtocolProfile(input: $input) { name source eventTypes } }"""
    name = f"acme-{uuid.uuid4().hex[:6]}"
    source = _profile_source("stripe").replace("name: stripe", f"name: {name}", 1)
    result = await gql(upload, {"input": {"source": source}})
    assert result.data["uploadProtocolProfile"]["source"] == "uploaded"
    hook = await make_integration(name)
    customer = await linked_customer(hook, "cus_acme")
    response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                    payment_intent("cus_acme", 42)))
    assert response.status_code == 202
    assert (await settled(response.json()["id"])).status == "applied"
    from webhook_kit import balance

    assert await balance(customer) == -42


@pytest.mark.parametrize("role", ["viewer", "finance", "credit_manager"])
async def test_only_integration_admins_change_integrations(gql, role):
    result = await gql(CREATE_INTEGRATION, {"input": _input()}, role=role)
    assert result.error_code == "FORBIDDEN"


async def test_partner_principals_cannot_see_integrations(gql):
    token = gql.token("it_admin", partner_id="p-1")
    result = await gql("query { integrations { edges { node { slug } } } }", token=token)
    assert result.error_code == "FORBIDDEN"


async def test_alerts_are_listed_newest_first(gql, make_integration, send_stripe):
    hook = await make_integration("stripe")
    for _ in range(2):
        response = await send_stripe(hook, stripe_event("payment_intent.succeeded",
                                                        payment_intent("cus_nobody", 1)))
        await settled(response.json()["id"])
    result = await gql("""query($id: ID) { alerts(integrationId: $id, first: 1) {
        edges { node { kind severity integrationId createdAt } }
        pageInfo { hasNextPage endCursor } } }""", {"id": hook.id})
    page = result.data["alerts"]
    assert page["edges"][0]["node"]["kind"] == "webhook.parked.unknown_customer"
    assert page["edges"][0]["node"]["severity"] == "WARNING"
    assert page["pageInfo"]["hasNextPage"]


async def test_a_page_of_integrations_with_health_costs_a_fixed_number_of_queries(
        gql, make_integration, count_queries):
    for _ in range(3):
        await make_integration("stripe")
    query = """query($n: Int) { integrations(first: $n) { edges { node { slug
        health { receivedLast24h failureRate deadLetters } } } } }"""
    counts = []
    for size in (2, 10):
        count_queries.count = 0
        assert len((await gql(query, {"n": size})).data["integrations"]["edges"]) == size
        counts.append(count_queries.count)
    assert counts[0] == counts[1] > 0



async def test_an_uploaded_profile_in_use_keeps_its_signature_scheme(gql, make_integration):
    upload = """mutation($input: UploadProtocolProfileInput!) {
        uploadProtocolProfile(input: $input) { name } }"""
    name = f"inuse-{uuid.uuid4().hex[:6]}"
    stripe_like = _profile_source("stripe").replace("name: stripe", f"name: {name}", 1)
    assert (await gql(upload, {"input": {"source": stripe_like}})).data
    await make_integration(name)
    bms_like = _profile_source("generic-bms").replace("name: generic-bms",
                                                            f"name: {name}", 1)
    refused = await gql(upload, {"input": {"source": bms_like}})
    assert refused.error_code == "BAD_USER_INPUT"
    assert refused.errors[0]["extensions"]["field"] == "source"
    listed = await gql("query { protocolProfiles { name scheme } }")
    assert {"name": name, "scheme": "stripe"} in listed.data["protocolProfiles"]
