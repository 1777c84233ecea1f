"""Integrations: the systems that call us, their signing secrets and protocol profiles.

A signing secret is stored only as a SecretBox ciphertext (context
``integration-secret:<id>``) and shown once, by the mutation that sets it.
Rotating keeps the previous secret valid for an overlap so the vendor can
switch without refused callbacks. Deleting keeps the row (and its inbox) for
history; the slug stays taken.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Final

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Max
from tortoise.transactions import in_transaction

from ccm_gateway.audit.service import record
from ccm_gateway.customer import service as customer_service
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.integration.models import (
    InboundEvent,
    InboundStatus,
    Integration,
    IntegrationKind,
    ProtocolProfileRecord,
)
from ccm_gateway.integration.profiles.loading import load_profile, shipped_profiles
from ccm_gateway.integration.profiles.model import Profile
from ccm_gateway.integration.profiles.signatures import check_secret, generate_secret
from ccm_gateway.kit.pagination import (
    Keyset,
    Page,
    Window,
    page,
)
from ccm_gateway.kit.ratelimit import MAX_RATE_PER_SECOND
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.principal import Actor

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
REF_SYSTEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ALL_SEGMENTS = "*"
MAX_OVERLAP_SECONDS = 30 * 86400
DEFAULT_OVERLAP_SECONDS = 86400
# Uploaded profiles are read from the database at most this often per process, so
# an upload takes effect everywhere within this many seconds.
PROFILE_CACHE_SECONDS = 5.0
HEALTH_WINDOW = timedelta(hours=24)
# Scheduled sync: often enough for a gate's picture, rarely enough for a vendor's API.
MIN_SYNC_FREQUENCY_SECONDS = 60
MAX_SYNC_FREQUENCY_SECONDS = 86400


class Keep(Enum):
    """An update argument left out: the field stays as it is (where None means "clear")."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


def _context(integration_id: Any) -> str:
    return f"integration-secret:{integration_id}"


def describe(i: Integration) -> dict[str, Any]:
    """What the audit log keeps of an integration: never a secret."""
    return {"slug": i.slug, "name": i.name, "kind": str(i.kind), "profile": i.profile,
            "ref_system": i.ref_system, "segments": list(i.segments),
            "rate_limit_per_second": i.rate_limit_per_second,
            "rate_limit_burst": i.rate_limit_burst,
            "secret_overlap_seconds": i.secret_overlap_seconds,
            "sync_frequency_seconds": i.sync_frequency_seconds, "enabled": i.enabled,
            "deleted_at": i.deleted_at.isoformat() if i.deleted_at else None,
            "version": i.version}


# --- profiles -------------------------------------------------------------------

_uploaded: dict[str, tuple[float, int, Profile]] = {}


async def resolve_profile(name: str) -> Profile:
    """A shipped profile, else an uploaded one (cached for PROFILE_CACHE_SECONDS)."""
    shipped = shipped_profiles()
    if name in shipped:
        return shipped[name]
    cached = _uploaded.get(name)
    now = time.monotonic()
    if cached is not None and now - cached[0] < PROFILE_CACHE_SECONDS:
        return cached[2]
    row = await ProtocolProfileRecord.get_or_none(name=name)
    if row is None:
        raise NotFound(f"protocol profile {name!r} not found", field="profile")
    if cached is not None and cached[1] == row.version:
        profile = cached[2]
    else:
        profile = load_profile(row.source, f"uploaded profile {name}")
    _uploaded[name] = (now, row.version, profile)
    return profile


@dataclass(frozen=True, slots=True)
class ProfileInfo:
    profile: Profile
    source: str  # "shipped" or "uploaded"
    text: str | None = None


async def list_profiles() -> list[ProfileInfo]:
    found = [ProfileInfo(p, "shipped") for p in shipped_profiles().values()]
    for row in await ProtocolProfileRecord.all().order_by("name"):
        found.append(ProfileInfo(load_profile(row.source, f"uploaded profile {row.name}"),
                                 "uploaded", row.source))
    return sorted(found, key=lambda info: info.profile.name)


