"""Permissions checked once per document (graphql/permissions.py): a document runs without
per-field checks only when the principal holds every permission it can need; otherwise it
runs with them, with the same FORBIDDEN errors and partial data as before."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from strawberry.permission import PermissionExtension

from ccm_gateway.api.schema import build_permission_plans, build_schema
from ccm_gateway.graphql.permissions import DocumentPermissions, _strawberry_fields
from ccm_gateway.principal import ROLE_PERMISSIONS, Permission, Principal, Role

SCHEMA = build_schema()
PLANS = build_permission_plans(SCHEMA)

# customer:read at the root, ledger:read on Customer.ledger, integration:read on the root
# integration field, which a viewer lacks (auditors have it).
Q_CUSTOMER_AND_INTEGRATION = """
query($c: ID!, $i: ID!) {
  customer(id: $c) { id name ledger(first: 1) { edges { node { id } } } }
  integration(id: $i) { id }
}"""
Q_PAGE = ("{ customers(first: 100) { edges { node { id name partnerId creditAccount "
          "{ limit { amount } balance { amount } held { amount } } } } } }")


def _principal(*permissions: Permission, partner_id: str | None = None) -> Principal:
    return Principal(subject="t", kind="user", roles=frozenset(),
                     permissions=frozenset(permissions), partner_id=partner_id)


def _with_permission_extensions(schema: strawberry.Schema) -> int:
    return sum(1 for _, f in _strawberry_fields(schema)
               if any(isinstance(e, PermissionExtension) for e in f.extensions))


def _bound_permission_checks(schema: strawberry.Schema, type_name: str, field: str) -> int:
    """How many permission checks the schema's resolver of ``type_name.field`` runs: the
    field extensions strawberry bound into it when the schema was built."""
    resolver = schema._schema.get_type(type_name).fields[field].resolve  # type: ignore[union-attr]
    with_extensions = inspect.getclosurevars(resolver).nonlocals["_get_result_with_extensions"]
    bound = inspect.getclosurevars(with_extensions).nonlocals["extension_functions"]
    return sum(1 for f in bound if isinstance(getattr(f, "__self__", None), PermissionExtension))


@pytest.fixture
def chosen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """'checked' or 'unchecked' for each request the app runs."""
    seen: list[str] = []
    original = DocumentPermissions.schema_for

    def spy(self: DocumentPermissions, query: str | None, principal: Principal) -> Any:
        schema = original(self, query, principal)
        seen.append("unchecked" if schema is self.unchecked else "checked")
        return schema

    monkeypatch.setattr(DocumentPermissions, "schema_for", spy)
    yield seen


def _without_request_ids(body: dict[str, Any]) -> dict[str, Any]:
    for error in body.get("errors") or []:
        error.get("extensions", {}).pop("requestId", None)
    return body


# --- the plan ------------------------------------------------------------------------


def test_the_unchecked_variant_serves_the_same_schema_without_permission_extensions() -> None:
    assert PLANS.unchecked.as_str() == SCHEMA.as_str()
    for type_name, field in [("Query", "customers"), ("Customer", "ledger"),
                             ("Mutation", "createCustomer")]:
        assert _bound_permission_checks(SCHEMA, type_name, field) == 1
        assert _bound_permission_checks(PLANS.unchecked, type_name, field) == 0
    # Building the variant leaves the checked schema's fields as they were.
    assert _with_permission_extensions(SCHEMA) == _with_permission_extensions(build_schema())
    assert _with_permission_extensions(SCHEMA) > 70


def test_a_document_needs_the_permissions_of_every_field_it_names() -> None:
    assert PLANS.needs(Q_CUSTOMER_AND_INTEGRATION) == {
        Permission.CUSTOMER_READ, Permission.LEDGER_READ, Permission.INTEGRATION_READ}


def test_fields_named_in_fragments_and_inline_fragments_count_used_or_not() -> None:
    query = """
    query { node(id: "x") { ... on Customer { ...Entries } } }
    fragment Entries on Customer { ledger(first: 1) { edges { node { id } } } }
    fragment Unused on Query { auditLog(first: 1) { edges { node { id } } } }
    """
    assert PLANS.needs(query) == {Permission.CUSTOMER_READ, Permission.LEDGER_READ,
                                  Permission.AUDIT_READ} | PLANS.needs('{ node(id: "x") { id } }')


def test_a_document_that_does_not_parse_is_checked() -> None:
    admin = _principal(*Permission)
    assert PLANS.needs("{ customers(first: ") is None
    assert PLANS.schema_for("{ customers(first: ", admin) is PLANS.checked
    assert PLANS.schema_for(None, admin) is PLANS.checked


def test_the_unchecked_schema_needs_every_permission_the_document_can_need() -> None:
    viewer = _principal(*ROLE_PERMISSIONS[Role.VIEWER])
    auditor = _principal(*ROLE_PERMISSIONS[Role.AUDITOR])
    assert Permission.INTEGRATION_READ not in viewer.permissions
    assert PLANS.schema_for(Q_CUSTOMER_AND_INTEGRATION, viewer) is PLANS.checked
    assert PLANS.schema_for(Q_CUSTOMER_AND_INTEGRATION, auditor) is PLANS.unchecked
    assert PLANS.schema_for(Q_PAGE, viewer) is PLANS.unchecked
    assert PLANS.schema_for(Q_PAGE, _principal(Permission.LEDGER_READ)) is PLANS.checked


def test_the_needs_cache_is_bounded() -> None:
    plans = build_permission_plans(SCHEMA)
    plans.maxsize = 3
    for n in range(10):
        plans.needs(f"{{ customers(first: {n + 1}) {{ edges {{ node {{ id }} }} }} }}")
    assert len(plans._needs) == 3


# --- over HTTP -----------------------------------------------------------------------


async def test_the_fast_path_answers_as_the_checked_one(
        gql: Any, make_customer: Any, chosen: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    await make_customer()
    chosen.clear()
    result = await gql(Q_PAGE, role="viewer")
    assert chosen == ["unchecked"]
    edges = result.data["customers"]["edges"]
    assert edges and all(e["node"]["creditAccount"]["limit"]["amount"] for e in edges)

    monkeypatch.setattr(DocumentPermissions, "schema_for",
                        lambda self, query, principal: self.checked)
    assert (await gql(Q_PAGE, role="viewer")).body == result.body


async def test_a_missing_permission_falls_back_with_todays_forbidden_and_partial_data(
        gql: Any, make_customer: Any, chosen: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    customer = await make_customer()
    variables = {"c": customer, "i": str(uuid.uuid4())}
    chosen.clear()
    result = await gql(Q_CUSTOMER_AND_INTEGRATION, variables, role="viewer")
    assert chosen == ["checked"]
    assert result.body["data"]["customer"]["id"] == customer
    assert result.body["data"]["customer"]["ledger"] == {"edges": []}
    assert result.body["data"]["integration"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in result.errors] == [
        (["integration"], "FORBIDDEN")]

    monkeypatch.setattr(DocumentPermissions, "schema_for",
                        lambda self, query, principal: self.checked)
    before = await gql(Q_CUSTOMER_AND_INTEGRATION, variables, role="viewer")
    assert _without_request_ids(result.body) == _without_request_ids(before.body)


async def test_a_partner_principal_on_the_fast_path_reads_only_its_own_customers(
        gql: Any, make_customer: Any, chosen: list[str]) -> None:
    partner, other = f"p-{uuid.uuid4().hex[:8]}", f"p-{uuid.uuid4().hex[:8]}"
    own = {await make_customer(partnerId=partner) for _ in range(2)}
    await make_customer(partnerId=other)
    await make_customer()
    token = gql.token("admin", partner_id=partner)
    chosen.clear()
    result = await gql(Q_PAGE, token=token)
    assert chosen == ["unchecked"]
    nodes = [e["node"] for e in result.data["customers"]["edges"]]
    assert {n["id"] for n in nodes} == own
    assert {n["partnerId"] for n in nodes} == {partner}
