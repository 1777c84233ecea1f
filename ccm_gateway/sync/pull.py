"""Pulling a vendor's balances (its profile's ``pull`` section) into balance reports, the
rows ``balance.reported`` callbacks write, for reconciliation.

Every page is fetched and read before anything is written, and then all of it is written
in one transaction: an answer that is not what the profile describes (a status other than
2xx, a body that is not JSON, a balance without its amount) raises ``PullFailed`` and
writes nothing. A balance whose customer ref is unknown, or whose customer is outside the
integration's segments, is skipped and counted, as a callback about it would be refused.

The credential is the integration's own signing secret; it goes only to the pull URL's
origin (a next-page URL elsewhere is refused) and never into a log or an error.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import httpx
from tortoise.transactions import in_transaction

from ccm_gateway.customer.models import Customer, ExternalRef
from ccm_gateway.errors import BadInput
from ccm_gateway.integration.models import BalanceReport, Integration
from ccm_gateway.integration.profiles.model import PullSpec
from ccm_gateway.integration.profiles.normalise import read_mapping
from ccm_gateway.integration.profiles.reading import MalformedBody, at_path, parse_json, read_time
from ccm_gateway.outbound.http import new_client
from ccm_gateway.outbound.urls import check_url

log = logging.getLogger("ccm_gateway.sync")

# A balance list is a few hundred bytes per customer; this is tens of thousands of them.
MAX_PAGE_BYTES = 10 * 1024 * 1024
REF_LOOKUP_CHUNK = 500
SOURCE = "pull"


class PullFailed(Exception):
    """A pull that wrote nothing, and why. The message names the URL (without its query)
    and the problem, never a credential."""


@dataclass(frozen=True, slots=True)
class Balance:
    customer_ref: str
    balance_minor: int
    currency: str
    reported_at: datetime


@dataclass(frozen=True, slots=True)
class PullOutcome:
    pages: int
    reported: int  # balances the vendor gave
    written: int  # balance reports written
    unknown_refs: int  # skipped: no customer has the ref in the integration's ref system
    outside_segments: int  # skipped: a customer the integration may not see


def auth_headers(spec: PullSpec, credential: str | None) -> dict[str, str]:
    """The request headers that carry the credential, as the profile's auth says."""
    auth = spec.auth
    if auth.scheme == "none":
        return {}
    if not credential:
        raise PullFailed("the integration has no credential to authenticate the pull with")
    if auth.scheme == "bearer":
        return {"Authorization": f"Bearer {credential}"}
    if auth.scheme == "basic":
        pair = f"{auth.username}:{credential}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    if auth.scheme == "header" and auth.header:
        return {auth.header: credential}
    raise PullFailed(f"pull auth scheme {auth.scheme!r} is not supported")


def _shown(url: str) -> str:
    """The URL as logs and errors show it: a query may hold a vendor's cursor or token."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


async def pull_balances(integration: Integration, spec: PullSpec, credential: str | None, *,
                        prod: bool, client: httpx.AsyncClient | None = None,
                        now: datetime | None = None) -> PullOutcome:
    """Fetch every page, then write the balances of customers the integration may see;
    PullFailed (nothing written) when the vendor's answer cannot be used."""
    headers = {"Accept": "application/json", **auth_headers(spec, credential)}
    if client is None:
        # The delivery engine's client: no redirects, no proxies from the environment,
        # and in prod every connection checked against the address it resolves to.
        async with new_client(prod=prod, max_connections=1,
                              timeout=spec.timeout_seconds) as own:
            balances, pages = await _fetch_all(own, spec, headers, prod=prod, now=now)
    else:
        balances, pages = await _fetch_all(client, spec, headers, prod=prod, now=now)
    return await _write(integration, balances, pages)


async def _fetch_all(client: httpx.AsyncClient, spec: PullSpec, headers: dict[str, str], *,
                     prod: bool, now: datetime | None) -> tuple[list[Balance], int]:
    balances: list[Balance] = []
    url: str | None = spec.url
    seen: set[str] = set()
    pages = 0
    while url is not None:
        if pages == spec.max_pages:
            raise PullFailed(f"{_shown(spec.url)} has more than pull.max_pages "
                             f"({spec.max_pages}) pages")
        seen.add(url)
        pages += 1
        fetched_at = now or datetime.now(UTC)
        document = await _fetch(client, spec, url, headers, prod=prod)
        balances += _read_page(spec, document, pages, fetched_at)
        url = _next_url(spec, url, document)
        if url is not None and url in seen:
            raise PullFailed(f"{_shown(spec.url)} page {pages} points back to a page "
                             "already read")
    return balances, pages


