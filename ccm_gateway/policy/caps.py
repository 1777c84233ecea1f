"""Segment policy: the limit a new customer starts with and the cap no limit may exceed."""

from __future__ import annotations

from ccm_gateway.customer.models import Customer
from ccm_gateway.errors import BadInput
from ccm_gateway.kit.money import format_minor
from ccm_gateway.policy.models import SegmentPolicy


async def segment_policy_for(customer: Customer, currency: str) -> SegmentPolicy | None:
    """The policy in force for the customer: its segment and risk profile's, else its
    segment's for any risk profile; None when the segment has none in this currency."""
    found = await SegmentPolicy.filter(segment=customer.segment, currency=currency) \
        .filter(risk_profile__in=[str(customer.risk_profile)]).first()
    if found is None:
        found = await SegmentPolicy.filter(segment=customer.segment, currency=currency,
                                           risk_profile=None).first()
    return found


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
