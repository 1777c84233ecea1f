"""The credit policy tests' helpers: holds, entries, rules and alerts through the API."""

from __future__ import annotations

from typing import Any

AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename
    ... on Hold { id }
    ... on CreditDeclined { reason }
  }
}"""
VOID = """mutation($input: VoidHoldInput!) { voidHold(input: $input) { id status } }"""
CAPTURE = """
mutation($input: CaptureHoldInput!) { captureHold(input: $input) { id status } }"""
POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) { __typename ... on LedgerEntry { id } }
}"""
SET_LIMIT = """
mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { limit { amount } } }"""
SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) { setSiteLimit(input: $input) { limit { amount } } }"""
ALERTS = """
query($customerId: ID, $kind: String, $acknowledged: Boolean, $createdAfter: DateTime,
      $createdBefore: DateTime) {
  alerts(customerId: $customerId, kind: $kind, acknowledged: $acknowledged,
         createdAfter: $createdAfter, createdBefore: $createdBefore, first: 100) {
    edges { node { id kind severity message customerId details createdAt acknowledgedAt
                   acknowledgedBy acknowledgementNote
                   rule { __typename ... on AlertRule { id thresholdPercent }
                          ... on VelocityRule { id metric } } } }
  }
}"""
CREATE_ALERT_RULE = """
mutation($input: CreateAlertRuleInput!) {
  createAlertRule(input: $input) {
    id thresholdPercent hysteresisPercent segment customerId siteId channels recipients
    enabled version
  }
}"""
CREATE_VELOCITY_RULE = """
mutation($input: CreateVelocityRuleInput!) {
  createVelocityRule(input: $input) {
    id metric windowSeconds amount { amount currency } sharePercent count action
    proposedIncreasePercent recipients enabled version
  }
}"""


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


class Api:
    def __init__(self, gql: Any) -> None:
        self.gql = gql

    async def hold(self, customer_id: str, amount: str, **extra: Any) -> str:
        result = await self.gql(AUTHORIZE, {"input": {"customerId": customer_id,
                                                      "amount": usd(amount)} | extra})
        data = result.data["authorizeCredit"]
        assert data["__typename"] == "Hold", data
        return str(data["id"])

    async def void(self, hold_id: str) -> None:
        (await self.gql(VOID, {"input": {"holdId": hold_id}})).assert_ok()

    async def capture(self, hold_id: str) -> None:
        (await self.gql(CAPTURE, {"input": {"holdId": hold_id}})).assert_ok()

    async def entry(self, customer_id: str, kind: str, amount: str, **extra: Any) -> None:
        result = await self.gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": kind,
                                                       "amount": usd(amount)} | extra})
        assert result.data["postLedgerEntry"]["__typename"] == "LedgerEntry", result.body

    async def set_limit(self, customer_id: str, amount: str) -> None:
        (await self.gql(SET_LIMIT, {"input": {"customerId": customer_id,
                                              "limit": usd(amount)}})).assert_ok()

    async def alerts(self, customer_id: str, kind: str | None = None,
                     **extra: Any) -> list[dict[str, Any]]:
        result = await self.gql(ALERTS, {"customerId": customer_id, "kind": kind} | extra)
        return [e["node"] for e in result.data["alerts"]["edges"]]

    async def thresholds(self, customer_id: str) -> list[tuple[str, float]]:
        """(kind, thresholdPercent) of the customer's threshold alerts, oldest first."""
        found = [a for a in await self.alerts(customer_id)
                 if a["kind"].startswith("credit.threshold")]
        return [(a["kind"], a["details"]["thresholdPercent"]) for a in reversed(found)]

    async def alert_rule(self, **payload: Any) -> dict[str, Any]:
        result = await self.gql(CREATE_ALERT_RULE, {"input": payload})
        return dict(result.data["createAlertRule"])

    async def velocity_rule(self, **payload: Any) -> dict[str, Any]:
        result = await self.gql(CREATE_VELOCITY_RULE, {"input": payload})
        return dict(result.data["createVelocityRule"])
