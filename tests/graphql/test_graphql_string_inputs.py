"""Every string a GraphQL caller sends is one both databases can store, or it is refused.

The positions are enumerated from ``build_schema()``: every String or ID argument
of every field, and every String or ID field of every input type reachable from
one (inside lists too). A NUL byte, or a lone surrogate, at any of them answers
BAD_USER_INPUT naming that position (``externalRefs[0].system`` in a mutation's
``input``, ``filter.nameContains`` in a query's argument), before
any resolver runs: the requests below point at objects that do not exist, so a
resolver that ran would answer something else. A string longer than the column
it is written to answers the same way, and a new String input that is neither
given a limit nor listed as unbounded fails here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLObjectType,
    get_named_type,
    is_composite_type,
    is_enum_type,
    is_input_object_type,
    is_list_type,
    is_non_null_type,
    is_required_argument,
    is_required_input_field,
    print_ast,
)
from graphql.language import StringValueNode

from ccm_gateway.api.inputs import MAX_LENGTHS, UNBOUNDED
from ccm_gateway.api.schema import build_schema
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.customer.models import Customer
from ccm_gateway.ledger.models import Hold, LedgerEntry
from ccm_gateway.site.models import Site

SCHEMA = build_schema()._schema
ROOTS = {"Query": "query", "Mutation": "mutation", "Subscription": "subscription"}
# How a query reaches a type that is not a root but has arguments of its own.
REACH = {"Customer": ("customer", {"id": "00000000-0000-0000-0000-000000000000"}),
         "AgingReport": ("agingReport", {"asOf": "2025-01-01T00:00:00+00:00"})}
SCALAR_SAMPLES: dict[str, Any] = {
    "String": "x", "ID": "x", "Int": 1, "Float": 1.0, "Boolean": False,
    "DateTime": "2025-01-01T00:00:00+00:00", "JSON": {},
}
BAD_STRINGS = {"nul": "a\x00b", "lone-surrogate": "a\ud800b"}


def _unwrap(t: Any) -> Any:
    return t.of_type if is_non_null_type(t) else t


def minimal(t: GraphQLInputType) -> Any:
    """The smallest value of ``t`` that coerces: required input fields only."""
    t = _unwrap(t)
    if is_list_type(t):
        return [minimal(t.of_type)]
    if is_input_object_type(t):
        return {name: minimal(f.type) for name, f in t.fields.items()
                if is_required_input_field(f)}
    if is_enum_type(t):
        return next(iter(t.values))
    return SCALAR_SAMPLES[t.name]


def placed(t: GraphQLInputType, path: tuple[str | int, ...], leaf: Any) -> Any:
    """A minimal value of ``t`` with ``leaf`` at ``path``."""
    t = _unwrap(t)
    if not path:
        return leaf
    if is_list_type(t):
        return [placed(t.of_type, path[1:], leaf)]
    value = minimal(t)
    value[path[0]] = placed(t.fields[path[0]].type, path[1:], leaf)
    return value


def leaves(t: GraphQLInputType, path: tuple[str | int, ...],
           key: str) -> Iterator[tuple[tuple[str | int, ...], str, str]]:
    """(path, limit key, scalar name) of every String or ID under ``t``."""
    t = _unwrap(t)
    if is_list_type(t):
        yield from leaves(t.of_type, (*path, 0), key)
    elif isinstance(t, GraphQLInputObjectType):
        for name, f in t.fields.items():
            yield from leaves(f.type, (*path, name), f"{t.name}.{name}")
    elif t.name in ("String", "ID"):
        yield path, key, t.name


def written(value: Any, t: GraphQLInputType) -> str:
    """``value`` (as variables carry it) written into a document as a literal."""
    t = _unwrap(t)
    if is_list_type(t):
        return "[" + ", ".join(written(item, t.of_type) for item in value) + "]"
    if is_input_object_type(t):
        return "{" + ", ".join(f"{name}: {written(item, t.fields[name].type)}"
                               for name, item in value.items()) + "}"
    if is_enum_type(t):
        return value
    if isinstance(value, str):
        return print_ast(StringValueNode(value=value))
    return json.dumps(value)


def show(path: tuple[str | int, ...]) -> str:
    """How errors name a position: a mutation's ``input`` is left out, as services do."""
    parts = path[1:] if path[0] == "input" and len(path) > 1 else path
    text = str(parts[0])
    for part in parts[1:]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


