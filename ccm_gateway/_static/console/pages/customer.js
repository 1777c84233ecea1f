// One customer: the credit gauge, holds, ledger, alerts, invoices, gate access per site, and
// its limit change requests (Approve / Reject, "Request a change").
import { gql, can } from '../api.js';
import { h, replace, table, money, dateTime, date, percent, badge, pager, load, section, showError } from '../ui.js';
import { gauge } from '../charts.js';
import { statusBadge } from './customers.js';
import { REQUEST_FIELDS, requestsTable, requestForm } from './limits.js';

export const route = '#/customers/:id';
export const title = 'Customer';
export const permission = 'customer:read';
export const nav = false;

const M = '{ amount currency }';
const CUSTOMER = `query($id: ID!) { customer(id: $id) { id name segment riskProfile status currency partnerId
  externalRefs { system externalId }
  creditAccount { limit ${M} balance ${M} held ${M} exposure ${M} available ${M} utilization
    terms { netDays invoicingCycle } }
  siteLimits { site { name code } limit ${M} balance ${M} held ${M} available ${M} }
  holds { id status reference amount ${M} captured ${M} expiresAt createdAt site { name } } } }`;
const LEDGER = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { customer(id: $id) {
  ledger(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id kind description externalRef occurredAt amount ${M} originalAmount ${M} site { name } } } } } }`;
const INVOICES = `query($id: ID!) { customer(id: $id) { invoices { id number status total ${M} outstanding ${M}
  issuedAt dueAt paidAt } } }`;
const ALERTS = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  alerts(customerId: $id, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id kind severity message createdAt acknowledgedAt acknowledgedBy } } } }`;
const REQUESTS = `query($id: ID!) { creditLimitChangeRequests(filter: { customerId: $id }, first: 50) {
  edges { node { ${REQUEST_FIELDS} } } } }`;

const HOLD_TONE = { PENDING: 'warn', CAPTURED: 'ok', VOIDED: 'neutral', EXPIRED: 'neutral' };
const INVOICE_TONE = { OPEN: 'info', PARTIALLY_PAID: 'warn', PAID: 'ok', OVERDUE: 'bad', VOID: 'neutral' };
const SEVERITY_TONE = { INFO: 'info', WARNING: 'warn', CRITICAL: 'bad' };

function stats(pairs) {
  return h('dl', { class: 'stats' }, pairs.map(([k, v, testid]) => h('div', {},
    h('dt', {}, k), h('dd', { 'data-testid': testid }, v))));
}

async function gateAccessRows(customerId) {
  const { sites } = await gql('{ sites { id code name } }');
  if (!sites.length) return [];
  // One request for every site: an alias per site.
  const fields = sites.map((s, i) => `s${i}: gateAccess(siteId: $site${i}, customerId: $id) { allowed reason message }`);
  const args = sites.map((s, i) => `$site${i}: ID!`).join(', ');
  const variables = Object.fromEntries(sites.map((s, i) => [`site${i}`, s.id]));
  const data = await gql(`query($id: ID!, ${args}) { ${fields.join('\n')} }`, { id: customerId, ...variables });
  return sites.map((s, i) => ({ site: s, ...data[`s${i}`] }));
}

