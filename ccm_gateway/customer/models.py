from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    BLOCKED = "blocked"


class RiskProfile(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Customer(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, db_index=True)
    segment = fields.CharField(max_length=64, db_index=True)
    risk_profile = fields.CharEnumField(RiskProfile, max_length=16, default=RiskProfile.MEDIUM)
    status = fields.CharEnumField(CustomerStatus, max_length=16, default=CustomerStatus.ACTIVE)
    currency = fields.CharField(max_length=3)
    # The partner portal that owns this customer, if any (partner scoping).
    partner_id = fields.CharField(max_length=128, null=True, db_index=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "customer"


class ExternalRef(Model):
    # Annotated: BigIntField drops IntField's type parameter, so mypy would see Any.
    id: fields.Field[int] = fields.BigIntField(primary_key=True)
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "models.Customer", related_name="external_refs", on_delete=fields.RESTRICT
    )
    customer_id: object
    system = fields.CharField(max_length=64)
    external_id = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "external_ref"
        unique_together = (("system", "external_id"),)


class ReservedRefSystem(Model):
    """A ref system an integration resolves customers by: only principals that administer
    integrations link refs in it, so no partner can claim a vendor's customer id."""

    name = fields.CharField(max_length=64, primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reserved_ref_system"
