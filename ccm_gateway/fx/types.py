"""GraphQL for FX rates: list the stored history, publish a rate.

Rates are global reference data, like sites: a partner principal reads them
but may not publish them (a rate moves every partner's conversions).
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from tortoise.transactions import in_transaction

from ccm_gateway.fx import models
from ccm_gateway.fx import service as fx_service
from ccm_gateway.graphql.common import Connection, CtxInfo, page_size, requires
from ccm_gateway.principal import Permission as P


@strawberry.type(description="1 unit of base = rate units of quote, from effectiveAt on.")
class FxRate:
    id: strawberry.ID
    base: str
    quote: str
    rate: str = strawberry.field(description='A decimal string such as "1.0825".')
    effective_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, m: models.FxRate) -> FxRate:
        return cls(id=strawberry.ID(str(m.id)), base=m.base, quote=m.quote, rate=m.rate,
                   effective_at=m.effective_at, created_at=m.created_at)


@strawberry.input
class SetFxRateInput:
    base: str
    quote: str
    rate: str = strawberry.field(
        description='A positive decimal string: at most 12 digits before and 12 after the point.')
    effective_at: datetime = strawberry.field(
        description="With a UTC offset. The same pair and time again with the same rate is a "
                    "no-op; with another rate, CONFLICT: publish a later effectiveAt instead.")


@strawberry.type
class FxQuery:
    @strawberry.field(extensions=requires(P.LEDGER_READ), description="Newest effectiveAt first.")
    async def fx_rates(self, info: CtxInfo, base: str | None = None, quote: str | None = None,
                       first: int | None = None, after: str | None = None
                       ) -> Connection[FxRate]:
        page = await fx_service.page_rates(
            base, quote, first=page_size(info, first), after=after,
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, FxRate.of)


@strawberry.type
class FxMutation:
    @strawberry.mutation(extensions=requires(P.FX_WRITE))
    async def set_fx_rate(self, info: CtxInfo, input: SetFxRateInput) -> FxRate:
        info.context.principal.require_unscoped("set FX rates")
        async with in_transaction():
            rate = await fx_service.set_rate(info.context.actor, input.base, input.quote,
                                             input.rate, input.effective_at)
        return FxRate.of(rate)
