"""Signing in to the console with OpenID Connect: the authorization code flow with PKCE
(S256) against ``CCM_CONSOLE_OIDC``'s issuer, through authlib's Starlette client.

authlib keeps the flow's state, nonce and code verifier in ``request.session`` between
/console/login and /console/callback, and checks on the way back that the state matches,
that the ID token is signed by one of the issuer's keys, names the issuer and our
client, is in date and carries our nonce. What the ID token says then becomes an
``Identity``: staff (no partner claim) or a partner portal's user (with one), and the
roles ``role_map`` gives the role claim's values; none is a refusal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from starlette.requests import Request
from starlette.responses import Response

from ccm_gateway.auth.issuers import mapped_roles
from ccm_gateway.config import ConsoleOidc
from ccm_gateway.console.sessions import PARTNER_MAX, SUBJECT_MAX

with warnings.catch_warnings():
    # authlib 1.9 prefers httpx2 and warns once, on import, that its Starlette client falls
    # back to httpx, which the rest of the service uses (as in outbound/http.py). Its
    # import adds an "always" filter; ours must come after it to go first.
    import authlib.deprecate  # type: ignore[import-untyped]  # noqa: F401

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.common.errors import AuthlibBaseError  # type: ignore[import-untyped]
    from authlib.integrations.starlette_client import (  # type: ignore[import-untyped]
        OAuth,
        OAuthError,
    )

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
CLIENT_NAME = "console"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in."""

    subject: str
    roles: list[str]
    partner_id: str | None


class SignInRefused(Exception):
    """The sign-in did not complete: ``status`` is the HTTP status to answer with and the
    message says why, for the person at the browser."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def identity_of(config: ConsoleOidc, claims: dict[str, Any]) -> Identity:
    """The console identity an (already verified) ID token's claims give; ``SignInRefused``
    (403) when they map to no role or name no usable subject or partner."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip() or len(subject) > SUBJECT_MAX:
        raise SignInRefused(403, f"the ID token has no usable subject (sub, at most "
                                 f"{SUBJECT_MAX} characters)")
    roles = mapped_roles(claims.get(config.role_claim), config.role_map)
    if not roles:
        raise SignInRefused(403, f"{subject} has no role in the ops console: no value of "
                                 f"the ID token's {config.role_claim!r} claim is mapped to "
                                 "one (CCM_CONSOLE_OIDC role_map); ask an administrator")
    partner = claims.get(config.partner_claim)
    if partner is not None and (not isinstance(partner, str) or not partner.strip()
                                or len(partner) > PARTNER_MAX):
        raise SignInRefused(403, f"the ID token's {config.partner_claim!r} claim is not a "
                                 f"partner id (a string of 1 to {PARTNER_MAX} characters)")
    return Identity(subject.strip(), sorted(r.value for r in roles),
                    partner.strip() if partner is not None else None)


class ConsoleSignOn:
    """The console's OIDC client; ``redirect_uri`` is /console/callback at the public URL,
    as registered with the provider."""

    def __init__(self, config: ConsoleOidc, redirect_uri: str) -> None:
        self.config = config
        self.redirect_uri = redirect_uri
        oauth = OAuth()
        self._client: Any = oauth.register(
            CLIENT_NAME, client_id=config.client_id, client_secret=config.client_secret,
            server_metadata_url=config.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={"scope": config.scope, "code_challenge_method": "S256",
                           "timeout": TIMEOUT})

    async def start(self, request: Request) -> Response:
        """The redirect to the provider's authorization endpoint."""
        try:
            await self._check_discovery()
            response: Response = await self._client.authorize_redirect(request,
                                                                       self.redirect_uri)
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise self._unreachable(exc) from None
        return response

    async def finish(self, request: Request) -> Identity:
        """The provider's answer at the callback, checked and exchanged for the ID token."""
        try:
            await self._check_discovery()
            token = await self._client.authorize_access_token(request)
        except OAuthError as exc:
            # A state that matches nothing this browser started (MismatchingStateError),
            # or the provider's own error (access_denied, ...).
            if exc.error == "mismatching_state":
                raise SignInRefused(400, "this sign-in was not started by this browser (its "
                                         "state does not match): sign in again") from None
            detail = f": {exc.description}" if exc.description else ""
            raise SignInRefused(400, f"the sign-in provider refused: {exc.error}{detail}"
                                ) from None
        except (JoseError, AuthlibBaseError) as exc:
            raise SignInRefused(401, "the provider's ID token did not verify "
                                     f"({exc.__class__.__name__})") from None
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise self._unreachable(exc) from None
        claims = token.get("userinfo")
        if not claims:
            raise SignInRefused(401, "the provider returned no ID token (is 'openid' in the "
                                     "scope?)")
        return identity_of(self.config, dict(claims))

    async def _check_discovery(self) -> None:
        # authlib checks the ID token's iss against the discovery document's issuer; this
        # makes that the issuer configured (OpenID Connect Discovery 1.0, section 4.3).
        metadata = await self._client.load_server_metadata()
        if metadata.get("issuer") != self.config.issuer:
            raise SignInRefused(502, f"the provider's discovery document names issuer "
                                     f"{str(metadata.get('issuer'))[:200]!r}, not "
                                     f"{self.config.issuer!r} (CCM_CONSOLE_OIDC)")

    def _unreachable(self, exc: Exception) -> SignInRefused:
        return SignInRefused(502, f"the sign-in provider {self.config.issuer} could not be "
                                  f"used ({exc.__class__.__name__}); try again later")
