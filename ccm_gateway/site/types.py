"""GraphQL for sites."""

from __future__ import annotations

from datetime import datetime

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.graphql.common import CtxInfo, Node, requires
from ccm_gateway.principal import Permission as P
from ccm_gateway.site import models
from ccm_gateway.site import service as site_service


@strawberry.type(description="A property, yard or facility. Sites are shared by every "
                             "partner.")
class Site(Node):
    code: str = strawberry.field(description="Unique short code, e.g. YARD-1.")
    name: str = strawberry.field(description="Display name.")
    timezone: str = strawberry.field(description="IANA time zone, e.g. Europe/Berlin.")
    created_at: datetime = strawberry.field(description="When the site was created.")

    @classmethod
    def of(cls, m: models.Site) -> Site:
        return cls(id=strawberry.ID(str(m.id)), code=m.code, name=m.name, timezone=m.timezone,
                   created_at=m.created_at)


@strawberry.input(description="A new site.")
class CreateSiteInput:
    code: str
    name: str
    timezone: str = "UTC"


@strawberry.type
class SiteQuery:
    @strawberry.field(extensions=requires(P.CUSTOMER_READ), description="Every site, by code.")
    async def sites(self) -> list[Site]:
        return [Site.of(s) for s in await site_service.list_sites()]


@strawberry.type
class SiteMutation:
    @strawberry.mutation(extensions=requires(P.SITE_WRITE), description="Add a site.")
    async def create_site(self, info: CtxInfo, input: CreateSiteInput) -> Site:
        async with in_transaction():
            site = await site_service.create_site(
                info.context.actor, code=input.code, name=input.name, timezone=input.timezone)
        return Site.of(site)
