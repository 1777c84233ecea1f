"""A connection's token is checked again on its own, not only when something is pushed:
an idle subscription of a revoked client ends too."""

from __future__ import annotations

import uuid

from testkit import eventually

from ccm_gateway.auth import clients
from ccm_gateway.live.connection import LiveConnection, bearer_token
from ccm_gateway.live.hub import Hub


async def test_an_idle_connection_of_a_revoked_client_is_closed_by_the_recheck(app) -> None:
    created = await clients.create_client(f"idle-{uuid.uuid4().hex[:6]}", ["viewer"])
    token, _ = await app.state.tokens.issue_client_token(created.client_id, ["viewer"],
                                                         ["alert:read"])
    closed: list[tuple[int, str]] = []

    async def close(code: int, reason: str) -> None:
        closed.append((code, reason))

    connection = LiveConnection(app.state.tokens, Hub(), close, recheck_seconds=0.05)
    try:
        await connection.open({"Authorization": f"Bearer {token}"})
        assert await connection.authorized()
        await clients.revoke_client(created.client_id)

        async def was_closed() -> bool:
            return bool(closed)

        await eventually(was_closed)
    finally:
        await connection.shutdown()
    assert closed == [(4401, "token no longer valid: client_revoked")]
    assert not await connection.authorized()


def test_the_token_is_read_from_either_payload_shape() -> None:
    assert bearer_token({"Authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"authorization": "bearer  abc "}) == "abc"
    assert bearer_token({"token": "abc"}) == "abc"
