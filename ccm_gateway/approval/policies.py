"""Setting the approval bands and the segment policies (defaults and hard caps)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ccm_gateway.audit import service as audit
from ccm_gateway.customer.models import RiskProfile
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit.money import currency_exponent
from ccm_gateway.kit.text import clean_text
from ccm_gateway.policy import requests as limit_requests
from ccm_gateway.policy import rules as policy_rules
from ccm_gateway.policy.models import ApprovalPolicy, SegmentPolicy
from ccm_gateway.principal import Actor, Role

MAX_BANDS = 10
MAX_APPROVALS = 5
MAX_RECIPIENTS = 50


async def _bump_revision() -> None:
    """Tell every process its cached policy is stale; the row's lock (the UPDATE's) also
    serialises policy changes, so two upserts of one segment never both insert."""
    await policy_rules.bump_revision()


def _check_version(current: int, expected: int | None, what: str) -> None:
    if expected is not None and expected != current:
        raise Conflict(f"the {what} is at version {current}, not {expected}; reload and retry",
                       field="expectedVersion")


# --- approval bands -----------------------------------------------------------


@dataclass(frozen=True)
class Band:
    max_increase_percent: str | None
    max_increase_amount: str | None
    approvals: int
    roles: list[str]
    required_roles: list[str]


def _decimal(value: str | None, field: str) -> str | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BadInput(f"{field} must be a decimal number", field=field) from None
    if not number.is_finite() or number <= 0:
        raise BadInput(f"{field} must be greater than zero", field=field)
    return str(number)


def _roles(roles: list[str], field: str) -> list[str]:
    known = {r.value for r in Role}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise BadInput(f"{field}: unknown role(s) {', '.join(unknown)}; roles are "
                       f"{', '.join(sorted(known))}", field=field)
    return list(dict.fromkeys(roles))


def _recipients(recipients: list[str]) -> list[str]:
    if len(recipients) > MAX_RECIPIENTS:
        raise BadInput(f"at most {MAX_RECIPIENTS} recipients", field="recipients")
    cleaned = []
    for r in recipients:
        value = r.strip()
        if "@" not in value.strip("@") or len(value) > 254 or any(c.isspace() for c in value):
            raise BadInput(f"recipient {r!r} is not an e-mail address", field="recipients")
        cleaned.append(value)
    return list(dict.fromkeys(cleaned))


def validate_bands(bands: list[Band]) -> list[dict[str, Any]]:
    """The bands as stored; first match wins, so only the last may (and must) be open."""
    if not bands or len(bands) > MAX_BANDS:
        raise BadInput(f"give 1 to {MAX_BANDS} bands", field="bands")
    stored = []
    for i, band in enumerate(bands):
        at = f"bands[{i}]"
        percent = _decimal(band.max_increase_percent, f"{at}.maxIncreasePercent")
        amount = _decimal(band.max_increase_amount, f"{at}.maxIncreaseAmount")
        last = i == len(bands) - 1
        if last and (percent is not None or amount is not None):
            raise BadInput("the last band takes every larger increase: it has no maxima",
                           field=f"{at}.maxIncreasePercent")
        if not last and percent is None and amount is None:
            raise BadInput("only the last band may have no maxima; a band after it would "
                           "never match", field=f"{at}.maxIncreasePercent")
        if not 0 <= band.approvals <= MAX_APPROVALS:
            raise BadInput(f"approvals must be between 0 and {MAX_APPROVALS}",
                           field=f"{at}.approvals")
        roles = _roles(band.roles, f"{at}.roles")
        required = _roles(band.required_roles, f"{at}.requiredRoles")
        if band.approvals and not roles:
            raise BadInput("a band that needs approvals names the roles that give them",
                           field=f"{at}.roles")
        if any(r not in roles for r in required):
            raise BadInput("requiredRoles must be among the band's roles",
                           field=f"{at}.requiredRoles")
        if len(required) > band.approvals:
            raise BadInput("a band cannot require more roles than it has approvals",
                           field=f"{at}.requiredRoles")
        stored.append({"maxIncreasePercent": percent, "maxIncreaseAmount": amount,
                       "approvals": band.approvals, "roles": roles,
                       "requiredRoles": required})
    return stored


async def set_approval_policy(actor: Actor, bands: list[Band], recipients: list[str] | None,
                              expected_version: int | None) -> ApprovalPolicy:
    """Replace the bands (requests already open keep the band they were made in)."""
    stored = validate_bands(bands)
    cleaned = None if recipients is None else _recipients(recipients)
    await _bump_revision()
    policy = await ApprovalPolicy.select_for_update().get(id=1)
    _check_version(policy.version, expected_version, "approval policy")
    before = {"bands": policy.bands, "recipients": policy.recipients}
    policy.bands = stored
    if cleaned is not None:
        policy.recipients = cleaned
    policy.version += 1
    policy.updated_at = datetime.now(UTC)
    await policy.save()
    await audit.record(actor, "policy.set_approval_policy", object_type="approval_policy",
                       object_id=1, before=before,
                       after={"bands": policy.bands, "recipients": policy.recipients})
    return policy


async def approval_policy() -> ApprovalPolicy:
    return await limit_requests.approval_policy()


# --- segment policies ---------------------------------------------------------


def segment_snapshot(p: SegmentPolicy) -> dict[str, Any]:
    return {"segment": p.segment, "risk_profile": p.risk_profile, "currency": p.currency,
            "default_limit_minor": p.default_limit_minor, "hard_cap_minor": p.hard_cap_minor,
            "scaling_enabled": p.scaling_enabled}


async def get_segment_policy(policy_id: Any) -> SegmentPolicy:
    found = await SegmentPolicy.get_or_none(id=policy_id)
    if found is None:
        raise NotFound(f"segment policy {policy_id} not found", field="id")
    return found


async def list_segment_policies(segment: str | None = None) -> list[SegmentPolicy]:
    query = SegmentPolicy.all()
    if segment is not None:
        query = query.filter(segment=segment)
    return await query.order_by("segment", "currency", "risk_profile")


async def set_segment_policy(actor: Actor, *, segment: str, risk_profile: RiskProfile | None,
                             currency: str, default_limit_minor: int | None,
                             hard_cap_minor: int | None, scaling_enabled: bool,
                             expected_version: int | None) -> SegmentPolicy:
    """Create or replace the policy of (segment, risk profile or any, currency). Existing
    limits above a lowered cap stay; every later change must come under it."""
    segment = clean_text(segment, "segment", 64)
    currency_exponent(currency)
    for value, field in ((default_limit_minor, "defaultLimit.amount"),
                         (hard_cap_minor, "hardCap.amount")):
        if value is not None:
            limit_requests.check_requested_limit(value, field)
    if default_limit_minor is not None and hard_cap_minor is not None \
            and default_limit_minor > hard_cap_minor:
        raise BadInput("defaultLimit must not exceed hardCap", field="defaultLimit.amount")
    await _bump_revision()
    profile = str(risk_profile) if risk_profile is not None else None
    found = await SegmentPolicy.filter(segment=segment, currency=currency,
                                       risk_profile=profile).select_for_update().first()
    values: dict[str, Any] = {"default_limit_minor": default_limit_minor,
                              "hard_cap_minor": hard_cap_minor,
                              "scaling_enabled": scaling_enabled}
    if found is None:
        if expected_version not in (None, 0):
            raise Conflict(f"there is no policy for segment {segment} yet (version 0)",
                           field="expectedVersion")
        policy = await SegmentPolicy.create(id=uuid.uuid4(), segment=segment,
                                            risk_profile=profile, currency=currency,
                                            version=1, **values)
        before = None
    else:
        _check_version(found.version, expected_version, "segment policy")
        before = segment_snapshot(found)
        found.update_from_dict(values)
        found.version += 1
        await found.save()
        policy = found
    await audit.record(actor, "policy.set_segment_policy", object_type="segment_policy",
                       object_id=policy.id, before=before, after=segment_snapshot(policy))
    return policy
