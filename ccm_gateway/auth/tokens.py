"""Bearer tokens: issue development tokens and verify the ones presented.

Tokens are HS256 JWTs under ``CCM_SECRET_KEY``. The OAuth 2.0 / OIDC work
adds asymmetric keys and trusted issuers behind the same ``verify`` call.
"""

from __future__ import annotations

import time
import uuid

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry

from ccm_gateway.auth.permissions import Principal, Role
from ccm_gateway.config import Settings
from ccm_gateway.errors import BadInput, Unauthenticated

ALGORITHMS = ["HS256"]
LEEWAY_SECONDS = 30


class TokenService:
    def __init__(self, settings: Settings) -> None:
        self._key = OctKey.import_key(settings.secret_key.encode())
        self._issuer = settings.token_issuer
        self._audience = settings.token_audience
        self._ttl = settings.token_ttl_seconds
        self._claims = JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self._issuer},
            aud={"essential": True, "value": self._audience},
            exp={"essential": True},
            sub={"essential": True},
        )

    def issue(self, subject: str, roles: list[str], *, kind: str = "user",
              ttl_seconds: int | None = None, partner_id: str | None = None) -> str:
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
        return jwt.encode({"alg": "HS256"}, claims, self._key, algorithms=ALGORITHMS)

    def verify(self, token: str) -> Principal:
        try:
            decoded = jwt.decode(token, self._key, algorithms=ALGORITHMS)
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthenticated(f"invalid token: {exc.__class__.__name__}") from None
        claims = decoded.claims
        try:
            roles = _parse_roles(claims.get("roles") or [])
        except BadInput:
            raise Unauthenticated("invalid token: unknown role") from None
        kind = claims.get("kind") if claims.get("kind") in ("user", "client") else "user"
        return Principal.from_roles(str(claims["sub"]), kind, frozenset(roles),
                                    partner_id=claims.get("partner"))


def _parse_roles(roles: list[str]) -> set[Role]:
    try:
        return {Role(r) for r in roles}
    except ValueError:
        raise BadInput(f"unknown role in {roles!r}; roles are "
                       f"{', '.join(r.value for r in Role)}", field="role") from None
