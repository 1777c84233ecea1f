"""Orchestration across domains: work that no single domain owns."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from ccm_gateway.audit.service import record
from ccm_gateway.auth.keys import reencrypt_signing_keys
from ccm_gateway.config import Settings
from ccm_gateway.integration.service import reencrypt_secrets as reencrypt_integration_secrets
from ccm_gateway.kit.progress import Progress, no_progress
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.principal import SYSTEM_ACTOR
from ccm_gateway.sync.service import reencrypt_endpoint_secrets


async def rotate_master(settings: Settings, progress: Progress = no_progress) -> int:
    """Re-encrypt every stored ciphertext not under the current ``CCM_SECRET_KEY`` (the
    signing keys' private JWKs, the integrations' signing secrets, and the outbound
    endpoints' signing secrets and credentials), reading old ones with
    ``CCM_SECRET_KEY_PREVIOUS``. One transaction, audited (counts only); idempotent.
    Returns how many were re-encrypted."""
    box = SecretBox.from_settings(settings)
    async with in_transaction():
        progress(0, 3, "signing keys")
        count, checked = await reencrypt_signing_keys(box)
        progress(1, 3, "integration secrets")
        integration_secrets = await reencrypt_integration_secrets(box)
        progress(2, 3, "outbound endpoint secrets")
        endpoint_secrets = await reencrypt_endpoint_secrets(box)
        await record(SYSTEM_ACTOR, "keys.rotate_master", object_type="signing_key",
                     object_id="*", after={"reencrypted": count, "checked": checked,
                                           "integration_secrets": integration_secrets,
                                           "endpoint_secrets": endpoint_secrets})
    progress(3, 3, "done")
    return count + integration_secrets + endpoint_secrets
