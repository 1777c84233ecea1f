from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccm_gateway.graphql.context import Context
from ccm_gateway.live.connection import LiveConnection


@dataclass(slots=True)
class LiveContext(Context):
    """A WebSocket connection's context: the principal is set at ``connection_init``."""

    # Set by strawberry from connection_init's payload.
    connection_params: dict[str, Any] | None = None
    connection: LiveConnection | None = None
