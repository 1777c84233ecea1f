"""Invoices over GraphQL: issueInvoice (idempotent, clear errors), invoice and invoices with
their filters, the lines, payments and customer of an invoice, voidInvoice, receivables
policies, and a page of customers with their invoices at a fixed number of queries."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from billing_kit import ago, charge, pay

from ccm_gateway.observability import request_id_var

INVOICE_FIELDS = """
id number status currency netDays periodStart periodEnd issuedAt dueAt paidAt voidedAt
voidReason creditNoteEntryId version
total { amount currency } paid { amount } outstanding { amount } credited { amount }
customer { id } site { id }
lines { entryId amount { amount } occurredAt }
payments { entryId amount { amount } byReference }
"""
ISSUE = f"""mutation($input: IssueInvoiceInput!) {{
    issueInvoice(input: $input) {{ {INVOICE_FIELDS} }} }}"""
VOID = f"""mutation($input: VoidInvoiceInput!) {{
    voidInvoice(input: $input) {{ {INVOICE_FIELDS} }} }}"""
INVOICE = f"""query($id: ID!) {{ invoice(id: $id) {{ {INVOICE_FIELDS} }} }}"""
INVOICES = """query($filter: InvoiceFilter, $first: Int, $after: String) {
    invoices(filter: $filter, first: $first, after: $after) {
      edges { node { id number status } } pageInfo { hasNextPage endCursor } } }"""
NODE = "query($id: ID!) { node(id: $id) { __typename ... on Invoice { number } } }"
SET_POLICY = """mutation($input: SetReceivablesPolicyInput!) {
    setReceivablesPolicy(input: $input) { id segment overdueHoldDays dunningDays autoCollect
                                          invoicePerSite version } }"""
POLICIES = "{ receivablesPolicies { segment version } }"


def now() -> str:
    return datetime.now(UTC).isoformat()


async def issue(gql: Any, customer: str, **extra: Any) -> Any:
    return await gql(ISSUE, {"input": {"customerId": customer, "upTo": now()} | extra})


async def test_issue_invoice_answers_the_invoice_with_its_lines(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer(netDays=10)
    entry = await charge(gql, customer, "12.50")

    [invoice] = (await issue(gql, customer)).data["issueInvoice"]

    assert invoice["status"] == "OPEN"
    assert invoice["total"] == {"amount": "12.50", "currency": "USD"}
    assert invoice["outstanding"] == {"amount": "12.50"}
    assert invoice["customer"] == {"id": customer}
    assert invoice["netDays"] == 10
    assert [(line["entryId"], line["amount"]["amount"]) for line in invoice["lines"]] == \
        [(entry, "12.50")]
    assert (await gql(INVOICE, {"id": invoice["id"]})).data["invoice"] == invoice
    assert (await gql(NODE, {"id": invoice["id"]})).data["node"] == \
        {"__typename": "Invoice", "number": invoice["number"]}


async def test_issue_invoice_replays_its_idempotency_key(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "10.00")
    key = f"issue-{uuid.uuid4()}"
    up_to = now()

    first = await issue(gql, customer, upTo=up_to, idempotencyKey=key)
    again = await issue(gql, customer, upTo=up_to, idempotencyKey=key)
    other = await issue(gql, customer, idempotencyKey=key)

    assert [i["id"] for i in first.data["issueInvoice"]] == \
        [i["id"] for i in again.data["issueInvoice"]]
    assert other.error_code == "CONFLICT"


async def test_issue_invoice_bad_input(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    cases = [
        ({"customerId": str(uuid.uuid4())}, "NOT_FOUND", "customerId"),
        ({"customerId": "not-a-uuid"}, "BAD_USER_INPUT", "customerId"),
        ({"customerId": customer, "upTo": future}, "BAD_USER_INPUT", "upTo"),
        ({"customerId": customer}, "BAD_USER_INPUT", "upTo"),  # nothing to invoice
        ({"customerId": customer, "siteId": str(uuid.uuid4())}, "NOT_FOUND", "siteId"),
        ({"customerId": customer, "upTo": "2026-01-01T00:00:00"}, "BAD_USER_INPUT", "upTo"),
    ]
    for payload, code, field in cases:
        result = await gql(ISSUE, {"input": {"upTo": now()} | payload})
        assert (result.error_code, result.errors[0]["extensions"].get("field")) == \
            (code, field), (payload, result.body)


async def test_void_invoice_through_graphql(gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "20.00")
    [invoice] = (await issue(gql, customer)).data["issueInvoice"]
    await pay(gql, customer, "5.00")

    voided = (await gql(VOID, {"input": {"id": invoice["id"], "reason": "wrong yard",
                                         "expectedVersion": invoice["version"] + 1}}))
    voided_invoice = voided.data["voidInvoice"]

    assert voided_invoice["status"] == "VOID"
    assert (voided_invoice["paid"], voided_invoice["credited"], voided_invoice["outstanding"]) \
        == ({"amount": "5.00"}, {"amount": "15.00"}, {"amount": "0.00"})
    assert voided_invoice["creditNoteEntryId"] is not None
    assert [p["amount"]["amount"] for p in voided_invoice["payments"]] == ["5.00"]
    again = await gql(VOID, {"input": {"id": invoice["id"], "reason": "again"}})
    assert again.error_code == "CONFLICT"
    missing = await gql(VOID, {"input": {"id": str(uuid.uuid4()), "reason": "x"}})
    assert missing.error_code == "NOT_FOUND"
    long_reason = await gql(VOID, {"input": {"id": invoice["id"], "reason": "x" * 501}})
    assert long_reason.error_code == "BAD_USER_INPUT"


async def test_invoices_filter_by_customer_status_and_dates(
        gql: Any, make_customer: Any) -> None:
    customer = await make_customer()
    await charge(gql, customer, "10.00", at=ago(days=3))
    [first] = (await issue(gql, customer, upTo=ago(days=2).isoformat())).data["issueInvoice"]
    await charge(gql, customer, "20.00", at=ago(days=1))
    [second] = (await issue(gql, customer)).data["issueInvoice"]
    await pay(gql, customer, "10.00")  # pays the first: oldest first

    def numbers(result: Any) -> list[str]:
        return [e["node"]["number"] for e in result.data["invoices"]["edges"]]

    async def listed(**flt: Any) -> list[str]:
        return numbers(await gql(INVOICES, {"filter": {"customerId": customer} | flt}))

    assert await listed() == [second["number"], first["number"]]  # newest issued first
    assert await listed(status="PAID") == [first["number"]]
    assert await listed(status="OPEN") == [second["number"]]
    assert await listed(dueAfter=second["dueAt"]) == [second["number"]]
    assert await listed(dueBefore=second["dueAt"]) == [first["number"]]
    assert await listed(issuedAfter=ago(days=365).isoformat(),
                        issuedBefore=ago(days=-1).isoformat()) == \
        [second["number"], first["number"]]
    page = await gql(INVOICES, {"filter": {"customerId": customer}, "first": 1})
    assert numbers(page) == [second["number"]]
    rest = await gql(INVOICES, {"filter": {"customerId": customer}, "first": 1,
                                "after": page.data["invoices"]["pageInfo"]["endCursor"]})
    assert numbers(rest) == [first["number"]]
    backwards = await gql(INVOICES, {"filter": {"customerId": customer,
                                                "dueAfter": now(), "dueBefore": ago(days=1)
                                                .isoformat()}})
    assert backwards.error_code == "BAD_USER_INPUT"
    naive = await gql(INVOICES, {"filter": {"dueAfter": "2026-01-01T00:00:00"}})
    assert naive.error_code == "BAD_USER_INPUT"


async def test_receivables_policies_are_set_at_their_version(gql: Any) -> None:
    segment = f"api-{uuid.uuid4().hex[:8]}"
    made = (await gql(SET_POLICY, {"input": {"segment": segment, "overdueHoldDays": 14}})) \
        .data["setReceivablesPolicy"]
    assert (made["dunningDays"], made["autoCollect"], made["invoicePerSite"], made["version"]) \
        == ([3, 5, 7], True, False, 1)
    stale = await gql(SET_POLICY, {"input": {"segment": segment, "overdueHoldDays": 7}})
    assert stale.error_code == "CONFLICT"
    changed = (await gql(SET_POLICY, {"input": {
        "segment": segment, "overdueHoldDays": None, "dunningDays": [2],
        "invoicePerSite": True, "expectedVersion": 1}})).data["setReceivablesPolicy"]
    assert (changed["overdueHoldDays"], changed["dunningDays"], changed["version"]) == \
        (None, [2], 2)
    listed = (await gql(POLICIES)).data["receivablesPolicies"]
    assert {"segment": segment, "version": 2} in listed
    for bad in ({"overdueHoldDays": -1}, {"overdueHoldDays": 366}, {"dunningDays": [0]},
                {"dunningDays": list(range(1, 12))}, {"segment": " "}):
        result = await gql(SET_POLICY, {"input": {"segment": f"b-{uuid.uuid4().hex[:6]}"}
                                        | bad})
        assert result.error_code == "BAD_USER_INPUT", (bad, result.body)


CUSTOMERS = """query($segment: String!, $first: Int!) {
  customers(first: $first, filter: {segment: $segment}) {
    edges { node { id invoices { number lines { entryId } payments { entryId }
                                 customer { id } } } } } }"""


class OnlyRequest(logging.Filter):
    def __init__(self, request_id: str) -> None:
        super().__init__()
        self.request_id = request_id

    def filter(self, record: logging.LogRecord) -> bool:
        return request_id_var.get() == self.request_id


async def test_a_page_of_customers_with_invoices_costs_a_fixed_number_of_queries(
        client: Any, gql: Any, make_customer: Any, count_queries: Any) -> None:
    segment = f"inv-loaders-{uuid.uuid4().hex[:8]}"
    for _ in range(6):
        customer = await make_customer(segment=segment)
        await charge(gql, customer, "10.00")
        await issue(gql, customer)
        await pay(gql, customer, "3.00")

    async def queries(first: int) -> tuple[int, int]:
        request_id = f"inv-{uuid.uuid4().hex}"
        only = OnlyRequest(request_id)
        count_queries.addFilter(only)
        count_queries.count = 0
        try:
            response = await client.post(
                "/graphql", json={"query": CUSTOMERS,
                                  "variables": {"segment": segment, "first": first}},
                headers={"Authorization": f"Bearer {gql.token('viewer')}",
                         "X-Request-ID": request_id})
        finally:
            count_queries.removeFilter(only)
        body = response.json()
        assert not body.get("errors"), body
        edges = body["data"]["customers"]["edges"]
        assert all(len(e["node"]["invoices"]) == 1 for e in edges)
        return count_queries.count, len(edges)

    small, small_count = await queries(2)
    large, large_count = await queries(6)
    assert (small_count, large_count) == (2, 6)
    assert small > 0
    assert small == large, f"2 customers took {small} queries, 6 took {large}"
