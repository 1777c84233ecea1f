"""What the credit policy costs a write that crosses nothing (issue 13): on PostgreSQL
no statement at all, the policy revision coming along with the account lock; on SQLite
the one that reads the revision."""

from __future__ import annotations

from typing import Any

import pytest
from policykit import Api

from ccm_gateway.config import Settings
from ccm_gateway.policy import evaluate
from ccm_gateway.policy.models import AlertRuleState


async def statements(count_queries: Any, write: Any) -> int:
    count_queries.count = 0
    await write()
    return int(count_queries.count)


@pytest.mark.parametrize("kind", ["hold", "capture", "charge"])
async def test_a_write_that_crosses_nothing_sends_no_statement_for_the_policy(
        api: Api, make_customer: Any, count_queries: Any, monkeypatch: pytest.MonkeyPatch,
        settings: Settings, kind: str):
    # The revision is read on its own where the lock statement cannot bring it (SQLite).
    extra = 0 if settings.database_url.startswith("postgres") else 1
    customer = await make_customer(limit="1000000.00")
    holds = [await api.hold(customer, "1.00") for _ in range(2)]  # the rules cached

    writes = {"hold": lambda: api.hold(customer, "1.00"),
              "capture": lambda: api.capture(holds.pop()),
              "charge": lambda: api.entry(customer, "CHARGE", "1.00")}
    evaluated = await statements(count_queries, writes[kind])

    async def nothing(*args: Any, **kwargs: Any) -> list[Any]:
        return []

    monkeypatch.setattr(evaluate, "exposure_changed", nothing)
    unevaluated = await statements(count_queries, writes[kind])
    assert evaluated == unevaluated + extra
    assert not await AlertRuleState.filter(customer_id=customer).exists()
