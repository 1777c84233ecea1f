"""No path of the schema leaks another partner's data to a partner-scoped token.

Every root Query, Mutation and Subscription field of ``build_schema()`` has an entry in
``ATTEMPTS`` (a new field without one fails here). Each is called as an
*admin* token scoped to partner A against objects of partner B's customer and
of an unpartnered (operator) customer: it must answer NOT_FOUND, FORBIDDEN or
BAD_USER_INPUT (a lookup by id, such as ``customer`` or ``node``, may instead
answer null) and change nothing, and it must answer exactly as it answers for
a random id of the same kind that does not exist (same code, message and
extensions, up to the values the request sent, or the same null), with no id in
the answer that the request did not send. Then every nested object field
reachable from A's own customer is walked, and every customer-scoped id found
must be A's.

Sites are global reference data (yards), not partner data: ``sites`` and
``createSite`` are not partner-scoped, and a ``site`` reached from a hold,
ledger entry or site limit may be shared by every partner.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from live_kit import subscribe_once

from ccm_gateway.api.schema import build_schema
from ccm_gateway.audit.models import AuditEvent
from ccm_gateway.billing.models import Invoice
from ccm_gateway.collection.models import Collection, CollectionStatus
from ccm_gateway.integration.models import InboundEvent, InboundStatus
from ccm_gateway.ledger.models import CreditAccount
from ccm_gateway.outbound.models import DeliveryStatus, OutboundDelivery

SCHEMA = build_schema()
DENIED = {"NOT_FOUND", "FORBIDDEN", "BAD_USER_INPUT"}
# Root fields that look one object up by id: what the caller may not see is null.
LOOKUPS = {"Query.customer", "Query.hold", "Query.node", "Query.integration",
           "Query.inboundEvent", "Query.outboundEndpoint", "Query.outboundDelivery",
           "Query.creditLimitChangeRequest", "Query.invoice"}
LOOKUPS |= {"Query.reconciliationRun"}  # billing and receivables
USD = {"amount": "5.00", "currency": "USD"}
SET_FX_RATE = """mutation($at: DateTime!) { setFxRate(input: {base: "CHF", quote: "NOK",
    rate: "1.05", effectiveAt: $at}) { id } }"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def unique_instant() -> str:
    at = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(microseconds=uuid.uuid4().int % 10**15)
    return at.isoformat()


def root_fields() -> set[str]:
    name = SCHEMA.config.name_converter.get_graphql_name
    return {f"{t}.{name(f)}" for t in ("Query", "Mutation", "Subscription")
            for f in SCHEMA.get_type_by_name(t).fields}


