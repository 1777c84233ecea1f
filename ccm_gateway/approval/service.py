"""Deciding limit change requests: approving, rejecting, cancelling, expiring, and applying
a request (``ledger.service.apply_request``) atomically with its last approval.

Every change of a request happens under its customer's account lock, the lock the limit
itself moves under: two last approvals of one request queue on it, and the second finds
the request decided. Opening a request lives in ``policy/requests.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import BadInput, Conflict, Forbidden, NotFound
from ccm_gateway.kit import idempotency
from ccm_gateway.kit.batch import many_per_key, one_per_key
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.pagination import Page, Window, page_newest_first
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.policy import requests as limit_requests
from ccm_gateway.policy.models import (
    LimitApproval,
    LimitChangeRequest,
    LimitChangeSource,
    LimitChangeStatus,
)
from ccm_gateway.principal import SYSTEM_ACTOR, Actor, Principal, Role

MAX_TEXT = 500


def _text(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise BadInput(f"{field} must be at most {MAX_TEXT} characters", field=field)
    return value or None


# --- reading ------------------------------------------------------------------


def readable_requests(principal: Principal) -> QuerySet[LimitChangeRequest]:
    """The requests of the customers ``principal`` may read."""
    query = LimitChangeRequest.all()
    if principal.partner_id is not None:
        query = query.filter(customer_id__in=Subquery(
            customer_service.readable_customers(principal).values("id")))
    return query


async def get_readable_request(principal: Principal, request_id: Any,
                               field: str = "requestId") -> LimitChangeRequest:
    found = await readable_requests(principal).get_or_none(id=parse_uuid(request_id, field))
    if found is None:
        raise NotFound(f"limit change request {request_id} not found", field=field)
    return found


async def page_requests(principal: Principal, *, customer_id: Any,
                        status: LimitChangeStatus | None, window: Window,
                        max_page_size: int) -> Page:
    """Newest first."""
    window.check(max_page_size)
    query = readable_requests(principal)
    if customer_id is not None:
        query = query.filter(customer_id=customer_id)
    if status is not None:
        query = query.filter(status=status)
    return await page_newest_first(query, time_field="created_at", window=window,
                                   id_type=uuid.UUID)


async def approvals_by_request(request_ids: list[Any]) -> list[list[LimitApproval]]:
    """Each request's approvals, oldest first (a DataLoader's batch)."""
    rows = await LimitApproval.filter(request_id__in=request_ids).order_by("decided_at", "id")
    return many_per_key(rows, request_ids, "request_id")


async def customers_by_id(customer_ids: list[Any]) -> list[Customer | None]:
    return one_per_key(await Customer.filter(id__in=customer_ids), customer_ids, "id")


# --- requesting ---------------------------------------------------------------


async def request_change(actor: Actor, customer_id: Any, limit_minor: int, currency: str, *,
                         reason: str | None,
                         idempotency_key: str | None) -> LimitChangeRequest:
    """Open a request; one that needs no approval (a decrease) applies at once."""
    reason = _text(reason, "reason")
    request = {"customer_id": str(customer_id), "limit_minor": limit_minor,
               "currency": currency, "reason": reason}

    async def run() -> dict[str, Any]:
        account = await ledger_service.lock_account(customer_id=customer_id)
        if currency != account.currency:
            raise BadInput(f"the account is in {account.currency}, not {currency}",
                           field="limit.currency")
        opened = await limit_requests.open_request(
            actor, account, limit_minor, reason=reason, source=LimitChangeSource.USER)
        if opened.required_approvals == 0:
            await ledger_service.apply_request(actor, opened, account)
        return {"request_id": str(opened.id)}

    outcome = await idempotency.run_once(actor, "limit_change.request", idempotency_key,
                                         request, run)
    return await LimitChangeRequest.get(id=outcome["request_id"])


# --- deciding -----------------------------------------------------------------


async def _locked(request_id: Any) -> tuple[LimitChangeRequest, CreditAccount]:
    """The request read again under its customer's account lock (taken first, as every
    writer of the account takes it)."""
    found = await LimitChangeRequest.get_or_none(id=request_id)
    if found is None:
        raise NotFound(f"limit change request {request_id} not found", field="requestId")
    account = await ledger_service.lock_account(customer_id=found.customer_id)
    return await LimitChangeRequest.get(id=request_id), account


def _require_pending(request: LimitChangeRequest, now: datetime) -> None:
    if request.status != LimitChangeStatus.PENDING:
        raise Conflict(f"the request is {LimitChangeStatus(request.status).name}, "
                       "no longer PENDING", field="requestId")
    if request.expires_at <= now:
        raise Conflict("the request has expired", field="requestId")


def _is_requester(actor: Actor, request: LimitChangeRequest) -> bool:
    return actor.type == request.requested_by_type and actor.id == request.requested_by


async def approve(actor: Actor, principal: Principal, request_id: Any,
                  comment: str | None) -> LimitChangeRequest:
    """One person's sign-off; the last one applies the change in the same transaction."""
    comment = _text(comment, "comment")
    request, account = await _locked(request_id)
    now = datetime.now(UTC)
    _require_pending(request, now)
    if _is_requester(actor, request):
        raise Forbidden("the requester cannot approve their own request", field="requestId")
    approvals = await LimitApproval.filter(request_id=request.id)
    if any(a.approver_id == actor.id and a.approver_type == actor.type for a in approvals):
        raise Conflict("you have approved this request already", field="requestId")
    band = request.band
    allowed = set(band.get("roles") or [])
    roles = sorted(str(r) for r in principal.roles if not allowed or str(r) in allowed)
    if not roles:
        raise Forbidden(f"approving this request takes one of the roles "
                        f"{', '.join(sorted(allowed))}", field="requestId")
    # Leave room for the roles someone must still bring: the last slot of a 2-approval
    # band goes to finance if no approver so far is finance.
    given = {r for a in approvals for r in a.roles} | set(roles)
    missing = [r for r in band.get("requiredRoles") or [] if r not in given]
    slots_after = request.required_approvals - len(approvals) - 1
    if len(missing) > slots_after:
        raise Forbidden(f"this request needs an approval from {', '.join(missing)}; "
                        "yours would leave no room for it", field="requestId")
    if account.credit_limit_minor != request.current_limit_minor:
        # Supersedes it: no sign-off changes that.
        await ledger_service.apply_request(actor, request, account)
        return request
    await LimitApproval.create(
        request_id=request.id, approver_type=actor.type, approver_id=actor.id, roles=roles,
        comment=comment, decided_at=now)
    await audit.record(actor, "limit_change.approve", object_type="limit_change_request",
                       object_id=request.id,
                       after={"approver_id": actor.id, "roles": roles, "comment": comment,
                              "approvals": len(approvals) + 1,
                              "required_approvals": request.required_approvals},
                       stream=audit.customer_stream(request.customer_id))
    if len(approvals) + 1 >= request.required_approvals:
        await ledger_service.apply_request(actor, request, account)
    return request


