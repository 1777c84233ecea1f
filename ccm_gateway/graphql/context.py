from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ccm_gateway.config import Settings
from ccm_gateway.graphql.loaders import Loaders
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.principal import Actor, Principal


@dataclass(slots=True)
class Context:
    """What every resolver gets: who is asking, for which request, with which loaders."""

    principal: Principal
    request_id: str
    settings: Settings
    loaders: Loaders
    # The arq queue, for work enqueued after a mutation commits.
    queue: Any = None
    # The labels of this request's metrics, written by graphql.metrics.LabelOperation
    # once the operation ran: "query" / "mutation" / "unknown", and "ok" or an error code.
    operation_type: str | None = None
    outcome: str | None = None

    @property
    def actor(self) -> Actor:
        return self.principal.actor(self.request_id)

    @property
    def secret_box(self) -> SecretBox:
        """Secrets at rest under this process's master keys (CCM_SECRET_KEY[_PREVIOUS])."""
        return SecretBox.from_settings(self.settings)
