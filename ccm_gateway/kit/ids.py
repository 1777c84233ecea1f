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


# The namespace of derived ids; fixed forever, or every derived id changes.
_DERIVED_NAMESPACE = uuid.UUID("6f0c2b1e-3c55-4a4f-9d7e-2f6a8c1b5e90")


def derived_id(type_name: str, key: str) -> uuid.UUID:
    """The id of an object with no row of its own (an issuer of CCM_TRUSTED_ISSUERS, a
    profile shipped in webhooks/): a UUID 5 over its GraphQL type name and the key that
    names it, so it is the same in every process and run, and no other object has it."""
    return uuid.uuid5(_DERIVED_NAMESPACE, f"{type_name}:{key}")
