"""GraphQL for limit changes that go through approvals, and the bands they go through."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON
from tortoise.transactions import in_transaction

from ccm_gateway.approval import service as approval_service
from ccm_gateway.customer import service as customer_service
from ccm_gateway.customer.types import Customer
from ccm_gateway.errors import NotFound
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
    requires,
    window,
)
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.policy import models
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
            customer_id=parse_uuid(flt.customer_id, "filter.customerId")
            if flt.customer_id else None,
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


@strawberry.type
class ApprovalMutation:
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
        principal = info.context.principal
        found = await approval_service.get_readable_request(principal, input.request_id)
        async with in_transaction():
            request = await approval_service.approve(info.context.actor, principal, found.id,
                                                     input.comment)
        return LimitChangeRequest.of(request)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_APPROVE),
                         description="Refuse a pending request.")
    async def reject_credit_limit_change(
            self, info: CtxInfo, input: RejectCreditLimitChangeInput) -> LimitChangeRequest:
        principal = info.context.principal
        found = await approval_service.get_readable_request(principal, input.request_id)
        async with in_transaction():
            request = await approval_service.reject(info.context.actor, principal, found.id,
                                                    input.reason)
        return LimitChangeRequest.of(request)

    @strawberry.mutation(extensions=requires(P.CREDIT_LIMIT_WRITE),
                         description="Withdraw a pending request: its requester, or an admin.")
    async def cancel_credit_limit_change(
            self, info: CtxInfo, input: CancelCreditLimitChangeInput) -> LimitChangeRequest:
        principal = info.context.principal
        found = await approval_service.get_readable_request(principal, input.request_id)
        async with in_transaction():
            request = await approval_service.cancel(info.context.actor, principal, found.id)
        return LimitChangeRequest.of(request)
