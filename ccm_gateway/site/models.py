from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Site(Model):
    """A property / yard / facility of the operator: where holds, charges and gates happen."""

    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    timezone = fields.CharField(max_length=64, default="UTC")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "site"