async def reject(actor: Actor, principal: Principal, request_id: Any,
                 reason: str | None) -> LimitChangeRequest:
    reason = _text(reason, "reason")
    request, _ = await _locked(request_id)
    now = datetime.now(UTC)
    _require_pending(request, now)
    if _is_requester(actor, request):
        raise Forbidden("the requester withdraws a request with cancelCreditLimitChange",
                        field="requestId")
    await limit_requests.decide(actor, request, LimitChangeStatus.REJECTED, reason, now)
    return request


async def cancel(actor: Actor, principal: Principal, request_id: Any) -> LimitChangeRequest:
    request, _ = await _locked(request_id)
    now = datetime.now(UTC)
    _require_pending(request, now)
    if not _is_requester(actor, request) and Role.ADMIN not in principal.roles:
        raise Forbidden("only the requester or an admin cancels a request", field="requestId")
    await limit_requests.decide(actor, request, LimitChangeStatus.CANCELLED, None, now)
    return request


async def expire_requests(now: datetime | None = None, batch: int = 200) -> int:
    """EXPIRED for the pending requests past their expiry; one transaction per request,
    each under its account lock, so an approval in flight either lands first or finds it
    expired."""
    now = now or datetime.now(UTC)
    due = await LimitChangeRequest.filter(
        status=LimitChangeStatus.PENDING, expires_at__lte=now).order_by("expires_at") \
        .limit(batch).values_list("id", flat=True)
    expired = 0
    for request_id in due:
        async with in_transaction():
            request, _ = await _locked(request_id)
            if request.status != LimitChangeStatus.PENDING:
                continue
            await limit_requests.decide(SYSTEM_ACTOR, request, LimitChangeStatus.EXPIRED,
                                        "no decision within the request's lifetime", now)
            expired += 1
    return expired
