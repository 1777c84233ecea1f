"""Segment policy: the limit a new customer starts with and the cap no limit may exceed."""

from __future__ import annotations

from collections.abc import Sequence

from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import BadInput
from ccm_gateway.kit.money import format_minor
from ccm_gateway.policy.models import SegmentPolicy


async def segment_policy_for(customer: Customer, currency: str) -> SegmentPolicy | None:
    """The policy in force for the customer: its segment and risk profile's, else its
    segment's for any risk profile; None when the segment has none in this currency."""
    [found] = await segment_policies_for([customer], currency)
    return found


async def segment_policies_for(customers: Sequence[Customer],
                               currency: str) -> list[SegmentPolicy | None]:
    """``segment_policy_for`` of each customer, in the order given, in one query."""
    if not customers:
        return []
    rows = await SegmentPolicy.filter(segment__in={c.segment for c in customers},
                                      currency=currency)
    by_scope: dict[tuple[str, str | None], SegmentPolicy] = {}
    for row in rows:
        by_scope.setdefault((row.segment, row.risk_profile), row)
    return [by_scope.get((c.segment, str(c.risk_profile))) or by_scope.get((c.segment, None))
            for c in customers]


async def check_cap(customer: Customer, currency: str, limit_minor: int, *,
                    field: str = "limit") -> None:
    """BAD_USER_INPUT, naming the cap, when ``limit_minor`` exceeds the segment's hard cap."""
    policy = await segment_policy_for(customer, currency)
    if policy is None or policy.hard_cap_minor is None or limit_minor <= policy.hard_cap_minor:
        return
    scope = f"segment {customer.segment}"
    if policy.risk_profile is not None:
        scope += f", risk profile {policy.risk_profile.upper()}"
    raise BadInput(f"{format_minor(limit_minor, currency)} {currency} exceeds the hard cap of "
                   f"{format_minor(policy.hard_cap_minor, currency)} {currency} for {scope}",
                   field=field)
