from __future__ import annotations

import uuid
from typing import Any

from ccm_gateway.errors import BadInput


def parse_uuid(value: Any, field: str) -> uuid.UUID:
    """An id from outside -> UUID, or BAD_USER_INPUT naming the field."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise BadInput(f"{field} {value!r} is not a valid UUID", field=field) from None