async def upload_profile(actor: Actor, source: str) -> Profile:
    """Add or replace an uploaded profile; a shipped profile's name is refused."""
    profile = load_profile(source, "uploaded profile")
    if profile.name in shipped_profiles():
        raise Conflict(f"profile {profile.name!r} ships with the service; upload it under "
                       "another name", field="source")
    row = await ProtocolProfileRecord.filter(name=profile.name).select_for_update().first()
    if row is None:
        await ProtocolProfileRecord.create(name=profile.name, source=source)
        before = None
    else:
        old = load_profile(row.source, f"uploaded profile {row.name}")
        if old.scheme != profile.scheme and await Integration.exists(profile=profile.name):
            # Their stored secrets are in the old scheme's format (as update_integration
            # refuses for one integration).
            raise BadInput(f"integrations use profile {profile.name!r}: its signature scheme "
                           f"cannot change from {old.scheme} to {profile.scheme}",
                           field="source")
        before = {"version": row.version}
        await ProtocolProfileRecord.filter(id=row.id).update(source=source,
                                                             version=row.version + 1)
    _uploaded.pop(profile.name, None)
    _edge_cache.clear()  # integrations on this profile read it again
    await record(actor, "protocol_profile.upload", object_type="protocol_profile",
                 object_id=profile.name, before=before,
                 after={"name": profile.name, "scheme": profile.scheme,
                        "event_types": list(profile.mapped_types())})
    return profile


# --- integrations ---------------------------------------------------------------


def _check_slug(slug: str) -> None:
    if not SLUG.match(slug):
        raise BadInput("slug must be 1 to 64 lower-case letters, digits and '-', starting "
                       "with a letter or digit", field="slug")


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise BadInput("name must be 1 to 200 characters", field="name")
    return name


def _check_ref_system(ref_system: str) -> None:
    if not REF_SYSTEM.match(ref_system):
        raise BadInput("refSystem must be 1 to 64 letters, digits and _.:-", field="refSystem")


def _check_segments(segments: Sequence[str]) -> list[str]:
    if not segments:
        raise BadInput("segments must name at least one customer segment, or '*' for all",
                       field="segments")
    if len(segments) > 100:
        raise BadInput("segments may list at most 100 segments", field="segments")
    for segment in segments:
        if segment != ALL_SEGMENTS and not SEGMENT.match(segment):
            raise BadInput(f"segment {segment!r} is not a valid segment name", field="segments")
    return sorted(set(segments))


def _check_rate(per_second: int, burst: int) -> None:
    if not 1 <= per_second <= MAX_RATE_PER_SECOND:
        raise BadInput(f"rateLimit.perSecond must be between 1 and {MAX_RATE_PER_SECOND}",
                       field="rateLimit.perSecond")
    if not 1 <= burst <= 100_000:
        raise BadInput("rateLimit.burst must be between 1 and 100000", field="rateLimit.burst")


def check_overlap(seconds: int, field: str = "secretOverlapSeconds") -> None:
    """How long a rotated-out secret stays valid (outbound endpoints' rotation too)."""
    if not 0 <= seconds <= MAX_OVERLAP_SECONDS:
        raise BadInput(f"{field} must be between 0 and {MAX_OVERLAP_SECONDS}", field=field)


def _check_sync_frequency(seconds: int | None) -> None:
    if seconds is not None and not (MIN_SYNC_FREQUENCY_SECONDS <= seconds
                                    <= MAX_SYNC_FREQUENCY_SECONDS):
        raise BadInput(f"syncFrequencySeconds must be between {MIN_SYNC_FREQUENCY_SECONDS} "
                       f"and {MAX_SYNC_FREQUENCY_SECONDS} seconds, or null for no scheduled "
                       "sync", field="syncFrequencySeconds")


def _new_secret(profile: Profile, secret: str | None) -> tuple[str, bool]:
    """(the secret to store, whether we generated it and so must show it once)."""
    if secret is None:
        return generate_secret(profile), True
    check_secret(profile, secret)
    return secret, False


@dataclass(frozen=True, slots=True)
class WithSecret:
    integration: Integration
    # Set only when the service generated the secret; a secret the caller
    # supplied (e.g. copied from the vendor's dashboard) is not echoed.
    secret: str | None


