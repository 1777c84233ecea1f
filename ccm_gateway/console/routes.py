"""The ops console's HTTP routes, thin over console/sessions.py and console/oidc.py.

- ``GET /console``: the page, ``_static/console/index.html``, never cached (``/console/``
  redirects there); ``GET /console/static/{path}``: its files.
- ``GET /console/session``: who is signed in, with the session's CSRF token; or, signed
  out, how one may sign in.
- ``POST /console/session/dev``: the development sign-in (``CCM_ENV=dev`` only).
- ``POST /console/token``: a short-lived bearer token for /graphql and its subscriptions.
- ``POST /console/logout``: the session ends on the server, with every token minted
  from it.
- ``GET /console/login`` and ``GET /console/callback``: OpenID Connect sign-in.

The session lives in the ``ccm_console`` cookie (HttpOnly, Secure, SameSite=Lax,
Path=/console). Every POST must carry the session's CSRF token in ``X-CSRF-Token``; one
without a session (a sign-in) must come from the console's own origin instead. A refusal
is 403 and changes nothing. /graphql never reads the cookie, so it needs no such check.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import html
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, request_response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import Settings
from ccm_gateway.console import sessions
from ccm_gateway.console.models import ConsoleSession
from ccm_gateway.console.oidc import ConsoleSignOn, SignInRefused
from ccm_gateway.errors import BadInput

STATIC_DIR = Path(__file__).resolve().parents[1] / "_static" / "console"
PAGE = STATIC_DIR / "index.html"
COOKIE = "ccm_console"
COOKIE_PATH = "/console"
CSRF_HEADER = "X-CSRF-Token"
# authlib's state, nonce and PKCE verifier between /console/login and /console/callback.
LOGIN_STATE_COOKIE = "ccm_console_login"
LOGIN_STATE_SECONDS = 600
_LOGIN_STATE_KEY_CONTEXT = b"ccm-gateway console login state v1"
NO_STORE = {"Cache-Control": "no-store"}
DEV_SIGN_IN_FIELDS = frozenset({"subject", "roles", "partnerId"})
_DEV_SIGN_IN_SHAPE = '{"subject": "ada", "roles": ["viewer"], "partnerId": null}'
_SIGN_IN_CODES = {400: BadInput.code, 401: "UNAUTHENTICATED", 403: "FORBIDDEN",
                  404: "NOT_FOUND", 502: "PROVIDER_UNAVAILABLE"}

Endpoint = Callable[[Request], Awaitable[Response]]


def _json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    # Sessions and tokens: nothing here may be kept by a cache.
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def _refusal(status: int, message: str, code: str) -> JSONResponse:
    return _json({"error": message, "code": code}, status)


def _request_id(request: Request) -> str | None:
    state: dict[str, Any] = request.scope.get("state") or {}
    return state.get("request_id")


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) with the scheme's default port filled in; None if malformed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https"
                                                          else 80)


class ConsoleFiles(StaticFiles):
    """The page's scripts and styles. Revalidated on every load (their names carry no
    version), and a package without the front end answers 404 rather than failing."""

    async def check_config(self) -> None:
        # Starlette's check raises (a 500) when the directory is missing; without it
        # every file is simply not found.
        with contextlib.suppress(RuntimeError):
            await super().check_config()

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "no-cache"
        return response


class ConsoleRoutes:
    def __init__(self, settings: Settings, tokens: TokenService) -> None:
        self.settings = settings
        self.tokens = tokens
        self.sign_on = (ConsoleSignOn(settings.console_oidc,
                                      f"{settings.public_base_url}/console/callback")
                        if settings.console_oidc is not None else None)
        # Where the callback sends the browser: the page, under the public URL's path.
        self.page_path = urlsplit(settings.public_base_url).path.rstrip("/") + "/console"
        self._own_origin = _origin(settings.public_base_url)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/console", self.page, methods=["GET"]),
            Route("/console/", self.page_with_slash, methods=["GET"]),
            Route("/console/session", self.session, methods=["GET"]),
            Route("/console/session/dev", self.dev_sign_in, methods=["POST"]),
            Route("/console/token", self.token, methods=["POST"]),
            Route("/console/logout", self.logout, methods=["POST"]),
            # Only these two read and write request.session (authlib's flow state).
            Route("/console/login", self._with_login_state(self.login), methods=["GET"]),
            Route("/console/callback", self._with_login_state(self.callback),
                  methods=["GET"]),
            Mount("/console/static", app=ConsoleFiles(directory=STATIC_DIR, check_dir=False)),
        ]

    def _with_login_state(self, endpoint: Endpoint) -> ASGIApp:
        key = hmac.new(self.settings.secret_key.encode(), _LOGIN_STATE_KEY_CONTEXT,
                       hashlib.sha256).hexdigest()
        return SessionMiddleware(request_response(endpoint), secret_key=key,
                                 session_cookie=LOGIN_STATE_COOKIE,
                                 max_age=LOGIN_STATE_SECONDS, path=COOKIE_PATH,
                                 same_site="lax", https_only=True)

    # --- the page ---------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        if not PAGE.is_file():
            return _refusal(404, f"the ops console's page is not installed ({PAGE} is "
                                 "missing)", "NOT_FOUND")
        return FileResponse(PAGE, media_type="text/html; charset=utf-8", headers=NO_STORE)

    async def page_with_slash(self, request: Request) -> Response:
        # The page names its files relative to /console (console/static/...), so that a
        # path prefix in front of the gateway still finds them; from /console/ they would
        # resolve under /console/console/. Relative, for the same prefix.
        return RedirectResponse("../console", status_code=308, headers=NO_STORE)

    # --- the session ------------------------------------------------------------------

    async def session(self, request: Request) -> Response:
        secret, current = await self._current(request)
        response = _json(self._view(current, secret))
        if current is None and secret is not None:
            self._clear_cookie(response)  # ended or expired: the browser may forget it
        return response

    async def dev_sign_in(self, request: Request) -> Response:
        if self.settings.is_prod:
            return _refusal(404, "the development sign-in exists only with CCM_ENV=dev",
                            "NOT_FOUND")
        secret, current = await self._current(request)
        refused = self._forgery(request, current, secret)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _refusal(400, f"the body must be a JSON object such as {_DEV_SIGN_IN_SHAPE}",
                            BadInput.code)
        unknown = set(body) - DEV_SIGN_IN_FIELDS
        if unknown:
            return _refusal(400, f"unknown field(s) {', '.join(sorted(unknown))}; the body is "
                                 f"{_DEV_SIGN_IN_SHAPE}", BadInput.code)
        try:
            started = await sessions.start_session(
                body.get("subject"), body.get("roles"), partner_id=body.get("partnerId"),
                source=sessions.DEV_SOURCE,
                lifetime_seconds=self.settings.console_session_seconds,
                request_id=_request_id(request), replacing=current)
        except BadInput as exc:
            return _refusal(400, exc.message, exc.code)
        response = _json(self._view(started.session, started.secret))
        self._set_cookie(response, started.secret)
        return response

    async def token(self, request: Request) -> Response:
        secret, current = await self._current(request)
        refused = self._forgery(request, current, secret)
        if refused is not None:
            return refused
        if current is None:
            return _refusal(401, "not signed in to the console (no session, or it ended): "
                                 "sign in again", "UNAUTHENTICATED")
        token, ttl = sessions.access_token(self.tokens, current,
                                           self.settings.console_token_seconds)
        return _json({"accessToken": token, "expiresIn": ttl})

    async def logout(self, request: Request) -> Response:
        secret, current = await self._current(request)
        refused = self._forgery(request, current, secret)
        if refused is not None:
            return refused
        if current is not None:
            await sessions.end_session(current, request_id=_request_id(request))
        response = _json({"signedIn": False})
        self._clear_cookie(response)
        return response

    # --- OpenID Connect ---------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if self.sign_on is None:
            return self._sign_in_error(request, SignInRefused(
                404, "OpenID Connect sign-in is not configured (CCM_CONSOLE_OIDC)"))
        try:
            return await self.sign_on.start(request)
        except SignInRefused as exc:
            return self._sign_in_error(request, exc)

    async def callback(self, request: Request) -> Response:
        if self.sign_on is None:
            return self._sign_in_error(request, SignInRefused(
                404, "OpenID Connect sign-in is not configured (CCM_CONSOLE_OIDC)"))
        try:
            identity = await self.sign_on.finish(request)
        except SignInRefused as exc:
            return self._sign_in_error(request, exc)
        _, current = await self._current(request)
        started = await sessions.start_session(
            identity.subject, identity.roles, partner_id=identity.partner_id,
            source=self.sign_on.config.issuer,
            lifetime_seconds=self.settings.console_session_seconds,
            request_id=_request_id(request), replacing=current)
        response = RedirectResponse(f"{self.page_path}#/", status_code=303)
        self._set_cookie(response, started.secret)
        return response

    def _sign_in_error(self, request: Request, refused: SignInRefused) -> Response:
        """A browser gets a page saying what went wrong; anything else JSON."""
        if "text/html" not in request.headers.get("accept", ""):
            return _refusal(refused.status, refused.message,
                            _SIGN_IN_CODES.get(refused.status, BadInput.code))
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>Sign-in failed - CCM ops console</title></head><body><main>"
                f"<h1>Sign-in failed</h1><p role=\"alert\">{html.escape(refused.message)}</p>"
                f"<p><a href=\"{html.escape(self.page_path)}\">Back to the console</a></p>"
                f"</main></body></html>")
        return HTMLResponse(body, status_code=refused.status, headers=NO_STORE)

    # --- helpers ----------------------------------------------------------------------

    async def _current(self, request: Request) -> tuple[str | None, ConsoleSession | None]:
        secret = request.cookies.get(COOKIE)
        return secret, await sessions.find_session(secret)

    def _view(self, session: ConsoleSession | None, secret: str | None) -> dict[str, Any]:
        view: dict[str, Any] = {"signedIn": False, "env": self.settings.env,
                                "devSignIn": not self.settings.is_prod,
                                "oidc": self.settings.console_oidc is not None}
        if session is None or secret is None:
            return view
        principal = sessions.principal(session)
        return view | {
            "signedIn": True, "subject": session.subject, "roles": sorted(session.roles),
            "partnerId": session.partner_id,
            "permissions": sorted(p.value for p in principal.permissions),
            "csrfToken": sessions.csrf_token(self.settings.secret_key, secret),
            "expiresAt": session.expires_at.astimezone(UTC).isoformat(),
        }

    def _forgery(self, request: Request, session: ConsoleSession | None,
                 secret: str | None) -> Response | None:
        """The 403 for a POST that may have been forged by another site, or None."""
        if session is not None and secret is not None:
            presented = request.headers.get(CSRF_HEADER)
            if not presented:
                return _refusal(403, f"the {CSRF_HEADER} header is missing: send the "
                                     "csrfToken of GET /console/session", "FORBIDDEN")
            if not sessions.csrf_matches(self.settings.secret_key, secret, presented):
                return _refusal(403, f"the {CSRF_HEADER} header does not match this "
                                     "session's CSRF token", "FORBIDDEN")
            return None
        origin = request.headers.get("origin")
        if origin is not None:
            claimed = _origin(origin)
            # The request's own origin, or the public URL's (behind a proxy that ends TLS
            # the request itself arrives over http).
            if claimed is not None and claimed in (_origin(str(request.base_url)),
                                                   self._own_origin):
                return None
            return _refusal(403, f"cross-origin request refused: Origin {origin[:200]!r} is "
                                 "not the console's own origin", "FORBIDDEN")
        if request.headers.get("sec-fetch-site") == "same-origin":
            return None
        return _refusal(403, "a request without a console session must come from the "
                             "console's own page: it needs an Origin header of this origin "
                             "(or Sec-Fetch-Site: same-origin)", "FORBIDDEN")

    def _set_cookie(self, response: Response, secret: str) -> None:
        response.set_cookie(COOKIE, secret, max_age=self.settings.console_session_seconds,
                            path=COOKIE_PATH, secure=True, httponly=True, samesite="lax")

    def _clear_cookie(self, response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True,
                               samesite="lax")


def console_routes(settings: Settings, tokens: TokenService) -> list[BaseRoute]:
    return ConsoleRoutes(settings, tokens).routes()
