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
from ccm_gateway.principal import Permission as P


@strawberry.type(description="1 unit of base = rate units of quote, from effectiveAt on.")
class FxRate:
    id: strawberry.ID = strawberry.field(
        description="The rate's number; it never changes, as a published rate never does.")
    base: str = strawberry.field(description="ISO 4217 code of the currency converted from.")
    quote: str = strawberry.field(description="ISO 4217 code of the currency converted to.")
    rate: str = strawberry.field(description='A decimal string such as "1.0825".')
    effective_at: datetime = strawberry.field(description="From when it applies.")
    created_at: datetime = strawberry.field(description="When it was published.")

    @classmethod
    def of(cls, m: models.FxRate) -> FxRate:
        return cls(id=strawberry.ID(str(m.id)), base=m.base, quote=m.quote, rate=m.rate,
                   effective_at=m.effective_at, created_at=m.created_at)


@strawberry.input(description="A rate to publish.")
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
    @strawberry.field(extensions=requires(P.LEDGER_READ),
                      description="Published rates, of one base and/or quote if given, newest "
                                  "effectiveAt first.")
    async def fx_rates(self, info: CtxInfo, base: str | None = None, quote: str | None = None,
                       first: First = None, after: After = None, last: Last = None,
                       before: Before = None) -> Connection[FxRate]:
        page = await fx_service.page_rates(
            base, quote, window=window(info, first, after, last, before),
            max_page_size=info.context.settings.max_page_size)
        return Connection.of(page, FxRate.of)


@strawberry.type
class FxMutation:
    @strawberry.mutation(extensions=requires(P.FX_WRITE),
                         description="Publish a rate. Not for partner principals.")
    async def set_fx_rate(self, info: CtxInfo, input: SetFxRateInput) -> FxRate:
        info.context.principal.require_unscoped("set FX rates")
        async with in_transaction():
            rate = await fx_service.set_rate(info.context.actor, input.base, input.quote,
                                             input.rate, input.effective_at)
        return FxRate.of(rate)