async def create_integration(
    actor: Actor, box: SecretBox, *, slug: str, name: str, kind: IntegrationKind,
    profile: str, segments: Sequence[str], ref_system: str | None = None,
    rate_limit_per_second: int = 50, rate_limit_burst: int = 100,
    secret: str | None = None, secret_overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    sync_frequency_seconds: int | None = None,
) -> WithSecret:
    _check_slug(slug)
    name = _check_name(name)
    ref_system = ref_system if ref_system is not None else slug
    _check_ref_system(ref_system)
    segments = _check_segments(segments)
    _check_rate(rate_limit_per_second, rate_limit_burst)
    check_overlap(secret_overlap_seconds)
    _check_sync_frequency(sync_frequency_seconds)
    resolved = await resolve_profile(profile)
    plain, generated = _new_secret(resolved, secret)
    integration_id = uuid.uuid4()
    try:
        async with in_transaction():
            integration = await Integration.create(
                id=integration_id, slug=slug, name=name, kind=kind, profile=resolved.name,
                ref_system=ref_system, segments=segments,
                rate_limit_per_second=rate_limit_per_second, rate_limit_burst=rate_limit_burst,
                secret=box.encrypt(plain, context=_context(integration_id)),
                secret_overlap_seconds=secret_overlap_seconds,
                sync_frequency_seconds=sync_frequency_seconds)
    except IntegrityError:
        raise Conflict(f"an integration with slug {slug!r} exists already (deleted ones "
                       "keep their slug)", field="slug") from None
    await customer_service.reserve_ref_system(ref_system)
    await record(actor, "integration.create", object_type="integration",
                 object_id=integration.id, after=describe(integration))
    return WithSecret(integration, plain if generated else None)


async def get_integration(integration_id: Any, *, lock: bool = False) -> Integration:
    query = Integration.filter(id=integration_id)
    if lock:
        query = query.select_for_update()
    integration = await query.first()
    if integration is None:
        raise NotFound(f"integration {integration_id} not found", field="id")
    return integration


def _check_live(integration: Integration) -> None:
    if integration.deleted_at is not None:
        raise Conflict(f"integration {integration.slug} is deleted", field="id")


async def _save(actor: Actor, action: str, integration: Integration,
                before: dict[str, Any], *fields: str) -> Integration:
    integration.version += 1
    await integration.save(update_fields=[*fields, "version", "updated_at"])
    _edge_cache.pop(integration.slug, None)
    await record(actor, action, object_type="integration", object_id=integration.id,
                 before=before, after=describe(integration))
    return integration


async def update_integration(
    actor: Actor, integration_id: Any, *, name: str | None = None, profile: str | None = None,
    ref_system: str | None = None, segments: Sequence[str] | None = None,
    rate_limit_per_second: int | None = None, rate_limit_burst: int | None = None,
    secret_overlap_seconds: int | None = None, expected_version: int | None = None,
    sync_frequency_seconds: int | Keep | None = KEEP,
) -> Integration:
    """Change what is given; the slug and the secret have their own ways (none / rotation).
    ``sync_frequency_seconds=None`` turns scheduled sync off."""
    integration = await get_integration(integration_id, lock=True)
    _check_live(integration)
    if expected_version is not None and expected_version != integration.version:
        raise Conflict(f"integration is at version {integration.version}, not "
                       f"{expected_version}; reload and retry", field="expectedVersion")
    before = describe(integration)
    changed: list[str] = []
    if name is not None:
        integration.name = _check_name(name)
        changed.append("name")
    if profile is not None:
        new_profile = await resolve_profile(profile)
        if new_profile.scheme != (await resolve_profile(integration.profile)).scheme:
            raise BadInput("the new profile signs with another scheme; create a new "
                           "integration (its secret would not fit)", field="profile")
        integration.profile = new_profile.name
        changed.append("profile")
    if ref_system is not None:
        _check_ref_system(ref_system)
        await customer_service.reserve_ref_system(ref_system)
        integration.ref_system = ref_system
        changed.append("ref_system")
    if segments is not None:
        integration.segments = _check_segments(segments)
        changed.append("segments")
    if rate_limit_per_second is not None or rate_limit_burst is not None:
        per_second = (integration.rate_limit_per_second if rate_limit_per_second is None
                      else rate_limit_per_second)
        burst = integration.rate_limit_burst if rate_limit_burst is None else rate_limit_burst
        _check_rate(per_second, burst)
        integration.rate_limit_per_second, integration.rate_limit_burst = per_second, burst
        changed += ["rate_limit_per_second", "rate_limit_burst"]
    if secret_overlap_seconds is not None:
        check_overlap(secret_overlap_seconds)
        integration.secret_overlap_seconds = secret_overlap_seconds
        changed.append("secret_overlap_seconds")
    if sync_frequency_seconds is not KEEP:
        _check_sync_frequency(sync_frequency_seconds)
        integration.sync_frequency_seconds = sync_frequency_seconds
        changed.append("sync_frequency_seconds")
    if not changed:
        return integration
    return await _save(actor, "integration.update", integration, before, *changed)