@dataclass(frozen=True)
class Position:
    owner: str  # "Mutation.createSite"
    field: GraphQLField
    arg: str
    path: tuple[str | int, ...]  # starts with the argument's name
    key: str  # what MAX_LENGTHS / UNBOUNDED call it
    scalar: str

    @property
    def shown(self) -> str:
        return show(self.path)

    def request(self, leaf: Any, *, literal: bool = False) -> tuple[str, dict[str, Any]]:
        """A document and variables that put ``leaf`` at this position."""
        parent, name = self.owner.split(".")
        values = {a: minimal(arg.type) for a, arg in self.field.args.items()
                  if is_required_argument(arg)}
        values[self.arg] = placed(self.field.args[self.arg].type, self.path[1:], leaf)
        if literal:
            args = ", ".join(f"{a}: {written(v, self.field.args[a].type)}"
                             for a, v in values.items())
            declared, variables = "", {}
        else:
            args = ", ".join(f"{a}: ${a}" for a in values)
            declared = "(" + ", ".join(f"${a}: {self.field.args[a].type}" for a in values) + ")"
            variables = values
        selection = " { __typename }" if is_composite_type(get_named_type(self.field.type)) else ""
        call = f"{name}({args}){selection}"
        if parent in ROOTS:
            return f"{ROOTS[parent]}{declared} {{ {call} }}", variables
        via, via_args = REACH[parent]
        outer = ", ".join(f'{a}: "{v}"' for a, v in via_args.items())
        return f"query{declared} {{ {via}({outer}) {{ {call} }} }}", variables


def positions() -> list[Position]:
    found = []
    for type_name, t in SCHEMA.type_map.items():
        if type_name.startswith("__") or not isinstance(t, GraphQLObjectType):
            continue
        for field_name, f in t.fields.items():
            for arg_name, arg in f.args.items():
                for path, key, scalar in leaves(arg.type, (arg_name,),
                                                f"{type_name}.{field_name}.{arg_name}"):
                    found.append(Position(f"{type_name}.{field_name}", f, arg_name, path, key,
                                          scalar))
    return found


POSITIONS = positions()
# Subscriptions run over WebSocket only: tests/live probes theirs there.
HTTP_POSITIONS = [p for p in POSITIONS if not p.owner.startswith("Subscription.")]


def test_the_enumeration_finds_the_positions_the_probe_hit():
    shown = {(p.owner, p.shown) for p in POSITIONS}
    for expected in [("Mutation.createCustomer", "name"),
                     ("Mutation.createCustomer", "segment"),
                     ("Mutation.createCustomer", "externalRefs[0].externalId"),
                     ("Mutation.linkExternalRef", "externalId"),
                     ("Mutation.createSite", "code"),
                     ("Mutation.authorizeCredit", "reference"),
                     ("Mutation.postLedgerEntry", "description"),
                     ("Mutation.postLedgerEntry", "idempotencyKey"),
                     ("Mutation.createApiClient", "name"),
                     ("Mutation.createIntegration", "name"),
                     ("Query.customer", "externalRef.system"),
                     ("Query.customers", "filter.nameContains"),
                     ("Query.auditLog", "filter.action"),
                     ("Query.creditCheck", "amount.amount"),
                     ("Customer.ledger", "after")]:
        assert expected in shown
    assert len(POSITIONS) > 80
    for p in POSITIONS:
        parent = p.owner.split(".")[0]
        assert parent in ROOTS or parent in REACH, f"add to REACH how a query gets to {parent}"