export async function render(root, params) {
  const { id } = params;
  const { customer } = await gql(CUSTOMER, { id });
  if (!customer) {
    replace(root, h('h1', {}, 'Customer not found'),
      h('p', {}, 'There is no customer with this id that you may see. '), h('a', { href: '#/customers' }, 'Back to customers'));
    return;
  }
  const account = customer.creditAccount;
  const gaugeBox = h('div', { 'data-testid': 'credit-gauge' });
  const requests = h('div', { 'data-testid': 'customer-requests' });
  const gates = h('div', { 'data-testid': 'gate-access' });
  const invoices = h('div', { 'data-testid': 'customer-invoices' });
  const limitFigure = h('dd', { 'data-testid': 'credit-limit' }, money(account.limit));

  replace(root,
    h('p', {}, h('a', { href: '#/customers' }, '← Customers')),
    h('h1', {}, customer.name),
    stats([
      ['Status', statusBadge(customer.status)], ['Segment', customer.segment],
      ['Risk profile', customer.riskProfile.toLowerCase()], ['Currency', customer.currency],
      ['Terms', `net ${account.terms.netDays} days, ${account.terms.invoicingCycle.toLowerCase()}`],
      ...(customer.partnerId ? [['Partner', customer.partnerId]] : []),
      ...(customer.externalRefs.length ? [['External references', customer.externalRefs.map((r) => `${r.system}: ${r.externalId}`).join(', ')]] : []),
    ]),
    h('section', { class: 'card', 'aria-label': 'Credit' },
      h('h2', {}, 'Credit'),
      h('div', { class: 'gauge-row' }, gaugeBox,
        h('dl', { class: 'stats' },
          h('div', {}, h('dt', {}, 'Limit'), limitFigure),
          ...[['Balance', money(account.balance), 'credit-balance'], ['Held', money(account.held), 'credit-held'],
            ['Exposure', money(account.exposure), 'credit-exposure'], ['Available', money(account.available), 'credit-available'],
            ['Utilisation', percent(account.utilization), 'credit-utilization']]
            .map(([k, v, t]) => h('div', {}, h('dt', {}, k), h('dd', { 'data-testid': t }, v))))),
      customer.siteLimits.length ? table([
        { label: 'Site', value: (s) => s.site.name },
        { label: 'Sub-limit', value: (s) => money(s.limit), numeric: true },
        { label: 'Balance', value: (s) => money(s.balance), numeric: true },
        { label: 'Held', value: (s) => money(s.held), numeric: true },
        { label: 'Available', value: (s) => money(s.available), numeric: true },
      ], customer.siteLimits, { caption: 'Site sub-limits' }) : null),
    h('section', { class: 'card', 'aria-label': 'Limit change requests' },
      h('h2', {}, 'Limit change requests'), requests,
      can('credit:limit:write') ? h('h3', {}, 'Request a change') : null,
      requestForm(customer, { onDone: () => loadRequests() })),
    section('Gate access', h('p', { class: 'muted' }, 'Whether a gate at each site lets this customer in now, and why.'), gates),
    section('Holds', table([
      { label: 'Status', value: (x) => badge(x.status.toLowerCase(), HOLD_TONE[x.status]) },
      { label: 'Amount', value: (x) => money(x.amount), numeric: true },
      { label: 'Captured', value: (x) => money(x.captured), numeric: true },
      { label: 'Reference', value: (x) => x.reference ?? '—' },
      { label: 'Site', value: (x) => x.site?.name ?? '—' },
      { label: 'Placed', value: (x) => dateTime(x.createdAt) },
      { label: 'Expires', value: (x) => dateTime(x.expiresAt) },
    ], customer.holds, { caption: 'Holds', empty: 'No holds.', testid: 'holds' })),
    section('Ledger', pager((page) => gql(LEDGER, { id, ...page }).then((d) => d.customer.ledger), (entries) => table([
      { label: 'When', value: (e) => dateTime(e.occurredAt) },
      { label: 'Kind', value: (e) => e.kind.toLowerCase().replace('_', ' ') },
      { label: 'Amount', value: (e) => money(e.amount), numeric: true },
      { label: 'Original', value: (e) => (e.originalAmount ? money(e.originalAmount) : '—'), numeric: true },
      { label: 'Description', value: (e) => e.description ?? e.externalRef ?? '—' },
      { label: 'Site', value: (e) => e.site?.name ?? '—' },
    ], entries, { caption: 'Ledger entries, newest first', empty: 'No ledger entries.', testid: 'ledger' }))),
    section('Invoices', invoices),
    section('Alerts', pager((page) => gql(ALERTS, { id, ...page }).then((d) => d.alerts), (alerts) => table([
      { label: 'When', value: (a) => dateTime(a.createdAt) },
      { label: 'Severity', value: (a) => badge(a.severity.toLowerCase(), SEVERITY_TONE[a.severity]) },
      { label: 'Kind', value: (a) => a.kind },
      { label: 'Message', value: (a) => a.message },
      { label: 'Acknowledged', value: (a) => (a.acknowledgedAt ? `${dateTime(a.acknowledgedAt)} by ${a.acknowledgedBy}` : 'no') },
    ], alerts, { caption: 'Alerts', empty: 'No alerts.', testid: 'alerts' }), { pageSize: 10 })),
  );

  gauge(gaugeBox, { title: 'Credit limit use', limit: account.limit, balance: account.balance,
    held: account.held, available: account.available, currency: customer.currency });

  async function loadRequests() {
    await load(requests, 'Loading requests', () => gql(REQUESTS, { id }), (d) => requestsTable(
      d.creditLimitChangeRequests.edges.map((e) => e.node), { onChange: () => refreshCredit() }));
  }
  async function refreshCredit() {
    try {
      const fresh = (await gql(CUSTOMER, { id })).customer;
      const a = fresh.creditAccount;
      limitFigure.textContent = money(a.limit);
      for (const [t, v] of [['credit-available', a.available], ['credit-exposure', a.exposure]]) {
        root.querySelector(`[data-testid="${t}"]`).textContent = money(v);
      }
      root.querySelector('[data-testid="credit-utilization"]').textContent = percent(a.utilization);
      gauge(gaugeBox, { title: 'Credit limit use', limit: a.limit, balance: a.balance, held: a.held,
        available: a.available, currency: fresh.currency });
    } catch (err) {
      showError(gaugeBox, err);
    }
    await loadRequests();
  }

  await Promise.all([
    loadRequests(),
    load(gates, 'Checking gate access', () => gateAccessRows(id), (rows) => table([
      { label: 'Site', value: (r) => `${r.site.name} (${r.site.code})` },
      { label: 'Gate', value: (r) => badge(r.allowed ? 'allowed' : 'denied', r.allowed ? 'ok' : 'bad') },
      { label: 'Reason', value: (r) => r.reason.toLowerCase().replaceAll('_', ' ') },
      { label: 'Message', value: (r) => r.message },
    ], rows, { caption: 'Gate access per site', empty: 'No sites.', testid: 'gate-access-table' })),
    load(invoices, 'Loading invoices', () => gql(INVOICES, { id }), (d) => table([
      { label: 'Number', value: (i) => i.number },
      { label: 'Status', value: (i) => badge(i.status.toLowerCase().replace('_', ' '), INVOICE_TONE[i.status]) },
      { label: 'Total', value: (i) => money(i.total), numeric: true },
      { label: 'Outstanding', value: (i) => money(i.outstanding), numeric: true },
      { label: 'Issued', value: (i) => date(i.issuedAt) },
      { label: 'Due', value: (i) => date(i.dueAt) },
      { label: 'Paid', value: (i) => date(i.paidAt) },
    ], d.customer.invoices, { caption: 'Invoices', empty: 'No invoices.', testid: 'invoices' })),
  ]);
}