async def set_enabled(actor: Actor, integration_id: Any, enabled: bool) -> Integration:
    integration = await get_integration(integration_id, lock=True)
    _check_live(integration)
    if integration.enabled == enabled:
        return integration
    before = describe(integration)
    integration.enabled = enabled
    return await _save(actor, "integration.enable" if enabled else "integration.disable",
                       integration, before, "enabled")


async def delete_integration(actor: Actor, integration_id: Any) -> Integration:
    """Disable for good and keep the row: its inbox and ledger entries refer to it."""
    integration = await get_integration(integration_id, lock=True)
    if integration.deleted_at is not None:
        return integration
    before = describe(integration)
    integration.enabled = False
    integration.deleted_at = datetime.now(UTC)
    return await _save(actor, "integration.delete", integration, before, "enabled",
                       "deleted_at")


async def rotate_secret(actor: Actor, box: SecretBox, integration_id: Any, *,
                        secret: str | None = None,
                        overlap_seconds: int | None = None) -> WithSecret:
    """A new current secret; the old one keeps verifying for the overlap (0: not at all)."""
    integration = await get_integration(integration_id, lock=True)
    _check_live(integration)
    overlap = integration.secret_overlap_seconds if overlap_seconds is None else overlap_seconds
    check_overlap(overlap)
    plain, generated = _new_secret(await resolve_profile(integration.profile), secret)
    before = describe(integration)
    now = datetime.now(UTC)
    integration.previous_secret = integration.secret if overlap else None
    integration.previous_secret_expires_at = now + timedelta(seconds=overlap) if overlap else None
    integration.secret = box.encrypt(plain, context=_context(integration.id))
    await _save(actor, "integration.rotate_secret", integration, before,
                "secret", "previous_secret", "previous_secret_expires_at")
    return WithSecret(integration, plain if generated else None)


def current_secret(box: SecretBox, integration: Integration) -> str:
    """The current signing secret in plain text, for a profile whose ``pull`` presents it
    to the vendor's API (``credential: integration_secret``). Never log or return it."""
    return box.decrypt(integration.secret, context=_context(integration.id))


# --- the webhook edge's view -----------------------------------------------------

