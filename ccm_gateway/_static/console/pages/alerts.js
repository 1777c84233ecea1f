// Alerts: live through the alertRaised subscription (a new alert appears at the top, and is
// announced politely, without a reload), the list with its filters, and Acknowledge with a
// note.
import { gql, subscribe } from '../api.js';
import { h, replace, form, pager, table, button, dateTime, section, errorBox } from '../ui.js';
import { act, enumBadge, instantOf, liveRegion, noteDialog } from './_ops.js';

export const route = '#/alerts';
export const title = 'Alerts';
export const permission = 'alert:read';
export const nav = true;
export const order = 12;

const PAGE_SIZE = 25;
// How many live arrivals stay at the top before the oldest give way to the list below.
const LIVE_KEPT = 50;
const SEVERITY_TONES = { INFO: 'info', WARNING: 'warn', CRITICAL: 'bad' };
const FIELDS = `id kind severity message customerId integrationId createdAt acknowledgedAt
  acknowledgedBy acknowledgementNote`;
const LIST = `query($kind: String, $customerId: ID, $integrationId: ID, $acknowledged: Boolean,
  $createdAfter: DateTime, $createdBefore: DateTime, $first: Int, $after: String, $last: Int, $before: String) {
  alerts(kind: $kind, customerId: $customerId, integrationId: $integrationId, acknowledged: $acknowledged,
    createdAfter: $createdAfter, createdBefore: $createdBefore, first: $first, after: $after, last: $last,
    before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${FIELDS} } } } }`;
const RAISED = `subscription($filter: AlertRaisedFilter) { alertRaised(filter: $filter) { ${FIELDS} } }`;
const ACKNOWLEDGE = `mutation($i: AcknowledgeAlertInput!) { acknowledgeAlert(input: $i) { ${FIELDS} } }`;

function subjectOf(alert) {
  if (alert.customerId) return h('a', { href: `#/customers/${alert.customerId}` }, `customer ${alert.customerId.slice(0, 8)}`);
  if (alert.integrationId) return h('a', { href: `#/integrations/${alert.integrationId}` }, `integration ${alert.integrationId.slice(0, 8)}`);
  return '—';
}

function acknowledgement(alert, acknowledged) {
  if (alert.acknowledgedAt) {
    return h('div', { 'data-testid': 'acknowledged' }, `By ${alert.acknowledgedBy}, ${dateTime(alert.acknowledgedAt)}`,
      alert.acknowledgementNote ? h('div', { class: 'muted' }, `“${alert.acknowledgementNote}”`) : null);
  }
  const cell = h('div', { class: 'actions' });
  const ack = button('Acknowledge', async () => {
    const note = await noteDialog(`Acknowledge “${alert.message}”?`, { label: 'Note',
      confirmLabel: 'Acknowledge', testid: 'ack-note' });
    if (note === null) return;
    await act(cell, 'Acknowledging', async () => {
      const { acknowledgeAlert: done } = await gql(ACKNOWLEDGE, { i: { id: alert.id, note } });
      acknowledged(done);
    });
  }, { permission: 'alert:write', testid: 'acknowledge', ariaLabel: `Acknowledge: ${alert.message}` });
  if (!ack) return 'Not yet';
  cell.append(ack);
  return cell;
}

function alertsTable(alerts, { caption, empty, testid, acknowledged }) {
  return table([
    { label: 'Raised', value: (a) => dateTime(a.createdAt) },
    { label: 'Severity', value: (a) => enumBadge(a.severity, SEVERITY_TONES) },
    { label: 'Kind', value: (a) => h('code', {}, a.kind) },
    { label: 'What happened', value: (a) => h('span', { 'data-testid': 'alert-message' }, a.message) },
    { label: 'About', value: subjectOf },
    { label: 'Acknowledged', value: (a) => acknowledgement(a, acknowledged) },
  ], alerts, { caption, empty, testid });
}

/** The alerts() arguments the filter form's values stand for. */
function argumentsOf(values) {
  const args = {};
  if (values.kind) args.kind = values.kind;
  if (values.customerId) args.customerId = values.customerId;
  if (values.acknowledged) args.acknowledged = values.acknowledged === 'yes';
  const after = instantOf(values.createdAfter, 'Raised after');
  const before = instantOf(values.createdBefore, 'Raised before');
  if (after) args.createdAfter = after;
  if (before) args.createdBefore = before;
  return args;
}

