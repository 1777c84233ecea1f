"""Console sessions: start one (the development sign-in, or an OIDC callback), find the
one a cookie names, end it, and mint the page's short-lived /graphql tokens from it.

The cookie carries a random 256-bit secret and the table only its SHA-256, looked up by
a unique index. The CSRF token is stored nowhere: it is an HMAC of that secret under
CCM_SECRET_KEY, so only a page that read GET /console/session (which takes the cookie,
and answers no other origin's script) can know it. Sign-in and sign-out are audited
(``console.signed_in``, ``console.signed_out``) as the person who signed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from ccm_gateway.audit.service import record
from ccm_gateway.console.models import ConsoleSession
from ccm_gateway.errors import BadInput
from ccm_gateway.principal import Actor, Principal, Role

if TYPE_CHECKING:
    from ccm_gateway.auth.tokens import TokenService

SECRET_BYTES = 32  # 256 bits
# The longest cookie value looked up; ours are 43 characters.
SECRET_MAX_CHARS = 128
DEV_SOURCE = "dev"
SUBJECT_MAX = 200  # ConsoleSession.subject, AuditEvent.actor_id
PARTNER_MAX = 128  # ConsoleSession.partner_id, Customer.partner_id
_CSRF_CONTEXT = b"ccm-gateway console csrf v1:"


@dataclass(frozen=True, slots=True)
class StartedSession:
    session: ConsoleSession
    secret: str  # the cookie's value; never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_roles(roles: Any) -> list[str]:
    """The role names, sorted and deduplicated; ``BadInput`` naming any unknown one."""
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise BadInput("roles must be a list of role names", field="roles")
    known = {r.value for r in Role}
    unknown = sorted(set(roles) - known)
    if unknown:
        raise BadInput(f"unknown role{'s' if len(unknown) > 1 else ''} "
                       f"{', '.join(repr(r) for r in unknown)}; roles are "
                       f"{', '.join(sorted(known))}", field="roles")
    if not roles:
        raise BadInput("at least one role is required", field="roles")
    return sorted(set(roles))


def _check_identity(subject: Any, partner_id: Any) -> tuple[str, str | None]:
    if not isinstance(subject, str) or not subject.strip():
        raise BadInput("subject must be a non-empty string", field="subject")
    subject = subject.strip()
    if len(subject) > SUBJECT_MAX or not subject.isprintable():
        raise BadInput(f"subject must be at most {SUBJECT_MAX} printable characters",
                       field="subject")
    if partner_id is None:
        return subject, None
    if (not isinstance(partner_id, str) or not partner_id.strip()
            or len(partner_id.strip()) > PARTNER_MAX or not partner_id.isprintable()):
        raise BadInput(f"partnerId must be null or 1 to {PARTNER_MAX} printable characters",
                       field="partnerId")
    return subject, partner_id.strip()


def describe(session: ConsoleSession) -> dict[str, Any]:
    """The session as audited: everything but its secret's hash."""
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(UTC).isoformat() if value else None

    return {"id": str(session.id), "subject": session.subject, "roles": session.roles,
            "partner_id": session.partner_id, "source": session.source,
            "created_at": iso(session.created_at), "expires_at": iso(session.expires_at),
            "ended_at": iso(session.ended_at)}


def _actor(session: ConsoleSession, request_id: str | None) -> Actor:
    return Actor(type="user", id=session.subject, request_id=request_id,
                 partner_id=session.partner_id)


async def start_session(subject: Any, roles: Any, *, partner_id: Any = None, source: str,
                        lifetime_seconds: int, request_id: str | None = None,
                        replacing: ConsoleSession | None = None) -> StartedSession:
    """A new session for a person the caller has identified (by the dev sign-in's form or
    the OIDC provider's ID token); ``replacing``: the browser's current session, ended in
    the same transaction. ``BadInput`` on a bad subject, role or partner."""
    subject, partner_id = _check_identity(subject, partner_id)
    role_names = parse_roles(roles)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    now = datetime.now(UTC)
    async with in_transaction():
        if replacing is not None:
            await _end(replacing, now, request_id)
        session = await ConsoleSession.create(
            id=uuid.uuid4(), secret_hash=hash_secret(secret), subject=subject,
            roles=role_names, partner_id=partner_id, source=source, created_at=now,
            expires_at=now + timedelta(seconds=lifetime_seconds))
        await record(_actor(session, request_id), "console.signed_in",
                     object_type="console_session", object_id=session.id,
                     after=describe(session))
    return StartedSession(session, secret)


async def find_session(secret: str | None) -> ConsoleSession | None:
    """The active session whose secret the cookie holds; None for none, an ended or an
    expired one."""
    if not secret or len(secret) > SECRET_MAX_CHARS:
        return None
    return await ConsoleSession.filter(secret_hash=hash_secret(secret), ended_at=None,
                                       expires_at__gt=datetime.now(UTC)).first()


async def end_session(session: ConsoleSession, *, request_id: str | None = None) -> None:
    """Sign out: the session and every token minted from it stop working at once."""
    async with in_transaction():
        await _end(session, datetime.now(UTC), request_id)


async def _end(session: ConsoleSession, now: datetime, request_id: str | None) -> None:
    # Conditional, so two sign-outs racing record one end.
    ended = await ConsoleSession.filter(id=session.id, ended_at=None).update(ended_at=now)
    if ended:
        before = describe(session)
        session.ended_at = now
        await record(_actor(session, request_id), "console.signed_out",
                     object_type="console_session", object_id=session.id,
                     before=before, after=describe(session))


async def is_active(session_id: str) -> bool:
    """Whether a console token's session still holds: one primary-key lookup, made on
    every request the token authenticates (and every recheck of a subscription)."""
    try:
        key = uuid.UUID(session_id)
    except ValueError:
        return False
    return await ConsoleSession.filter(id=key, ended_at=None,
                                       expires_at__gt=datetime.now(UTC)).exists()


def principal(session: ConsoleSession) -> Principal:
    return Principal.from_roles(session.subject, "user",
                                frozenset(Role(r) for r in session.roles),
                                partner_id=session.partner_id)


def access_token(tokens: TokenService, session: ConsoleSession,
                 ttl_seconds: int) -> tuple[str, int]:
    """A /graphql bearer token for the session's principal, naming the session (``sid``)
    so that it ends with it; and its lifetime, never past the session's end."""
    remaining = int((session.expires_at - datetime.now(UTC)).total_seconds())
    ttl = max(1, min(ttl_seconds, remaining))
    token = tokens.issue(session.subject, list(session.roles), kind="console",
                         ttl_seconds=ttl, partner_id=session.partner_id,
                         session_id=str(session.id))
    return token, ttl


def csrf_token(secret_key: str, secret: str) -> str:
    """The session's CSRF token, derived from its cookie secret (never stored)."""
    digest = hmac.new(secret_key.encode(), _CSRF_CONTEXT + secret.encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def csrf_matches(secret_key: str, secret: str, presented: str) -> bool:
    """Compared in constant time."""
    return hmac.compare_digest(csrf_token(secret_key, secret).encode(),
                               presented.encode("utf-8", "surrogateescape"))
