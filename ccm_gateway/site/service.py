"""Sites: the operator's properties, yards and facilities."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit
from ccm_gateway.errors import BadInput, Conflict, NotFound
from ccm_gateway.kit.batch import one_per_key
from ccm_gateway.kit.ids import parse_uuid
from ccm_gateway.kit.text import clean_text
from ccm_gateway.principal import Actor
from ccm_gateway.site.models import Site

MAX_CODE = 64
MAX_NAME = 200
MAX_TIMEZONE = 64


def site_snapshot(site: Site) -> dict[str, Any]:
    return {"code": site.code, "name": site.name, "timezone": site.timezone}


async def create_site(actor: Actor, *, code: str, name: str, timezone: str = "UTC") -> Site:
    code = clean_text(code, "code", MAX_CODE)
    name = clean_text(name, "name", MAX_NAME)
    try:
        if len(timezone) > MAX_TIMEZONE:
            raise ValueError(timezone)
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"timezone {timezone[:MAX_TIMEZONE]!r} is not an IANA time zone such as "
                       "Europe/Berlin", field="timezone") from None
    if await Site.exists(code=code):
        raise Conflict(f"a site with code {code!r} already exists", field="code")
    try:
        # A savepoint, so a concurrent duplicate fails here and not the caller's transaction.
        async with in_transaction():
            site = await Site.create(code=code, name=name, timezone=timezone)
    except IntegrityError:
        raise Conflict(f"a site with code {code!r} already exists", field="code") from None
    await audit.record(actor, "site.create", object_type="site", object_id=site.id,
                       after=site_snapshot(site))
    return site


async def get_site(site_id: Any) -> Site:
    site = await Site.get_or_none(id=parse_uuid(site_id, "siteId"))
    if site is None:
        raise NotFound(f"site {site_id} not found", field="siteId")
    return site


async def require_site(site_id: Any) -> None:
    """NotFound unless ``site_id`` (when given) names a site."""
    if site_id is not None and not await Site.exists(id=site_id):
        raise NotFound(f"site {site_id} not found", field="siteId")


async def find_site_by_code(code: str) -> Site | None:
    return await Site.get_or_none(code=code)


async def sites_by_id(site_ids: list[Any]) -> list[Site | None]:
    """Batch function (DataLoader): each site, in key order."""
    return one_per_key(await Site.filter(id__in=site_ids), site_ids, "id")


async def list_sites() -> list[Site]:
    return await Site.all().order_by("code")
