"""Invariant 7: everything is audited, append-only and hash-chained.

Each change records who, what, when, before/after and the request id; the
chains are verifiable, and tampering (a changed or a deleted event) is found.
Tampering runs inside a transaction that is rolled back, so the shared
database is exactly as it was afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

from ccm_gateway.audit import service as audit_service
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.audit.service import GENESIS_HASH, ChainProblem
from ccm_gateway.ledger import service as ledger_service
from ccm_gateway.verify import verify_all

EVENT_FIELDS = """
id stream seq actorType actorId action objectType objectId before after requestId createdAt
prevHash hash
"""
AUDIT_LOG = f"""
query($first: Int, $after: String, $filter: AuditFilter) {{
  auditLog(first: $first, after: $after, filter: $filter) {{
    edges {{ cursor node {{ {EVENT_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""

CREATE_SITE = "mutation($input: CreateSiteInput!) { createSite(input: $input) { id code } }"
CREATE_CUSTOMER = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }"
UPDATE_CUSTOMER = "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { id } }"
LINK_REF = "mutation($input: LinkExternalRefInput!) { linkExternalRef(input: $input) { id } }"
SET_LIMIT = """
mutation($input: SetCreditLimitInput!) { setCreditLimit(input: $input) { version } }"""
SET_TERMS = """
mutation($input: SetCreditTermsInput!) { setCreditTerms(input: $input) { version } }"""
SET_SITE_LIMIT = """
mutation($input: SetSiteLimitInput!) { setSiteLimit(input: $input) { limit { amount } } }"""
POST_ENTRY = """
mutation($input: PostLedgerEntryInput!) {
  postLedgerEntry(input: $input) {
    __typename ... on LedgerEntry { id } ... on CreditDeclined { reason }
  }
}"""
REVERSE = "mutation($input: ReverseLedgerEntryInput!) { reverseLedgerEntry(input: $input) { id } }"
AUTHORIZE = """
mutation($input: AuthorizeCreditInput!) {
  authorizeCredit(input: $input) {
    __typename ... on Hold { id expiresAt } ... on CreditDeclined { reason }
  }
}"""
CAPTURE = "mutation($input: CaptureHoldInput!) { captureHold(input: $input) { id } }"
VOID = "mutation($input: VoidHoldInput!) { voidHold(input: $input) { id } }"


def usd(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


class Caller:
    """Posts GraphQL as a fresh subject with a chosen X-Request-ID, like a real client."""

    def __init__(self, client: Any, tokens: Any, role: str = "admin") -> None:
        self.client = client
        self.tokens = tokens
        self.subject = f"audit-test-{uuid.uuid4().hex[:10]}"
        self.role = role
        self.last_request_id: str | None = None

    async def __call__(self, query: str, variables: dict[str, Any] | None = None, *,
                       request_id: str | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.tokens.issue(self.subject, [self.role])}"}
        if request_id is not None:
            headers["X-Request-ID"] = request_id
        response = await self.client.post("/graphql", headers=headers,
                                          json={"query": query, "variables": variables or {}})
        self.last_request_id = response.headers["x-request-id"]
        return response.json()

    async def data(self, query: str, variables: dict[str, Any] | None = None, *,
                   request_id: str | None = None) -> dict[str, Any]:
        body = await self(query, variables, request_id=request_id)
        assert not body.get("errors"), body["errors"]
        return body["data"]


@pytest.fixture
def caller(client, tokens) -> Caller:
    return Caller(client, tokens)


def new_request_id() -> str:
    return f"req-{uuid.uuid4().hex}"


async def events(gql: Any, **filter_: Any) -> list[dict[str, Any]]:
    """Audit events matching the filter, newest first (one page of 100)."""
    result = await gql(AUDIT_LOG, {"first": 100, "filter": filter_}, role="auditor")
    return [edge["node"] for edge in result.data["auditLog"]["edges"]]


async def only_event(gql: Any, caller: Caller) -> dict[str, Any]:
    """The one event the caller's last request wrote."""
    [event] = await events(gql, actorId=caller.subject)
    assert event["actorType"] == "user"
    assert event["actorId"] == caller.subject
    assert event["requestId"] == caller.last_request_id
    return event


# --- every mutation is audited -----------------------------------------------------------


async def test_create_site_is_audited(gql, caller):
    request_id = new_request_id()
    code = f"S-{uuid.uuid4().hex[:8]}"

    site = (await caller.data(CREATE_SITE, {"input": {"code": code, "name": "North Yard",
                                                      "timezone": "Europe/Berlin"}},
                              request_id=request_id))["createSite"]

    event = await only_event(gql, caller)
    assert event["requestId"] == request_id
    assert event["action"] == "site.create"
    assert event["stream"] == "system"
    assert (event["objectType"], event["objectId"]) == ("site", site["id"])
    assert event["before"] is None
    assert event["after"] == {"code": code, "name": "North Yard", "timezone": "Europe/Berlin"}


async def test_create_customer_is_audited_as_the_first_event_of_its_stream(gql, caller):
    request_id = new_request_id()

    customer = (await caller.data(CREATE_CUSTOMER, {"input": {
        "name": "Acme Haulage", "segment": "haulage", "currency": "USD",
        "creditLimit": usd("500.00")}}, request_id=request_id))["createCustomer"]

    event = await only_event(gql, caller)
    assert event["requestId"] == request_id
    assert event["action"] == "customer.create"
    assert (event["objectType"], event["objectId"]) == ("customer", customer["id"])
    assert (event["stream"], event["seq"], event["prevHash"]) == (
        f"customer:{customer['id']}", 1, GENESIS_HASH)
    assert event["before"] is None
    assert event["after"]["name"] == "Acme Haulage"
    assert event["after"]["status"] == "active"
    assert event["after"]["account"]["credit_limit_minor"] == 50000
    assert event["after"]["account"]["currency"] == "USD"


async def test_update_customer_is_audited_with_before_and_after(gql, caller, make_customer):
    customer_id = await make_customer()
    request_id = new_request_id()

    await caller.data(UPDATE_CUSTOMER, {"input": {"id": customer_id, "expectedVersion": 1,
                                                  "status": "BLOCKED"}}, request_id=request_id)

    event = await only_event(gql, caller)
    assert event["requestId"] == request_id
    assert event["action"] == "customer.update"
    assert (event["objectType"], event["objectId"]) == ("customer", customer_id)
    assert (event["before"]["status"], event["after"]["status"]) == ("active", "blocked")
    assert (event["before"]["version"], event["after"]["version"]) == (1, 2)


async def test_link_external_ref_is_audited(gql, caller, make_customer):
    customer_id = await make_customer()
    external_id = f"cus_{uuid.uuid4().hex[:8]}"

    await caller.data(LINK_REF, {"input": {"customerId": customer_id, "system": "stripe",
                                           "externalId": external_id}},
                      request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "customer.link_external_ref"
    assert event["objectType"] == "external_ref"
    assert event["stream"] == f"customer:{customer_id}"
    assert event["after"] == {"system": "stripe", "external_id": external_id}


async def test_set_credit_limit_is_audited_with_before_and_after(gql, caller, make_customer):
    customer_id = await make_customer("1000.00")

    await caller.data(SET_LIMIT, {"input": {"customerId": customer_id,
                                            "limit": usd("250.00")}},
                      request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "credit.set_limit"
    assert (event["objectType"], event["objectId"]) == ("credit_account", customer_id)
    assert event["before"]["credit_limit_minor"] == 100000
    assert event["after"]["credit_limit_minor"] == 25000
    assert event["after"]["version"] == event["before"]["version"] + 1


async def test_set_credit_terms_is_audited_with_before_and_after(gql, caller, make_customer):
    customer_id = await make_customer()

    await caller.data(SET_TERMS, {"input": {"customerId": customer_id, "netDays": 45,
                                            "invoicingCycle": "WEEKLY"}},
                      request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "credit.set_terms"
    assert (event["before"]["net_days"], event["after"]["net_days"]) == (30, 45)
    assert (event["before"]["invoicing_cycle"], event["after"]["invoicing_cycle"]) == (
        "monthly", "weekly")


async def test_set_site_limit_is_audited(gql, caller, make_customer, make_site):
    customer_id, site_id = await make_customer(), await make_site()
    (await gql(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                          "limit": usd("100.00")}})).assert_ok()

    await caller.data(SET_SITE_LIMIT, {"input": {"customerId": customer_id, "siteId": site_id,
                                                 "limit": usd("300.00")}},
                      request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "credit.set_site_limit"
    assert event["objectType"] == "site_limit"
    assert event["before"] == {"limit_minor": 10000}
    assert event["after"] == {"limit_minor": 30000, "site_id": site_id}


async def test_post_ledger_entry_is_audited(gql, caller, make_customer):
    customer_id = await make_customer()

    entry = (await caller.data(POST_ENTRY, {"input": {
        "customerId": customer_id, "kind": "INVOICE", "amount": usd("12.34"),
        "externalRef": "INV-1"}}, request_id=new_request_id()))["postLedgerEntry"]

    event = await only_event(gql, caller)
    assert event["action"] == "entry.post"
    assert (event["objectType"], event["objectId"]) == ("ledger_entry", entry["id"])
    assert event["before"] is None
    assert event["after"]["kind"] == "invoice"
    assert event["after"]["amount_minor"] == 1234
    assert event["after"]["external_ref"] == "INV-1"


async def test_a_declined_ledger_entry_is_audited(gql, caller, make_customer):
    customer_id = await make_customer("10.00")

    declined = (await caller.data(POST_ENTRY, {"input": {
        "customerId": customer_id, "kind": "CHARGE", "amount": usd("10.01")}},
        request_id=new_request_id()))["postLedgerEntry"]

    assert declined["reason"] == "LIMIT_EXCEEDED"
    event = await only_event(gql, caller)
    assert event["action"] == "entry.declined"
    assert event["objectId"] == customer_id
    assert event["after"] == {"kind": "charge", "amount_minor": 1001, "reason": "LIMIT_EXCEEDED"}


async def test_reverse_ledger_entry_is_audited(gql, caller, make_customer):
    customer_id = await make_customer()
    entry = (await gql(POST_ENTRY, {"input": {"customerId": customer_id, "kind": "CHARGE",
                                              "amount": usd("5.00")}})).data["postLedgerEntry"]

    reversal = (await caller.data(REVERSE, {"input": {"entryId": entry["id"]}},
                                  request_id=new_request_id()))["reverseLedgerEntry"]

    event = await only_event(gql, caller)
    assert event["action"] == "entry.reverse"
    assert event["objectId"] == reversal["id"]
    assert event["after"]["reverses_id"] == entry["id"]
    assert event["after"]["amount_minor"] == -500


async def test_authorize_credit_is_audited(gql, caller, make_customer):
    customer_id = await make_customer()

    hold = (await caller.data(AUTHORIZE, {"input": {"customerId": customer_id,
                                                    "amount": usd("25.00")}},
                              request_id=new_request_id()))["authorizeCredit"]

    event = await only_event(gql, caller)
    assert event["action"] == "hold.authorize"
    assert (event["objectType"], event["objectId"]) == ("hold", hold["id"])
    assert event["after"]["amount_minor"] == 2500
    assert event["after"]["status"] == "pending"


async def test_a_declined_authorization_is_audited(gql, caller, make_customer):
    customer_id = await make_customer("10.00")

    await caller.data(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("25.00")}},
                      request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "hold.declined"
    assert event["objectId"] == customer_id
    assert event["after"] == {"amount_minor": 2500, "currency": "USD",
                              "reason": "LIMIT_EXCEEDED"}


async def test_capture_hold_is_audited_with_before_and_after(gql, caller, make_customer):
    customer_id = await make_customer()
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("25.00")}})
            ).data["authorizeCredit"]

    await caller.data(CAPTURE, {"input": {"holdId": hold["id"], "amount": usd("20.00")}},
                      request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "hold.capture"
    assert event["objectId"] == hold["id"]
    assert (event["before"]["status"], event["after"]["status"]) == ("pending", "captured")
    assert (event["before"]["captured_minor"], event["after"]["captured_minor"]) == (0, 2000)
    assert uuid.UUID(event["after"]["entry_id"])


async def test_void_hold_is_audited_with_before_and_after(gql, caller, make_customer):
    customer_id = await make_customer()
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("25.00")}})
            ).data["authorizeCredit"]

    await caller.data(VOID, {"input": {"holdId": hold["id"]}}, request_id=new_request_id())

    event = await only_event(gql, caller)
    assert event["action"] == "hold.void"
    assert (event["before"]["status"], event["after"]["status"]) == ("pending", "voided")


async def test_hold_expiry_is_audited_as_the_system(gql, make_customer):
    customer_id = await make_customer()
    hold = (await gql(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("25.00"),
                                            "expiresInSeconds": 60}})).data["authorizeCredit"]

    now = datetime.fromisoformat(hold["expiresAt"]) + timedelta(seconds=1)
    while await ledger_service.expire_holds(now=now):
        pass

    [event] = await events(gql, objectId=hold["id"], action="hold.expire")
    assert (event["actorType"], event["actorId"]) == ("system", "ccm-gateway")
    assert event["requestId"] is None
    assert (event["before"]["status"], event["after"]["status"]) == ("pending", "expired")


async def test_without_x_request_id_the_generated_id_is_echoed_and_recorded(gql, caller,
                                                                           make_customer):
    customer_id = await make_customer()

    await caller.data(AUTHORIZE, {"input": {"customerId": customer_id, "amount": usd("1.00")}})

    event = await only_event(gql, caller)
    assert len(event["requestId"]) == 32
    assert event["requestId"] == caller.last_request_id


async def test_a_refused_mutation_writes_no_audit_event(gql, caller, make_customer):
    customer_id = await make_customer()

    body = await caller(AUTHORIZE, {"input": {"customerId": customer_id,
                                              "amount": usd("1.001")}})

    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await events(gql, actorId=caller.subject) == []


# --- the audit log query ------------------------------------------------------------------


async def _three_events(gql: Any, make_customer: Any) -> tuple[str, list[dict[str, Any]]]:
    """A customer whose id is the object of three events: create, set limit, set terms."""
    customer_id = await make_customer("100.00")
    limit = {"customerId": customer_id, "limit": usd("50.00")}
    (await gql(SET_LIMIT, {"input": limit})).assert_ok()
    (await gql(SET_TERMS, {"input": {"customerId": customer_id, "netDays": 10,
                                     "invoicingCycle": "WEEKLY"}})).assert_ok()
    found = await events(gql, objectId=customer_id)
    assert [e["action"] for e in found] == ["credit.set_terms", "credit.set_limit",
                                            "customer.create"]
    return customer_id, found


async def test_the_audit_log_is_newest_first_and_chained(gql, make_customer):
    customer_id, (terms, limit, create) = await _three_events(gql, make_customer)

    assert [e["seq"] for e in (create, limit, terms)] == [1, 2, 3]
    assert {e["stream"] for e in (create, limit, terms)} == {f"customer:{customer_id}"}
    assert create["prevHash"] == GENESIS_HASH
    assert limit["prevHash"] == create["hash"]
    assert terms["prevHash"] == limit["hash"]
    assert int(terms["id"]) > int(limit["id"]) > int(create["id"])


async def test_the_audit_log_filters_by_action(gql, make_customer):
    customer_id, (terms, _, _) = await _three_events(gql, make_customer)

    assert await events(gql, objectId=customer_id, action="credit.set_terms") == [terms]
    assert await events(gql, objectId=customer_id, action="hold.void") == []


async def test_the_audit_log_filters_by_actor(gql, caller, make_customer):
    customer_id = await make_customer()
    await caller.data(SET_LIMIT, {"input": {"customerId": customer_id, "limit": usd("2.00")}})
    await caller.data(SET_LIMIT, {"input": {"customerId": customer_id, "limit": usd("1.00")}})

    mine = await events(gql, actorId=caller.subject)

    assert [e["after"]["credit_limit_minor"] for e in mine] == [100, 200]
    assert all(e["actorId"] == caller.subject for e in mine)


async def test_the_audit_log_filters_by_time_since_inclusive_until_exclusive(gql,
                                                                              make_customer):
    customer_id, (terms, limit, create) = await _three_events(gql, make_customer)

    since = await events(gql, objectId=customer_id, since=limit["createdAt"])
    until = await events(gql, objectId=customer_id, until=limit["createdAt"])
    window = await events(gql, objectId=customer_id, since=limit["createdAt"],
                          until=terms["createdAt"])

    assert since == [terms, limit]
    assert until == [create]
    assert window == [limit]


async def test_the_audit_log_time_filters_read_any_utc_offset_as_the_same_instant(
        gql, make_customer):
    customer_id, (terms, limit, create) = await _three_events(gql, make_customer)
    at = datetime.fromisoformat(limit["createdAt"])
    tokyo = at.astimezone(timezone(timedelta(hours=9))).isoformat()

    assert await events(gql, objectId=customer_id, since=tokyo) == [terms, limit]
    assert await events(gql, objectId=customer_id, until=tokyo) == [create]


async def test_the_audit_log_pages_without_overlap(gql, make_customer):
    customer_id, found = await _three_events(gql, make_customer)
    query = {"first": 2, "filter": {"objectId": customer_id}}

    first = (await gql(AUDIT_LOG, query, role="auditor")).data["auditLog"]
    second = (await gql(AUDIT_LOG, query | {"after": first["pageInfo"]["endCursor"]},
                        role="auditor")).data["auditLog"]

    assert [e["node"] for e in first["edges"]] == found[:2]
    assert first["pageInfo"]["hasNextPage"] is True
    assert [e["node"] for e in second["edges"]] == found[2:]
    assert second["pageInfo"] == {"hasNextPage": False,
                                  "endCursor": second["edges"][-1]["cursor"]}


def _cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


@pytest.mark.parametrize(("variables", "field"), [
    ({"first": 101}, "first"),
    ({"first": 0}, "first"),
    ({"after": "garbage"}, "after"),
    ({"after": _cursor("abc")}, "after"),
    ({"after": _cursor("-1")}, "after"),
    ({"after": _cursor("²")}, "after"),  # a digit to str.isdigit(), not to int()
    ({"after": _cursor("9" * 30)}, "after"),  # no BIGINT id is that large
    ({"after": _cursor("1", "2")}, "after"),
    ({"filter": {"since": "2024-01-01T00:00:00"}}, "since"),
    ({"filter": {"until": "2024-01-01T00:00:00"}}, "until"),
])
async def test_a_bad_audit_log_request_is_refused(gql, variables, field):
    result = await gql(AUDIT_LOG, variables, role="auditor")

    assert result.error_code == "BAD_USER_INPUT"
    assert result.errors[0]["extensions"]["field"] == field


# --- who may read it ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "finance", "credit_manager"])
async def test_roles_without_audit_read_cannot_read_the_audit_log(gql, role):
    result = await gql(AUDIT_LOG, {"first": 1}, role=role)

    assert result.error_code == "FORBIDDEN"
    assert result.body["data"] is None


@pytest.mark.parametrize("role", ["auditor", "it_admin", "admin"])
async def test_roles_with_audit_read_can_read_the_audit_log(gql, make_customer, role):
    customer_id = await make_customer()

    result = await gql(AUDIT_LOG, {"first": 5, "filter": {"objectId": customer_id}}, role=role)

    [edge] = result.data["auditLog"]["edges"]
    assert edge["node"]["action"] == "customer.create"


# --- the chains: verification and tamper detection ----------------------------------------


class _Rollback(Exception):
    pass


@asynccontextmanager
async def tampering() -> AsyncIterator[Any]:
    """A transaction in which audit_event's append-only triggers are off; always rolled back.

    PostgreSQL: session_replication_role = replica skips the triggers for this
    transaction only. SQLite: DDL is transactional, so the dropped triggers come
    back with the rollback (and are re-created before it, as in the migration).
    Statements go one by one: sqlite3's executescript() would COMMIT first.
    """
    try:
        async with in_transaction() as conn:
            if conn.capabilities.dialect == "postgres":
                await conn.execute_query("SET LOCAL session_replication_role = replica")
            else:
                for trigger in SQLITE_AUDIT_TRIGGERS:
                    await conn.execute_query(f'DROP TRIGGER "{trigger}"')
            yield conn
            if conn.capabilities.dialect != "postgres":
                for sql in SQLITE_AUDIT_TRIGGERS.values():
                    await conn.execute_query(sql)
            raise _Rollback
    except _Rollback:
        pass
    await _assert_append_only()


async def _assert_append_only() -> None:
    """The triggers are back: an UPDATE of any audit event is refused."""
    with pytest.raises((IntegrityError, OperationalError)):
        async with in_transaction() as conn:
            await conn.execute_query("UPDATE audit_event SET actor_id = actor_id "
                                     "WHERE id = (SELECT MIN(id) FROM audit_event)")


# Exactly as in migrations/sqlite/models/0_*_init.py.
SQLITE_AUDIT_TRIGGERS = {
    "audit_event_no_update": """CREATE TRIGGER IF NOT EXISTS "audit_event_no_update" BEFORE UPDATE ON "audit_event" BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;""",  # noqa: E501 - as the migration has it
    "audit_event_no_delete": """CREATE TRIGGER IF NOT EXISTS "audit_event_no_delete" BEFORE DELETE ON "audit_event" BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;""",  # noqa: E501 - as the migration has it
}


def _p(conn: Any, n: int) -> str:
    return f"${n}" if conn.capabilities.dialect == "postgres" else "?"


async def _problems(stream: str) -> list[ChainProblem]:
    _, problems = await audit_service.verify_chains()
    return [p for p in problems if p.stream == stream]


async def test_verify_finds_intact_chains(gql, make_customer):
    await _three_events(gql, make_customer)

    report = await verify_all()

    assert report["ok"], report
    assert report["audit_events_checked"] >= 3


async def test_verify_detects_a_modified_event(gql, make_customer):
    customer_id, _ = await _three_events(gql, make_customer)
    stream = f"customer:{customer_id}"

    async with tampering() as conn:
        await conn.execute_query(
            f"UPDATE audit_event SET actor_id = 'someone-else' "
            f"WHERE stream = {_p(conn, 1)} AND seq = 2", [stream])
        found = await _problems(stream)

    assert found == [ChainProblem(stream, 2, "content does not match hash")]
    assert await _problems(stream) == []


async def test_verify_detects_a_modified_amount_in_before_or_after(gql, make_customer):
    customer_id, _ = await _three_events(gql, make_customer)
    stream = f"customer:{customer_id}"

    async with tampering() as conn:
        [row] = await conn.execute_query_dict(
            f"SELECT after FROM audit_event WHERE stream = {_p(conn, 1)} AND seq = 2", [stream])
        after = row["after"] if isinstance(row["after"], dict) else json.loads(row["after"])
        after["credit_limit_minor"] += 1
        cast = "::jsonb" if conn.capabilities.dialect == "postgres" else ""
        await conn.execute_query(
            f"UPDATE audit_event SET after = {_p(conn, 1)}{cast} "
            f"WHERE stream = {_p(conn, 2)} AND seq = 2", [json.dumps(after), stream])
        found = await _problems(stream)

    assert found == [ChainProblem(stream, 2, "content does not match hash")]
    assert await _problems(stream) == []


async def test_verify_detects_an_event_rewritten_with_a_fresh_hash(gql, make_customer):
    customer_id, _ = await _three_events(gql, make_customer)
    stream = f"customer:{customer_id}"

    async with tampering() as conn:
        # The forger recomputes event 2's hash, but event 3 still links to the old one.
        await conn.execute_query(
            f"UPDATE audit_event SET actor_id = 'someone-else' "
            f"WHERE stream = {_p(conn, 1)} AND seq = 2", [stream])
        event = await AuditEvent.filter(stream=stream, seq=2).using_db(conn).get()
        await conn.execute_query(
            f"UPDATE audit_event SET hash = {_p(conn, 1)} WHERE id = {_p(conn, 2)}",
            [audit_service.compute_hash(event), event.id])
        found = await _problems(stream)

    assert found == [ChainProblem(stream, 3, "previous hash does not match")]
    assert await _problems(stream) == []


async def test_verify_detects_a_deleted_middle_event(gql, make_customer):
    customer_id, _ = await _three_events(gql, make_customer)
    stream = f"customer:{customer_id}"

    async with tampering() as conn:
        await conn.execute_query(
            f"DELETE FROM audit_event WHERE stream = {_p(conn, 1)} AND seq = 2", [stream])
        found = await _problems(stream)

    assert found == [ChainProblem(stream, 3, "sequence gap: expected 2"),
                     ChainProblem(stream, 3, "previous hash does not match")]
    assert await _problems(stream) == []
    assert [e["seq"] for e in await events(gql, objectId=customer_id)] == [3, 2, 1]


async def test_tampering_is_reported_by_verify_all(gql, make_customer):
    customer_id, _ = await _three_events(gql, make_customer)
    stream = f"customer:{customer_id}"

    async with tampering() as conn:
        await conn.execute_query(
            f"DELETE FROM audit_event WHERE stream = {_p(conn, 1)} AND seq = 3", [stream])
        await conn.execute_query(
            f"UPDATE audit_event SET action = 'x' WHERE stream = {_p(conn, 1)} AND seq = 1",
            [stream])
        report = await verify_all()

    assert report["ok"] is False
    assert {"stream": stream, "seq": 1, "problem": "content does not match hash"} \
        in report["audit_chain_breaks"]
    assert (await verify_all())["ok"]


CHAIN_STATUS = """query($after: String) { auditChainStatus(afterStream: $after) { intact
  eventsChecked streamsChecked streamsLeft resumeAfterStream breakCount checkedAt
  breaks { stream seq problem } } }"""


async def _whole_chain_check(gql: Any) -> list[dict[str, Any]]:
    """Every step of the chain check through GraphQL, from the first stream to the last."""
    steps: list[dict[str, Any]] = []
    after = None
    while True:
        step = (await gql(CHAIN_STATUS, {"after": after}, role="auditor")).data[
            "auditChainStatus"]
        steps.append(step)
        after = step["resumeAfterStream"]
        if after is None:
            assert step["streamsLeft"] == 0
            return steps


async def test_the_chain_status_field_reports_intact_chains(gql, make_customer):
    await _three_events(gql, make_customer)

    steps = await _whole_chain_check(gql)

    assert all(s["intact"] and s["breakCount"] == 0 and s["breaks"] == [] for s in steps)
    checked, _ = await audit_service.verify_chains()
    assert sum(s["eventsChecked"] for s in steps) >= 3
    assert sum(s["eventsChecked"] for s in steps) <= checked  # later appends are not counted
    assert datetime.fromisoformat(steps[-1]["checkedAt"]) > datetime.now(UTC) - timedelta(
        minutes=1)


async def test_the_chain_status_field_reports_the_breaks_verify_finds(gql, make_customer):
    customer_id, _ = await _three_events(gql, make_customer)
    stream = f"customer:{customer_id}"

    async with tampering() as conn:
        # The requests run in this task's context, so they read inside the tampering.
        await conn.execute_query(
            f"DELETE FROM audit_event WHERE stream = {_p(conn, 1)} AND seq = 2", [stream])
        steps = await _whole_chain_check(gql)

    broken = [s for s in steps if not s["intact"]]
    assert [s["breakCount"] for s in broken] == [2]
    assert broken[0]["breaks"] == [{"stream": stream, "seq": 3, "problem": problem} for problem in
                                   ("sequence gap: expected 2", "previous hash does not match")]
    assert all(s["intact"] for s in await _whole_chain_check(gql))


async def test_a_chain_check_out_of_time_resumes_after_the_last_stream_it_checked(
        gql, make_customer):
    for _ in range(3):
        await _three_events(gql, make_customer)
    everything = await audit_service.check_chains()
    assert (everything.streams_left, everything.resume_after) == (0, None)

    # No time at all: each step still checks one whole stream, and the steps add up.
    steps = [await audit_service.check_chains(time_budget_seconds=0)]
    while steps[-1].resume_after is not None:
        steps.append(await audit_service.check_chains(after=steps[-1].resume_after,
                                                      time_budget_seconds=0))

    assert {s.streams_checked for s in steps} == {1}
    assert len(steps) >= everything.streams_checked
    assert steps[0].streams_left == len(steps) - 1
    assert sum(s.events_checked for s in steps) >= everything.events_checked


async def test_the_chain_status_field_lists_at_most_a_hundred_breaks(gql, monkeypatch):
    problems = [ChainProblem("system", seq, "content does not match hash")
                for seq in range(1, 151)]

    async def many_breaks(**_: Any) -> audit_service.ChainCheck:
        return audit_service.ChainCheck(150, 1, 0, problems, None)

    monkeypatch.setattr(audit_service, "check_chains", many_breaks)
    status = (await gql(CHAIN_STATUS, role="auditor")).data["auditChainStatus"]

    assert (status["intact"], status["eventsChecked"], status["breakCount"]) == (False, 150, 150)
    assert [b["seq"] for b in status["breaks"]] == list(range(1, 101))


@pytest.mark.parametrize("role", ["viewer", "finance", "credit_manager"])
async def test_roles_without_audit_read_cannot_check_the_chain(gql, role):
    result = await gql(CHAIN_STATUS, role=role)

    assert result.error_code == "FORBIDDEN"
    assert result.body["data"] is None


async def test_a_partner_principal_cannot_check_the_chain(gql):
    token = gql.token("auditor", partner_id=f"P-{uuid.uuid4().hex[:8]}")

    result = await gql(CHAIN_STATUS, token=token)

    assert result.error_code == "FORBIDDEN"
    assert "partner principals cannot check the audit chain" in result.errors[0]["message"]


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor_id = 'x' WHERE id = {id}",
    "DELETE FROM audit_event WHERE id = {id}",
])
async def test_the_audit_log_refuses_updates_and_deletes(gql, make_customer, statement):
    customer_id = await make_customer()
    [event] = await events(gql, objectId=customer_id)

    with pytest.raises((IntegrityError, OperationalError)):
        async with in_transaction() as conn:
            await conn.execute_query(statement.format(id=int(event["id"])))

    assert await events(gql, objectId=customer_id) == [event]


async def test_concurrent_writes_to_one_stream_never_fork_the_chain(gql):
    codes = [f"S-{uuid.uuid4().hex[:8]}" for _ in range(20)]

    results = await asyncio.gather(*(gql(CREATE_SITE, {"input": {"code": c, "name": "Yard"}})
                                     for c in codes))

    assert all(r.errors == [] for r in results), [r.errors for r in results if r.errors]
    assert await _problems("system") == []
    conn = connections.get("default")
    rows = await conn.execute_query_dict(
        "SELECT seq FROM audit_event WHERE stream = 'system' ORDER BY seq")
    assert [r["seq"] for r in rows] == list(range(1, len(rows) + 1))
