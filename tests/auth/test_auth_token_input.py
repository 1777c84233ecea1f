"""/oauth/token with text the databases cannot store (NUL, lone surrogates): an RFC 6749
error, not a 500, with no-store, and nothing written (no audit row, no attempt spent)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx
import pytest

from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.auth import clients


def basic(user: str, password: str) -> str:
    raw = f"{user}:{password}".encode("utf-8", "surrogatepass")
    return "Basic " + base64.b64encode(raw).decode()


async def audit_rows() -> int:
    return await AuditEvent.all().count()


@pytest.fixture
async def known_client() -> clients.CreatedClient:
    return await clients.create_client(f"nul-{uuid.uuid4().hex[:8]}", ["viewer"])


CASES = {
    "nul_in_form_client_id": ({"client_id": "ccm_\x00x", "client_secret": "s"}, None,
                              "client_id"),
    "nul_in_form_secret": ({"client_id": "{id}", "client_secret": "{secret}\x00"}, None,
                           "client_secret"),
    "nul_in_scope": ({"client_id": "{id}", "client_secret": "{secret}",
                      "scope": "customer:read\x00"}, None, "scope"),
    "nul_in_grant_type": ({"grant_type": "client_credentials\x00"}, ("{id}", "{secret}"),
                          "grant_type"),
    "nul_in_basic_user": ({}, ("{id}\x00", "{secret}"), "client_id"),
    "nul_in_basic_password": ({}, ("{id}", "\x00{secret}"), "client_secret"),
    "escaped_nul_in_basic_user": ({}, ("{id}%00", "{secret}"), "client_id"),
    "surrogate_in_basic_password": ({}, ("{id}", "{secret}\ud800"), None),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_unstorable_text_is_invalid_request_and_writes_nothing(
        case: str, client: httpx.AsyncClient, known_client: Any) -> None:
    form, credentials, field = CASES[case]

    def fill(text: str) -> str:
        return text.replace("{id}", known_client.client_id).replace(
            "{secret}", known_client.client_secret)

    data = {"grant_type": "client_credentials"} | {k: fill(v) for k, v in form.items()}
    headers = {}
    if credentials is not None:
        headers["Authorization"] = basic(fill(credentials[0]), fill(credentials[1]))
    before = await audit_rows()
    response = await client.post("/oauth/token", data=data, headers=headers)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if field is None:
        # Bytes that are not UTF-8 never make a string: malformed Basic credentials.
        assert response.status_code == 401, response.text
        assert body["error"] == "invalid_client"
    else:
        assert response.status_code == 400, response.text
        assert body["error"] == "invalid_request"
        assert body["error_description"].startswith(f"{field} must")
    assert await audit_rows() == before