/** Would the list with ``args`` show ``alert``? (A live arrival is never acknowledged.) */
function matches(alert, args) {
  if (args.kind && alert.kind !== args.kind) return false;
  if (args.customerId && alert.customerId !== args.customerId) return false;
  if (args.acknowledged === true) return false;
  if (args.createdBefore && alert.createdAt >= args.createdBefore) return false;
  return true;
}

export async function render(root) {
  const announcer = liveRegion('alerts-live-announcer');
  const connection = h('p', { class: 'muted', 'data-testid': 'live-state' }, 'Live: connecting…');
  const liveBox = h('div', { 'data-testid': 'live-alerts' });
  const listBox = h('div', { 'data-testid': 'alert-list' });
  let args = {};
  let list = null;
  const arrived = [];

  function drawLive() {
    replace(liveBox, arrived.length
      ? alertsTable(arrived, { caption: 'Raised since this page opened, newest first', testid: 'live-table',
        acknowledged: (done) => {
          const at = arrived.findIndex((a) => a.id === done.id);
          if (at >= 0) arrived[at] = done;
          announcer.say(`Acknowledged: ${done.message}`);
          drawLive();
          list.reload();
        } })
      : h('p', { class: 'empty' }, 'New alerts appear here as they are raised.'));
  }

  function drawList() {
    list = pager((page) => gql(LIST, { ...args, ...page }).then((d) => d.alerts),
      (nodes) => alertsTable(nodes, { caption: 'Alerts, newest first', empty: 'No alert matches these filters.',
        testid: 'alerts-table', acknowledged: (done) => {
          announcer.say(`Acknowledged: ${done.message}`);
          const at = arrived.findIndex((a) => a.id === done.id);
          if (at >= 0) {
            arrived[at] = done;
            drawLive();
          }
          list.reload();
        } }), { pageSize: PAGE_SIZE });
    replace(listBox, list);
  }

  const filters = form([
    { name: 'kind', label: 'Kind', testid: 'filter-kind', placeholder: 'e.g. credit.threshold' },
    { name: 'acknowledged', label: 'Acknowledged', type: 'select', testid: 'filter-acknowledged',
      options: [{ value: '', label: 'Any' }, { value: 'no', label: 'Not yet' }, { value: 'yes', label: 'Acknowledged' }] },
    { name: 'customerId', label: 'Customer id', testid: 'filter-customer' },
    { name: 'createdAfter', label: 'Raised after', type: 'datetime-local', testid: 'filter-after' },
    { name: 'createdBefore', label: 'Raised before', type: 'datetime-local', testid: 'filter-before' },
  ], async (values) => {
    args = argumentsOf(values);
    drawList();
  }, { submitLabel: 'Filter', testid: 'alert-filter' });
  filters.classList.add('inline');

  replace(root, h('h1', {}, 'Alerts'),
    h('p', { class: 'muted' }, 'Utilisation thresholds, payment and sync failures, dead letters and reconciliation breaks.'),
    section('Live', connection, announcer, liveBox),
    section('All alerts', h('search', { 'aria-label': 'Filter alerts' }, filters), listBox));
  drawLive();
  drawList();

  const unsubscribe = subscribe(RAISED, {}, {
    next(data) {
      const alert = data.alertRaised;
      connection.textContent = 'Live: connected.';
      if (arrived.some((a) => a.id === alert.id)) return;
      arrived.unshift(alert);
      arrived.splice(LIVE_KEPT);
      drawLive();
      announcer.say(`New ${alert.severity.toLowerCase()} alert: ${alert.message}`);
      if (matches(alert, args)) list.reload();
    },
    error(err) {
      replace(connection, errorBox(new Error(`Live alerts stopped: ${err.message}. Reload the page to reconnect.`)));
    },
    complete() {
      connection.textContent = 'Live: ended (your session may have expired). Reload the page to reconnect.';
    },
  });
  // graphql-ws opens the socket lazily; it is open once the subscribe message is sent.
  connection.textContent = 'Live: listening for new alerts.';
  return unsubscribe;
}
