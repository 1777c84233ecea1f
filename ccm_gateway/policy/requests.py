"""Opening a limit change request: the band it falls in, the cap it must stay under, the
record, its audit, its ``limit_change.requested`` event and the approvers' alert; and
recording a decision (``decide``).

Below the ledger's service, so the ledger's own write path (a velocity rule that proposes
a change) can open one; the ledger applies a request (``ledger.service.apply_request``),
and the approvals that lead there live in ``approval/``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from ccm_gateway.alert.models import AlertSeverity
from ccm_gateway.alert.service import raise_alert
from ccm_gateway.audit import service as audit
from ccm_gateway.errors import BadInput
from ccm_gateway.kit import outbox
from ccm_gateway.kit.money import currency_exponent, format_minor
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.policy import caps
from ccm_gateway.policy.models import (
    ApprovalPolicy,
    LimitChangeRequest,
    LimitChangeSource,
    LimitChangeStatus,
)
from ccm_gateway.principal import Actor

REQUEST_TTL = timedelta(days=7)
# Far below 2**63 so sums of many entries cannot overflow a BIGINT (as the ledger's).
MAX_LIMIT_MINOR = 10**15
# The band of a change that needs no approval: a decrease, or no change at all.
NO_APPROVAL = {"approvals": 0, "roles": [], "requiredRoles": []}


def band_amount_minor(amount: str, currency: str) -> int:
    """A band's amount ("10000.00") in the account currency's minor units: the same figure
    in every currency, rounded down to what the currency can express (JPY: 10000)."""
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:  # the policy is validated when set; this is a guard
        raise BadInput(f"band amount {amount!r} is not a decimal number") from exc
    return int(value.scaleb(currency_exponent(currency)))


def band_for(bands: list[dict[str, Any]], current_minor: int, requested_minor: int,
             currency: str) -> dict[str, Any]:
    """The first band whose maxima the increase stays within (the last band has none)."""
    increase = requested_minor - current_minor
    if increase <= 0:
        return dict(NO_APPROVAL)
    for band in bands:
        percent, amount = band.get("maxIncreasePercent"), band.get("maxIncreaseAmount")
        # Exact: increase / current <= percent / 100, in integers and decimals only.
        if percent is not None and increase * 100 > Decimal(percent) * current_minor:
            continue
        if amount is not None and increase > band_amount_minor(amount, currency):
            continue
        return dict(band)
    return dict(bands[-1])


async def approval_policy() -> ApprovalPolicy:
    """The bands in force (the row the migration seeds)."""
    return await ApprovalPolicy.get(id=1)


def request_snapshot(request: LimitChangeRequest) -> dict[str, Any]:
    return {"customer_id": str(request.customer_id), "status": str(request.status),
            "currency": request.currency, "current_limit_minor": request.current_limit_minor,
            "requested_limit_minor": request.requested_limit_minor,
            "required_approvals": request.required_approvals, "source": str(request.source),
            "reason": request.reason, "expires_at": request.expires_at.isoformat()}


def request_event(request: LimitChangeRequest) -> dict[str, Any]:
    """``limit_change.requested`` / ``limit_change.decided``'s data."""
    def money(minor: int) -> dict[str, str]:
        return {"amount": format_minor(minor, request.currency), "currency": request.currency}

    return {"requestId": str(request.id), "customerId": str(request.customer_id),
            "status": LimitChangeStatus(request.status).name,
            "currentLimit": money(request.current_limit_minor),
            "requestedLimit": money(request.requested_limit_minor),
            "requiredApprovals": request.required_approvals,
            "source": LimitChangeSource(request.source).name, "reason": request.reason,
            "reasoning": request.reasoning, "createdAt": request.created_at.isoformat(),
            "expiresAt": request.expires_at.isoformat()}


def check_requested_limit(limit_minor: int, field: str = "limit") -> None:
    if limit_minor < 0:
        raise BadInput(f"{field} must not be negative", field=field)
    if limit_minor > MAX_LIMIT_MINOR:
        raise BadInput(f"{field} is larger than the ledger accepts", field=field)


async def open_request(actor: Actor, account: CreditAccount, requested_limit_minor: int, *,
                       reason: str | None, source: LimitChangeSource,
                       reasoning: dict[str, Any] | None = None) -> LimitChangeRequest:
    """A PENDING request to move ``account``'s limit (locked by the caller, with
    ``account.customer`` loaded) to ``requested_limit_minor``, with the approvals its band
    needs (0 for a decrease: the caller applies it at once). BAD_USER_INPUT over the
    segment's hard cap, or for no change."""
    field = "limit.amount"
    check_requested_limit(requested_limit_minor, field)
    if requested_limit_minor == account.credit_limit_minor:
        raise BadInput("the requested limit is the current limit", field=field)
    await caps.check_cap(account.customer, account.currency, requested_limit_minor,
                         field=field)
    policy = await approval_policy()
    band = band_for(policy.bands, account.credit_limit_minor, requested_limit_minor,
                    account.currency)
    now = datetime.now(UTC)
    request = await LimitChangeRequest.create(
        id=uuid.uuid4(), customer_id=account.customer_id, currency=account.currency,
        current_limit_minor=account.credit_limit_minor,
        requested_limit_minor=requested_limit_minor, reason=reason, source=source,
        reasoning=reasoning, status=LimitChangeStatus.PENDING, requested_by_type=actor.type,
        requested_by=actor.id, required_approvals=int(band["approvals"]), band=band,
        created_at=now, expires_at=now + REQUEST_TTL, version=1)
    await audit.record(actor, "limit_change.request", object_type="limit_change_request",
                       object_id=request.id, after=request_snapshot(request),
                       stream=audit.customer_stream(account.customer_id))
    await outbox.record(customer_id=account.customer_id, event_type="limit_change.requested",
                        data=request_event(request))
    if request.required_approvals:
        currency = account.currency
        await raise_alert(
            "limit_change.pending", AlertSeverity.INFO,
            f"limit change for {account.customer.name} to "
            f"{format_minor(requested_limit_minor, currency)} {currency} waits for "
            f"{request.required_approvals} approval(s)",
            customer_id=account.customer_id, recipients=policy.recipients,
            details={"requestId": str(request.id),
                     "requiredApprovals": request.required_approvals,
                     "roles": band.get("roles", []),
                     "requiredRoles": band.get("requiredRoles", [])})
    return request


async def decide(actor: Actor, request: LimitChangeRequest, status: LimitChangeStatus,
                 reason: str | None, now: datetime) -> None:
    """Move ``request`` (under its account's lock) out of PENDING: the row, its audit and
    its ``limit_change.decided`` event."""
    before = request_snapshot(request)
    request.status = status
    request.decided_at = now
    request.decision_reason = reason
    request.version += 1
    await LimitChangeRequest.filter(id=request.id).update(
        status=status, decided_at=now, decision_reason=reason, version=request.version)
    after = request_snapshot(request) | {"decision_reason": reason}
    await audit.record(actor, f"limit_change.{status.value}",
                       object_type="limit_change_request", object_id=request.id,
                       before=before, after=after,
                       stream=audit.customer_stream(request.customer_id))
    data = request_event(request) | {
        "decidedAt": now.isoformat(), "decisionReason": reason}
    await outbox.record(customer_id=request.customer_id, event_type="limit_change.decided",
                        data=data)
