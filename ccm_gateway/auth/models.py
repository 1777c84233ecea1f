"""Signing keys for access tokens, and the machine clients that obtain them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SigningKey(Model):
    """An asymmetric JWS key; the private JWK is encrypted at rest."""

    # SecretBox context ``signing-key:<kid>``. The newest non-retired key
    # signs; every non-retired key verifies.

    id = fields.IntField(primary_key=True)
    kid = fields.CharField(max_length=64, unique=True)
    algorithm = fields.CharField(max_length=16)
    private_jwk = fields.TextField()
    created_at = fields.DatetimeField()
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "signing_key"


class ApiClient(Model):
    """An OAuth 2.0 client (client_credentials); only a salted hash of its secret is kept."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    secret_hash = fields.CharField(max_length=255)
    scopes = fields.TextField()  # space separated
    roles = fields.CharField(max_length=255)  # space separated
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "api_client"


class TrustedIssuerRecord(Model):
    """A partner portal's OIDC provider added through GraphQL (CCM_TRUSTED_ISSUERS adds more)."""

    id = fields.IntField(primary_key=True)
    issuer = fields.CharField(max_length=500, unique=True)
    audience = fields.CharField(max_length=500)
    role_claim = fields.CharField(max_length=100)
    role_map: fields.JSONField[dict[str, str]] = fields.JSONField()
    partner_claim = fields.CharField(max_length=100)
    algorithms = fields.CharField(max_length=255)  # space separated
    enabled = fields.BooleanField(default=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "trusted_issuer"
