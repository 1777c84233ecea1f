"""The vocabulary every domain shares: roles, the permissions each grants, the principal a
request acts as, the actor a change is recorded as, and the one rule of partner visibility."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from ccm_gateway.errors import Forbidden

if TYPE_CHECKING:
    from tortoise.models import Model
    from tortoise.queryset import QuerySet

ModelT = TypeVar("ModelT", bound="Model")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who caused a change: a user, an API client, an integration or the system itself."""

    type: str
    id: str
    request_id: str | None = None
    # The partner a partner-portal principal acts for; its idempotency keys are the partner's.
    partner_id: str | None = None


SYSTEM_ACTOR = Actor(type="system", id="ccm-gateway")


class Permission(StrEnum):
    CUSTOMER_READ = "customer:read"
    CUSTOMER_WRITE = "customer:write"
    SITE_WRITE = "site:write"
    CREDIT_CHECK = "credit:check"
    CREDIT_LIMIT_WRITE = "credit:limit:write"
    LEDGER_READ = "ledger:read"
    LEDGER_WRITE = "ledger:write"
    HOLD_WRITE = "hold:write"
    AUDIT_READ = "audit:read"
    CLIENT_ADMIN = "client:admin"
    ISSUER_ADMIN = "issuer:admin"
    INTEGRATION_READ = "integration:read"
    INTEGRATION_WRITE = "integration:write"
    FX_WRITE = "fx:write"
    ALERT_READ = "alert:read"
    ALERT_WRITE = "alert:write"
    POLICY_READ = "policy:read"
    POLICY_WRITE = "policy:write"
    CREDIT_LIMIT_APPROVE = "credit:limit:approve"
    INVOICE_READ = "invoice:read"
    INVOICE_WRITE = "invoice:write"
    COLLECTION_WRITE = "collection:write"
    REPORT_READ = "report:read"
    RECONCILIATION_WRITE = "reconciliation:write"


class Role(StrEnum):
    ADMIN = "admin"
    FINANCE = "finance"
    CREDIT_MANAGER = "credit_manager"
    IT_ADMIN = "it_admin"
    AUDITOR = "auditor"
    VIEWER = "viewer"


P = Permission
_READ = {P.CUSTOMER_READ, P.LEDGER_READ, P.CREDIT_CHECK, P.ALERT_READ, P.POLICY_READ,
         P.INVOICE_READ, P.REPORT_READ}

# The one permission map; README's table is written from it.
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.FINANCE: frozenset(_READ | {P.CUSTOMER_WRITE, P.CREDIT_LIMIT_WRITE, P.LEDGER_WRITE,
                                     P.HOLD_WRITE, P.FX_WRITE, P.INTEGRATION_READ,
                                     P.ALERT_WRITE, P.POLICY_WRITE, P.CREDIT_LIMIT_APPROVE,
                                     P.INVOICE_WRITE, P.COLLECTION_WRITE,
                                     P.RECONCILIATION_WRITE}),
    Role.CREDIT_MANAGER: frozenset(_READ | {P.CUSTOMER_WRITE, P.CREDIT_LIMIT_WRITE,
                                            P.HOLD_WRITE, P.ALERT_WRITE,
                                            P.CREDIT_LIMIT_APPROVE}),
    Role.IT_ADMIN: frozenset(_READ | {P.SITE_WRITE, P.AUDIT_READ, P.CLIENT_ADMIN,
                                      P.ISSUER_ADMIN, P.INTEGRATION_READ, P.INTEGRATION_WRITE,
                                      P.ALERT_WRITE}),
    Role.AUDITOR: frozenset(_READ | {P.AUDIT_READ, P.INTEGRATION_READ}),
    Role.VIEWER: frozenset(_READ),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user or a machine client, with what it may do."""

    subject: str
    kind: str  # "user" or "client"
    roles: frozenset[Role]
    permissions: frozenset[Permission] = field(default=frozenset())
    # Set for partner-portal principals, who see only their own customers.
    partner_id: str | None = None
    # The scope an OAuth access token was granted (None: not narrowed): permissions are
    # the roles' that it names, and a refusal says which of the two withheld one.
    scope: frozenset[str] | None = None

    @classmethod
    def from_roles(cls, subject: str, kind: str, roles: frozenset[Role],
                   partner_id: str | None = None) -> Principal:
        perms: set[Permission] = set()
        for role in roles:
            perms |= ROLE_PERMISSIONS[role]
        return cls(subject, kind, roles, frozenset(perms), partner_id)

    def narrowed_to(self, scope: frozenset[str]) -> Principal:
        """This principal with only the permissions that ``scope`` names."""
        return Principal(self.subject, self.kind, self.roles,
                         frozenset(p for p in self.permissions if p.value in scope),
                         self.partner_id, scope)

    @property
    def administers_integrations(self) -> bool:
        """May link refs in integrations' ref systems: an operator's integration admin."""
        return self.partner_id is None and Permission.INTEGRATION_WRITE in self.permissions

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission in self.permissions:
            return
        roles = ", ".join(sorted(self.roles)) or "none"
        if self.scope is not None and any(permission in ROLE_PERMISSIONS[r] for r in self.roles):
            scope = " ".join(sorted(self.scope)) or "empty"
            raise Forbidden(f"{permission.value} is required; the token's scope ({scope}) "
                            f"does not include it, although roles {roles} grant it: ask for "
                            f"a token with scope {permission.value}")
        raise Forbidden(f"{permission.value} is required; roles {roles} do not grant it")

    def require_unscoped(self, action: str) -> None:
        """Refuse a partner principal what spans every partner's customers."""
        if self.partner_id is not None:
            raise Forbidden(f"partner principals cannot {action}")

    def actor(self, request_id: str | None) -> Actor:
        return Actor(type=self.kind, id=self.subject, request_id=request_id,
                     partner_id=self.partner_id)


def readable_by(principal: Principal, query: QuerySet[ModelT],
                partner_field: str) -> QuerySet[ModelT]:
    """``query`` narrowed to the rows ``principal`` may read: a partner principal reads only
    what belongs to its own customers. ``partner_field`` is the path from the queried model to
    the owning customer's ``partner_id``. Each domain's readable-by-principal queries go
    through here, so the rule is written once."""
    if principal.partner_id is None:
        return query
    return query.filter(**{partner_field: principal.partner_id})


def may_read(principal: Principal, partner_id: str | None) -> bool:
    """``readable_by``'s rule for one row read already (an event pushed to subscribers):
    a partner principal reads only what belongs to its own customers."""
    return principal.partner_id is None or principal.partner_id == partner_id
