"""Access tokens from trusted OIDC issuers (partner portals' own providers).

The issuers trusted are those of ``CCM_TRUSTED_ISSUERS`` and the enabled ones
added through the API (``auth/trusted_issuers.py``); the environment's entry wins
when both name one issuer. The API's set is read again at most once per
``refresh_interval`` seconds, and only when a token of a foreign issuer arrives, so
every API process follows a change within that interval; the process that made
the change (``issuers_changed``) follows it on its next such token.

Each issuer publishes its keys at the ``jwks_uri`` of
``<issuer>/.well-known/openid-configuration``. The key set is cached in memory
per issuer and fetched again when a token names a ``kid`` it lacks, at most once
per ``refetch_interval`` seconds, so a stream of made-up ``kid`` values cannot
turn into a stream of requests to the provider.

A token is accepted only when its ``kid`` names a signing key of that issuer,
its ``alg`` is on the issuer's allow-list and fits the key's type (``none`` and
HS* never are), ``iss`` is exactly the issuer, ``aud`` contains the configured
audience, and ``exp`` / ``nbf`` / ``iat`` hold within the leeway. The role claim
goes through ``role_map`` (unknown values ignored) and the partner claim becomes
``Principal.partner_id``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from tortoise.exceptions import BaseORMException

from ccm_gateway.auth.trusted_issuers import enabled_issuers
from ccm_gateway.config import TrustedIssuer
from ccm_gateway.errors import Unauthenticated
from ccm_gateway.principal import Principal, Role

_JOSE_REASONS = {
    "BadSignatureError": "bad_signature",
    "ExpiredTokenError": "expired",
    "InvalidTokenError": "not_yet_valid",
    "InvalidClaimError": "invalid_claim",
    "MissingClaimError": "missing_claim",
    "UnsupportedAlgorithmError": "bad_algorithm",
    "DecodeError": "malformed_token",
}


def jose_refusal(exc: Exception) -> Unauthenticated:
    """The refusal for a token that joserfc rejected, with its audit reason code."""
    name = exc.__class__.__name__
    return Unauthenticated(f"invalid token: {name}",
                           reason=_JOSE_REASONS.get(name, "invalid_token"))

log = logging.getLogger("ccm_gateway.auth.issuers")

LEEWAY_SECONDS = 30
REFETCH_INTERVAL_SECONDS = 60.0
REFRESH_INTERVAL_SECONDS = 5.0
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_DOCUMENT_BYTES = 512 * 1024

# The key type (and EC curve) each algorithm verifies with.
_KEY_TYPES: dict[str, tuple[str, str | None]] = {
    "RS256": ("RSA", None), "RS384": ("RSA", None), "RS512": ("RSA", None),
    "PS256": ("RSA", None), "PS384": ("RSA", None), "PS512": ("RSA", None),
    "ES256": ("EC", "P-256"), "ES384": ("EC", "P-384"), "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None), "Ed25519": ("OKP", "Ed25519"),
}


def default_http_client() -> httpx.AsyncClient:
    """An httpx client with explicit timeouts that follows no redirects.

    Plain httpx, not authlib's ``AsyncOAuth2Client``: discovery and JWKS are two
    unauthenticated GETs, and authlib 1.9's httpx integration warns that its
    httpx (as opposed to httpx2) support is deprecated."""
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)


class _Changes:
    """How many changes to the API's issuers this process has committed."""

    count = 0


def issuers_changed() -> None:
    """Call after committing a change to the API's trusted issuers: this process then
    reloads them on the next foreign token instead of after the refresh interval."""
    _Changes.count += 1


IssuerLoader = Callable[[], Awaitable[Sequence[TrustedIssuer]]]


@dataclass
class _Keys:
    keys: dict[str, dict[str, Any]]
    fetched_at: float


