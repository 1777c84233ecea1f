"""The one error tree of CCM Gateway.

Every failure a caller can act on is a ``CCMError`` with a stable ``code``:

- ``UNAUTHENTICATED``  no or invalid credentials
- ``FORBIDDEN``        the principal lacks the permission
- ``BAD_USER_INPUT``   input failed validation; nothing was changed
- ``NOT_FOUND``        an id or reference does not resolve
- ``CONFLICT``         stale version, idempotency key reused with another
                       request, or an action the object's state forbids
- ``RATE_LIMITED``     too many requests
- ``DATABASE_UNAVAILABLE``  the database cannot be reached (refused, missing,
                       starting, locked past the busy timeout); HTTP 503
                       with ``Retry-After``: retry the same request later
- ``QUEUE_UNAVAILABLE``     the queue's Redis cannot be reached; HTTP 503
                       with ``Retry-After``
- ``INTERNAL``         anything else; never raised on purpose, the transport
                       masks unexpected exceptions with this code

Both ``*_UNAVAILABLE`` codes are ``ServiceUnavailable``s. The drivers' own
connection errors are mapped onto ``DatabaseUnavailable`` in one place
(``db.database_unavailable``). GraphQL maps these in ``graphql/errors.py``,
HTTP in ``app.py``; anything outside the tree is masked with the request id.

Narrower errors of the domains, each under the class whose code it carries:

- ``Unauthenticated``: ``SignatureRefused`` (integration/profiles/signatures.py;
  the webhook edge answers 401 with its reason code)
- ``BadInput``: ``ProfileError`` (integration/profiles/loading.py; names origin,
  line and field), ``MalformedBody`` (integration/profiles/reading.py; the
  webhook edge answers 400 ``MALFORMED_BODY``)
- ``NotFound``: ``FxRateMissing`` (fx/service.py), ``PaymentNotFound``
  (ledger/service.py)
- ``Conflict``: ``RefundExceedsPayment`` (ledger/service.py)

Outside the tree, and why:

- start-up only (the CLI prints the message in one line): ``ConfigError`` (a
  setting that cannot run; exit 2), with ``config.InvalidIssuer``, and
  ``ServiceUnreachable`` (a service a setting points at does not answer; exit 2)
- answered where they are raised, in a format of their own:
  ``auth.endpoints.OAuthError`` (RFC 6749's ``error`` / ``error_description``
  at ``/oauth/token``), ``body_limit.BodyTooLarge`` (the body-limit
  middleware's 413) and ``integration.endpoints._Refused`` (a webhook refusal
  carrying its prepared response back to the route)
- a server fault, never the caller's: ``kit.secrets.SecretDecryptError`` (a
  stored secret that does not decrypt; masked like any unexpected exception,
  reported in one line by ``ccm-gateway keys rotate-master``)
- outcomes of processing one inbox event, which settle the event and never
  reach a caller: ``Parked``, ``Rejected`` and ``RetryLater``
  (integration/processing.py)
"""

from __future__ import annotations

from typing import Any


class CCMError(Exception):
    code = "INTERNAL"
    http_status = 500

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"code": self.code}
        if self.field:
            ext["field"] = self.field
        ext.update(self.details)
        return ext


class Unauthenticated(CCMError):
    code = "UNAUTHENTICATED"
    http_status = 401

    def __init__(self, message: str, *, reason: str = "invalid_token", **details: Any) -> None:
        super().__init__(message, **details)
        # A short fixed code for the audit log; the message may name library errors.
        self.reason = reason


class Forbidden(CCMError):
    code = "FORBIDDEN"
    http_status = 403


class BadInput(CCMError):
    code = "BAD_USER_INPUT"
    http_status = 400


class NotFound(CCMError):
    code = "NOT_FOUND"
    http_status = 404


class Conflict(CCMError):
    code = "CONFLICT"
    http_status = 409


class RateLimited(CCMError):
    code = "RATE_LIMITED"
    http_status = 429


class ServiceUnavailable(CCMError):
    """A service the gateway depends on is down; the same request may succeed later.

    The message is for callers and names no host, port or setting (the log does)."""

    code = "SERVICE_UNAVAILABLE"
    http_status = 503
    retry_after_seconds = 5

    def extensions(self) -> dict[str, Any]:
        return {**super().extensions(), "retryAfter": self.retry_after_seconds}


class DatabaseUnavailable(ServiceUnavailable):
    code = "DATABASE_UNAVAILABLE"


class QueueUnavailable(ServiceUnavailable):
    code = "QUEUE_UNAVAILABLE"


class ConfigError(Exception):
    """Configuration that cannot run; raised at start-up, before serving."""


class ServiceUnreachable(Exception):
    """A service the configuration points at does not answer at start-up; the message
    names the setting and where it points (never a password)."""