async def _fetch(client: httpx.AsyncClient, spec: PullSpec, url: str,
                 headers: dict[str, str], *, prod: bool) -> dict[str, Any]:
    shown = _shown(url)
    if prod:
        try:
            await check_url(url, "pull.url", prod=True)
        except BadInput as exc:
            raise PullFailed(exc.message) from None
    body = spec.body.encode() if spec.body is not None else None
    if body is not None:
        headers = headers | {"Content-Type": "application/json"}
    raw = bytearray()
    try:
        # httpx times each read; the deadline also bounds a vendor that trickles its answer.
        async with asyncio.timeout(spec.timeout_seconds), client.stream(
                spec.method, url, headers=headers, content=body,
                timeout=httpx.Timeout(spec.timeout_seconds)) as response:
            if not 200 <= response.status_code < 300:
                raise PullFailed(f"{spec.method} {shown} answered {response.status_code}")
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_PAGE_BYTES:
                    raise PullFailed(f"{spec.method} {shown} answered more than "
                                     f"{MAX_PAGE_BYTES} bytes")
    except (httpx.TimeoutException, TimeoutError):
        raise PullFailed(f"{spec.method} {shown} timed out after "
                         f"{spec.timeout_seconds} s") from None
    except httpx.HTTPError as exc:
        raise PullFailed(f"{spec.method} {shown} failed: {exc.__class__.__name__}") from None
    try:
        return parse_json(bytes(raw).decode("utf-8"))
    except UnicodeDecodeError:
        raise PullFailed(f"{shown} answered a body that is not UTF-8") from None
    except MalformedBody as exc:
        raise PullFailed(f"{shown} answered {exc.message}") from None


def _read_page(spec: PullSpec, document: dict[str, Any], page: int,
               fetched_at: datetime) -> list[Balance]:
    where = ".".join(spec.balances)
    items = at_path(document, spec.balances)
    if not isinstance(items, list):
        raise PullFailed(f"page {page}: {where} (pull.balances) is not a list")
    found = []
    for index, item in enumerate(items):
        at = f"page {page}, {where}.{index}"
        if not isinstance(item, dict):
            raise PullFailed(f"{at} is not an object")
        try:
            event = read_mapping(spec.mapping, item, None)
            reported_at = fetched_at
            if spec.as_of is not None:
                value = at_path(item, spec.as_of.path)
                if value is not None:
                    reported_at = read_time(value, spec.as_of.time_format,
                                            ".".join(spec.as_of.path))
        except MalformedBody as exc:
            raise PullFailed(f"{at}: {exc.message}") from None
        if event.amount_minor is None or event.currency is None:  # required by the loader
            raise PullFailed(f"{at}: no amount or currency")
        found.append(Balance(event.customer_ref, event.amount_minor, event.currency,
                             reported_at))
    return found


def _next_url(spec: PullSpec, url: str, document: dict[str, Any]) -> str | None:
    if spec.next is None:
        return None
    value = at_path(document, spec.next)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and spec.next_param:
        value = str(value)
    if not isinstance(value, str):
        raise PullFailed(f"{_shown(url)}: {'.'.join(spec.next)} (pull.next) must be a string")
    if spec.next_param:
        parts = urlsplit(spec.url)
        query = "&".join(q for q in (parts.query, urlencode({spec.next_param: value})) if q)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    following = urljoin(url, value)
    # The credential goes with every page; a page must not send it to another host.
    if _origin(following) != _origin(spec.url):
        raise PullFailed(f"{_shown(url)}: the next page {_shown(following)} is not on "
                         f"{_shown(spec.url)}'s origin")
    return following


async def _write(integration: Integration, balances: Sequence[Balance],
                 pages: int) -> PullOutcome:
    customers = await _customers_by_ref(integration.ref_system,
                                        {b.customer_ref for b in balances})
    segments = set(integration.segments)
    rows, unknown, outside = [], 0, 0
    for b in balances:
        customer = customers.get(b.customer_ref)
        if customer is None:
            unknown += 1
        elif "*" not in segments and customer.segment not in segments:
            outside += 1
        else:
            rows.append(BalanceReport(
                integration_id=integration.id, customer_id=customer.id, inbound_event_id=None,
                source=SOURCE, balance_minor=b.balance_minor, currency=b.currency,
                reported_at=b.reported_at))
    if rows:
        async with in_transaction():
            await BalanceReport.bulk_create(rows, batch_size=REF_LOOKUP_CHUNK)
    return PullOutcome(pages=pages, reported=len(balances), written=len(rows),
                       unknown_refs=unknown, outside_segments=outside)


async def _customers_by_ref(system: str, refs: set[str]) -> dict[str, Customer]:
    """Customers by external id in ``system``, a chunk of refs per query."""
    ordered = sorted(refs)
    found: dict[str, Customer] = {}
    for start in range(0, len(ordered), REF_LOOKUP_CHUNK):
        chunk = ordered[start:start + REF_LOOKUP_CHUNK]
        for ref in await ExternalRef.filter(system=system, external_id__in=chunk) \
                .select_related("customer"):
            found[ref.external_id] = ref.customer
    return found
