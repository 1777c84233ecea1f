"""Outbound sync: the endpoints connected systems receive on, the deliveries the outbox
became, and every attempt at them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, cast

from tortoise import fields
from tortoise.models import Model


def _nullable_text() -> fields.Field[str | None]:
    """``TextField(null=True)``: tortoise types every TextField as ``str``, nullable or not."""
    return cast("fields.Field[str | None]", fields.TextField(null=True))


def secret_context(endpoint_id: Any) -> str:
    """The SecretBox context of an endpoint's signing secrets (current and previous)."""
    return f"outbound_endpoint:{endpoint_id}:secret"


def credentials_context(endpoint_id: Any) -> str:
    """The SecretBox context of an endpoint's credentials (JSON)."""
    return f"outbound_endpoint:{endpoint_id}:credentials"


class OutboundEndpoint(Model):
    """Where one integration receives signed deliveries. Its signing secret (a Standard
    Webhooks ``whsec_`` secret) and its credentials for the vendor's API are SecretBox
    ciphertexts; while a rotation overlaps, deliveries carry both signatures until
    ``previous_secret_expires_at``."""

    id = fields.UUIDField(primary_key=True)
    integration: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.Integration", related_name="outbound_endpoints", on_delete=fields.RESTRICT)
    integration_id: Any
    url = fields.CharField(max_length=2000)
    fallback_url = fields.CharField(max_length=2000, null=True)
    event_types: fields.JSONField[list[str]] = fields.JSONField()
    timeout_seconds = fields.IntField(default=10)
    rate_limit_per_second = fields.IntField(null=True)  # None: no limit of its own
    description = fields.CharField(max_length=500, null=True)
    secret = fields.TextField()
    previous_secret = _nullable_text()
    previous_secret_expires_at = fields.DatetimeField(null=True)
    # {"type": "bearer", "token": ...} or {"type": "oauth2_client_credentials",
    # "token_url": ..., "client_id": ..., "client_secret": ..., "scope": ...}, encrypted.
    credentials = _nullable_text()
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=500, null=True)
    # First failure of the current unbroken run of failures; None after a success.
    failing_since = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "outbound_endpoint"


class OutboundStream(Model):
    """The latest-state bookkeeping of one (endpoint, customer): locked while a state
    delivery is dispatched or sent, so versions only rise at the receiver."""

    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[OutboundEndpoint] = fields.ForeignKeyField(
        "models.OutboundEndpoint", related_name="streams", on_delete=fields.CASCADE)
    endpoint_id: Any
    customer_id = fields.UUIDField()
    # Highest version a delivery was created for.
    latest_version: fields.Field[int] = fields.BigIntField(default=0)
    # Highest version that began sending; a lower one is never sent after it.
    sent_version: fields.Field[int] = fields.BigIntField(default=0)

    class Meta:
        table = "outbound_stream"
        unique_together = (("endpoint", "customer_id"),)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its first attempt
    SENDING = "sending"  # an attempt is in flight
    SUCCEEDED = "succeeded"
    RETRYING = "retrying"  # failed; next try at next_attempt_at
    FAILED = "failed"  # out of retries, or the endpoint went away
    SUPERSEDED = "superseded"  # a newer state for the same customer replaced it unsent
    SKIPPED = "skipped"  # not sent: the endpoint was disabled or deleted meanwhile


WAITING_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class OutboundDelivery(Model):
    """One message to one endpoint. ``webhook_id`` stays the same across retries and
    fallbacks, so a receiver can drop a repeat."""

    id = fields.UUIDField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[OutboundEndpoint] = fields.ForeignKeyField(
        "models.OutboundEndpoint", related_name="deliveries", on_delete=fields.RESTRICT)
    endpoint_id: Any
    webhook_id = fields.CharField(max_length=64, unique=True)
    event_type = fields.CharField(max_length=64)
    customer_id = fields.UUIDField(null=True)
    # alert.raised: the alert it carries, so an alert lists its deliveries.
    alert_id = fields.UUIDField(null=True, db_index=True)
    # credit.updated: the state's version (the outbox message id that made it).
    version: fields.Field[int | None] = fields.BigIntField(null=True)
    # The body sent, {"type", "timestamp", "data"}: the same on every attempt.
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField()
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    # Failures of the primary URL in a row (the fallback takes over after 3).
    primary_failures = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(null=True)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    # When the change that caused it was committed (sync lag runs from here).
    changed_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "outbound_delivery"
        indexes = (("endpoint", "status", "next_attempt_at"), ("status", "next_attempt_at"),
                   ("customer_id", "created_at"), ("created_at",))


class AttemptTarget(StrEnum):
    PRIMARY = "primary"
    FALLBACK = "fallback"


class OutboundAttempt(Model):
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[OutboundDelivery] = fields.ForeignKeyField(
        "models.OutboundDelivery", related_name="attempt_records", on_delete=fields.CASCADE)
    delivery_id: Any
    attempted_at = fields.DatetimeField()
    target = fields.CharEnumField(AttemptTarget, max_length=16)
    url = fields.CharField(max_length=2000)
    status_code = fields.IntField(null=True)
    duration_ms = fields.IntField()
    response_excerpt = _nullable_text()  # at most 2 KiB
    error_class = fields.CharField(max_length=100, null=True)
    succeeded = fields.BooleanField()

    class Meta:
        table = "outbound_attempt"
        indexes = (("delivery", "attempted_at"),)
