"""Customers and the external identity map."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import RawSQL
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit
from ccm_gateway.customer.models import (
    Customer,
    CustomerStatus,
    ExternalRef,
    ReservedRefSystem,
    RiskProfile,
)
from ccm_gateway.errors import BadInput, Conflict, Forbidden, NotFound
from ccm_gateway.kit import idempotency, outbox
from ccm_gateway.kit.batch import many_per_key
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.money import check_current_currency, currency_exponent
from ccm_gateway.kit.pagination import (
    Keyset,
    Page,
    Window,
    page,
)
from ccm_gateway.kit.text import clean_text
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import InvoicingCycle
from ccm_gateway.policy import caps
from ccm_gateway.principal import Actor, Principal, readable_by

_MAX_NAME = 200
_MAX_SHORT = 64


def customer_snapshot(c: Customer) -> dict[str, Any]:
    return {"name": c.name, "segment": c.segment, "risk_profile": str(c.risk_profile),
            "status": str(c.status), "currency": c.currency, "partner_id": c.partner_id,
            "version": c.version}


# --- customers ------------------------------------------------------------


async def create_customer(
    actor: Actor,
    *,
    name: str,
    segment: str,
    currency: str,
    risk_profile: RiskProfile = RiskProfile.MEDIUM,
    status: CustomerStatus = CustomerStatus.ACTIVE,
    credit_limit_minor: int | None = None,
    net_days: int = 30,
    invoicing_cycle: InvoicingCycle = InvoicingCycle.MONTHLY,
    partner_id: str | None = None,
    external_refs: list[tuple[str, str]] = (),  # type: ignore[assignment]
    idempotency_key: str | None = None,
    administers_integrations: bool = False,
) -> Customer:
    """Create a customer with its credit account (and external refs) in one step. Without
    a limit it starts with its segment policy's default (else 0); no limit exceeds the
    segment's hard cap."""
    name = clean_text(name, "name", _MAX_NAME)
    segment = clean_text(segment, "segment", _MAX_SHORT)
    currency_exponent(currency)
    request = {"name": name, "segment": segment, "currency": currency,
               "risk_profile": str(risk_profile), "status": str(status),
               # 0 for none: the hash of keys sent before segment defaults existed.
               "credit_limit_minor": credit_limit_minor or 0, "net_days": net_days,
               "invoicing_cycle": str(invoicing_cycle), "partner_id": partner_id,
               "external_refs": sorted(external_refs)}

    async def run() -> dict[str, Any]:
        # Inside the run: a key used before the code was withdrawn replays its customer.
        check_current_currency(currency, new="a new customer")
        customer = await Customer.create(name=name, segment=segment, currency=currency,
                                         risk_profile=risk_profile, status=status,
                                         partner_id=partner_id)
        limit = credit_limit_minor
        if limit is None:
            policy = await caps.segment_policy_for(customer, currency)
            limit = policy.default_limit_minor if policy else None
        limit = limit or 0
        await caps.check_cap(customer, currency, limit, field="creditLimit.amount")
        account = await ledger_service.open_account(
            customer, credit_limit_minor=limit, net_days=net_days,
            invoicing_cycle=invoicing_cycle)
        await audit.record(actor, "customer.create", object_type="customer",
                           object_id=customer.id,
                           after=customer_snapshot(customer)
                           | {"account": ledger_service.account_snapshot(account)},
                           stream=ledger_service.customer_stream(customer.id))
        for system, external_id in external_refs:
            await link_external_ref(actor, customer.id, system=system, external_id=external_id,
                                    administers_integrations=administers_integrations)
        return {"customer_id": str(customer.id)}

    outcome = await idempotency.run_once(actor, "customer.create", idempotency_key, request, run)
    return await Customer.get(id=outcome["customer_id"])


async def get_customer(customer_id: Any, field: str = "id") -> Customer:
    customer = await Customer.get_or_none(id=parse_uuid(customer_id, field))
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", field=field)
    return customer


# --- reading for a principal ------------------------------------------------
# Every lookup made for a caller goes through these, so an object the caller may
# not see gets exactly the answer of one that does not exist, and a message names
# only what the caller sent.


def readable_customers(principal: Principal) -> QuerySet[Customer]:
    """The customers ``principal`` may read."""
    return readable_by(principal, Customer.all(), "partner_id")


