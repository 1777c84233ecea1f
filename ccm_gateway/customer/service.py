"""Sites, customers and the external identity map."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, RawSQL
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit
from ccm_gateway.audit.service import Actor
from ccm_gateway.customer.models import Customer, CustomerStatus, ExternalRef, RiskProfile, Site
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.kit.pagination import (
    Page,
    check_page_size,
    cursor_id,
    decode_cursor,
    encode_cursor,
)
from ccm_gateway.ledger import idempotency
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import InvoicingCycle

_MAX_NAME = 200
_MAX_SHORT = 64


def _text(value: str, field: str, max_length: int) -> str:
    value = value.strip()
    if not value:
        raise BadInput(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise BadInput(f"{field} is longer than {max_length} characters", field=field)
    return value


def site_snapshot(site: Site) -> dict[str, Any]:
    return {"code": site.code, "name": site.name, "timezone": site.timezone}


def customer_snapshot(c: Customer) -> dict[str, Any]:
    return {"name": c.name, "segment": c.segment, "risk_profile": str(c.risk_profile),
            "status": str(c.status), "currency": c.currency, "partner_id": c.partner_id,
            "version": c.version}


# --- sites ----------------------------------------------------------------


async def create_site(actor: Actor, *, code: str, name: str, timezone: str = "UTC") -> Site:
    code = _text(code, "code", _MAX_SHORT)
    name = _text(name, "name", _MAX_NAME)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"timezone {timezone!r} is not an IANA time zone such as Europe/Berlin",
                       field="timezone") from None
    if await Site.exists(code=code):
        raise Conflict(f"a site with code {code!r} already exists", field="code")
    try:
        # A savepoint, so a concurrent duplicate fails here and not the caller's transaction.
        async with in_transaction():
            site = await Site.create(code=code, name=name, timezone=timezone)
    except IntegrityError:
        raise Conflict(f"a site with code {code!r} already exists", field="code") from None
    await audit.record(actor, "site.create", object_type="site", object_id=site.id,
                       after=site_snapshot(site))
    return site


async def get_site(site_id: Any) -> Site:
    site = await Site.get_or_none(id=parse_uuid(site_id, "siteId"))
    if site is None:
        raise NotFound(f"site {site_id} not found", field="siteId")
    return site


# --- customers ------------------------------------------------------------


async def create_customer(
    actor: Actor,
    *,
    name: str,
    segment: str,
    currency: str,
    risk_profile: RiskProfile = RiskProfile.MEDIUM,
    status: CustomerStatus = CustomerStatus.ACTIVE,
    credit_limit_minor: int = 0,
    net_days: int = 30,
    invoicing_cycle: InvoicingCycle = InvoicingCycle.MONTHLY,
    partner_id: str | None = None,
    external_refs: list[tuple[str, str]] = (),  # type: ignore[assignment]
    idempotency_key: str | None = None,
) -> Customer:
    """Create a customer with its credit account (and external refs) in one step."""
    name = _text(name, "name", _MAX_NAME)
    segment = _text(segment, "segment", _MAX_SHORT)
    currency_exponent(currency)
    request = {"name": name, "segment": segment, "currency": currency,
               "risk_profile": str(risk_profile), "status": str(status),
               "credit_limit_minor": credit_limit_minor, "net_days": net_days,
               "invoicing_cycle": str(invoicing_cycle), "partner_id": partner_id,
               "external_refs": sorted(external_refs)}

    async def run() -> dict[str, Any]:
        customer = await Customer.create(name=name, segment=segment, currency=currency,
                                         risk_profile=risk_profile, status=status,
                                         partner_id=partner_id)
        account = await ledger_service.open_account(
            customer, credit_limit_minor=credit_limit_minor, net_days=net_days,
            invoicing_cycle=invoicing_cycle)
        await audit.record(actor, "customer.create", object_type="customer",
                           object_id=customer.id,
                           after=customer_snapshot(customer)
                           | {"account": ledger_service.account_snapshot(account)},
                           stream=ledger_service.customer_stream(customer.id))
        for system, external_id in external_refs:
            await link_external_ref(actor, customer.id, system=system, external_id=external_id)
        return {"customer_id": str(customer.id)}

    outcome = await idempotency.run_once("customer.create", idempotency_key, request, run)
    return await Customer.get(id=outcome["customer_id"])


async def get_customer(customer_id: Any, field: str = "id") -> Customer:
    customer = await Customer.get_or_none(id=parse_uuid(customer_id, field))
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", field=field)
    return customer


async def get_customer_by_external_ref(system: str, external_id: str) -> Customer:
    ref = await ExternalRef.filter(system=system, external_id=external_id) \
        .select_related("customer").first()
    if ref is None:
        raise NotFound(f"no customer for {system}:{external_id}", field="externalRef")
    return ref.customer


_UPDATABLE = {"name", "segment", "risk_profile", "status"}


async def update_customer(
    actor: Actor, customer_id: Any, *, expected_version: int, **changes: Any
) -> Customer:
    """Change master data if the caller saw the current version (optimistic concurrency)."""
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise BadInput(f"cannot update {', '.join(sorted(unknown))}")
    changes = {k: v for k, v in changes.items() if v is not None}
    if "name" in changes:
        changes["name"] = _text(changes["name"], "name", _MAX_NAME)
    if "segment" in changes:
        changes["segment"] = _text(changes["segment"], "segment", _MAX_SHORT)
    if not changes:
        raise BadInput("nothing to update: give at least one field")
    customer = await Customer.filter(id=parse_uuid(customer_id, "id")).select_for_update().first()
    if customer is None:
        raise NotFound(f"customer {customer_id} not found", field="id")
    if customer.version != expected_version:
        raise Conflict(f"customer is at version {customer.version}, not {expected_version}; "
                       "reload and retry", field="expectedVersion")
    before = customer_snapshot(customer)
    for name, value in changes.items():
        setattr(customer, name, value)
    customer.version += 1
    await customer.save(update_fields=[*changes, "version", "updated_at"])
    await audit.record(actor, "customer.update", object_type="customer", object_id=customer.id,
                       before=before, after=customer_snapshot(customer),
                       stream=ledger_service.customer_stream(customer.id))
    return customer


async def link_external_ref(
    actor: Actor, customer_id: Any, *, system: str, external_id: str
) -> ExternalRef:
    """Map (system, external id) to a customer; linking the same pair again is a no-op."""
    system = _text(system, "system", _MAX_SHORT)
    external_id = _text(external_id, "externalId", _MAX_NAME)
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


@dataclass(frozen=True, slots=True)
class CustomerFilter:
    segment: str | None = None
    status: CustomerStatus | None = None
    name_contains: str | None = None
    utilization_above: float | None = None
    partner_id: str | None = None


async def list_customers(
    flt: CustomerFilter, *, first: int, after: str | None, max_page_size: int
) -> Page:
    """Customers ordered by name then id, with keyset pagination."""
    check_page_size(first, max_page_size)
    query = Customer.all()
    if flt.segment:
        query = query.filter(segment=flt.segment)
    if flt.status:
        query = query.filter(status=flt.status)
    if flt.name_contains:
        query = query.filter(name__icontains=flt.name_contains)
    if flt.partner_id is not None:
        query = query.filter(partner_id=flt.partner_id)
    if flt.utilization_above is not None:
        if not 0 <= flt.utilization_above <= 100:
            raise BadInput("utilizationAbove must be between 0 and 100", field="utilizationAbove")
        # exposure / limit > num / den, cross-multiplied on exact integers (the ratio as
        # written, so no float touches a balance), in NUMERIC so large balances cannot
        # overflow PostgreSQL's BIGINT.
        num, den = Decimal(repr(flt.utilization_above)).as_integer_ratio()
        query = query.filter(
            id__in=RawSQL(
                "(SELECT customer_id FROM credit_account WHERE "
                f"CAST(posted_balance_minor + held_minor AS NUMERIC) * {den} "
                f"> CAST(credit_limit_minor AS NUMERIC) * {num})"
            )
        )
    if after:
        name, last_id = decode_cursor(after, 2)
        query = query.filter(Q(name__gt=name)
                             | Q(name=name, id__gt=cursor_id(last_id, uuid.UUID)))
    rows = await query.order_by("name", "id").limit(first + 1)
    return Page.of(rows, first, lambda c: encode_cursor(c.name, c.id))

