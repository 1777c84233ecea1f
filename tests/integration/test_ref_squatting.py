"""A partner cannot claim a vendor's customer id: refs in a ref system an integration
resolves customers by are linked only by principals that administer integrations."""

from __future__ import annotations

import uuid

from webhook_kit import (
    LINK_REF,
    balance,
    payment_intent,
    settled,
    stripe_event,
)

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.customer.models import ExternalRef
from ccm_gateway.integration.models import InboundStatus

CREATE = """
mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"""
UPDATE_INTEGRATION = """
mutation($input: UpdateIntegrationInput!) { updateIntegration(input: $input) { refSystem } }"""


def _partner(gql):
    partner = f"partner-{uuid.uuid4().hex[:8]}"
    return partner, gql.token("finance", subject="portal", partner_id=partner)


async def test_a_partner_cannot_link_a_ref_in_an_integrations_system(
        gql, make_customer, make_integration, send_stripe):
    hook = await make_integration("stripe")
    partner, token = _partner(gql)
    own = await make_customer(partnerId=partner)
    vendor_id = f"cus_{uuid.uuid4().hex[:8]}"

    squat = await gql(LINK_REF, {"input": {"customerId": own, "system": hook.ref_system,
                                           "externalId": vendor_id}}, token=token)
    assert squat.error_code == "FORBIDDEN"
    assert squat.errors[0]["extensions"]["field"] == "system"
    assert not await ExternalRef.exists(system=hook.ref_system, external_id=vendor_id)

    # The vendor's payment for that id waits for its real owner instead of crediting the squatter.
    event = await settled((await send_stripe(hook, stripe_event(
        "payment_intent.succeeded", payment_intent(vendor_id, 900)))).json()["id"])
    assert event.status == InboundStatus.PARKED
    assert await balance(own) == 0
    # The operator's admin (customer:write + integration:write) links the real owner, audited.
    owner = await make_customer()
    linked = await gql(LINK_REF, {"input": {"customerId": owner, "system": hook.ref_system,
                                            "externalId": vendor_id}}, role="admin")
    assert linked.errors == []
    ref = await ExternalRef.get(system=hook.ref_system, external_id=vendor_id)
    assert await AuditEvent.exists(action="customer.link_external_ref", object_id=str(ref.id),
                                   actor_id="test-admin")


async def test_a_partner_cannot_create_a_customer_with_an_integrations_ref(
        gql, make_integration):
    hook = await make_integration("stripe")
    _, token = _partner(gql)
    name = f"Squatter {uuid.uuid4().hex[:8]}"
    result = await gql(CREATE, {"input": {
        "name": name, "segment": "haulage", "currency": "USD",
        "externalRefs": [{"system": hook.ref_system, "externalId": "cus_new"}]}}, token=token)
    assert result.error_code == "FORBIDDEN"
    assert not await ExternalRef.exists(system=hook.ref_system, external_id="cus_new")
    listed = await gql("""query($n: String!) { customers(first: 5, filter: {nameContains: $n})
                          { edges { node { id } } } }""", {"n": name})
    assert listed.data["customers"]["edges"] == []


async def test_roles_without_integration_admin_cannot_link_either(
        gql, make_customer, make_integration):
    hook = await make_integration("stripe")
    customer = await make_customer()
    result = await gql(LINK_REF, {"input": {"customerId": customer, "system": hook.ref_system,
                                            "externalId": "cus_fin"}}, role="finance")
    assert result.error_code == "FORBIDDEN"


async def test_a_ref_system_stays_reserved_after_the_integration_moves_to_another(
        gql, make_customer, make_integration):
    hook = await make_integration("stripe")
    moved = f"erp-{uuid.uuid4().hex[:8]}"
    detail = await gql("query($id: ID!) { integration(id: $id) { version } }", {"id": hook.id})
    result = await gql(UPDATE_INTEGRATION, {"input": {
        "id": hook.id, "refSystem": moved,
        "expectedVersion": detail.data["integration"]["version"]}})
    assert result.data["updateIntegration"]["refSystem"] == moved
    partner, token = _partner(gql)
    own = await make_customer(partnerId=partner)
    for system in (hook.ref_system, moved):
        squat = await gql(LINK_REF, {"input": {"customerId": own, "system": system,
                                               "externalId": "cus_x"}}, token=token)
        assert squat.error_code == "FORBIDDEN", system


async def test_a_partner_still_links_refs_in_its_own_systems(gql, make_customer):
    partner, token = _partner(gql)
    own = await make_customer(partnerId=partner)
    result = await gql(LINK_REF, {"input": {"customerId": own, "system": "portal-crm",
                                            "externalId": f"c-{uuid.uuid4().hex[:6]}"}},
                       token=token)
    assert result.errors == []
