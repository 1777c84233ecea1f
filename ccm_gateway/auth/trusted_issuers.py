"""Trusted OIDC issuers kept in the database: list, create, update, delete.

They are trusted next to the issuers of ``CCM_TRUSTED_ISSUERS``, which stay the
environment's: an issuer configured there cannot be added, changed or removed
here (CONFLICT), so an operator's configuration is never overridden through the
API. Every entry is checked by ``TrustedIssuer.check`` exactly as the
environment's are. Callers own the transaction; ``auth/issuers.py`` picks the
changes up (``issuers_changed`` in this process, a periodic reload in others).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from ccm_gateway.audit.service import record
from ccm_gateway.auth.models import TrustedIssuerRecord
from ccm_gateway.config import DEFAULT_ISSUER_ALGORITHMS, InvalidIssuer, TrustedIssuer
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit.pagination import (
    Page,
    Window,
    cursor_id,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
)
from ccm_gateway.principal import Actor

ENVIRONMENT = "environment"
API = "api"
# Column sizes of TrustedIssuerRecord.
ISSUER_MAX = AUDIENCE_MAX = 500
CLAIM_MAX = 100
ALGORITHMS_MAX = 255
ROLE_MAP_MAX = 100  # entries; a claim value maps to one role
CLAIM_VALUE_MAX = 200


@dataclass(frozen=True, slots=True)
class IssuerEntry:
    """One trusted issuer as listed: from the environment (no timestamps) or the API."""

    config: TrustedIssuer
    source: str  # ENVIRONMENT or API
    enabled: bool
    created_at: datetime | None = None
    updated_at: datetime | None = None
    row_id: int | None = None  # an API issuer's TrustedIssuerRecord.id

    @classmethod
    def of(cls, row: TrustedIssuerRecord) -> IssuerEntry:
        return cls(to_config(row), API, row.enabled, row.created_at, row.updated_at, row.id)


def to_config(row: TrustedIssuerRecord) -> TrustedIssuer:
    return TrustedIssuer(issuer=row.issuer, audience=row.audience, role_claim=row.role_claim,
                         role_map=dict(row.role_map), partner_claim=row.partner_claim,
                         algorithms=tuple(row.algorithms.split()))


async def enabled_issuers() -> list[TrustedIssuer]:
    """The enabled issuers of the database, as verification needs them."""
    rows = await TrustedIssuerRecord.filter(enabled=True).order_by("id")
    return [to_config(r) for r in rows]


def describe(row: TrustedIssuerRecord) -> dict[str, Any]:
    return {"issuer": row.issuer, "audience": row.audience, "role_claim": row.role_claim,
            "role_map": dict(sorted(row.role_map.items())), "partner_claim": row.partner_claim,
            "algorithms": row.algorithms.split(), "enabled": row.enabled}


async def page_issuers(environment: Sequence[TrustedIssuer], window: Window,
                       max_page_size: int) -> Page:
    """The environment's issuers in their configured order, then the API's oldest first."""
    window.check(max_page_size)
    after = _position(window.after, "after") if window.after else None
    before = _position(window.before, "before") if window.before else None
    env = [((0, i), IssuerEntry(config, ENVIRONMENT, True))
           for i, config in enumerate(environment)
           if (after is None or (0, i) > after) and (before is None or (0, i) < before)]
    api = TrustedIssuerRecord.all()
    if after is not None and after[0] == 1:
        api = api.filter(id__gt=after[1])
    if before is not None and before[0] == 1:
        api = api.filter(id__lt=before[1])
    api_allowed = before is None or before[0] == 1
    size = window.size
    items: list[tuple[tuple[int, int], IssuerEntry]]
    if window.backward:
        rows = await api.order_by("-id").limit(size + 1) if api_allowed else []
        items = [((1, r.id), IssuerEntry.of(r)) for r in reversed(rows)]
        if len(items) <= size:
            items = env[max(0, len(env) - (size + 1 - len(items))):] + items
        has_previous, items = len(items) > size, items[-size:]
        has_next = before is not None and await _any_from(environment, before)
    else:
        items = env[:size + 1]
        if len(items) <= size and api_allowed:
            rows = await api.order_by("id").limit(size + 1 - len(items))
            items += [((1, r.id), IssuerEntry.of(r)) for r in rows]
        has_next, items = len(items) > size, items[:size]
        has_previous = after is not None and await _any_up_to(environment, after)
    return Page([entry for _, entry in items],
                [encode_cursor(ENVIRONMENT if rank == 0 else API, position)
                 for (rank, position), _ in items], has_next, has_previous)


def _position(cursor: str, field: str) -> tuple[int, int]:
    """A cursor's place in the list: (0, index) of an environment issuer, (1, row id) of an
    API one."""
    source, position = decode_cursor(cursor, 2, field)
    if source not in (ENVIRONMENT, API):
        raise invalid_cursor(field)
    return (0 if source == ENVIRONMENT else 1, cursor_id(position, int, field))


async def _any_up_to(environment: Sequence[TrustedIssuer], position: tuple[int, int]) -> bool:
    """Whether an issuer sits at or before ``position``."""
    if environment:
        return True
    return position[0] == 1 and await TrustedIssuerRecord.filter(id__lte=position[1]).exists()


async def _any_from(environment: Sequence[TrustedIssuer], position: tuple[int, int]) -> bool:
    """Whether an issuer sits at or after ``position``."""
    rank, at = position
    if rank == 0:
        return at < len(environment) or await TrustedIssuerRecord.all().exists()
    return await TrustedIssuerRecord.filter(id__gte=at).exists()


def _check(config: TrustedIssuer) -> None:
    """The environment's checks, and what the table can hold."""
    try:
        config.check("trusted issuer")
    except InvalidIssuer as exc:
        raise BadInput(exc.problem, field=exc.attribute) from None
    for name, limit in (("issuer", ISSUER_MAX), ("audience", AUDIENCE_MAX),
                        ("role_claim", CLAIM_MAX), ("partner_claim", CLAIM_MAX)):
        if len(getattr(config, name)) > limit:
            raise BadInput(f"{name} must be at most {limit} characters", field=name)
    if len(" ".join(config.algorithms)) > ALGORITHMS_MAX:
        raise BadInput("too many algorithms", field="algorithms")


