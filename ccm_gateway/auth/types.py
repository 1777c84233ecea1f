"""GraphQL for API clients (OAuth 2.0 client_credentials) and trusted OIDC issuers.

A client secret is returned once, by the mutation that makes it; no query ever
shows a secret or its hash. A principal may only create a client, or rotate the
secret of one, whose scopes it holds itself, so ``client:admin`` does not lead to
more. Trusted issuers are listed with those of the environment, which the API
cannot change.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.auth import clients, trusted_issuers
from ccm_gateway.auth.issuers import issuers_changed
from ccm_gateway.auth.models import ApiClient as ApiClientModel
from ccm_gateway.auth.models import TrustedIssuerRecord
from ccm_gateway.errors import BadInput
from ccm_gateway.graphql.common import (
    After,
    Before,
    Connection,
    CtxInfo,
    First,
    Last,
    requires,
    window,
)
from ccm_gateway.kit.ids import derived_id
from ccm_gateway.principal import Permission as P
from ccm_gateway.principal import Role

# The models' enums are the GraphQL enums (strawberry exposes an Enum under its
# class name, with the members' names as values), registered with a description.
strawberry.enum(Role, name="ApiClientRole", description="A role: the set of permissions it grants.")
ApiClientRole = Role


@strawberry.type(description="A machine client. Its secret is never shown after it is made.")
class ApiClient:
    id: strawberry.ID = strawberry.field(
        description="The client's own number, stable for its lifetime; unique among API "
                    "clients. Mutations name a client by clientId.")
    client_id: str = strawberry.field(description="The OAuth 2.0 client_id.")
    name: str = strawberry.field(description="Display name.")
    roles: list[ApiClientRole] = strawberry.field(
        description="Its roles.")
    scopes: list[str] = strawberry.field(
        description="The permissions its tokens carry (within what its roles grant).")
    expires_at: datetime | None = strawberry.field(
        description="When its secret stops working; null: never.")
    revoked_at: datetime | None = strawberry.field(description="When it was revoked, if it was.")
    created_at: datetime = strawberry.field(description="When it was created.")

    @classmethod
    def of(cls, m: ApiClientModel) -> ApiClient:
        known = {r.value for r in Role}
        return cls(id=strawberry.ID(str(m.id)), client_id=m.client_id, name=m.name,
                   roles=[ApiClientRole(r) for r in m.roles.split() if r in known],
                   scopes=m.scopes.split(), expires_at=m.expires_at, revoked_at=m.revoked_at,
                   created_at=m.created_at)


@strawberry.type(description="The client and its secret, shown this once.")
class CreateApiClientPayload:
    client: ApiClient = strawberry.field(description="The new client.")
    client_secret: str = strawberry.field(description="Its secret; it is never shown again.")


@strawberry.type(description="The client's new secret, shown this once; the old one no "
                             "longer works.")
class RotateApiClientSecretPayload:
    client: ApiClient = strawberry.field(description="The client.")
    client_secret: str = strawberry.field(description="Its new secret; it is never shown again.")


@strawberry.input(description="A new machine client.")
class CreateApiClientInput:
    name: str
    roles: list[ApiClientRole]
    scopes: list[str] | None = strawberry.field(
        default=None, description="Permission names; default: all that the roles grant.")
    expires_at: datetime | None = None


@strawberry.input(description="A client whose secret to replace.")
class RotateApiClientSecretInput:
    client_id: str


@strawberry.input(description="A client to revoke.")
class RevokeApiClientInput:
    client_id: str


def _not_partner(info: CtxInfo, what: str = "API clients") -> None:
    # A client or an issuer is not scoped to a partner: it would see (or let
    # its tokens name) every partner's customers.
    info.context.principal.require_unscoped(f"manage {what}")


def _grantor(info: CtxInfo) -> frozenset[str]:
    return frozenset(p.value for p in info.context.principal.permissions)


def _field(error: BadInput, names: dict[str, str]) -> BadInput:
    """The service names fields as the CLI does; the API names them as its input does."""
    if error.field in names:
        error.field = names[error.field]
    return error


_INPUT_FIELDS = {"role": "roles", "scope": "scopes", "expires_at": "expiresAt"}


@strawberry.enum(
    description="ENVIRONMENT: CCM_TRUSTED_ISSUERS, read-only here; API: managed here.")
class TrustedIssuerSource(Enum):
    ENVIRONMENT = trusted_issuers.ENVIRONMENT
    API = trusted_issuers.API


@strawberry.type(description="A claim value of the issuer's role claim and the role it grants.")
class RoleMapping:
    claim_value: str = strawberry.field(description="A value of the role claim.")
    role: ApiClientRole = strawberry.field(
        description="The role it grants.")


@strawberry.input(description="A claim value and the role it grants.")
class RoleMappingInput:
    claim_value: str
    role: ApiClientRole


@strawberry.type(description="An OIDC provider of a partner portal whose access tokens are "
                             "accepted; each token acts for the partner its partner claim names.")
class TrustedIssuer:
    id: strawberry.ID = strawberry.field(
        description="An issuer added through the API: its own number, stable for its "
                    "lifetime and unique among trusted issuers. An issuer of the environment, "
                    "which has no record: a UUID derived from its issuer URL. Mutations name "
                    "an issuer by issuer.")
    issuer: str = strawberry.field(description="The tokens' iss.")
    audience: str = strawberry.field(description="The aud its tokens must carry.")
    role_claim: str = strawberry.field(description="The claim that names the user's roles.")
    role_map: list[RoleMapping] = strawberry.field(
        description="Which claim values grant which roles; others grant none.")
    partner_claim: str = strawberry.field(
        description="The claim that names the partner a token acts for.")
    algorithms: list[str] = strawberry.field(description="The signature algorithms accepted.")
    enabled: bool = strawberry.field(description="Its tokens are accepted.")
    source: TrustedIssuerSource = strawberry.field(
        description="Where it is configured.")
    created_at: datetime | None = strawberry.field(
        description="When it was added; null for the environment's.")
    updated_at: datetime | None = strawberry.field(
        description="When it last changed; null for the environment's.")

    @classmethod
    def of(cls, entry: trusted_issuers.IssuerEntry) -> TrustedIssuer:
        known = {r.value for r in Role}
        config = entry.config
        row_id = (str(entry.row_id) if entry.row_id is not None
                  else str(derived_id("TrustedIssuer", config.issuer)))
        return cls(id=strawberry.ID(row_id), issuer=config.issuer, audience=config.audience,
                   role_claim=config.role_claim,
                   # By claim value: PostgreSQL's jsonb keeps no key order.
                   role_map=[RoleMapping(claim_value=v, role=ApiClientRole(r))
                             for v, r in sorted(config.role_map.items()) if r in known],
                   partner_claim=config.partner_claim, algorithms=list(config.algorithms),
                   enabled=entry.enabled, source=TrustedIssuerSource(entry.source),
                   created_at=entry.created_at, updated_at=entry.updated_at)


@strawberry.input(description="An OIDC provider to trust.")
class CreateTrustedIssuerInput:
    issuer: str = strawberry.field(description="Exactly the tokens' iss: https:// (http:// "
                                               "only on loopback).")
    audience: str
    role_map: list[RoleMappingInput]
    role_claim: str = "roles"
    partner_claim: str = "partner"
    algorithms: list[str] | None = strawberry.field(
        default=None, description="Asymmetric only; default: RS256 ES256 EdDSA Ed25519.")
    enabled: bool = True


@strawberry.input(description="Fields left out stay as they are.")
class UpdateTrustedIssuerInput:
    issuer: str
    audience: str | None = None
    role_map: list[RoleMappingInput] | None = None
    role_claim: str | None = None
    partner_claim: str | None = None
    algorithms: list[str] | None = None
    enabled: bool | None = None


@strawberry.input(description="An issuer to stop trusting.")
class DeleteTrustedIssuerInput:
    issuer: str


@strawberry.type(description="The issuer as it was before it was deleted.")
class DeleteTrustedIssuerPayload:
    deleted: TrustedIssuer = strawberry.field(description="The deleted issuer.")


_ISSUER_FIELDS = {"issuer": "issuer", "audience": "audience", "role_claim": "roleClaim",
                  "role_map": "roleMap", "partner_claim": "partnerClaim",
                  "algorithms": "algorithms"}


def _role_map(pairs: list[RoleMappingInput] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    try:
        return trusted_issuers.role_map_of([(p.claim_value, p.role.value) for p in pairs])
    except BadInput as exc:
        raise _field(exc, _ISSUER_FIELDS) from None


def _issuer_entry(row: TrustedIssuerRecord) -> TrustedIssuer:
    return TrustedIssuer.of(trusted_issuers.IssuerEntry.of(row))


@strawberry.type
class AuthQuery:
    @strawberry.field(extensions=requires(P.CLIENT_ADMIN),
                      description="Machine clients, oldest first. Not for partner principals.")
    async def api_clients(self, info: CtxInfo, first: First = None, after: After = None,
                          last: Last = None, before: Before = None) -> Connection[ApiClient]:
        _not_partner(info)
        page = await clients.page_clients(window(info, first, after, last, before),
                                          info.context.settings.max_page_size)
        return Connection.of(page, ApiClient.of)

    @strawberry.field(extensions=requires(P.ISSUER_ADMIN),
                      description="Trusted OIDC issuers: the environment's first, then the "
                                  "API's oldest first. Not for partner principals.")
    async def trusted_issuers(self, info: CtxInfo, first: First = None, after: After = None,
                              last: Last = None,
                              before: Before = None) -> Connection[TrustedIssuer]:
        _not_partner(info, "trusted issuers")
        settings = info.context.settings
        page = await trusted_issuers.page_issuers(settings.trusted_issuers,
                                                  window(info, first, after, last, before),
                                                  settings.max_page_size)
        return Connection.of(page, TrustedIssuer.of)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(extensions=requires(P.CLIENT_ADMIN),
                         description="Create a machine client; its secret is shown this once.")
    async def create_api_client(self, info: CtxInfo,
                                input: CreateApiClientInput) -> CreateApiClientPayload:
        _not_partner(info)
        try:
            created = await clients.create_client(
                input.name, [r.value for r in input.roles], input.scopes,
                expires_at=input.expires_at, grantor=_grantor(info),
                actor=info.context.actor)
        except BadInput as exc:
            raise _field(exc, _INPUT_FIELDS) from None
        return CreateApiClientPayload(client=ApiClient.of(created.client),
                                      client_secret=created.client_secret)

    @strawberry.mutation(extensions=requires(P.CLIENT_ADMIN),
                         description="Replace a client's secret; the new one is shown this "
                                     "once.")
    async def rotate_api_client_secret(
            self, info: CtxInfo,
            input: RotateApiClientSecretInput) -> RotateApiClientSecretPayload:
        _not_partner(info)
        rotated = await clients.rotate_secret(input.client_id, grantor=_grantor(info),
                                              actor=info.context.actor)
        return RotateApiClientSecretPayload(client=ApiClient.of(rotated.client),
                                            client_secret=rotated.client_secret)

    @strawberry.mutation(extensions=requires(P.CLIENT_ADMIN),
                         description="Its tokens stop working at once; it cannot be undone.")
    async def revoke_api_client(self, info: CtxInfo, input: RevokeApiClientInput) -> ApiClient:
        _not_partner(info)
        return ApiClient.of(await clients.revoke_client(input.client_id,
                                                        actor=info.context.actor))

    @strawberry.mutation(extensions=requires(P.ISSUER_ADMIN),
                         description="Its tokens are accepted at once in this process, "
                                     "within seconds in every other.")
    async def create_trusted_issuer(self, info: CtxInfo,
                                    input: CreateTrustedIssuerInput) -> TrustedIssuer:
        _not_partner(info, "trusted issuers")
        role_map = _role_map(input.role_map) or {}
        try:
            async with in_transaction():
                row = await trusted_issuers.create_issuer(
                    info.context.actor, info.context.settings.trusted_issuers,
                    issuer=input.issuer, audience=input.audience, role_map=role_map,
                    role_claim=input.role_claim, partner_claim=input.partner_claim,
                    algorithms=input.algorithms,
                    enabled=input.enabled)
        except BadInput as exc:
            raise _field(exc, _ISSUER_FIELDS) from None
        issuers_changed()  # after the commit: a reload before it would miss the change
        return _issuer_entry(row)

    @strawberry.mutation(extensions=requires(P.ISSUER_ADMIN),
                         description="Only issuers added through the API can be changed.")
    async def update_trusted_issuer(self, info: CtxInfo,
                                    input: UpdateTrustedIssuerInput) -> TrustedIssuer:
        _not_partner(info, "trusted issuers")
        role_map = _role_map(input.role_map)
        try:
            async with in_transaction():
                row = await trusted_issuers.update_issuer(
                    info.context.actor, info.context.settings.trusted_issuers, input.issuer,
                    audience=input.audience, role_claim=input.role_claim, role_map=role_map,
                    partner_claim=input.partner_claim, algorithms=input.algorithms,
                    enabled=input.enabled)
        except BadInput as exc:
            raise _field(exc, _ISSUER_FIELDS) from None
        issuers_changed()
        return _issuer_entry(row)

    @strawberry.mutation(extensions=requires(P.ISSUER_ADMIN),
                         description="Its tokens are refused from then on.")
    async def delete_trusted_issuer(self, info: CtxInfo,
                                    input: DeleteTrustedIssuerInput) -> DeleteTrustedIssuerPayload:
        _not_partner(info, "trusted issuers")
        async with in_transaction():
            row = await trusted_issuers.delete_issuer(
                info.context.actor, info.context.settings.trusted_issuers, input.issuer)
        issuers_changed()
        return DeleteTrustedIssuerPayload(deleted=_issuer_entry(row))