# Each root field -> attempts against a foreign target ``t`` (keys: id, ref, hold,
# entry, account, site, partner, ...). Each attempt is (document, variables).
def _attempts(t: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    cid = t["id"]
    return {
        "Query.customer": [
            ("query($id: ID!) { customer(id: $id) { id } }", {"id": cid}),
            ("query($r: ExternalRefInput!) { customer(externalRef: $r) { id } }",
             {"r": t["ref"]}),
        ],
        # Every kind of object the target has; sites are global (see test_sites_are_global).
        "Query.node": [("query($id: ID!) { node(id: $id) { id __typename } }", {"id": i})
                       for i in (cid, t["account"], t["hold"], t["entry"], t["integration"],
                                 t["inbound"], t["endpoint"], t["delivery"], t["request"],
                                 t["invoice"], t["collection"])],
        "Query.customers": [],  # checked by test_customers_lists_only_own_with_every_filter
        "Query.sites": [],  # global, not partner data: see test_sites_are_global
        "Query.creditCheck": [(
            """query($id: ID!, $s: ID) { creditCheck(customerId: $id,
               amount: {amount: "1.00", currency: "USD"}, siteId: $s) { approved } }""",
            {"id": cid, "s": t["site"]})],
        "Query.gateAccess": [(
            "query($id: ID!, $s: ID!) { gateAccess(siteId: $s, customerId: $id) { allowed } }",
            {"id": cid, "s": t["site"]})],
        "Query.hold": [("query($id: ID!) { hold(id: $id) { id } }", {"id": t["hold"]})],
        "Query.auditLog": [
            ("{ auditLog(first: 5) { edges { node { objectId } } } }", {}),
            ("query($o: String) { auditLog(first: 5, filter: {objectId: $o}) "
             "{ edges { node { objectId } } } }", {"o": cid}),
        ],
        "Query.auditChainStatus": [("{ auditChainStatus { breaks { stream } } }", {})],
        "Query.apiClients": [("{ apiClients(first: 5) { edges { node { clientId } } } }", {})],
        "Mutation.createSite": [],  # global, not partner data: see test_sites_are_global
        "Mutation.createCustomer": [(
            """mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }""",
            {"i": {"name": unique("Hijack"), "segment": "haulage", "currency": "USD",
                   "partnerId": t["partner"]}})] if t["partner"] else [],
        "Mutation.updateCustomer": [(
            """mutation($id: ID!) { updateCustomer(input: {id: $id, expectedVersion: 1,
               name: "Hijacked", status: BLOCKED}) { id } }""", {"id": cid})],
        "Mutation.linkExternalRef": [(
            """mutation($id: ID!, $x: String!) { linkExternalRef(input: {customerId: $id,
               system: "stripe", externalId: $x}) { id } }""", {"id": cid, "x": unique("x")})],
        "Mutation.setCreditLimit": [(
            """mutation($id: ID!) { setCreditLimit(input: {customerId: $id,
               limit: {amount: "999999.00", currency: "USD"}}) { version } }""", {"id": cid})],
        "Mutation.requestCreditLimitChange": [(
            """mutation($id: ID!) { requestCreditLimitChange(input: {customerId: $id,
               limit: {amount: "1.00", currency: "USD"}}) { id } }""", {"id": cid})],
        "Mutation.approveCreditLimitChange": [(
            """mutation($r: ID!) { approveCreditLimitChange(input: {requestId: $r}) { id } }""",
            {"r": t["request"]})],
        "Mutation.rejectCreditLimitChange": [(
            """mutation($r: ID!) { rejectCreditLimitChange(input: {requestId: $r}) { id } }""",
            {"r": t["request"]})],
        "Mutation.cancelCreditLimitChange": [(
            """mutation($r: ID!) { cancelCreditLimitChange(input: {requestId: $r}) { id } }""",
            {"r": t["request"]})],
        "Query.creditLimitChangeRequest": [(
            "query($r: ID!) { creditLimitChangeRequest(id: $r) { id } }", {"r": t["request"]})],
        # checked by test_limit_change_requests_list_only_own
        "Query.creditLimitChangeRequests": [],
        # Approval bands and segment policies are the operator's, across every partner.
        "Query.approvalPolicy": [("{ approvalPolicy { version } }", {})],
        "Mutation.setApprovalPolicy": [(
            """mutation { setApprovalPolicy(input: {bands: [{approvals: 0, roles: []}]}) {
               version } }""", {})],
        "Query.segmentPolicies": [("{ segmentPolicies { id } }", {})],
        "Mutation.setSegmentPolicy": [(
            """mutation { setSegmentPolicy(input: {segment: "haulage", currency: "USD",
               hardCap: {amount: "1.00", currency: "USD"}}) { id } }""", {})],
        # Billing.
        "Query.invoices": [],  # checked by test_invoices_list_only_own
        "Query.invoice": [("query($i: ID!) { invoice(id: $i) { id } }", {"i": t["invoice"]})],
        "Mutation.issueInvoice": [(
            """mutation($id: ID!, $at: DateTime!) { issueInvoice(input: {customerId: $id,
               upTo: $at}) { id } }""", {"id": cid, "at": datetime.now(UTC).isoformat()})],
        "Mutation.voidInvoice": [(
            """mutation($i: ID!) { voidInvoice(input: {id: $i, reason: "x"}) { id } }""",
            {"i": t["invoice"]})],
        # Receivables policies are the operator's, per segment across every partner.
        "Query.receivablesPolicies": [("{ receivablesPolicies { id } }", {})],
        "Mutation.setReceivablesPolicy": [(
            """mutation { setReceivablesPolicy(input: {segment: "haulage",
               overdueHoldDays: 1}) { id } }""", {})],
        "Mutation.setCreditTerms": [(
            """mutation($id: ID!) { setCreditTerms(input: {customerId: $id, netDays: 90,
               invoicingCycle: WEEKLY}) { version } }""", {"id": cid})],
        "Mutation.setSiteLimit": [(
            """mutation($id: ID!, $s: ID!) { setSiteLimit(input: {customerId: $id, siteId: $s,
               limit: {amount: "1.00", currency: "USD"}}) { __typename } }""",
            {"id": cid, "s": t["site"]})],
        "Mutation.postLedgerEntry": [(
            """mutation($id: ID!, $m: MoneyInput!) { postLedgerEntry(input: {customerId: $id,
               kind: PAYMENT, amount: $m}) { __typename } }""", {"id": cid, "m": USD})],
        "Mutation.reverseLedgerEntry": [(
            """mutation($e: ID!) { reverseLedgerEntry(input: {entryId: $e}) { id } }""",
            {"e": t["entry"]})],
        "Mutation.authorizeCredit": [(
            """mutation($id: ID!, $m: MoneyInput!) { authorizeCredit(input: {customerId: $id,
               amount: $m}) { __typename } }""", {"id": cid, "m": USD})],
        "Mutation.captureHold": [
            ("""mutation($h: ID!) { captureHold(input: {holdId: $h}) { id } }""",
             {"h": t["hold"]}),
            ("""mutation($h: ID!, $m: MoneyInput!) { captureHold(input: {holdId: $h,
                amount: $m}) { id } }""", {"h": t["hold"], "m": USD}),
        ],
        "Mutation.voidHold": [
            ("""mutation($h: ID!) { voidHold(input: {holdId: $h}) { id } }""",
             {"h": t["hold"]})],
        "Mutation.createApiClient": [(
            """mutation($n: String!) { createApiClient(input: {name: $n, roles: [ADMIN]}) {
               clientSecret } }""", {"n": unique("partner-client")})],
        "Mutation.rotateApiClientSecret": [(
            """mutation($c: String!) { rotateApiClientSecret(input: {clientId: $c}) {
               clientSecret } }""", {"c": t["client"]})],
        "Mutation.revokeApiClient": [(
            """mutation($c: String!) { revokeApiClient(input: {clientId: $c}) { clientId } }""",
            {"c": t["client"]})],
        # Issuers are not partner data, but one trusted by a partner could mint tokens
        # naming any partner: partner principals may neither see nor change them.
        "Query.trustedIssuers": [(
            "{ trustedIssuers(first: 5) { edges { node { issuer } } } }", {})],
        "Mutation.createTrustedIssuer": [(
            """mutation($i: String!) { createTrustedIssuer(input: {issuer: $i, audience: "ccm",
               roleMap: [{claimValue: "x", role: ADMIN}]}) { issuer } }""",
            {"i": f"https://{unique('partner-login')}.example"})],
        "Mutation.updateTrustedIssuer": [(
            """mutation { updateTrustedIssuer(input: {issuer: "https://login.partner.example",
               enabled: false}) { issuer } }""", {})],
        "Mutation.deleteTrustedIssuer": [(
            """mutation { deleteTrustedIssuer(input: {issuer: "https://login.partner.example"})
               { deleted { issuer } } }""", {})],
        # Integrations, their inbox, profiles and alerts span every customer: partner
        # principals may neither see nor change them.
        "Query.integrations": [("{ integrations(first: 5) { edges { node { slug } } } }", {})],
        "Query.integration": [("query($i: ID!) { integration(id: $i) { slug } }",
                               {"i": t["integration"]})],
        "Query.inboundEvents": [("{ inboundEvents(first: 5) { edges { node { id } } } }", {})],
        "Query.inboundEvent": [("query($i: ID!) { inboundEvent(id: $i) { id } }",
                                {"i": t["inbound"]})],
        "Query.protocolProfiles": [("{ protocolProfiles { name } }", {})],
        "Query.alerts": [("{ alerts(first: 5) { edges { node { id deliveries { recipient "
                          "status } } } } }", {})],
        # What is pushed later is scoped per push (tests/live); subscribing names a customer.
        "Subscription.alertRaised": [(
            "subscription($id: ID!) { alertRaised(filter: {customerId: $id}) { id } }",
            {"id": cid})],
        "Subscription.creditUpdated": [(
            "subscription($id: ID!) { creditUpdated(customerId: $id) { id } }", {"id": cid})],
        "Mutation.createIntegration": [(
            """mutation($s: String!) { createIntegration(input: {slug: $s, name: "x",
               kind: ERP, profile: "stripe", segments: ["*"]}) { secret } }""",
            {"s": unique("partner")})],
        "Mutation.updateIntegration": [(
            """mutation($i: ID!) { updateIntegration(input: {id: $i, segments: ["*"]}) {
               id } }""", {"i": t["integration"]})],
        "Mutation.setIntegrationEnabled": [(
            """mutation($i: ID!) { setIntegrationEnabled(input: {id: $i, enabled: false}) {
               id } }""", {"i": t["integration"]})],
        "Mutation.deleteIntegration": [(
            """mutation($i: ID!) { deleteIntegration(input: {id: $i}) { id } }""",
            {"i": t["integration"]})],
        "Mutation.rotateIntegrationSecret": [(
            """mutation($i: ID!) { rotateIntegrationSecret(input: {id: $i}) { secret } }""",
            {"i": t["integration"]})],
        "Mutation.uploadProtocolProfile": [(
            """mutation($s: String!) { uploadProtocolProfile(input: {source: $s}) { name } }""",
            {"s": "name: partner-profile\n"})],
        "Mutation.replayInboundEvent": [(
            """mutation($i: ID!) { replayInboundEvent(input: {ids: [$i]}) { id } }""",
            {"i": t["inbound"]})],
        # Outbound endpoints and their deliveries belong to integrations: the same.
        "Query.outboundEndpoints": [(
            "{ outboundEndpoints(first: 5) { edges { node { url } } } }", {})],
        "Query.outboundEndpoint": [(
            "query($e: ID!) { outboundEndpoint(id: $e) { url } }", {"e": t["endpoint"]})],
        "Query.outboundDeliveries": [(
            "{ outboundDeliveries(first: 5) { edges { node { payload } } } }", {})],
        "Query.outboundDelivery": [(
            "query($d: ID!) { outboundDelivery(id: $d) { payload } }", {"d": t["delivery"]})],
        "Mutation.createOutboundEndpoint": [(
            """mutation($i: ID!) { createOutboundEndpoint(input: {integrationId: $i,
               url: "http://127.0.0.1:9/x", eventTypes: ["credit.updated"]}) { secret } }""",
            {"i": t["integration"]})],
        "Mutation.updateOutboundEndpoint": [(
            """mutation($e: ID!) { updateOutboundEndpoint(input: {id: $e, expectedVersion: 1,
               url: "http://127.0.0.1:9/hijack"}) { id } }""", {"e": t["endpoint"]})],
        "Mutation.setOutboundEndpointEnabled": [(
            """mutation($e: ID!) { setOutboundEndpointEnabled(input: {id: $e,
               enabled: false}) { id } }""", {"e": t["endpoint"]})],
        "Mutation.rotateOutboundEndpointSecret": [(
            """mutation($e: ID!) { rotateOutboundEndpointSecret(input: {id: $e}) {
               secret } }""", {"e": t["endpoint"]})],
        "Mutation.deleteOutboundEndpoint": [(
            """mutation($e: ID!) { deleteOutboundEndpoint(input: {id: $e}) { id } }""",
            {"e": t["endpoint"]})],
        "Mutation.resendOutboundDelivery": [(
            """mutation($d: ID!) { resendOutboundDelivery(input: {ids: [$d]}) {
               refreshedCustomerIds } }""", {"d": t["delivery"]})],
        "Mutation.recoverOutboundEndpoint": [(
            """mutation($e: ID!, $s: DateTime!) { recoverOutboundEndpoint(input: {
               endpointId: $e, since: $s}) { resent } }""",
            {"e": t["endpoint"], "s": "2001-01-01T00:00:00+00:00"})],
        # Credit policy rules span every customer (global and segment rules), and alerts
        # are operator business: partner principals may neither see nor change them.
        "Query.alertRules": [(
            "{ alertRules(first: 5) { edges { node { id customerId } } } }", {}), (
            """query($c: ID!) { alertRules(filter: {customerId: $c}) { edges { node { id } }
               } }""", {"c": t["id"]})],
        "Query.velocityRules": [(
            "{ velocityRules(first: 5) { edges { node { id customerId } } } }", {})],
        "Mutation.createAlertRule": [(
            """mutation($c: ID!) { createAlertRule(input: {thresholdPercent: 50,
               customerId: $c}) { id } }""", {"c": t["id"]})],
        "Mutation.updateAlertRule": [(
            """mutation { updateAlertRule(input: {id: "00000000-0000-4000-8000-000000008000",
               expectedVersion: 1, enabled: false}) { id } }""", {})],
        "Mutation.deleteAlertRule": [(
            """mutation { deleteAlertRule(input: {
               id: "00000000-0000-4000-8000-000000008000"}) { id } }""", {})],
        "Mutation.createVelocityRule": [(
            """mutation($c: ID!) { createVelocityRule(input: {customerId: $c,
               metric: AUTHORIZATIONS, windowSeconds: 60, count: 1, action: PUT_ON_HOLD})
               { id } }""", {"c": t["id"]})],
        "Mutation.updateVelocityRule": [(
            """mutation($i: ID!) { updateVelocityRule(input: {id: $i, expectedVersion: 1,
               count: 0}) { id } }""", {"i": t["id"]})],
        "Mutation.deleteVelocityRule": [(
            """mutation($i: ID!) { deleteVelocityRule(input: {id: $i}) { id } }""",
            {"i": t["id"]})],
        "Mutation.acknowledgeAlert": [(
            """mutation($i: ID!) { acknowledgeAlert(input: {id: $i}) { id } }""",
            {"i": t["id"]})],
        # Collections: checked by test_collections_list_only_own; routes are the operator's.
        "Query.collections": [],
        "Query.collectionRoutes": [("{ collectionRoutes { id } }", {})],
        "Mutation.setCollectionRoute": [(
            """mutation($i: ID!) { setCollectionRoute(input: {currency: "USD",
               integrationIds: [$i]}) { id } }""", {"i": t["integration"]})],
        "Mutation.collectInvoice": [(
            """mutation($i: ID!) { collectInvoice(input: {invoiceId: $i}) { id } }""",
            {"i": t["collected_invoice"]})],
        "Query.fxRates": [],  # global reference data: see test_fx_rates_are_global_read_only
        "Mutation.setFxRate": [(SET_FX_RATE, {"at": unique_instant()})],
        # Reports narrowed to a foreign customer; their partner-wide figures are
        # tests/reports/test_reports_scope.py's.
        **{f"Query.{name}": [(f"query($f: ReportFilter) {{ {name}({args}filter: $f) "
                              "{ __typename } }", {"f": {"customerId": cid}})]
           for name, args in _REPORT_ARGS.items()},
        # Reconciliation runs and breaks are integrations' figures: partner principals may
        # neither see nor change them.
        "Query.reconciliationRuns": [(
            """query($i: ID!) { reconciliationRuns(first: 5, filter: {integrationId: $i}) {
               edges { node { id } } } }""", {"i": t["integration"]})],
        "Query.reconciliationRun": [(
            "query($i: ID!) { reconciliationRun(id: $i) { id } }", {"i": t["integration"]})],
        "Query.reconciliationBreaks": [(
            """query($c: ID!) { reconciliationBreaks(first: 5, filter: {customerId: $c}) {
               edges { node { id } } } }""", {"c": cid})],
        "Mutation.reconcileBalances": [(
            """mutation($i: ID!, $csv: String!) { reconcileBalances(input: {
               integrationId: $i, csv: $csv, fileName: "x.csv"}) { id } }""",
            {"i": t["integration"], "csv": f"customer_id,balance,currency,as_of\n{cid},1.00,"
                                           "USD,2026-01-01T00:00:00Z\n"})],
        "Mutation.runReconciliation": [(
            """mutation($i: ID!) { runReconciliation(input: {integrationId: $i,
               source: WEBHOOK}) { id } }""", {"i": t["integration"]})],
        "Mutation.acknowledgeReconciliationBreak": [(
            """mutation($i: ID!) { acknowledgeReconciliationBreak(input: {id: $i,
               note: "x"}) { id } }""", {"i": cid})],
        "Mutation.resolveReconciliationBreak": [(
            """mutation($i: ID!) { resolveReconciliationBreak(input: {id: $i, note: "x"}) {
               id } }""", {"i": cid})],
    }


_PERIOD = 'from: "2026-01-01T00:00:00Z", to: "2026-02-01T00:00:00Z", '
_REPORT_ARGS = {"agingReport": "", "dsoReport": _PERIOD, "termComplianceReport": _PERIOD,
                "utilisationReport": "", "creditAlertFrequency": _PERIOD,
                # Portfolio insights: the same filter; their partner-wide figures are
                # tests/insights' (each file's partner test).
                **dict.fromkeys(("riskProfileCorrelation", "termImpactAnalysis",
                                 "limitSuggestions"), 'currency: "USD", ')}


SNAPSHOT = """
query($id: ID!, $h: ID!) {
  customer(id: $id) {
    id name segment status riskProfile partnerId version
    creditAccount { version limit { amount } balance { amount } held { amount }
                    terms { netDays invoicingCycle } }
    siteLimits { site { id } limit { amount } }
    externalRefs { system externalId }
    holds { id status captured { amount } }
    ledger(first: 100) { edges { node { id kind amount { amount } } } }
  }
  hold(id: $h) { id status captured { amount } }
  apiClients(first: 100) { edges { node { clientId revokedAt } } }
}"""


async def _target(gql: Any, make_customer: Any, site: str, partner: str | None,
                  client: str) -> dict[str, Any]:
    """A customer (of ``partner``, or unpartnered) with a ref, a hold and an entry."""
    ref = {"system": "stripe", "externalId": unique("cus")}
    cid = await make_customer(partnerId=partner, externalRefs=[ref]) if partner else \
        await make_customer(externalRefs=[ref])
    await gql("""mutation($id: ID!, $s: ID!) { setSiteLimit(input: {customerId: $id,
        siteId: $s, limit: {amount: "100.00", currency: "USD"}}) { __typename } }""",
              {"id": cid, "s": site})
    hold = await gql("""mutation($id: ID!, $s: ID!) { authorizeCredit(input: {customerId: $id,
        siteId: $s, amount: {amount: "25.00", currency: "USD"}}) { ... on Hold { id } } }""",
                     {"id": cid, "s": site})
    entry = await gql("""mutation($id: ID!, $s: ID!) { postLedgerEntry(input: {
        customerId: $id, siteId: $s, kind: CHARGE, amount: {amount: "5.00", currency: "USD"}})
        { ... on LedgerEntry { id } } }""", {"id": cid, "s": site})
    account = await gql("query($id: ID!) { customer(id: $id) { creditAccount { id } } }",
                        {"id": cid})
    issued = await gql("""mutation($id: ID!, $at: DateTime!) { issueInvoice(input: {
        customerId: $id, upTo: $at}) { id } }""", {"id": cid, "at": datetime.now(UTC).isoformat()})
    request = await gql("""mutation($id: ID!) { requestCreditLimitChange(input: {
        customerId: $id, limit: {amount: "1050.00", currency: "USD"}}) { id } }""",
                        {"id": cid}, token=gql.token("credit_manager", subject="leak-maker"))
    invoice, collection = await _collection(cid)
    return {"id": cid, "ref": ref, "hold": hold.data["authorizeCredit"]["id"],
            "request": request.data["requestCreditLimitChange"]["id"],
            "collected_invoice": str(invoice.id), "collection": str(collection.id),
            "entry": entry.data["postLedgerEntry"]["id"],
            "account": account.data["customer"]["creditAccount"]["id"], "site": site,
            "invoice": issued.data["issueInvoice"][0]["id"],
            "partner": partner, "client": client}


async def _collection(customer_id: str) -> tuple[Invoice, Collection]:
    """An invoice of the customer, being collected (written directly: no processor runs)."""
    account = await CreditAccount.get(customer_id=customer_id)
    now = datetime.now(UTC)
    issuer = unique("L")[:20]
    invoice = await Invoice.create(
        id=uuid.uuid4(), number=f"{issuer}-{now.year}-000001", issuer=issuer, year=now.year,
        sequence=1, customer_id=customer_id, account_id=account.id, currency="USD",
        total_minor=500, period_end=now, net_days=30, issued_at=now,
        due_at=now + timedelta(days=30))
    collection = await Collection.create(
        id=uuid.uuid4(), invoice_id=invoice.id, customer_id=customer_id, amount_minor=500,
        currency="USD", trigger="api", reference=unique("col"), route=[],
        status=CollectionStatus.FAILED)
    return invoice, collection


@pytest.fixture
async def world(gql: Any, make_customer: Any, make_site: Any) -> dict[str, Any]:
    a, b = unique("A"), unique("B")
    site = await make_site()
    client = (await gql("""mutation($n: String!) { createApiClient(input: {name: $n,
        roles: [VIEWER]}) { client { clientId } } }""", {"n": unique("operator-client")})
              ).data["createApiClient"]["client"]["clientId"]
    shared = await _integration_objects(gql)
    return {"a": a, "b": b, "site": site,
            "token": gql.token("admin", subject=unique("portal"), partner_id=a),
            "own": await _target(gql, make_customer, site, a, client) | shared,
            "other": await _target(gql, make_customer, site, b, client) | shared,
            "operator": await _target(gql, make_customer, site, None, client) | shared}


async def _integration_objects(gql: Any) -> dict[str, str]:
    """An integration, a dead-lettered inbox event of it, and an outbound endpoint of it with
    a failed delivery (global, not partner data)."""
    created = await gql("""mutation($s: String!) { createIntegration(input: {slug: $s,
        name: "ops", kind: ERP, profile: "stripe", segments: ["*"]}) { integration { id } } }""",
                        {"s": unique("ops")})
    integration_id = created.data["createIntegration"]["integration"]["id"]
    endpoint = await gql("""mutation($i: ID!) { createOutboundEndpoint(input: {
        integrationId: $i, url: "http://127.0.0.1:9/ops", eventTypes: ["credit.snapshot"]}) {
        endpoint { id } } }""", {"i": integration_id})
    endpoint_id = endpoint.data["createOutboundEndpoint"]["endpoint"]["id"]
    delivery = await OutboundDelivery.create(
        id=uuid.uuid4(), endpoint_id=endpoint_id, webhook_id=unique("msg"),
        event_type="alert.raised", payload={"type": "alert.raised"},
        status=DeliveryStatus.FAILED, changed_at=datetime.now(UTC))
    event = await InboundEvent.create(
        id=uuid.uuid4(), integration_id=integration_id, external_id=unique("evt"),
        status=InboundStatus.DEAD, content_type="application/json", payload=b"{}",
        received_at=datetime.now(UTC))
    return {"integration": integration_id, "inbound": str(event.id), "endpoint": endpoint_id,
            "delivery": str(delivery.id)}


def test_every_root_field_has_a_leak_case():
    dummy = dict.fromkeys(("id", "ref", "hold", "entry", "account", "site", "partner", "request",
                           "client", "integration", "inbound", "endpoint", "delivery",
                           "invoice", "collected_invoice", "collection"), "x")
    cases = set(_attempts(dummy))
    assert root_fields() - cases == set(), "add a case to _attempts for the new field"
    assert cases - root_fields() == set(), "a case for a field that is gone"


def _missing(target: dict[str, Any]) -> dict[str, Any]:
    """A target of the same shape whose objects do not exist (sites are global: kept)."""
    return target | {
        "id": str(uuid.uuid4()), "ref": {"system": "stripe", "externalId": unique("cus")},
        "hold": str(uuid.uuid4()), "entry": str(uuid.uuid4()), "account": str(uuid.uuid4()),
        "request": str(uuid.uuid4()), "invoice": str(uuid.uuid4()),
        "partner": unique("C") if target["partner"] else None, "client": unique("client"),
        "integration": str(uuid.uuid4()), "inbound": str(uuid.uuid4()),
        "endpoint": str(uuid.uuid4()), "delivery": str(uuid.uuid4()),
        "collected_invoice": str(uuid.uuid4()), "collection": str(uuid.uuid4())}


def _sent(variables: Any, path: str = "") -> dict[str, str]:
    """Each string the request sent, by its path in the variables."""
    if isinstance(variables, dict):
        return {k: v for name, value in variables.items()
                for k, v in _sent(value, f"{path}.{name}" if path else name).items()}
    if isinstance(variables, list):
        return {k: v for i, value in enumerate(variables)
                for k, v in _sent(value, f"{path}[{i}]").items()}
    return {path: variables} if isinstance(variables, str) else {}


def _answer(result: Any, variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An error's message and extensions, with what the request sent named by its path;
    or the whole answer when it has no error (a lookup's null)."""
    if not result.errors:
        return "no error", result.body
    [error] = result.errors
    extensions = {k: v for k, v in error["extensions"].items() if k != "requestId"}
    message = error["message"]
    for path, value in sorted(_sent(variables).items(), key=lambda kv: -len(kv[1])):
        message = message.replace(value, "{" + path + "}")
    return message, extensions


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _assert_no_unsent_id(result: Any, variables: dict[str, Any]) -> None:
    sent = {v.lower() for v in _sent(variables).values()}
    for error in result.errors:
        text = error["message"] + repr({k: v for k, v in error["extensions"].items()
                                        if k != "requestId"})
        unsent = {m.lower() for m in UUID.findall(text)} - sent
        assert not unsent, f"{error} names {unsent}, which the request did not send"


async def _audit_count(target: dict[str, Any]) -> int:
    ids = [target["id"], target["hold"], target["entry"], target["account"], target["request"],
           target["invoice"]]
    return await AuditEvent.filter(object_id__in=ids).count()


def _denied(result: Any, field_name: str) -> bool:
    """Refused with a denial code and no data, or, for a lookup by id, answered null."""
    root = field_name.split(".")[1]
    if not result.errors:
        return field_name in LOOKUPS and result.body == {"data": {root: None}}
    nothing = [None, {root: None}] if field_name in LOOKUPS else [None]
    return result.error_code in DENIED and result.body["data"] in nothing


async def _call(gql: Any, app: Any, document: str, variables: dict[str, Any],
                token: str) -> Any:
    """Over HTTP; a subscription in process until its first answer."""
    if document.startswith("subscription"):
        return await subscribe_once(app, SCHEMA, token, document, variables)
    return await gql(document, variables, token=token)


@pytest.mark.parametrize("owner", ["other", "operator"])
@pytest.mark.parametrize("field_name", sorted(root_fields()))
async def test_a_foreign_object_is_denied_and_unchanged(gql, app, world, owner, field_name):
    target = world[owner]
    attempts = _attempts(target)[field_name]
    snapshot_vars = {"id": target["id"], "h": target["hold"]}
    before = (await gql(SNAPSHOT, snapshot_vars)).data
    audit_before = await _audit_count(target)
    for document, variables in attempts:
        result = await _call(gql, app, document, variables, world["token"])
        assert _denied(result, field_name), f"{field_name} answered {result.body}"
    assert (await gql(SNAPSHOT, snapshot_vars)).data == before
    assert await _audit_count(target) == audit_before


@pytest.mark.parametrize("owner", ["other", "operator"])
@pytest.mark.parametrize("field_name", sorted(root_fields()))
async def test_a_foreign_object_answers_as_a_missing_one(gql, app, world, owner, field_name):
    target = world[owner]
    pairs = zip(_attempts(target)[field_name], _attempts(_missing(target))[field_name],
                strict=True)
    for (document, foreign_vars), (_, missing_vars) in pairs:
        foreign = await _call(gql, app, document, foreign_vars, world["token"])
        missing = await _call(gql, app, document, missing_vars, world["token"])
        _assert_no_unsent_id(foreign, foreign_vars)
        _assert_no_unsent_id(missing, missing_vars)
        assert _answer(foreign, foreign_vars) == _answer(missing, missing_vars)


@pytest.mark.parametrize("flt", [
    {}, {"segment": "haulage"}, {"status": "ACTIVE"}, {"nameContains": "Customer"},
    {"utilizationAbove": 0.0}, {"segment": "haulage", "status": "ACTIVE",
                                "nameContains": "Customer", "utilizationAbove": 0.0},
], ids=["none", "segment", "status", "name", "utilization", "all"])
async def test_customers_lists_only_own_with_every_filter(gql, world, flt):
    seen, after = [], None
    while True:
        page = (await gql("""query($f: CustomerFilter, $a: String) {
            customers(first: 100, after: $a, filter: $f) {
              edges { node { id partnerId } } pageInfo { hasNextPage endCursor } } }""",
                          {"f": flt, "a": after}, token=world["token"])).data["customers"]
        seen += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert {n["partnerId"] for n in seen} == {world["a"]}
    assert [n["id"] for n in seen] == [world["own"]["id"]]


async def test_limit_change_requests_list_only_own(gql, world):
    for flt in ({}, {"customerId": world["other"]["id"]}, {"customerId": world["operator"]["id"]},
                {"status": "PENDING"}, {"customerId": world["own"]["id"]}):
        page = (await gql("""query($f: LimitChangeRequestFilter) {
            creditLimitChangeRequests(first: 100, filter: $f) {
              edges { node { id customer { id partnerId } } } } }""", {"f": flt},
                          token=world["token"])).data["creditLimitChangeRequests"]
        seen = [e["node"] for e in page["edges"]]
        own = flt.get("customerId") in (None, world["own"]["id"])
        assert [n["id"] for n in seen] == ([world["own"]["request"]] if own else [])
        assert {n["customer"]["partnerId"] for n in seen} <= {world["a"]}


async def test_invoices_list_only_own(gql, world):
    for flt in ({}, {"customerId": world["other"]["id"]}, {"customerId": world["operator"]["id"]},
                {"status": "OPEN"}, {"customerId": world["own"]["id"]}):
        page = (await gql("""query($f: InvoiceFilter) {
            invoices(first: 100, filter: $f) {
              edges { node { id customer { id partnerId } } } } }""", {"f": flt},
                          token=world["token"])).data["invoices"]
        seen = [e["node"] for e in page["edges"]]
        own = flt.get("customerId") in (None, world["own"]["id"])
        mine = {world["own"]["invoice"], world["own"]["collected_invoice"]}
        assert {n["id"] for n in seen} == (mine if own else set())
        assert {n["customer"]["partnerId"] for n in seen} <= {world["a"]}


async def test_collections_list_only_own(gql, world):
    for flt in ({}, {"customerId": world["other"]["id"]}, {"customerId": world["operator"]["id"]},
                {"invoiceId": world["other"]["collected_invoice"]}, {"status": "FAILED"},
                {"customerId": world["own"]["id"]}):
        page = (await gql("""query($f: CollectionFilter) {
            collections(first: 100, filter: $f) { edges { node { id customerId } } } }""",
                          {"f": flt}, token=world["token"])).data["collections"]
        seen = [e["node"]["id"] for e in page["edges"]]
        own = not (set(flt.values()) & {world["other"]["id"], world["operator"]["id"],
                                        world["other"]["collected_invoice"]})
        assert seen == ([world["own"]["collection"]] if own else [])


async def test_sites_are_global(gql, world):
    # Sites are shared yards, not partner data: a partner lists and creates them.
    sites = (await gql("{ sites { id } }", token=world["token"])).data["sites"]
    assert world["site"] in {s["id"] for s in sites}


async def test_fx_rates_are_global_read_only(gql, world):
    # FX rates are reference data like sites, but they move every partner's conversions:
    # a partner reads them and may not publish one.
    published = (await gql(SET_FX_RATE, {"at": unique_instant()})).data["setFxRate"]["id"]
    rates = (await gql("""{ fxRates(base: "CHF", quote: "NOK", first: 100) {
        edges { node { id } } } }""", token=world["token"])).data["fxRates"]
    assert published in {e["node"]["id"] for e in rates["edges"]}
    denied = await gql(SET_FX_RATE, {"at": unique_instant()}, token=world["token"])
    assert denied.error_code == "FORBIDDEN"
    after = (await gql("""{ fxRates(base: "CHF", quote: "NOK", first: 100) {
        edges { node { id } } } }""")).data["fxRates"]
    assert after == rates


NESTED = """
query($id: ID!) {
  customer(id: $id) {
    id partnerId
    creditAccount { id version limit { amount } }
    siteLimits { id site { id } limit { amount } }
    externalRefs { id system externalId }
    holds { id site { id } account { id } }
    ledger(first: 100) { edges { node { id holdId reversesId site { id } account { id } } } }
    invoices { id customer { id } site { id } lines { entryId } payments { entryId } }
  }
}"""
NODE = "query($id: ID!) { node(id: $id) { id __typename } }"


async def test_everything_reachable_from_an_own_customer_is_own(gql, world):
    own, token = world["own"], world["token"]
    # Reverse A's own entry so that reversesId is populated too.
    await gql("""mutation($e: ID!) { reverseLedgerEntry(input: {entryId: $e}) { id } }""",
              {"e": own["entry"]}, token=token)
    customer = (await gql(NESTED, {"id": own["id"]}, token=token)).data["customer"]
    assert customer["partnerId"] == world["a"]
    assert [{k: r[k] for k in ("system", "externalId")}
            for r in customer["externalRefs"]] == [own["ref"]]
    foreign = {world[o][k] for o in ("other", "operator") for k in ("id", "hold", "entry")}
    hold_ids = {h["id"] for h in customer["holds"]}
    entries = [e["node"] for e in customer["ledger"]["edges"]]
    entry_ids = {e["id"] for e in entries}
    assert hold_ids == {own["hold"]}
    assert own["entry"] in entry_ids and len(entry_ids) == 2
    reached = hold_ids | entry_ids | {e["holdId"] for e in entries} \
        | {e["reversesId"] for e in entries}
    reached.discard(None)
    assert not reached & foreign
    # Each id reached resolves to A's own objects when asked directly as A.
    for hold_id in hold_ids | {e["holdId"] for e in entries if e["holdId"]}:
        assert (await gql("query($id: ID!) { hold(id: $id) { id } }", {"id": hold_id},
                          token=token)).data["hold"]["id"] == hold_id
    assert {e["reversesId"] for e in entries if e["reversesId"]} <= entry_ids
    # Every account reached is A's own, and node(id:) finds each own object as A.
    accounts = {customer["creditAccount"]["id"]} \
        | {h["account"]["id"] for h in customer["holds"]} | {e["account"]["id"] for e in entries}
    assert accounts == {own["account"]}
    for object_id, type_name in [(own["id"], "Customer"), (own["account"], "CreditAccount"),
                                 *((h, "Hold") for h in hold_ids),
                                 *((e, "LedgerEntry") for e in entry_ids)]:
        found = (await gql(NODE, {"id": object_id}, token=token)).data["node"]
        assert found == {"id": object_id, "__typename": type_name}
    # Its invoices are its own, and so is every entry on them.
    assert {i["id"] for i in customer["invoices"]} == {own["invoice"], own["collected_invoice"]}
    for invoice in customer["invoices"]:
        assert invoice["customer"] == {"id": own["id"]}
        assert {line["entryId"] for line in invoice["lines"]} <= entry_ids
        assert {p["entryId"] for p in invoice["payments"]} <= entry_ids
        found = (await gql(NODE, {"id": invoice["id"]}, token=token)).data["node"]
        assert found == {"id": invoice["id"], "__typename": "Invoice"}
    # Sites are global, not partner data (the shared site may be any partner's yard).
    sites = {s["site"]["id"] for s in customer["siteLimits"]} \
        | {h["site"]["id"] for h in customer["holds"] if h["site"]} \
        | {e["site"]["id"] for e in entries if e["site"]}
    assert sites == {world["site"]}


LINK = """mutation($id: ID!, $s: String!, $x: String!) { linkExternalRef(input: {
    customerId: $id, system: $s, externalId: $x}) { id } }"""
CREATE = "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { id } }"


async def test_a_ref_taken_by_a_foreign_customer_is_refused_without_naming_it(
        gql, world, make_customer):
    # A ref is unique per system, so a taken one must be refused and the partner learns
    # that it is taken; no more: the answer is the one for a ref its own customer holds.
    system, token, own = unique("crm"), world["token"], world["own"]["id"]
    holders = {"other": world["other"]["id"], "operator": world["operator"]["id"],
               "own": await make_customer(partnerId=world["a"])}
    answers: dict[str, set[Any]] = {LINK: set(), CREATE: set()}
    for holder in holders.values():
        taken = unique("acct")
        await gql(LINK, {"id": holder, "s": system, "x": taken})
        name = unique("Portal")
        attempts = [(LINK, {"id": own, "s": system, "x": taken}),
                    (CREATE, {"i": {"name": name, "segment": "haulage", "currency": "USD",
                                    "externalRefs": [{"system": system, "externalId": taken}]}})]
        for document, variables in attempts:
            result = await gql(document, variables, token=token)
            assert result.error_code == "CONFLICT", result.errors
            _assert_no_unsent_id(result, variables)
            answers[document].add(repr(_answer(result, variables)))
        created = await gql("""query($n: String!) { customers(first: 5,
            filter: {nameContains: $n}) { edges { node { id } } } }""", {"n": name})
        assert created.data["customers"]["edges"] == []
    assert all(len(seen) == 1 for seen in answers.values()), answers
    refs = (await gql("query($id: ID!) { customer(id: $id) { externalRefs { system } } }",
                      {"id": own})).data["customer"]["externalRefs"]
    assert system not in {r["system"] for r in refs}
