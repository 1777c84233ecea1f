from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class FxRate(Model):
    """1 unit of ``base`` = ``rate`` units of ``quote``, from ``effective_at`` on."""

    # Annotated: BigIntField drops IntField's type parameter, so mypy would see Any.
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    base = fields.CharField(max_length=3)
    quote = fields.CharField(max_length=3)
    rate = fields.CharField(max_length=40)  # a decimal string, never a float
    effective_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "fx_rate"
        unique_together = (("base", "quote", "effective_at"),)
