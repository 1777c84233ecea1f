"""Helpers for the outbound endpoint tests (a module, not a conftest: see tests/testkit.py):
integrations and endpoints made through GraphQL, each integration with a segment of its
own, so that the dispatcher sends it nothing from the other tests' customers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ccm_gateway.outbound.models import (
    AttemptTarget,
    DeliveryStatus,
    OutboundAttempt,
    OutboundDelivery,
)

ENDPOINT_FIELDS = """id integrationId url fallbackUrl eventTypes timeoutSeconds
  rateLimitPerSecond description credentialsType enabled disabledReason
  previousSecretExpiresAt deletedAt version"""
CREATE_INTEGRATION = """
mutation($input: CreateIntegrationInput!) { createIntegration(input: $input) {
  integration { id } } }"""
CREATE_ENDPOINT = f"""
mutation($input: CreateOutboundEndpointInput!) {{ createOutboundEndpoint(input: $input) {{
  secret endpoint {{ {ENDPOINT_FIELDS} }} }} }}"""
UPDATE_ENDPOINT = f"""
mutation($input: UpdateOutboundEndpointInput!) {{ updateOutboundEndpoint(input: $input) {{
  {ENDPOINT_FIELDS} }} }}"""
SET_ENABLED = f"""
mutation($input: SetOutboundEndpointEnabledInput!) {{
  setOutboundEndpointEnabled(input: $input) {{ {ENDPOINT_FIELDS} }} }}"""
ROTATE = f"""
mutation($input: RotateOutboundEndpointSecretInput!) {{
  rotateOutboundEndpointSecret(input: $input) {{ secret endpoint {{ {ENDPOINT_FIELDS} }} }} }}"""
DELETE = f"""
mutation($input: DeleteOutboundEndpointInput!) {{
  deleteOutboundEndpoint(input: $input) {{ {ENDPOINT_FIELDS} }} }}"""
ENDPOINT = f"""
query($id: ID!) {{ outboundEndpoint(id: $id) {{ {ENDPOINT_FIELDS} }} }}"""

# A receiver URL the dev settings accept; nothing listens there, and nothing is sent in
# these tests that check what is stored.
RECEIVER = "http://127.0.0.1:9/hooks"


@dataclass
class Partner:
    """An integration of the tests' own: its id and the one segment it may see."""

    integration_id: str
    segment: str


async def make_integration(gql: Any, *, segment: str | None = None) -> Partner:
    segment = segment or f"seg-{uuid.uuid4().hex[:10]}"
    result = await gql(CREATE_INTEGRATION, {"input": {
        "slug": f"out-{uuid.uuid4().hex[:10]}", "name": "Outbound test", "kind": "ERP",
        "profile": "stripe", "segments": [segment]}})
    return Partner(result.data["createIntegration"]["integration"]["id"], segment)


def endpoint_input(integration_id: str, **extra: Any) -> dict[str, Any]:
    return {"integrationId": integration_id, "url": RECEIVER,
            "eventTypes": ["ledger.entry.posted"]} | extra


async def make_endpoint(gql: Any, integration_id: str, **extra: Any) -> dict[str, Any]:
    """The createOutboundEndpoint answer: {secret, endpoint}."""
    result = await gql(CREATE_ENDPOINT, {"input": endpoint_input(integration_id, **extra)})
    created: dict[str, Any] = result.data["createOutboundEndpoint"]
    return created


async def make_delivery(endpoint_id: str, *, status: DeliveryStatus = DeliveryStatus.FAILED,
                        event_type: str = "ledger.entry.posted", customer_id: Any = None,
                        version: int | None = None, created_at: datetime | None = None,
                        **extra: Any) -> OutboundDelivery:
    """A delivery row, as the dispatcher and the deliverers would have left it."""
    now = datetime.now(UTC)
    delivery = await OutboundDelivery.create(
        id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type, customer_id=customer_id, version=version,
        payload={"type": event_type, "timestamp": now.isoformat(), "data": {"n": 1}},
        status=status, changed_at=created_at or now, **extra)
    if created_at is not None:  # auto_now_add set it to now
        await OutboundDelivery.filter(id=delivery.id).update(created_at=created_at)
        delivery.created_at = created_at
    return delivery


async def make_attempt(delivery: OutboundDelivery, *, succeeded: bool, at: datetime | None = None,
                       target: AttemptTarget = AttemptTarget.PRIMARY, url: str = RECEIVER,
                       status_code: int | None = None, error_class: str | None = None,
                       excerpt: str | None = None, duration_ms: int = 12) -> OutboundAttempt:
    return await OutboundAttempt.create(
        delivery_id=delivery.id, attempted_at=at or datetime.now(UTC), target=target, url=url,
        status_code=status_code if status_code is not None else (200 if succeeded else None),
        duration_ms=duration_ms, response_excerpt=excerpt, error_class=error_class,
        succeeded=succeeded)
