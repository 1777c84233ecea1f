"""GraphQL for API clients (OAuth 2.0 client_credentials): list, create, rotate, revoke.

A secret is returned once, by the mutation that makes it; no query ever shows a
secret or its hash. A principal may only create a client, or rotate the secret of
one, whose scopes it holds itself, so ``client:admin`` does not lead to more.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from ccm_gateway.auth import clients
from ccm_gateway.auth.models import ApiClient as ApiClientModel
from ccm_gateway.auth.permissions import Permission as P
from ccm_gateway.auth.permissions import Role
from ccm_gateway.errors import BadInput, Forbidden
from ccm_gateway.graphql.common import Connection, CtxInfo, page_size, requires

ApiClientRole = strawberry.enum(Enum("ApiClientRole", {r.name: r.value for r in Role}))


@strawberry.type(description="A machine client. Its secret is never shown after it is made.")
class ApiClient:
    client_id: str
    name: str
    roles: list[ApiClientRole]  # type: ignore[valid-type]
    scopes: list[str]
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, m: ApiClientModel) -> ApiClient:
        known = {r.value for r in Role}
        return cls(client_id=m.client_id, name=m.name,
                   roles=[ApiClientRole(r) for r in m.roles.split() if r in known],
                   scopes=m.scopes.split(), expires_at=m.expires_at, revoked_at=m.revoked_at,
                   created_at=m.created_at)


@strawberry.type(description="The client and its secret, shown this once.")
class CreateApiClientPayload:
    client: ApiClient
    client_secret: str


@strawberry.type(description="The client's new secret, shown this once; the old one no "
                             "longer works.")
class RotateApiClientSecretPayload:
    client: ApiClient
    client_secret: str


@strawberry.input
class CreateApiClientInput:
    name: str
    roles: list[ApiClientRole]  # type: ignore[valid-type]
    scopes: list[str] | None = strawberry.field(
        default=None, description="Permission names; default: all that the roles grant.")
    expires_at: datetime | None = None


@strawberry.input
class RotateApiClientSecretInput:
    client_id: str


@strawberry.input
class RevokeApiClientInput:
    client_id: str


def _not_partner(info: CtxInfo) -> None:
    if info.context.principal.partner_id is not None:
        # A client is not scoped to a partner: it would see every customer.
        raise Forbidden("partner principals cannot manage API clients")


def _grantor(info: CtxInfo) -> frozenset[str]:
    return frozenset(p.value for p in info.context.principal.permissions)


def _field(error: BadInput, names: dict[str, str]) -> BadInput:
    """The service names fields as the CLI does; the API names them as its input does."""
    if error.field in names:
        error.field = names[error.field]
    return error


_INPUT_FIELDS = {"role": "roles", "scope": "scopes", "expires_at": "expiresAt"}


@strawberry.type
class AuthQuery:
    @strawberry.field(extensions=requires(P.CLIENT_ADMIN), description="Oldest first.")
    async def api_clients(self, info: CtxInfo, first: int | None = None,
                          after: str | None = None) -> Connection[ApiClient]:
        _not_partner(info)
        page = await clients.page_clients(page_size(info, first), after,
                                          info.context.settings.max_page_size)
        return Connection.of(page, ApiClient.of)


@strawberry.type
class AuthMutation:
    @strawberry.mutation(extensions=requires(P.CLIENT_ADMIN))
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

    @strawberry.mutation(extensions=requires(P.CLIENT_ADMIN))
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