def role_map_of(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """(claim value, role) pairs as a map; a claim value may appear once."""
    if len(pairs) > ROLE_MAP_MAX:
        raise BadInput(f"role_map may have at most {ROLE_MAP_MAX} entries", field="role_map")
    mapped: dict[str, str] = {}
    for value, role in pairs:
        if not value or len(value) > CLAIM_VALUE_MAX:
            raise BadInput(f"a claim value must have 1 to {CLAIM_VALUE_MAX} characters",
                           field="role_map")
        if value in mapped:
            raise BadInput(f"claim value {value!r} is mapped twice", field="role_map")
        mapped[value] = role
    return mapped


def _not_from_environment(issuer: str, environment: Sequence[TrustedIssuer]) -> None:
    if any(c.issuer == issuer for c in environment):
        raise Conflict(f"issuer {issuer!r} is configured by the environment "
                       "(CCM_TRUSTED_ISSUERS); change it there", field="issuer")


async def create_issuer(actor: Actor, environment: Sequence[TrustedIssuer], *, issuer: str,
                        audience: str, role_map: Mapping[str, str],
                        role_claim: str = "roles", partner_claim: str = "partner",
                        algorithms: Sequence[str] | None = None,
                        enabled: bool = True) -> TrustedIssuerRecord:
    config = TrustedIssuer(issuer=issuer, audience=audience, role_claim=role_claim,
                           role_map=dict(role_map), partner_claim=partner_claim,
                           algorithms=(DEFAULT_ISSUER_ALGORITHMS if algorithms is None
                                       else tuple(algorithms)))
    _check(config)
    _not_from_environment(issuer, environment)
    if await TrustedIssuerRecord.exists(issuer=issuer):
        raise Conflict(f"issuer {issuer!r} is already trusted", field="issuer")
    now = datetime.now(UTC)
    try:
        row = await TrustedIssuerRecord.create(
            issuer=issuer, audience=audience, role_claim=role_claim,
            role_map=dict(config.role_map), partner_claim=partner_claim,
            algorithms=" ".join(config.algorithms), enabled=enabled,
            created_at=now, updated_at=now)
    except IntegrityError:
        # Created concurrently between the check above and this insert.
        raise Conflict(f"issuer {issuer!r} is already trusted", field="issuer") from None
    await record(actor, "issuer.create", object_type="trusted_issuer", object_id=issuer,
                 after=describe(row))
    return row


async def _locked(issuer: str) -> TrustedIssuerRecord:
    row = await TrustedIssuerRecord.filter(issuer=issuer).select_for_update().first()
    if row is None:
        raise NotFound(f"no trusted issuer {issuer!r} was added through the API",
                       field="issuer")
    return row


async def update_issuer(actor: Actor, environment: Sequence[TrustedIssuer], issuer: str, *,
                        audience: str | None = None, role_claim: str | None = None,
                        role_map: Mapping[str, str] | None = None,
                        partner_claim: str | None = None,
                        algorithms: Sequence[str] | None = None,
                        enabled: bool | None = None) -> TrustedIssuerRecord:
    """Change the given attributes (None leaves one as it is); no change, no audit."""
    _not_from_environment(issuer, environment)
    row = await _locked(issuer)
    before = describe(row)
    current = to_config(row)
    config = TrustedIssuer(
        issuer=row.issuer,
        audience=current.audience if audience is None else audience,
        role_claim=current.role_claim if role_claim is None else role_claim,
        role_map=current.role_map if role_map is None else dict(role_map),
        partner_claim=current.partner_claim if partner_claim is None else partner_claim,
        algorithms=current.algorithms if algorithms is None else tuple(algorithms))
    _check(config)
    row.audience, row.role_claim, row.partner_claim = (config.audience, config.role_claim,
                                                       config.partner_claim)
    row.role_map = dict(config.role_map)
    row.algorithms = " ".join(config.algorithms)
    if enabled is not None:
        row.enabled = enabled
    after = describe(row)
    if after == before:
        return row
    row.updated_at = datetime.now(UTC)
    await row.save()
    await record(actor, "issuer.update", object_type="trusted_issuer", object_id=issuer,
                 before=before, after=after)
    return row


async def delete_issuer(actor: Actor, environment: Sequence[TrustedIssuer],
                        issuer: str) -> TrustedIssuerRecord:
    """Remove an issuer added through the API; its tokens stop being accepted."""
    # A row the environment later came to configure too may still be removed:
    # the environment's entry is the one in force either way.
    row = await TrustedIssuerRecord.filter(issuer=issuer).select_for_update().first()
    if row is None:
        _not_from_environment(issuer, environment)
        raise NotFound(f"no trusted issuer {issuer!r} was added through the API",
                       field="issuer")
    await row.delete()
    await record(actor, "issuer.delete", object_type="trusted_issuer", object_id=issuer,
                 before=describe(row))
    return row