# How long an API process reuses an integration it has read (with its secrets
# decrypted and its profile resolved). A change made in another process (disable,
# rotation, new limits) reaches this one within this many seconds; the process that
# makes a change forgets its copy at once.
EDGE_CACHE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class EdgeIntegration:
    integration: Integration
    profile: Profile
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None

    def active_secrets(self, now: datetime) -> list[str]:
        """The secrets a callback may be signed with right now: current, then previous."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and now < expires:
            return [self.secret, self.previous_secret]
        return [self.secret]


_edge_cache: dict[str, tuple[float, EdgeIntegration]] = {}


async def edge_integration(box: SecretBox, slug: str) -> EdgeIntegration | None:
    """The live (not deleted) integration behind ``/webhooks/{slug}``, cached briefly.

    Unknown slugs are not cached, so callers cannot grow the cache with made-up names."""
    now = time.monotonic()
    cached = _edge_cache.get(slug)
    if cached is not None and now - cached[0] < EDGE_CACHE_SECONDS:
        return cached[1]
    integration = await Integration.get_or_none(slug=slug, deleted_at__isnull=True)
    if integration is None:
        _edge_cache.pop(slug, None)
        return None
    context = _context(integration.id)
    edge = EdgeIntegration(
        integration, await resolve_profile(integration.profile),
        box.decrypt(integration.secret, context=context),
        box.decrypt(integration.previous_secret, context=context)
        if integration.previous_secret else None,
        integration.previous_secret_expires_at)
    _edge_cache[slug] = (now, edge)
    return edge


async def reencrypt_secrets(box: SecretBox) -> int:
    """Re-encrypt every integration secret under the current master key (keys rotate-master),
    in the caller's transaction."""
    count = 0
    for integration in await Integration.all().select_for_update():
        context = _context(integration.id)
        changed = box.reencrypt_fields(integration, {"secret": context,
                                                     "previous_secret": context})
        if changed:
            await integration.save(update_fields=changed)
            count += len(changed)
    return count


async def page_integrations(*, include_deleted: bool, window: Window,
                            max_page_size: int) -> Page:
    """Ordered by slug."""
    window.check(max_page_size)
    query = Integration.all()
    if not include_deleted:
        query = query.filter(deleted_at__isnull=True)
    return await page(query, Keyset(("slug",), (str,)), window)


@dataclass(frozen=True, slots=True)
class Health:
    last_event_at: datetime | None
    received: int  # in the last 24 hours
    failed: int  # of those: dead, parked or waiting for a retry
    dead_letters: int  # all time, not yet replayed
    parked: int

    @property
    def failure_rate(self) -> float:
        return self.failed / self.received if self.received else 0.0


async def health_by_id(integration_ids: list[Any]) -> list[Health]:
    """Batch function (DataLoader): each integration's health, in key order."""
    found = await health(integration_ids)
    return [found[k] for k in integration_ids]


async def health(integration_ids: Sequence[Any]) -> dict[Any, Health]:
    """Health figures of several integrations in three grouped queries."""
    if not integration_ids:
        return {}
    since = datetime.now(UTC) - HEALTH_WINDOW
    base = InboundEvent.filter(integration_id__in=list(integration_ids))
    last = {r["integration_id"]: r["last"] for r in await base.annotate(
        last=Max("received_at")).group_by("integration_id").values("integration_id", "last")}
    recent: dict[Any, dict[str, int]] = {}
    for r in await base.filter(received_at__gte=since).annotate(n=Count("id")).group_by(
            "integration_id", "status").values("integration_id", "status", "n"):
        recent.setdefault(r["integration_id"], {})[str(r["status"])] = r["n"]
    waiting: dict[Any, dict[str, int]] = {}
    for r in await base.filter(status__in=[InboundStatus.DEAD, InboundStatus.PARKED]).annotate(
            n=Count("id")).group_by("integration_id", "status").values(
            "integration_id", "status", "n"):
        waiting.setdefault(r["integration_id"], {})[str(r["status"])] = r["n"]
    failing = (InboundStatus.DEAD.value, InboundStatus.PARKED.value, InboundStatus.RETRYING.value)
    result = {}
    for integration_id in integration_ids:
        key = _same_key(integration_id, last, recent, waiting)
        counts = recent.get(key, {})
        result[integration_id] = Health(
            last_event_at=last.get(key), received=sum(counts.values()),
            failed=sum(n for status, n in counts.items() if status in failing),
            dead_letters=waiting.get(key, {}).get(InboundStatus.DEAD.value, 0),
            parked=waiting.get(key, {}).get(InboundStatus.PARKED.value, 0))
    return result


def _same_key(integration_id: Any, *maps: dict[Any, Any]) -> Any:
    """Grouped rows key UUIDs as UUID on PostgreSQL and as str on SQLite."""
    for mapping in maps:
        for key in mapping:
            if str(key) == str(integration_id):
                return key
    return integration_id
