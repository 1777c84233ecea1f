"""`keys rotate-master`: every stored ciphertext re-encrypted under the current
CCM_SECRET_KEY, old ones read with CCM_SECRET_KEY_PREVIOUS; idempotent; audited."""

from __future__ import annotations

from dataclasses import replace

from tortoise.transactions import in_transaction

from ccm_gateway import cli
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.auth.keys import KeyRing
from ccm_gateway.auth.models import SigningKey
from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.flows import rotate_master
from ccm_gateway.integration import service as integration_service
from ccm_gateway.integration.models import Integration, IntegrationKind
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.outbound.models import OutboundEndpoint, credentials_context, secret_context
from ccm_gateway.principal import SYSTEM_ACTOR
from ccm_gateway.sync import service as sync_service

S1 = "rotate-master-test-secret-one-0123456789abcdef"
S2 = "rotate-master-test-secret-two-0123456789abcdef"


async def _integration_ciphertexts() -> int:
    rows = await Integration.all().values_list("secret", "previous_secret")
    return sum(1 for row in rows for value in row if value)


async def _endpoint_ciphertexts() -> int:
    rows = await OutboundEndpoint.all().values_list("secret", "previous_secret", "credentials")
    return sum(1 for row in rows for value in row if value)


async def test_rotate_master_reencrypts_every_signing_key_and_stored_secret(app, settings):
    dev = settings.secret_key
    before_ids = set(await SigningKey.all().values_list("id", flat=True))
    under_s1 = replace(settings, secret_key=S1, secret_key_previous=dev)
    under_s2 = replace(settings, secret_key=S2, secret_key_previous=f"{S1},{dev}")
    back_to_dev = replace(settings, secret_key=dev, secret_key_previous=f"{S2},{S1}")
    try:
        # Keys under S1, and a token signed with the newest of them.
        ring1 = KeyRing(under_s1)
        created = [await ring1.rotate(), await ring1.rotate("RS256")]
        token, _ = await TokenService(under_s1, ring1).issue_client_token(
            "rotate-master-client", ["viewer"], ["sites:read"])
        # An integration whose signing secret is stored under S1.
        async with in_transaction():
            made = await integration_service.create_integration(
                SYSTEM_ACTOR, SecretBox(S1), slug="rotate-master-hook", name="Hook",
                kind=IntegrationKind.ERP, profile="stripe", segments=["*"])
        assert made.secret
        # An outbound endpoint of it, its signing secret and credentials under S1.
        async with in_transaction():
            endpoint = await sync_service.create_endpoint(
                SYSTEM_ACTOR, SecretBox(S1), prod=False, integration_id=made.integration.id,
                url="http://127.0.0.1:9/hook", event_types=["credit.updated"],
                credentials=sync_service.BearerToken("rotate-master-token"))

        count = await rotate_master(under_s2)
        total = await SigningKey.all().count()
        secrets = await _integration_ciphertexts()
        endpoint_secrets = await _endpoint_ciphertexts()
        # S1's keys, the session's (dev secret) keys, every integration secret and every
        # endpoint's secrets and credentials.
        assert count == total + secrets + endpoint_secrets

        only_s2 = SecretBox(S2)
        for row in await SigningKey.all():
            assert not only_s2.needs_rotation(row.private_jwk)
            assert only_s2.decrypt(row.private_jwk, context=f"signing-key:{row.kid}")
        for hook in await Integration.all():
            assert not only_s2.needs_rotation(hook.secret)
        hook = await Integration.get(slug="rotate-master-hook")
        assert only_s2.decrypt(hook.secret, context=f"integration-secret:{hook.id}") == made.secret
        stored = await OutboundEndpoint.get(id=endpoint.endpoint.id)
        assert not only_s2.needs_rotation(stored.secret)
        assert only_s2.decrypt(stored.secret, context=secret_context(stored.id)) == endpoint.secret
        assert "rotate-master-token" in only_s2.decrypt(
            stored.credentials or "", context=credentials_context(stored.id))
        assert {r.kid for r in created} <= set(
            await SigningKey.all().values_list("kid", flat=True))

        # A token signed before the rotation still verifies, with S2 alone.
        ring2 = KeyRing(replace(settings, secret_key=S2, secret_key_previous=None))
        await ring2.refresh()
        principal = TokenService(replace(settings, secret_key=S2), ring2).verify(token)
        assert principal.subject == "rotate-master-client"

        assert await rotate_master(under_s2) == 0  # idempotent
        [first, second] = await AuditEvent.filter(
            action="keys.rotate_master").order_by("-id").limit(2)
        assert second.after == {"reencrypted": total, "checked": total,
                                "integration_secrets": secrets,
                                "endpoint_secrets": endpoint_secrets}
        assert first.after == {"reencrypted": 0, "checked": total, "integration_secrets": 0,
                               "endpoint_secrets": 0}
        assert first.actor_type == "system"
    finally:
        # Leave the session's keys readable by the app's KeyRing (the dev secret).
        await rotate_master(back_to_dev)
        await SigningKey.filter(id__not_in=before_ids or [0]).delete()
    dev_box = SecretBox(dev)
    for row in await SigningKey.all():
        assert not dev_box.needs_rotation(row.private_jwk)
    for hook in await Integration.all():
        assert not dev_box.needs_rotation(hook.secret)
    for row in await OutboundEndpoint.all():
        assert not dev_box.needs_rotation(row.secret)


def test_rotate_master_cli_prints_the_count(monkeypatch, capsys, settings):
    async def fake_with_db(work):
        return 3

    monkeypatch.setattr(cli, "_with_db", fake_with_db)
    monkeypatch.setattr(cli, "_settings", lambda **kw: settings)
    assert cli.main(["keys", "rotate-master"]) == 0
    assert "re-encrypted 3 stored secret(s)" in capsys.readouterr().out