class IssuerKeys:
    """One issuer: its configuration and its cached signing keys."""

    def __init__(self, config: TrustedIssuer, http: Callable[[], httpx.AsyncClient],
                 clock: Callable[[], float], refetch_interval: float) -> None:
        self.config = config
        self._http = http
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._cache: _Keys | None = None
        self._jwks_uri: str | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # JWKS documents fetched (tests and metrics)

    async def key(self, kid: str) -> dict[str, Any] | None:
        cache = self._cache
        if cache is not None and kid in cache.keys:
            return cache.keys[kid]
        async with self._lock:
            cache = self._cache
            if cache is not None and kid in cache.keys:
                return cache.keys[kid]
            if cache is not None and self._clock() - cache.fetched_at < self._refetch_interval:
                return None  # refetched recently: an unknown kid stays unknown
            try:
                await self._fetch()
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                log.warning("JWKS of %s unavailable: %s", self.config.issuer,
                            exc.__class__.__name__)
                if self._cache is not None:
                    # Rate-limit failing fetches too; keep the keys we have.
                    self._cache = _Keys(self._cache.keys, self._clock())
                raise Unauthenticated("invalid token: issuer keys unavailable",
                                     reason="issuer_keys_unavailable") from None
            return self._cache.keys.get(kid) if self._cache else None

    async def _get_json(self, url: str) -> dict[str, Any]:
        response = await self._http().get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > MAX_DOCUMENT_BYTES:
            raise ValueError("document too large")
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        return body

    async def _fetch(self) -> None:
        if self._jwks_uri is None:
            url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
            meta = await self._get_json(url)
            if meta.get("issuer") != self.config.issuer:
                raise ValueError("discovery issuer mismatch")
            jwks_uri = meta["jwks_uri"]
            if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://",
                                                                         "http://")):
                raise ValueError("bad jwks_uri")
            self._jwks_uri = jwks_uri
        jwks = await self._get_json(self._jwks_uri)
        self.fetches += 1
        keys: dict[str, dict[str, Any]] = {}
        for entry in jwks["keys"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig" or entry.get("kty") not in ("RSA", "EC", "OKP"):
                continue
            if any(k in entry for k in ("d", "p", "q", "k")):
                continue  # never trust private or symmetric material
            keys[entry["kid"]] = entry
        self._cache = _Keys(keys, self._clock())


class TrustedIssuers:
    """Verify access tokens from the environment's issuers and the API's enabled ones."""

    def __init__(self, issuers: tuple[TrustedIssuer, ...] | list[TrustedIssuer], *,
                 http: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 refetch_interval: float = REFETCH_INTERVAL_SECONDS,
                 load: IssuerLoader | None = enabled_issuers,
                 refresh_interval: float = REFRESH_INTERVAL_SECONDS) -> None:
        """``load`` reads the API's enabled issuers (None: the environment's only)."""
        self._client = http
        self._owns_client = http is None
        self._clock = clock
        self._refetch_interval = refetch_interval
        self._environment = {i.issuer: self._keys(i) for i in issuers}
        self._api: dict[str, IssuerKeys] = {}
        self._load = load
        self._refresh_interval = refresh_interval
        self._loaded_at: float | None = None
        self._changes_seen = _Changes.count
        self._refresh_lock = asyncio.Lock()

    def _keys(self, config: TrustedIssuer) -> IssuerKeys:
        return IssuerKeys(config, self._http, self._clock, self._refetch_interval)

    def __contains__(self, issuer: object) -> bool:
        """Trusted as of the last refresh."""
        return isinstance(issuer, str) and (issuer in self._environment or issuer in self._api)

    def __getitem__(self, issuer: str) -> IssuerKeys:
        return self._environment.get(issuer) or self._api[issuer]

    async def get(self, issuer: object) -> IssuerKeys | None:
        """The issuer's keys if it is trusted now, refreshing the API's set when due."""
        if not isinstance(issuer, str):
            return None
        if issuer in self._environment:
            return self._environment[issuer]
        await self.refresh_if_due()
        return self._api.get(issuer)

    def _due(self) -> bool:
        return (self._loaded_at is None or self._changes_seen != _Changes.count
                or self._clock() - self._loaded_at >= self._refresh_interval)

    async def refresh_if_due(self) -> None:
        if self._load is None or not self._due():
            return
        async with self._refresh_lock:
            if not self._due():
                return  # another task refreshed while this one waited
            # Read before loading: a change committed while the query runs is
            # picked up by the next refresh, never marked as seen unread.
            changes = _Changes.count
            try:
                configs = await self._load()
            except (BaseORMException, OSError, TimeoutError) as exc:
                # Keep the set last read; try again after the interval, not per token.
                log.warning("trusted issuers could not be reloaded: %s",
                            exc.__class__.__name__)
            else:
                self._replace_api(configs)
            self._loaded_at = self._clock()
            self._changes_seen = changes

    def _replace_api(self, configs: Sequence[TrustedIssuer]) -> None:
        api: dict[str, IssuerKeys] = {}
        for config in configs:
            if config.issuer in self._environment:
                continue  # the environment's entry is the one in force
            keys = self._api.get(config.issuer)
            if keys is None:
                keys = self._keys(config)
            else:
                # Same issuer, same discovery document: its cached keys stay good
                # whatever else changed (audience, role map, algorithms).
                keys.config = config
            api[config.issuer] = keys
        self._api = api

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = default_http_client()
        return self._client

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def authenticate(self, token: str, header: dict[str, Any],
                           claims: dict[str, Any]) -> Principal:
        """``header`` and ``claims`` are unverified: they only pick the issuer and key."""
        issuer = await self.get(claims.get("iss"))
        if issuer is None:
            raise Unauthenticated("invalid token: untrusted issuer", reason="untrusted_issuer")
        config = issuer.config
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in config.algorithms:
            raise Unauthenticated("invalid token: algorithm not allowed", reason="bad_algorithm")
        if not isinstance(kid, str) or not kid or len(kid) > 128:
            raise Unauthenticated("invalid token: bad key id", reason="bad_key_id")
        jwk = await issuer.key(kid)
        if jwk is None:
            raise Unauthenticated("invalid token: unknown key id", reason="unknown_key")
        kty, crv = _KEY_TYPES[alg]
        if (jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv)
                or jwk.get("alg", alg) != alg):
            raise Unauthenticated("invalid token: algorithm does not match the key",
                                  reason="bad_algorithm")
        registry = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.audience},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        )
        try:
            key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
            decoded = jwt.decode(token, key, algorithms=[alg])
            registry.validate(decoded.claims)
        except (JoseError, ValueError, TypeError) as exc:
            raise jose_refusal(exc) from None
        return _principal(config, decoded.claims)


def mapped_roles(claim: Any, role_map: Mapping[str, str]) -> frozenset[Role]:
    """Our roles for a role claim's value (one string or a list of them), through
    ``role_map``; values it does not list grant nothing."""
    values = [claim] if isinstance(claim, str) else claim if isinstance(claim, list) else []
    return frozenset(Role(role_map[v]) for v in values if isinstance(v, str) and v in role_map)


def _principal(config: TrustedIssuer, claims: dict[str, Any]) -> Principal:
    roles = mapped_roles(claims.get(config.role_claim), config.role_map)
    if not roles:
        raise Unauthenticated("invalid token: no role granted", reason="no_role")
    partner = claims.get(config.partner_claim)
    if not isinstance(partner, str) or not partner:
        # Tokens of a partner portal act for one partner; without one they would
        # see every partner's customers.
        raise Unauthenticated("invalid token: no partner", reason="no_partner")
    return Principal.from_roles(str(claims["sub"]), "user", roles, partner_id=partner)