def owning_partner(principal: Principal, requested: str | None) -> str | None:
    """The partner a customer that ``principal`` creates belongs to: a partner principal's
    own, so what it creates stays readable to it and to no other partner."""
    if principal.partner_id is None:
        return requested
    if requested not in (None, principal.partner_id):
        raise BadInput("a partner can only create its own customers", field="partnerId")
    return principal.partner_id


async def get_readable_customer(
    principal: Principal, customer_id: Any, field: str = "id"
) -> Customer:
    found = await readable_customers(principal).get_or_none(id=parse_uuid(customer_id, field))
    if found is None:
        raise NotFound(f"customer {customer_id} not found", field=field)
    return found


async def readable_customer_id(
    principal: Principal, customer_id: Any, field: str = "customerId"
) -> uuid.UUID:
    """The id of a customer ``principal`` may read. For an unscoped principal this costs no
    query: the hot paths (credit checks, holds) read the account anyway, and that read
    answers the same NOT_FOUND for a customer that does not exist."""
    if principal.partner_id is None:
        return parse_uuid(customer_id, field)
    return (await get_readable_customer(principal, customer_id, field)).id


async def find_customer_by_ref(system: str, external_id: str, *,
                               principal: Principal | None = None) -> Customer | None:
    """The customer (system, external id) maps to, or None. With ``principal``, only one it
    may read; without, any (the gateway's own lookups, e.g. an integration's callback)."""
    query = ExternalRef.filter(system=system, external_id=external_id)
    if principal is not None:
        query = readable_by(principal, query, "customer__partner_id")
    ref = await query.select_related("customer").first()
    return None if ref is None else ref.customer


async def find_customers_by_refs(system: str, external_ids: Sequence[str]) -> dict[str, Customer]:
    """``find_customer_by_ref`` for many external ids of one system in one query (the
    gateway's own lookups): {external id: customer}, without the ids that map to none."""
    refs = await ExternalRef.filter(system=system, external_id__in=list(external_ids)
                                    ).select_related("customer")
    return {ref.external_id: ref.customer for ref in refs}


async def get_readable_customer_by_external_ref(
    principal: Principal, system: str, external_id: str
) -> Customer:
    customer = await find_customer_by_ref(system, external_id, principal=principal)
    if customer is None:
        raise NotFound(f"no customer for {system}:{external_id}", field="externalRef")
    return customer


_UPDATABLE = {"name", "segment", "risk_profile", "status"}
# Changes connected systems hear about: the status gates act on, and the segment that
# decides which integrations see the customer.
_TOLD = {"segment", "status"}
# Changes that put the customer under another segment policy's hard cap.
_CAPPED = {"segment", "risk_profile"}
_CAPPED_FIELD = {"segment": "segment", "risk_profile": "riskProfile"}


async def update_customer(
    actor: Actor, customer_id: Any, *, expected_version: int, **changes: Any
) -> Customer:
    """Change master data if the caller saw the current version (optimistic concurrency)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise BadInput(f"cannot update {', '.join(sorted(unknown))}")
    changes = {k: v for k, v in changes.items() if v is not None}
    if "name" in changes:
        changes["name"] = clean_text(changes["name"], "name", _MAX_NAME)
    if "segment" in changes:
        changes["segment"] = clean_text(changes["segment"], "segment", _MAX_SHORT)
    if not changes:
        raise BadInput("nothing to update: give at least one field")
    customer = await Customer.filter(id=parse_uuid(customer_id, "id")).select_for_update().first()
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", field="id")
    account = None
    if _TOLD.intersection(changes) or _CAPPED.intersection(changes):
        # Under the account's lock, as every change to the credit state, so the
        # outbox's versions of this customer rise in commit order.
        account = await ledger_service.get_account(customer.id, lock=True)
    if customer.version != expected_version:
        raise Conflict(f"customer is at version {customer.version}, not {expected_version}; "
                       "reload and retry", field="expectedVersion")
    before = customer_snapshot(customer)
    for name, value in changes.items():
        setattr(customer, name, value)
    if account is not None and _CAPPED.intersection(changes):
        # A move into a segment or risk profile whose cap the limit exceeds would leave a
        # limit no approval could have granted there.
        await caps.check_cap(customer, account.currency, account.credit_limit_minor,
                             field=_CAPPED_FIELD[sorted(_CAPPED.intersection(changes))[0]])
    customer.version += 1
    await customer.save(update_fields=[*changes, "version", "updated_at"])
    if _TOLD.intersection(changes):
        await outbox.record(customer_id=customer.id, state_changed=True)
    await audit.record(actor, "customer.update", object_type="customer", object_id=customer.id,
                       before=before, after=customer_snapshot(customer),
                       stream=ledger_service.customer_stream(customer.id))
    return customer


async def reserve_ref_system(name: str) -> None:
    """From now on only integration administrators link refs in ``name`` (idempotent)."""
    await ReservedRefSystem.get_or_create(name=name)


async def check_ref_systems(systems: Sequence[str], *, administers_integrations: bool) -> None:
    """Refuse links in a ref system an integration resolves customers by, unless the
    principal administers integrations: a partner that linked a vendor's customer id to
    its own customer would be credited that customer's payments."""
    if administers_integrations or not systems:
        return
    reserved = await ReservedRefSystem.filter(name__in=list(set(systems))) \
        .order_by("name").values_list("name", flat=True)
    if reserved:
        raise Forbidden(f"ref system {reserved[0]!r} belongs to an integration; only "
                        "integration administrators link its refs", field="system")


