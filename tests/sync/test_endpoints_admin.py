"""Outbound endpoints through GraphQL: create, versioned update, enable, rotate, delete; the
signing secret shown once and stored encrypted, credentials never returned, every change
audited without secrets, and partner principals refused."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from endpoint_kit import (
    CREATE_ENDPOINT,
    DELETE,
    ENDPOINT,
    RECEIVER,
    ROTATE,
    SET_ENABLED,
    UPDATE_ENDPOINT,
    endpoint_input,
    make_delivery,
    make_endpoint,
    make_integration,
)
from standardwebhooks.webhooks import Webhook

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.kit import standard_webhooks
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.outbound.models import (
    DeliveryStatus,
    OutboundDelivery,
    OutboundEndpoint,
    credentials_context,
    secret_context,
)


@pytest.fixture
def box(settings):
    return SecretBox.from_settings(settings)


async def _audit(endpoint_id: str) -> list[AuditEvent]:
    return list(await AuditEvent.filter(object_type="outbound_endpoint",
                                        object_id=endpoint_id).order_by("seq"))


async def test_the_secret_is_shown_once_and_stored_encrypted(gql, box):
    partner = await make_integration(gql)
    created = await make_endpoint(gql, partner.integration_id, description="  Gate sync  ")
    secret, endpoint = created["secret"], created["endpoint"]
    assert secret.startswith("whsec_") and len(standard_webhooks.key(secret)) == 32
    assert endpoint["description"] == "Gate sync" and endpoint["timeoutSeconds"] == 10
    assert endpoint["version"] == 1 and endpoint["enabled"] and endpoint["credentialsType"] is None
    row = await OutboundEndpoint.get(id=endpoint["id"])
    assert row.secret != secret and secret not in row.secret
    assert box.decrypt(row.secret, context=secret_context(row.id)) == secret
    # What we sign with, the official library verifies with the secret shown.
    body = b'{"type":"alert.raised"}'
    now = int(datetime.now(UTC).timestamp())
    headers = standard_webhooks.headers([box.decrypt(row.secret, context=secret_context(row.id))],
                                        "msg_1", now, body)
    Webhook(secret).verify(body, headers)
    shown = await gql(ENDPOINT, {"id": endpoint["id"]})
    assert shown.data["outboundEndpoint"]["id"] == endpoint["id"]
    assert secret not in json.dumps(shown.body)
    audit = await _audit(endpoint["id"])
    assert [a.action for a in audit] == ["outbound_endpoint.create"]
    assert audit[0].after["url"] == RECEIVER and secret not in json.dumps(audit[0].after)
    assert row.secret not in json.dumps(audit[0].after)


@pytest.mark.parametrize(("credentials", "kind", "stored"), [
    ({"bearerToken": "tok_live_abc.123"}, "BEARER",
     {"type": "bearer", "token": "tok_live_abc.123"}),
    ({"oauth2ClientCredentials": {"tokenUrl": "http://127.0.0.1:9/oauth/token",
                                  "clientId": "gateway", "clientSecret": "s3cr3t-value",
                                  "scope": "balances:write"}},
     "OAUTH2_CLIENT_CREDENTIALS",
     {"type": "oauth2_client_credentials", "token_url": "http://127.0.0.1:9/oauth/token",
      "client_id": "gateway", "client_secret": "s3cr3t-value", "scope": "balances:write"}),
])
async def test_credentials_are_stored_encrypted_and_never_returned(gql, box, credentials, kind,
                                                                   stored):
    partner = await make_integration(gql)
    result = await gql(CREATE_ENDPOINT, {"input": endpoint_input(partner.integration_id,
                                                                  credentials=credentials)})
    created = result.data["createOutboundEndpoint"]
    assert created["endpoint"]["credentialsType"] == kind
    plain = stored.get("token") or stored["client_secret"]
    assert plain not in json.dumps(result.body)
    row = await OutboundEndpoint.get(id=created["endpoint"]["id"])
    assert row.credentials and plain not in row.credentials
    assert json.loads(box.decrypt(row.credentials, context=credentials_context(row.id))) == stored
    # Bound to this endpoint's credentials context: not its secret's.
    with pytest.raises(Exception, match="decrypt"):
        box.decrypt(row.credentials, context=secret_context(row.id))
    shown = await gql(ENDPOINT, {"id": str(row.id)})
    assert plain not in json.dumps(shown.body)
    audit = await _audit(str(row.id))
    assert audit[0].after["credentials_type"] == stored["type"]
    assert plain not in json.dumps(audit[0].after)


async def test_a_second_kind_of_credentials_at_once_is_refused(gql):
    partner = await make_integration(gql)
    before = await OutboundEndpoint.all().count()
    result = await gql(CREATE_ENDPOINT, {"input": endpoint_input(
        partner.integration_id, credentials={
            "bearerToken": "t", "oauth2ClientCredentials": {
                "tokenUrl": "http://127.0.0.1:9/t", "clientId": "a", "clientSecret": "b"}})})
    assert result.error_code == "BAD_USER_INPUT"
    assert await OutboundEndpoint.all().count() == before


async def test_update_is_versioned_audited_and_clears_what_is_given_as_null(gql, box):
    partner = await make_integration(gql)
    created = await make_endpoint(gql, partner.integration_id,
                                  fallbackUrl="http://127.0.0.1:9/fallback",
                                  rateLimitPerSecond=20, description="first",
                                  credentials={"bearerToken": "tok-1"})
    endpoint_id = created["endpoint"]["id"]
    result = await gql(UPDATE_ENDPOINT, {"input": {
        "id": endpoint_id, "expectedVersion": 1, "url": "http://127.0.0.1:9/v2",
        "eventTypes": ["credit.updated", "alert.raised", "credit.updated"],
        "timeoutSeconds": 30, "fallbackUrl": None, "rateLimitPerSecond": None}})
    updated = result.data["updateOutboundEndpoint"]
    assert updated["version"] == 2 and updated["url"] == "http://127.0.0.1:9/v2"
    assert updated["eventTypes"] == ["credit.updated", "alert.raised"]
    assert updated["timeoutSeconds"] == 30 and updated["fallbackUrl"] is None
    assert updated["rateLimitPerSecond"] is None
    # Left out: kept.
    assert updated["description"] == "first" and updated["credentialsType"] == "BEARER"
    stale = await gql(UPDATE_ENDPOINT, {"input": {"id": endpoint_id, "expectedVersion": 1,
                                                  "description": "lost"}})
    assert stale.error_code == "CONFLICT"
    assert stale.errors[0]["extensions"]["field"] == "expectedVersion"
    cleared = (await gql(UPDATE_ENDPOINT, {"input": {
        "id": endpoint_id, "expectedVersion": 2, "credentials": None,
        "description": None}})).data["updateOutboundEndpoint"]
    assert cleared["credentialsType"] is None and cleared["description"] is None
    row = await OutboundEndpoint.get(id=endpoint_id)
    assert row.credentials is None and row.version == 3
    audit = await _audit(endpoint_id)
    assert [a.action for a in audit] == ["outbound_endpoint.create", "outbound_endpoint.update",
                                         "outbound_endpoint.update"]
    assert audit[1].before["url"] == RECEIVER and audit[1].after["url"].endswith("/v2")
    assert audit[1].before["fallback_url"].endswith("/fallback")
    assert audit[1].after["fallback_url"] is None
    assert audit[2].before["credentials_type"] == "bearer"
    assert audit[2].after["credentials_type"] is None
    assert "tok-1" not in json.dumps([a.before for a in audit] + [a.after for a in audit])


async def test_a_refused_update_changes_nothing(gql):
    partner = await make_integration(gql)
    created = await make_endpoint(gql, partner.integration_id)
    endpoint_id = created["endpoint"]["id"]
    result = await gql(UPDATE_ENDPOINT, {"input": {
        "id": endpoint_id, "expectedVersion": 1, "description": "new",
        "timeoutSeconds": 31}})
    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == "timeoutSeconds"
    row = await OutboundEndpoint.get(id=endpoint_id)
    assert row.description is None and row.version == 1
    assert len(await _audit(endpoint_id)) == 1


async def test_disabling_records_why_and_enabling_clears_it_and_the_failing_run(gql):
    partner = await make_integration(gql)
    endpoint_id = (await make_endpoint(gql, partner.integration_id))["endpoint"]["id"]
    off = (await gql(SET_ENABLED, {"input": {"id": endpoint_id, "enabled": False}})
           ).data["setOutboundEndpointEnabled"]
    assert off["enabled"] is False and off["version"] == 2
    assert off["disabledReason"] == "disabled by user test-admin"
    # As the deliverers leave an endpoint they disabled after days of failures.
    await OutboundEndpoint.filter(id=endpoint_id).update(
        disabled_reason="failing for 5 days", failing_since=datetime(2025, 1, 1, tzinfo=UTC))
    on = (await gql(SET_ENABLED, {"input": {"id": endpoint_id, "enabled": True}})
          ).data["setOutboundEndpointEnabled"]
    assert on["enabled"] is True and on["disabledReason"] is None
    row = await OutboundEndpoint.get(id=endpoint_id)
    assert row.failing_since is None and row.disabled_reason is None
    again = (await gql(SET_ENABLED, {"input": {"id": endpoint_id, "enabled": True}})
             ).data["setOutboundEndpointEnabled"]
    assert again["version"] == on["version"]  # no change, no new version
    audit = await _audit(endpoint_id)
    assert [a.action for a in audit] == ["outbound_endpoint.create", "outbound_endpoint.disable",
                                         "outbound_endpoint.enable"]
    assert audit[2].before["disabled_reason"] == "failing for 5 days"
    assert audit[2].after["enabled"] is True


async def test_rotation_keeps_the_previous_secret_for_the_overlap(gql, box):
    partner = await make_integration(gql)
    created = await make_endpoint(gql, partner.integration_id)
    endpoint_id, first = created["endpoint"]["id"], created["secret"]
    result = await gql(ROTATE, {"input": {"id": endpoint_id, "overlapSeconds": 3600}})
    rotated = result.data["rotateOutboundEndpointSecret"]
    second = rotated["secret"]
    assert second.startswith("whsec_") and second != first
    expires = datetime.fromisoformat(rotated["endpoint"]["previousSecretExpiresAt"])
    assert 3500 < (expires - datetime.now(UTC)).total_seconds() <= 3600
    row = await OutboundEndpoint.get(id=endpoint_id)
    context = secret_context(row.id)
    assert box.decrypt(row.secret, context=context) == second
    assert row.previous_secret is not None
    assert box.decrypt(row.previous_secret, context=context) == first
    # During the overlap a delivery signed with both verifies with either secret.
    body, now = b"{}", int(datetime.now(UTC).timestamp())
    headers = standard_webhooks.headers([second, first], "msg_2", now, body)
    Webhook(first).verify(body, headers)
    Webhook(second).verify(body, headers)
    assert first not in json.dumps(result.body)
    none = (await gql(ROTATE, {"input": {"id": endpoint_id, "overlapSeconds": 0}})
            ).data["rotateOutboundEndpointSecret"]
    assert none["endpoint"]["previousSecretExpiresAt"] is None
    assert (await OutboundEndpoint.get(id=endpoint_id)).previous_secret is None
    audit = await _audit(endpoint_id)
    assert [a.action for a in audit][-2:] == ["outbound_endpoint.rotate_secret"] * 2
    assert not any(s in json.dumps([a.after for a in audit]) for s in (first, second))
    too_long = await gql(ROTATE, {"input": {"id": endpoint_id, "overlapSeconds": -1}})
    assert too_long.errors[0]["extensions"]["field"] == "overlapSeconds"


async def test_delete_keeps_the_row_skips_what_waits_and_refuses_further_changes(gql):
    partner = await make_integration(gql)
    endpoint_id = (await make_endpoint(gql, partner.integration_id))["endpoint"]["id"]
    waiting = await make_delivery(endpoint_id, status=DeliveryStatus.RETRYING)
    done = await make_delivery(endpoint_id, status=DeliveryStatus.SUCCEEDED)
    deleted = (await gql(DELETE, {"input": {"id": endpoint_id}})).data["deleteOutboundEndpoint"]
    assert deleted["deletedAt"] is not None and deleted["enabled"] is False
    assert (await OutboundDelivery.get(id=waiting.id)).status == DeliveryStatus.SKIPPED
    assert (await OutboundDelivery.get(id=done.id)).status == DeliveryStatus.SUCCEEDED
    again = await gql(DELETE, {"input": {"id": endpoint_id}})
    assert again.data["deleteOutboundEndpoint"]["version"] == deleted["version"]
    for mutation, payload in ((UPDATE_ENDPOINT, {"expectedVersion": deleted["version"],
                                                  "description": "x"}),
                              (SET_ENABLED, {"enabled": True}), (ROTATE, {})):
        refused = await gql(mutation, {"input": {"id": endpoint_id} | payload})
        assert refused.error_code == "CONFLICT", mutation
    listed = await gql("""query($i: ID!) { outboundEndpoints(integrationId: $i) {
        edges { node { id } } } }""", {"i": partner.integration_id})
    assert listed.data["outboundEndpoints"]["edges"] == []
    audit = await _audit(endpoint_id)
    assert [a.action for a in audit] == ["outbound_endpoint.create", "outbound_endpoint.delete"]


async def test_an_endpoint_needs_a_live_integration(gql):
    missing = await gql(CREATE_ENDPOINT, {"input": endpoint_input(str(uuid.uuid4()))})
    assert missing.error_code == "NOT_FOUND"
    assert missing.errors[0]["extensions"]["field"] == "integrationId"
    partner = await make_integration(gql)
    await gql("""mutation($i: ID!) { deleteIntegration(input: {id: $i}) { id } }""",
              {"i": partner.integration_id})
    gone = await gql(CREATE_ENDPOINT, {"input": endpoint_input(partner.integration_id)})
    assert gone.error_code == "CONFLICT"
    assert gone.errors[0]["extensions"]["field"] == "integrationId"


async def test_a_role_without_integration_write_cannot_manage_endpoints(gql):
    partner = await make_integration(gql)
    refused = await gql(CREATE_ENDPOINT, {"input": endpoint_input(partner.integration_id)},
                        role="auditor")
    assert refused.error_code == "FORBIDDEN"
    endpoint_id = (await make_endpoint(gql, partner.integration_id))["endpoint"]["id"]
    read = await gql(ENDPOINT, {"id": endpoint_id}, role="auditor")
    assert read.data["outboundEndpoint"]["id"] == endpoint_id


async def test_partner_principals_can_neither_see_nor_manage_endpoints(gql):
    partner = await make_integration(gql)
    endpoint_id = (await make_endpoint(gql, partner.integration_id))["endpoint"]["id"]
    portal = gql.token("admin", subject="portal-admin", partner_id="partner-1")
    attempts = [
        (CREATE_ENDPOINT, {"input": endpoint_input(partner.integration_id)}),
        (UPDATE_ENDPOINT, {"input": {"id": endpoint_id, "expectedVersion": 1,
                                     "description": "x"}}),
        (SET_ENABLED, {"input": {"id": endpoint_id, "enabled": False}}),
        (ROTATE, {"input": {"id": endpoint_id}}),
        (DELETE, {"input": {"id": endpoint_id}}),
        (ENDPOINT, {"id": endpoint_id}),
        ("query { outboundEndpoints { edges { node { id } } } }", {}),
        ("query($id: ID!) { node(id: $id) { id } }", {"id": endpoint_id}),
    ]
    for query, variables in attempts:
        result = await gql(query, variables, token=portal)
        if "node(id" in query:
            assert result.data == {"node": None}
        else:
            assert result.error_code == "FORBIDDEN", query
    row = await OutboundEndpoint.get(id=endpoint_id)
    assert row.version == 1 and row.enabled and row.deleted_at is None


async def test_node_finds_an_endpoint_by_its_id(gql):
    partner = await make_integration(gql)
    endpoint_id = (await make_endpoint(gql, partner.integration_id))["endpoint"]["id"]
    found = await gql("""query($id: ID!) { node(id: $id) { __typename id
        ... on OutboundEndpoint { integration { id } } } }""", {"id": endpoint_id})
    assert found.data["node"] == {"__typename": "OutboundEndpoint", "id": endpoint_id,
                                  "integration": {"id": partner.integration_id}}
