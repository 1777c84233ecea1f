"""Where the gateway may send (no SSRF). In prod a URL it calls out to (an endpoint's
primary or fallback, a pull URL, a token URL) must be https and must resolve only to
public addresses: never loopback, private, link-local (cloud metadata lives there),
shared, reserved or multicast. Checked when the URL is saved and again on every
connection (``outbound/http.py``), because DNS can change in between. In dev, http and
loopback are allowed so that a receiver on this machine can be used."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from ccm_gateway.errors import BadInput

MAX_URL_LENGTH = 2000


class RefusedAddress(OSError):
    """A connection would reach an address outbound calls may not reach."""


def parse_url(url: str, field: str, *, prod: bool) -> SplitResult:
    """The URL's parts, or BadInput naming ``field`` for what is wrong with its form."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise BadInput(f"{field} must be a URL of 1 to {MAX_URL_LENGTH} characters", field=field)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise BadInput(f"{field} is not a valid URL: {exc}", field=field) from None
    allowed = ("https",) if prod else ("https", "http")
    if parts.scheme not in allowed:
        raise BadInput(f"{field} must be {' or '.join(allowed)}, not {parts.scheme or 'empty'}",
                       field=field)
    if not parts.hostname:
        raise BadInput(f"{field} has no host", field=field)
    if parts.username or parts.password:
        raise BadInput(f"{field} must not carry credentials; set them on the endpoint",
                       field=field)
    if parts.fragment:
        raise BadInput(f"{field} must not have a fragment", field=field)
    return parts


def address_refusal(address: str) -> str | None:
    """Why an outbound call may not reach this IP address in prod, or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata)"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return "an address that is not public"
    return None


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def public_addresses(host: str, port: int) -> list[str]:
    """``host``'s addresses, all of them public; RefusedAddress if any is not (one bad
    answer among good ones is how DNS rebinding gets in), OSError if it does not resolve."""
    addresses = await resolve(host, port)
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None:
            raise RefusedAddress(f"{host} resolves to {address}, {reason}")
    if not addresses:
        raise RefusedAddress(f"{host} resolves to no address")
    return addresses


async def check_url(url: str, field: str, *, prod: bool) -> str:
    """The URL if outbound calls may go there, else BadInput naming ``field``. In prod
    its host is resolved now; the connection checks again."""
    parts = parse_url(url, field, prod=prod)
    if prod:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            await public_addresses(parts.hostname or "", port)
        except RefusedAddress as exc:
            raise BadInput(f"{field} is refused: {exc}", field=field) from None
        except OSError as exc:
            raise BadInput(f"{field}'s host {parts.hostname} does not resolve: {exc}",
                           field=field) from None
    return url