async def send(gql: Any, document: str, variables: dict[str, Any] | None = None
               ) -> dict[str, Any]:
    # httpx's json= writes UTF-8, which cannot carry a lone surrogate; JSON's \\ud800 can.
    body = json.dumps({"query": document, "variables": variables or {}})
    response = await gql.http.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {gql.token('admin')}", "Content-Type": "application/json"})
    return response.json()


def _refused_naming(body: dict[str, Any], field: str) -> str:
    """The message of the one error, which must be BAD_USER_INPUT naming ``field``."""
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert error["extensions"]["field"] == field, error
    assert error["message"].startswith(f"{field} must "), error
    return error["message"]


@pytest.mark.parametrize("bad", BAD_STRINGS.values(), ids=BAD_STRINGS.keys())
@pytest.mark.parametrize("position", HTTP_POSITIONS, ids=lambda p: f"{p.owner}:{p.shown}")
async def test_a_string_no_database_can_store_is_refused_naming_its_field(gql, position, bad):
    document, variables = position.request(bad)
    _refused_naming(await send(gql, document, variables), position.shown)


@pytest.mark.parametrize("position", HTTP_POSITIONS, ids=lambda p: f"{p.owner}:{p.shown}")
async def test_a_nul_written_into_the_document_is_refused_naming_its_field(gql, position):
    # A lone surrogate cannot be written into a document: the parser refuses "\uD800".
    document, _ = position.request("a\x00b", literal=True)
    _refused_naming(await send(gql, document), position.shown)


FILTER = '{nameContains: "\\u0000"}'
SELECT = "{ __typename }"


@pytest.mark.parametrize("document", [
    f"query {{ ...F }} fragment F on Query {{ customers(filter: {FILTER}) {SELECT} }}",
    f"query {{ ... on Query {{ customers(filter: {FILTER}) {SELECT} }} }}",
    f"query($f: CustomerFilter = {FILTER}) {{ customers(filter: $f) {SELECT} }}",
], ids=["fragment", "inline-fragment", "variable-default"])
async def test_a_nul_anywhere_the_operation_reads_arguments_is_refused(gql, document):
    _refused_naming(await send(gql, document), "filter.nameContains")


async def test_only_the_operation_that_runs_is_checked(gql):
    document = (f"query Bad {{ customers(filter: {FILTER}) {SELECT} }} "
                f'query Good {{ customers(filter: {{nameContains: "x"}}) {SELECT} }}')
    body = json.dumps({"query": document, "operationName": "Good"})
    response = await gql.http.post("/graphql", content=body, headers={
        "Authorization": f"Bearer {gql.token('admin')}", "Content-Type": "application/json"})
    assert response.json().get("errors") is None, response.json()


async def test_text_beyond_ascii_is_stored_as_sent(gql):
    name = f"Müller & Söhne 🚚 {uuid.uuid4().hex[:6]}"  # the emoji arrives as a surrogate pair
    created = await send(gql, "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) "
                              "{ name } }", {"i": {"name": name, "segment": "haulage",
                                                  "currency": "USD"}})
    assert created["data"]["createCustomer"]["name"] == name, created


async def test_a_refused_request_writes_nothing(gql, make_customer):
    customer_id = await make_customer()
    counts = [await model.all().count() for model in (Customer, Site, Hold, LedgerEntry,
                                                      AuditEvent)]
    for document, variables in [
        ("mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }",
         {"i": {"name": "Nul\x00Co", "segment": "haulage", "currency": "USD"}}),
        ("mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }",
         {"i": {"code": f"S-{uuid.uuid4().hex[:8]}", "name": "Yard\ud800"}}),
        ("mutation($i: AuthorizeCreditInput!) { authorizeCredit(input: $i) { __typename } }",
         {"i": {"customerId": customer_id, "amount": {"amount": "1.00", "currency": "USD"},
                "reference": "r" * 201}}),
        ("mutation($i: PostLedgerEntryInput!) { postLedgerEntry(input: $i) { __typename } }",
         {"i": {"customerId": customer_id, "kind": "CHARGE",
                "amount": {"amount": "1.00", "currency": "USD"}, "description": "\x00"}}),
    ]:
        [error] = (await send(gql, document, variables))["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert [await model.all().count() for model in (Customer, Site, Hold, LedgerEntry,
                                                    AuditEvent)] == counts


