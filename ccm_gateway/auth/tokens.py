"""Bearer tokens: issue development tokens and verify the ones presented.

Development tokens are HS256 JWTs under ``CCM_SECRET_KEY`` (no ``kid``).
Access tokens from ``POST /oauth/token`` are signed with an asymmetric key
(``auth/keys.py``) named by ``kid``; each key verifies only under its own
algorithm, and ``none`` is never accepted. Tokens of the partner portals' own
OIDC providers (``CCM_TRUSTED_ISSUERS`` and those added through the API) are
verified by ``auth/issuers.py``.

The ops console's tokens are development-shaped tokens that name the console session
they were minted from (``sid``, console/sessions.py): they stop working when that
session ends, like an API client's tokens when the client is revoked.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from ccm_gateway.auth.clients import is_active
from ccm_gateway.auth.issuers import TrustedIssuers, jose_refusal
from ccm_gateway.auth.keys import KeyRing
from ccm_gateway.config import Settings
from ccm_gateway.console.sessions import is_active as session_is_active
from ccm_gateway.errors import BadInput, Unauthenticated
from ccm_gateway.principal import Principal, Role

ALGORITHMS = ["HS256"]
LEEWAY_SECONDS = 30
# The issuer our tokens named before it became the public URL. Still accepted so that
# tokens issued before an upgrade keep working until they expire (access tokens within a
# day; development tokens at their own --ttl); drop it a release later.
LEGACY_ISSUER = "ccm-gateway"
# Verified tokens remembered per process (the oldest dropped first): a token is sent with
# every request, and checking its signature and claims again each time cost more than
# the credit check it guards.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    kid: str | None
    until: float  # epoch seconds: exp plus the leeway the claims check allows
    session_id: str | None = None  # a console token's sid


class TokenService:
    def __init__(self, settings: Settings, keys: KeyRing | None = None) -> None:
        self._key = OctKey.import_key(settings.secret_key.encode())
        self.keys = keys
        # Always built: issuers added through the API are trusted without a restart.
        self.issuers = TrustedIssuers(settings.trusted_issuers)
        self._issuer = settings.token_issuer
        self._accepted_issuers = (self._issuer, LEGACY_ISSUER)
        self._audience = settings.token_audience
        self._ttl = settings.token_ttl_seconds
        self._claims = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "values": list(self._accepted_issuers)},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            sub={"essential": True},
        )
        self._verified: dict[str, _Verified] = {}

    def issue(self, subject: str, roles: list[str], *, kind: str = "user",
              ttl_seconds: int | None = None, partner_id: str | None = None,
              session_id: str | None = None) -> str:
        """A development-shaped token (HS256); ``session_id``: the console session it is
        minted from, which ``authenticate`` then requires to be active."""
        if not subject.strip():
            raise BadInput("subject must not be empty", field="subject")
        parsed = _parse_roles(roles)
        if not parsed:
            raise BadInput("at least one role is required", field="role")
        now = int(time.time())
        claims = {
            "iss": self._issuer, "aud": self._audience, "sub": subject, "iat": now,
            "exp": now + (ttl_seconds or self._ttl), "jti": uuid.uuid4().hex,
            "roles": sorted(parsed), "kind": kind,
        }
        if partner_id:
            claims["partner"] = partner_id
        if session_id:
            claims["sid"] = session_id
        return jwt.encode({"alg": "HS256"}, claims, self._key, algorithms=ALGORITHMS)

    def key_ring(self) -> KeyRing:
        """The asymmetric signing keys; only the server's TokenService has them."""
        if self.keys is None:
            raise RuntimeError("TokenService was built without a KeyRing")
        return self.keys

    async def issue_client_token(self, client_id: str, roles: list[str],
                                 scopes: list[str]) -> tuple[str, int]:
        """An access token for an API client, signed with the current asymmetric key."""
        kid, alg, key = await self.key_ring().current()
        now = int(time.time())
        claims = {
            "iss": self._issuer, "aud": self._audience, "sub": client_id, "iat": now,
            "exp": now + self._ttl, "jti": uuid.uuid4().hex, "roles": sorted(roles),
            "scope": " ".join(scopes), "kind": "client",
        }
        return jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key,
                          algorithms=[alg]), self._ttl

    async def authenticate_header(self, header: str | None) -> Principal:
        """``authenticate`` of an Authorization header, which must be 'Bearer <token>'."""
        if not header:
            raise Unauthenticated("Authorization: Bearer <token> is required",
                                  reason="missing_header")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("Authorization must be 'Bearer <token>'",
                                  reason="malformed_header")
        return await self.authenticate(token.strip())

    async def authenticate(self, token: str) -> Principal:
        """``verify`` plus what needs the database: keys rotated by another process,
        API clients revoked (or expired) since their token was issued, and console
        sessions ended since.

        A token whose (unverified) ``iss`` is not ours goes to the trusted issuers,
        which verify it in full and refuse an issuer they do not trust.

        A token of ours verified before is not verified again until it expires; what can
        end it earlier is still asked every time: the client's revocation or the console
        session's end (one indexed lookup in the database) and its key's retirement (the
        key ring)."""
        known = self._known(token)
        if known is not None:
            kid = known.kid
        else:
            issuer = _unverified_issuer(token)
            if issuer is not None and issuer not in self._accepted_issuers:
                header, claims = _unverified(token)
                # HS256 without a kid is our development token's shape, never a trusted
                # issuer's.
                if header.get("alg") in ALGORITHMS and "kid" not in header:
                    self._refuse_other_issuer(token, issuer)
                return await self.issuers.authenticate(token, header, claims)
            kid = _kid(token)
            if kid is not None and self.keys is not None:
                await self.keys.ensure(kid)
        verified = known if known is not None else self._verify(token)
        principal = verified.principal
        if kid is not None and not await is_active(principal.subject):
            raise Unauthenticated("invalid token: client revoked or expired",
                                  reason="client_revoked")
        if verified.session_id is not None and not await session_is_active(
                verified.session_id):
            raise Unauthenticated("invalid token: its console session has ended (signed "
                                  "out or expired)", reason="session_ended")
        return principal

    def _known(self, token: str) -> _Verified | None:
        """The cached verification of ``token``, while it still holds."""
        known = self._verified.get(token)
        if known is None:
            return None
        if known.until < time.time() or (
                known.kid is not None
                and (self.keys is None or self.keys.public_key(known.kid) is None)):
            # Expired, or its key retired: the full path says why.
            del self._verified[token]
            return None
        return known

    def _remember(self, token: str, verified: _Verified) -> None:
        while len(self._verified) >= VERIFIED_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = verified

    def _refuse_other_issuer(self, token: str, issuer: str) -> NoReturn:
        """A development token under our key that names another issuer: most likely made
        with another CCM_PORT or CCM_PUBLIC_URL than the server's, so say which."""
        try:
            jwt.decode(token, self._key, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise jose_refusal(exc) from None
        raise Unauthenticated(
            f"invalid token: issued for {issuer[:200]!r}, not for this gateway "
            f"({self._issuer}); make tokens with the server's CCM_PUBLIC_URL (or CCM_HOST "
            "and CCM_PORT)", reason="untrusted_issuer")

    def verify(self, token: str) -> Principal:
        """The token's principal, checked offline (signature and claims); ``authenticate``
        adds what needs the database."""
        return self._verify(token).principal

    def _verify(self, token: str) -> _Verified:
        try:
            kid = _kid(token)
            if kid is None:
                decoded = jwt.decode(token, self._key, algorithms=ALGORITHMS)
            else:
                public = self.keys.public_key(kid) if self.keys is not None else None
                if public is None:
                    raise Unauthenticated("invalid token: unknown key id", reason="unknown_key")
                decoded = jwt.decode(token, public.key, algorithms=[public.algorithm])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise jose_refusal(exc) from None
        claims = decoded.claims
        try:
            roles = _parse_roles(claims.get("roles") or [])
        except BadInput:
            raise Unauthenticated("invalid token: unknown role", reason="unknown_role") from None
        kind = "client" if claims.get("kind") == "client" else "user"
        principal = Principal.from_roles(str(claims["sub"]), kind, frozenset(roles),
                                         partner_id=claims.get("partner"))
        if kid is not None:
            # OAuth access tokens: the roles' permissions, narrowed to the granted scope.
            scope = claims.get("scope")
            granted = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
            principal = principal.narrowed_to(granted)
        sid, exp = claims.get("sid"), claims.get("exp")
        verified = _Verified(principal, kid,
                             float(exp) + LEEWAY_SECONDS if isinstance(exp, int | float) else 0.0,
                             sid if isinstance(sid, str) and sid else None)
        if isinstance(exp, int | float):
            self._remember(token, verified)
        return verified

    async def aclose(self) -> None:
        await self.issuers.aclose()


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, not verified: they only choose how to verify."""
    try:
        obj = jws.extract_compact(token.encode())
        claims = json.loads(obj.payload)
    except (JoseError, ValueError, UnicodeError):
        raise Unauthenticated("invalid token: malformed", reason="malformed_token") from None
    if not isinstance(claims, dict):
        raise Unauthenticated("invalid token: malformed", reason="malformed_token")
    return obj.headers(), claims


def expires_at(token: str) -> float | None:
    """The ``exp`` (epoch seconds) of a token ``authenticate`` accepted already, read
    without verifying it again; None when it has none."""
    try:
        _, claims = _unverified(token)
    except Unauthenticated:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) else None


def _unverified_issuer(token: str) -> str | None:
    try:
        _, claims = _unverified(token)
    except Unauthenticated:
        return None  # verify() refuses it
    iss = claims.get("iss")
    return iss if isinstance(iss, str) else None


def _kid(token: str) -> str | None:
    """The ``kid`` of the token's header, if any (unverified: it only picks the key)."""
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, UnicodeError):
        return None  # verify() refuses it
    kid = header.get("kid")
    if kid is None:
        return None
    if not isinstance(kid, str) or not kid or len(kid) > 128:
        raise Unauthenticated("invalid token: bad key id", reason="bad_key_id")
    return kid


def _parse_roles(roles: list[str]) -> set[Role]:
    try:
        return {Role(r) for r in roles}
    except ValueError:
        raise BadInput(f"unknown role in {roles!r}; roles are "
                       f"{', '.join(r.value for r in Role)}", field="role") from None
