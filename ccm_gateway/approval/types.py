"""GraphQL for limit changes that go through approvals, and the bands they go through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from tortoise.transactions import in_transaction

from ccm_gateway.approval import policies
from ccm_gateway.approval import service as approval_service
from ccm_gateway.customer import models as customer_models
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.types import Customer, RiskProfile
from ccm_gateway.errors import BadInput, NotFound
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    Money,
    MoneyInput,
    Node,
    not_partner,
    optional_uuid,
    requires,
    window,
)
from ccm_gateway.policy import models
from ccm_gateway.principal import Actor, Principal
from ccm_gateway.principal import Permission as P

strawberry.enum(models.LimitChangeStatus, description="Where a limit change request stands; "
                                                      "all but PENDING are final.")
LimitChangeStatus = models.LimitChangeStatus
strawberry.enum(models.LimitChangeSource, description="Who proposed a limit change: a person, "
                                                      "a velocity rule, the scaling job.")
LimitChangeSource = models.LimitChangeSource


@strawberry.type(description="One person's sign-off on a limit change request.")
class LimitApproval:
    approver_id: str = strawberry.field(description="The approver's subject.")
    roles: list[str] = strawberry.field(
        description="The approver's roles that the request's band accepts.")
    decided_at: datetime = strawberry.field(description="When they approved.")
    comment: str | None = strawberry.field(description="What they wrote.")


@strawberry.type(description="A change of a customer's credit limit waiting for, or past, the "
                             "approvals its amount band needs.")
class LimitChangeRequest(Node):
    _m: strawberry.Private[models.LimitChangeRequest]
    status: LimitChangeStatus = strawberry.field(description="Where it stands.")
    source: LimitChangeSource = strawberry.field(description="Who proposed it.")
    requested_by: str = strawberry.field(description="The subject that asked for it.")
    reason: str | None = strawberry.field(description="Why, in the requester's words.")
    reasoning: JSON | None = strawberry.field(
        description="Why a proposal (velocity, scaling) proposes this: its figures.")
    required_approvals: int = strawberry.field(description="Sign-offs its band needs.")
    required_roles: list[str] = strawberry.field(
        description="Roles at least one approver must hold each (e.g. finance).")
    created_at: datetime = strawberry.field(description="When it was made.")
    expires_at: datetime = strawberry.field(
        description="When it expires if still PENDING.")
    decided_at: datetime | None = strawberry.field(description="When it left PENDING.")
    decision_reason: str | None = strawberry.field(
        description="Why it was rejected or superseded.")

    @classmethod
    def of(cls, m: models.LimitChangeRequest) -> LimitChangeRequest:
        return cls(_m=m, id=strawberry.ID(str(m.id)),
                   status=LimitChangeStatus(str(m.status)),
                   source=LimitChangeSource(str(m.source)), requested_by=m.requested_by,
                   reason=m.reason, reasoning=JSON(m.reasoning) if m.reasoning else None,
                   required_approvals=m.required_approvals,
                   required_roles=list(m.band.get("requiredRoles") or []),
                   created_at=m.created_at, expires_at=m.expires_at, decided_at=m.decided_at,
                   decision_reason=m.decision_reason)

    @strawberry.field(description="The limit when it was made.")
    def current_limit(self) -> Money:
        return Money.of(self._m.current_limit_minor, self._m.currency)

    @strawberry.field(description="The limit it asks for.")
    def requested_limit(self) -> Money:
        return Money.of(self._m.requested_limit_minor, self._m.currency)

    @strawberry.field(description="The customer whose limit it changes.")
    async def customer(self, info: CtxInfo) -> Customer:
        found = await info.context.loaders.of(approval_service.customers_by_id).load(
            self._m.customer_id)
        if found is None:  # customers are never deleted
            raise LookupError(f"customer {self._m.customer_id} is referenced but missing")
        return Customer.of(found)

    @strawberry.field(description="The sign-offs so far, oldest first.")
    async def approvals(self, info: CtxInfo) -> list[LimitApproval]:
        rows = await info.context.loaders.of(approval_service.approvals_by_request).load(
            self._m.id)
        return [LimitApproval(approver_id=r.approver_id, roles=list(r.roles),
                              decided_at=r.decided_at, comment=r.comment) for r in rows]


@strawberry.input(description="Narrow the requests; every field given must match.")
class LimitChangeRequestFilter:
    customer_id: strawberry.ID | None = None
    status: LimitChangeStatus | None = None


@strawberry.input(description="A new credit limit to ask for, in the account's currency.")
class RequestCreditLimitChangeInput:
    customer_id: strawberry.ID
    limit: MoneyInput
    reason: str | None = None
    idempotency_key: str | None = None


@strawberry.input(description="A sign-off on a pending request.")
class ApproveCreditLimitChangeInput:
    request_id: strawberry.ID
    comment: str | None = None


@strawberry.input(description="A pending request to refuse.")
class RejectCreditLimitChangeInput:
    request_id: strawberry.ID
    reason: str | None = None


@strawberry.input(description="A pending request to withdraw.")
class CancelCreditLimitChangeInput:
    request_id: strawberry.ID


@strawberry.type(description="One amount band of limit increases; the first band an increase "
                             "stays within decides its approvals.")
class ApprovalBand:
    max_increase_percent: str | None = strawberry.field(
        description="The largest increase, in percent of the current limit; null: any.")
    max_increase_amount: str | None = strawberry.field(
        description="The largest increase, in the account currency's major unit; null: any.")
    approvals: int = strawberry.field(description="Sign-offs needed, from different people.")
    roles: list[str] = strawberry.field(description="Roles whose holders may sign off.")
    required_roles: list[str] = strawberry.field(
        description="Roles at least one of the approvers must hold, each.")

    @classmethod
    def of(cls, band: dict[str, Any]) -> ApprovalBand:
        return cls(max_increase_percent=band.get("maxIncreasePercent"),
                   max_increase_amount=band.get("maxIncreaseAmount"),
                   approvals=int(band["approvals"]), roles=list(band.get("roles") or []),
                   required_roles=list(band.get("requiredRoles") or []))


@strawberry.type(description="The bands limit increases go through. A decrease needs none.")
class ApprovalPolicy:
    bands: list[ApprovalBand] = strawberry.field(description="In order; first match wins.")
    recipients: list[str] = strawberry.field(
        description="Who is e-mailed when a request waits for approval.")
    version: int = strawberry.field(description="Rises with every change.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.ApprovalPolicy) -> ApprovalPolicy:
        return cls(bands=[ApprovalBand.of(b) for b in m.bands], recipients=list(m.recipients),
                   version=m.version, updated_at=m.updated_at)


@strawberry.input(description="One band; only the last has no maxima.")
class ApprovalBandInput:
    max_increase_percent: str | None = None
    max_increase_amount: str | None = None
    approvals: int
    roles: list[str]
    required_roles: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="New bands (requests already open keep theirs).")
class SetApprovalPolicyInput:
    bands: list[ApprovalBandInput]
    recipients: list[str] | None = strawberry.field(
        default=None, description="Omit to keep today's.")
    expected_version: int | None = None


@strawberry.type(description="A segment's (and risk profile's) credit policy in one currency.")
class SegmentPolicy(Node):
    segment: str = strawberry.field(description="The customers' segment.")
    risk_profile: RiskProfile | None = strawberry.field(
        description="Only customers of this risk profile; null: any (a profile's own wins).")
    currency: str = strawberry.field(description="The accounts' currency.")
    default_limit: Money | None = strawberry.field(
        description="The limit a new customer starts with when created without one.")
    hard_cap: Money | None = strawberry.field(
        description="No limit, requested or approved, may exceed it.")
    scaling_enabled: bool = strawberry.field(
        description="Whether the scaling job proposes limit changes from behaviour.")
    version: int = strawberry.field(description="Rises with every change.")
    updated_at: datetime = strawberry.field(description="When it last changed.")

    @classmethod
    def of(cls, m: models.SegmentPolicy) -> SegmentPolicy:
        def money(minor: int | None) -> Money | None:
            return None if minor is None else Money.of(minor, m.currency)

        return cls(id=strawberry.ID(str(m.id)), segment=m.segment,
                   risk_profile=RiskProfile(m.risk_profile) if m.risk_profile else None,
                   currency=m.currency, default_limit=money(m.default_limit_minor),
                   hard_cap=money(m.hard_cap_minor), scaling_enabled=m.scaling_enabled,
                   version=m.version, updated_at=m.updated_at)


@strawberry.input(description="Create or replace the policy of (segment, risk profile, "
                              "currency).")
class SetSegmentPolicyInput:
    segment: str
    currency: str
    risk_profile: RiskProfile | None = None
    default_limit: MoneyInput | None = None
    hard_cap: MoneyInput | None = None
    scaling_enabled: bool = False
    expected_version: int | None = None


def _policy_money(value: MoneyInput | None, currency: str, field: str) -> int | None:
    if value is None:
        return None
    if value.currency != currency:
        raise BadInput(f"{field}.currency must equal the policy's currency",
                       field=f"{field}.currency")
    return value.minor(f"{field}.amount", allow_zero=True)


_Decision = Callable[[Actor, Principal, Any], Awaitable[models.LimitChangeRequest]]


async def _decide(info: CtxInfo, request_id: strawberry.ID,
                  decide: _Decision) -> LimitChangeRequest:
    """A decision on a request the caller may see (else NOT_FOUND), in one transaction."""
    principal = info.context.principal
    found = await approval_service.get_readable_request(principal, request_id)
    async with in_transaction():
        request = await decide(info.context.actor, principal, found.id)
    return LimitChangeRequest.of(request)


@strawberry.type
class ApprovalQuery:
    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="Limit change requests of the customers the caller may see, "
                                  "newest first.")
    async def credit_limit_change_requests(
            self, info: CtxInfo, filter: LimitChangeRequestFilter | None = None,
            first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[LimitChangeRequest]:
        flt = filter or LimitChangeRequestFilter()
        page = await approval_service.page_requests(
            info.context.principal,
            customer_id=optional_uuid(flt.customer_id, "filter.customerId"),
            status=models.LimitChangeStatus(flt.status.value) if flt.status else None,
            window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, LimitChangeRequest.of)

    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="A limit change request by id; null when there is none the "
                                  "caller may see.")
    async def credit_limit_change_request(self, info: CtxInfo,
                                          id: strawberry.ID) -> LimitChangeRequest | None:
        try:
            return LimitChangeRequest.of(await approval_service.get_readable_request(
                info.context.principal, id, "id"))
        except NotFound:
            return None


    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="The approval bands of limit increases. Not for partner "
                                  "principals.")
    async def approval_policy(self, info: CtxInfo) -> ApprovalPolicy:
        not_partner(info, "read the approval policy")
        return ApprovalPolicy.of(await policies.approval_policy())

    @strawberry.field(extensions=requires(P.POLICY_READ),
                      description="Segment policies, by segment. Not for partner principals.")
    async def segment_policies(self, info: CtxInfo,
                               segment: str | None = None) -> list[SegmentPolicy]:
        not_partner(info, "read segment policies")
        return [SegmentPolicy.of(p) for p in await policies.list_segment_policies(segment)]


@strawberry.type
class ApprovalMutation:
    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Replace the approval bands (admin, finance).")
    async def set_approval_policy(self, info: CtxInfo,
                                  input: SetApprovalPolicyInput) -> ApprovalPolicy:
        not_partner(info, "set the approval policy")
        bands = [policies.Band(b.max_increase_percent, b.max_increase_amount, b.approvals,
                               b.roles, b.required_roles) for b in input.bands]
        async with in_transaction():
            policy = await policies.set_approval_policy(
                info.context.actor, bands, input.recipients, input.expected_version)
        return ApprovalPolicy.of(policy)

    @strawberry.mutation(extensions=requires(P.POLICY_WRITE),
                         description="Set a segment's default limit, hard cap and scaling.")
    async def set_segment_policy(self, info: CtxInfo,
                                 input: SetSegmentPolicyInput) -> SegmentPolicy:
        not_partner(info, "set segment policies")
        async with in_transaction():
            policy = await policies.set_segment_policy(
                info.context.actor, segment=input.segment,
                risk_profile=customer_models.RiskProfile(input.risk_profile.value)
                if input.risk_profile else None,
                currency=input.currency,
                default_limit_minor=_policy_money(input.default_limit, input.currency,
                                                  "defaultLimit"),
                hard_cap_minor=_policy_money(input.hard_cap, input.currency, "hardCap"),
                scaling_enabled=input.scaling_enabled, expected_version=input.expected_version)
        return SegmentPolicy.of(policy)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE),
                         description="Ask for a new credit limit. A decrease applies at once; "
                                     "an increase waits for the approvals of its band.")
    async def request_credit_limit_change(
            self, info: CtxInfo, input: RequestCreditLimitChangeInput) -> LimitChangeRequest:
        customer = await customer_service.get_readable_customer(
            info.context.principal, input.customer_id, "customerId")
        limit = input.limit.minor("limit.amount", allow_zero=True)
        async with in_transaction():
            request = await approval_service.request_change(
                info.context.actor, customer.id, limit, input.limit.currency,
                reason=input.reason, idempotency_key=input.idempotency_key)
        return LimitChangeRequest.of(request)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_APPROVE),
                         description="Sign off a pending request; the last sign-off applies it "
                                     "(or supersedes it if the limit moved meanwhile).")
    async def approve_credit_limit_change(
            self, info: CtxInfo, input: ApproveCreditLimitChangeInput) -> LimitChangeRequest:
        return await _decide(info, input.request_id, lambda actor, principal, request_id:
                             approval_service.approve(actor, principal, request_id,
                                                      input.comment))

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_APPROVE),
                         description="Refuse a pending request.")
    async def reject_credit_limit_change(
            self, info: CtxInfo, input: RejectCreditLimitChangeInput) -> LimitChangeRequest:
        return await _decide(info, input.request_id, lambda actor, principal, request_id:
                             approval_service.reject(actor, principal, request_id,
                                                     input.reason))

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE),
                         description="Withdraw a pending request: its requester, or an admin.")
    async def cancel_credit_limit_change(
            self, info: CtxInfo, input: CancelCreditLimitChangeInput) -> LimitChangeRequest:
        return await _decide(info, input.request_id, approval_service.cancel)