# --- lengths ------------------------------------------------------------------------------


def test_every_string_input_has_a_limit_or_is_listed_as_unbounded():
    keys = {p.key for p in POSITIONS if p.scalar == "String"}
    assert not set(MAX_LENGTHS) & UNBOUNDED
    assert keys - set(MAX_LENGTHS) - UNBOUNDED == set(), "give these a limit in graphql/inputs.py"
    assert (set(MAX_LENGTHS) | UNBOUNDED) - keys == set(), "these are not String inputs"


def test_the_limits_are_the_columns_the_values_are_written_to():
    columns = {
        "CreateSiteInput.timezone": (Site, "timezone", 64),
        "CreateCustomerInput.name": (Customer, "name", 200),
        "AuthorizeCreditInput.reference": (Hold, "reference", 200),
        "PostLedgerEntryInput.description": (LedgerEntry, "description", 500),
        "PostLedgerEntryInput.externalRef": (LedgerEntry, "external_ref", 200),
    }
    for key, (model, column, length) in columns.items():
        assert MAX_LENGTHS[key] == model._meta.fields_map[column].max_length == length, key


def _first_position_of_each_limit() -> list[tuple[Position, int]]:
    first: dict[str, Position] = {}
    for p in POSITIONS:
        first.setdefault(p.key, p)
    return [(first[key], limit) for key, limit in sorted(MAX_LENGTHS.items()) if key in first]


@pytest.mark.parametrize(("position", "limit"), _first_position_of_each_limit(),
                         ids=lambda v: v.key if isinstance(v, Position) else str(v))
async def test_a_string_longer_than_its_column_is_refused_naming_its_field(gql, position,
                                                                           limit):
    document, variables = position.request("x" * (limit + 1))
    message = _refused_naming(await send(gql, document, variables), position.shown)
    assert message == f"{position.shown} must be at most {limit} characters"


async def test_the_lengths_the_probe_hit_are_refused_and_the_limit_itself_is_not(
        gql, make_customer):
    customer_id = await make_customer()
    usd = {"amount": "1.00", "currency": "USD"}
    hold = "mutation($i: AuthorizeCreditInput!) { authorizeCredit(input: $i) { __typename } }"
    entry = "mutation($i: PostLedgerEntryInput!) { postLedgerEntry(input: $i) { __typename } }"
    site = "mutation($i: CreateSiteInput!) { createSite(input: $i) { id } }"

    def hold_input(reference: str) -> dict[str, Any]:
        return {"i": {"customerId": customer_id, "amount": usd, "reference": reference}}

    def entry_input(**extra: str) -> dict[str, Any]:
        return {"i": {"customerId": customer_id, "kind": "CHARGE", "amount": usd} | extra}

    for document, variables, field in [
        (hold, hold_input("r" * 201), "reference"),
        (entry, entry_input(description="d" * 501), "description"),
        (entry, entry_input(externalRef="e" * 201), "externalRef"),
        (site, {"i": {"code": "TZ", "name": "Yard", "timezone": "Z" * 100_000}},
         "timezone"),
    ]:
        _refused_naming(await send(gql, document, variables), field)

    placed_hold = await gql(hold, hold_input("r" * 200))
    assert placed_hold.data["authorizeCredit"]["__typename"] == "Hold"
    posted = await gql(entry, entry_input(description="d" * 500, externalRef="e" * 200))
    assert posted.data["postLedgerEntry"]["__typename"] == "LedgerEntry"
