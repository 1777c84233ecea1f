"""GraphQL for sites."""

from __future__ import annotations

from datetime import datetime

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.graphql.common import CtxInfo, requires
from ccm_gateway.principal import Permission as P
from ccm_gateway.site import models
from ccm_gateway.site import service as site_service


@strawberry.type
class Site:
    id: strawberry.ID
    code: str
    name: str
    timezone: str
    created_at: datetime

    @classmethod
    def of(cls, m: models.Site) -> Site:
        return cls(id=strawberry.ID(str(m.id)), code=m.code, name=m.name, timezone=m.timezone,
                   created_at=m.created_at)


@strawberry.input
class CreateSiteInput:
    code: str
    name: str
    timezone: str = "UTC"


@strawberry.type
class SiteQuery:
    @strawberry.field(extensions=requires(P.CUSTOMER_READ))
    async def sites(self) -> list[Site]:
        return [Site.of(s) for s in await site_service.list_sites()]


@strawberry.type
class SiteMutation:
    @strawberry.mutation(extensions=requires(P.SITE_WRITE))
    async def create_site(self, info: CtxInfo, input: CreateSiteInput) -> Site:
        async with in_transaction():
            site = await site_service.create_site(
                info.context.actor, code=input.code, name=input.name, timezone=input.timezone)
        return Site.of(site)
