"""Console sessions: who signed in to the ops console, until when."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ConsoleSession(Model):
    """One sign-in to the ops console; its cookie's secret is stored only as a SHA-256."""

    # The browser holds a random 256-bit secret; its hash alone does not give the session
    # away. A session ends at expires_at, or earlier when signed out (ended_at); the
    # tokens minted from it name it (their sid claim) and stop working with it.

    id = fields.UUIDField(primary_key=True)
    secret_hash = fields.CharField(max_length=64, unique=True)
    subject = fields.CharField(max_length=200)
    roles: fields.JSONField[list[str]] = fields.JSONField()
    # Set for a partner portal's user, who sees only that partner's customers.
    partner_id = fields.CharField(max_length=128, null=True)
    # "dev" (the development sign-in) or the OIDC issuer's URL.
    source = fields.CharField(max_length=500)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "console_session"
