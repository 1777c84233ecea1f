"""The one error tree of CCM Gateway.

Every failure a caller can act on is a ``CCMError`` with a stable ``code``:

- ``UNAUTHENTICATED``  no or invalid credentials
- ``FORBIDDEN``        the principal lacks the permission
- ``BAD_USER_INPUT``   input failed validation; nothing was changed
- ``NOT_FOUND``        an id or reference does not resolve
- ``CONFLICT``         stale version, idempotency key reused with another
                       request, or an action the object's state forbids
- ``RATE_LIMITED``     too many requests
- ``INTERNAL``         anything else; never raised on purpose, the transport
                       masks unexpected exceptions with this code

GraphQL maps these in ``graphql/errors.py``, HTTP in ``app.py``; anything
outside the tree is masked with the request id.
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


class ConfigError(Exception):
    """Configuration that cannot run; raised at start-up, before serving."""