async def link_external_ref(
    actor: Actor, customer_id: Any, *, system: str, external_id: str,
    administers_integrations: bool,
) -> ExternalRef:
    """Map (system, external id) to a customer; linking the same pair again is a no-op.
    Every link is audited."""
    system = clean_text(system, "system", _MAX_SHORT)
    external_id = clean_text(external_id, "externalId", _MAX_NAME)
    await check_ref_systems([system], administers_integrations=administers_integrations)
    customer = await get_customer(customer_id)
    existing = await ExternalRef.filter(system=system, external_id=external_id).first()
    if existing is not None:
        if existing.customer_id == customer.id:
            return existing
        raise Conflict(f"{system}:{external_id} already belongs to another customer",
                       field="externalId")
    try:
        async with in_transaction():
            ref = await ExternalRef.create(customer=customer, system=system,
                                           external_id=external_id)
    except IntegrityError:
        raise Conflict(f"{system}:{external_id} was linked concurrently; reload",
                       field="externalId") from None
    await audit.record(actor, "customer.link_external_ref", object_type="external_ref",
                       object_id=ref.id, after={"system": system, "external_id": external_id},
                       stream=ledger_service.customer_stream(customer.id))
    return ref


# --- listing --------------------------------------------------------------


async def external_refs_by_customer(customer_ids: list[Any]) -> list[list[ExternalRef]]:
    """Batch function (DataLoader): each customer's refs, in key order."""
    rows = await ExternalRef.filter(customer_id__in=customer_ids).order_by("system",
                                                                            "external_id")
    return many_per_key(rows, customer_ids, "customer_id")


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    segment: str | None = None
    status: CustomerStatus | None = None
    name_contains: str | None = None
    utilization_above: float | None = None


_BY_NAME = Keyset(("name", "id"), (str, uuid.UUID))


async def list_customers(
    principal: Principal, flt: CustomerFilter, *, window: Window, max_page_size: int,
) -> Page:
    """The customers ``principal`` may read, ordered by name then id, with keyset pagination."""
    window.check(max_page_size)
    query = readable_customers(principal)
    if flt.segment:
        query = query.filter(segment=flt.segment)
    if flt.status:
        query = query.filter(status=flt.status)
    if flt.name_contains:
        query = query.filter(name__icontains=flt.name_contains)
    if flt.utilization_above is not None:
        if not 0 <= flt.utilization_above <= 100:
            raise BadInput("utilizationAbove must be between 0 and 100", field="utilizationAbove")
        # exposure / limit > num / den, cross-multiplied on exact integers (the ratio as
        # written, so no float touches a balance), in NUMERIC so large balances cannot
        # overflow PostgreSQL's BIGINT.
        num, den = Decimal(repr(flt.utilization_above)).as_integer_ratio()
        # Only the ratio's two ints are formatted in, never the caller's text.
        above = (
            "(SELECT customer_id FROM credit_account WHERE "  # noqa: S608 - two ints only
            f"CAST(posted_balance_minor + held_minor AS NUMERIC) * {den} "
            f"> CAST(credit_limit_minor AS NUMERIC) * {num})"
        )
        query = query.filter(id__in=RawSQL(above))
    return await page(query, _BY_NAME, window)

