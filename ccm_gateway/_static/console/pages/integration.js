// One integration: its state and health, its inbox (dead letters first to the eye, Replay),
// and its outbound endpoints with their health, deliveries, attempts, Resend and recovery.
import { gql } from '../api.js';
import { h, replace, form, pager, table, button, percent, dateTime, confirmDialog, secretOnce,
  section, badge } from '../ui.js';
import { act, enumBadge, liveRegion, pollUntil, stats } from './_ops.js';
import { INTEGRATION_FIELDS, healthSummary, integrationActions, stateBadge } from './integrations.js';

export const route = '#/integrations/:id';
export const title = 'Integration';
export const permission = 'integration:read';
export const nav = false;

const PAGE_SIZE = 20;
const INBOUND_TONES = { APPLIED: 'ok', RECEIVED: 'info', RETRYING: 'warn', PARKED: 'warn',
  IGNORED: 'neutral', DEAD: 'bad' };
const DELIVERY_TONES = { SUCCEEDED: 'ok', PENDING: 'info', SENDING: 'info', RETRYING: 'warn',
  FAILED: 'bad', SUPERSEDED: 'neutral', SKIPPED: 'neutral' };
const CIRCUIT_TONES = { CLOSED: 'ok', HALF_OPEN: 'warn', OPEN: 'bad' };
// Statuses replayInboundEvent queues again; the others it leaves as they are.
const REPLAYABLE = new Set(['DEAD', 'PARKED', 'IGNORED']);
// Statuses an event passes through while a worker still has it.
const IN_FLIGHT = new Set(['RECEIVED', 'RETRYING']);
// Deliveries resendOutboundDelivery sends again (one in flight is left to finish).
const RESENDABLE = new Set(['FAILED', 'SUCCEEDED', 'RETRYING', 'SKIPPED', 'SUPERSEDED']);
const RECOVER_HOURS = 24;

const INTEGRATION = `query($id: ID!) { integration(id: $id) { ${INTEGRATION_FIELDS} } }`;
const EVENT_FIELDS = `id externalId eventType canonicalType status attempts lastError nextAttemptAt
  customerId occurredAt receivedAt appliedAt`;
const EVENTS = `query($filter: InboundEventFilter, $first: Int, $after: String, $last: Int, $before: String) {
  inboundEvents(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${EVENT_FIELDS} } } } }`;
const EVENT = `query($id: ID!) { inboundEvent(id: $id) { ${EVENT_FIELDS} } }`;
const REPLAY = `mutation($i: ReplayInboundEventInput!) { replayInboundEvent(input: $i) { id status } }`;
const ENDPOINT_FIELDS = `id url fallbackUrl eventTypes enabled disabledReason description timeoutSeconds
  deletedAt health { attemptsLast24h succeededLast24h successRateLast24h lastSuccessAt lastFailureAt
  unsentDeliveries oldestUnsentChangeAt failedLast24h circuitState fallbackCircuitState failingSince }`;
const ENDPOINTS = `query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  outboundEndpoints(integrationId: $id, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${ENDPOINT_FIELDS} } } } }`;
const DELIVERIES = `query($filter: OutboundDeliveryFilter, $first: Int, $after: String, $last: Int, $before: String) {
  outboundDeliveries(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id webhookId eventType customerId status attemptCount nextAttemptAt lastStatusCode
      lastError createdAt deliveredAt
      attempts { attemptedAt target url statusCode durationMs errorClass succeeded responseExcerpt } } } } }`;
const RESEND = `mutation($i: ResendOutboundDeliveryInput!) { resendOutboundDelivery(input: $i) {
  deliveries { id status } refreshedCustomerIds } }`;
const RECOVER = `mutation($i: RecoverOutboundEndpointInput!) { recoverOutboundEndpoint(input: $i) {
  resent refreshedCustomers } }`;
const SET_ENDPOINT_ENABLED = `mutation($i: SetOutboundEndpointEnabledInput!) {
  setOutboundEndpointEnabled(input: $i) { id enabled } }`;
const ROTATE_ENDPOINT = `mutation($i: RotateOutboundEndpointSecretInput!) {
  rotateOutboundEndpointSecret(input: $i) { secret endpoint { id url } } }`;

function inboundStatus(status) {
  return status === 'DEAD' ? enumBadge(status, INBOUND_TONES, 'dead letter') : enumBadge(status, INBOUND_TONES);
}

function customerLink(id) {
  return id ? h('a', { href: `#/customers/${id}` }, id.slice(0, 8)) : '—';
}

/** Queues the events again and follows them until a worker has settled each (or 20 s). */
async function replay(ids) {
  await gql(REPLAY, { i: { ids } });
  return Promise.all(ids.map((id) => pollUntil(() => gql(EVENT, { id }).then((d) => d.inboundEvent),
    (event) => !event || !IN_FLIGHT.has(event.status))));
}

function inbox(integrationId, { announce, refreshHealth }) {
  const box = h('div', { 'data-testid': 'inbound-events' });
  let status = '';
  let events = null;

  function eventsTable(nodes) {
    const dead = nodes.filter((e) => REPLAYABLE.has(e.status));
    const replayAll = dead.length > 1 ? button(`Replay the ${dead.length} shown`, async (event) => {
      const bar = event.currentTarget.parentElement;
      if (await act(bar, `Replaying ${dead.length} events`, async () => {
        const settled = await replay(dead.map((e) => e.id));
        announce(`${settled.filter((e) => e?.status === 'APPLIED').length} of ${dead.length} events applied.`);
      })) {
        events.reload();
        refreshHealth();
      }
    }, { permission: 'integration:write', testid: 'replay-all' }) : null;
    return [
      replayAll ? h('div', { class: 'toolbar' }, replayAll) : null,
      table([
        { label: 'Received', value: (e) => dateTime(e.receivedAt) },
        { label: 'Event', value: (e) => h('div', {}, h('code', {}, e.externalId),
          h('div', { class: 'muted' }, `${e.eventType ?? '—'} → ${e.canonicalType ?? 'unmapped'}`)) },
        { label: 'Status', value: (e) => h('span', { 'data-testid': 'event-status' }, inboundStatus(e.status)) },
        { label: 'Attempts', value: (e) => String(e.attempts), numeric: true },
        { label: 'Why it failed', value: (e) => e.lastError ?? '—' },
        { label: 'Customer', value: (e) => customerLink(e.customerId) },
        { label: 'Applied', value: (e) => dateTime(e.appliedAt) },
        { label: 'Actions', value: (e) => {
          if (!REPLAYABLE.has(e.status)) return '—';
          const cell = h('div', { class: 'actions' });
          const replayButton = button('Replay', async () => {
            await act(cell, 'Replaying', async () => {
              const [settled] = await replay([e.id]);
              announce(`Event ${e.externalId}: ${(settled?.status ?? 'gone').toLowerCase()}.`);
              events.reload();
              refreshHealth();
            });
          }, { permission: 'integration:write', testid: 'replay', ariaLabel: `Replay event ${e.externalId}` });
          if (!replayButton) return '—';
          cell.append(replayButton);
          return cell;
        } },
      ], nodes, { caption: 'Inbound events, newest first', empty: 'No inbound event matches.',
        testid: 'events-table' }),
    ];
  }

  function draw() {
    const filter = { integrationId };
    if (status) filter.status = status;
    events = pager((page) => gql(EVENTS, { filter, ...page }).then((d) => d.inboundEvents), eventsTable,
      { pageSize: PAGE_SIZE });
    replace(box, events);
  }
  const statusFilter = form([
    { name: 'status', label: 'Status', type: 'select', testid: 'event-status-filter', value: status,
      options: [{ value: '', label: 'Any' }, { value: 'DEAD', label: 'Dead letters' },
        { value: 'PARKED', label: 'Parked (waiting for data)' }, { value: 'RETRYING', label: 'Retrying' },
        { value: 'RECEIVED', label: 'Received' }, { value: 'APPLIED', label: 'Applied' },
        { value: 'IGNORED', label: 'Ignored (unmapped)' }] },
  ], async (values) => {
    status = values.status;
    draw();
  }, { submitLabel: 'Show', testid: 'event-filter' });
  statusFilter.classList.add('inline');
  draw();
  return [statusFilter, box];
}

function attemptsList(delivery) {
  if (!delivery.attempts.length) return h('span', { class: 'muted' }, 'No attempt yet');
  return h('details', {}, h('summary', {}, `${delivery.attempts.length} attempt${delivery.attempts.length === 1 ? '' : 's'}`),
    h('ol', { class: 'attempts', 'data-testid': 'attempts' }, delivery.attempts.map((a) => h('li', {},
      `${dateTime(a.attemptedAt)} · ${a.target.toLowerCase()} ${a.url} · `,
      a.succeeded ? badge(`HTTP ${a.statusCode}`, 'ok') : badge(a.statusCode ? `HTTP ${a.statusCode}` : (a.errorClass ?? 'no answer'), 'bad'),
      ` · ${a.durationMs} ms`,
      a.responseExcerpt ? h('div', { class: 'muted' }, a.responseExcerpt.slice(0, 200)) : null))));
}

function deliveries(endpoint, announce) {
  const box = h('div', { 'data-testid': `deliveries-${endpoint.id}` });
  let status = '';
  let list = null;
  function draw() {
    const filter = { endpointId: endpoint.id };
    if (status) filter.status = status;
    list = pager((page) => gql(DELIVERIES, { filter, ...page }).then((d) => d.outboundDeliveries),
      (nodes) => table([
        { label: 'Queued', value: (d) => dateTime(d.createdAt) },
        { label: 'Event', value: (d) => h('div', {}, d.eventType, h('div', { class: 'muted' }, h('code', {}, d.webhookId))) },
        { label: 'Status', value: (d) => h('span', { 'data-testid': 'delivery-status' }, enumBadge(d.status, DELIVERY_TONES)) },
        { label: 'Attempts', value: (d) => attemptsList(d) },
        { label: 'Last answer', value: (d) => (d.lastStatusCode ? `HTTP ${d.lastStatusCode}` : (d.lastError ?? '—')) },
        { label: 'Delivered', value: (d) => dateTime(d.deliveredAt) },
        { label: 'Actions', value: (d) => {
          if (!RESENDABLE.has(d.status)) return '—';
          const cell = h('div', { class: 'actions' });
          const resend = button('Resend', async () => {
            await act(cell, 'Resending', async () => {
              const { resendOutboundDelivery: r } = await gql(RESEND, { i: { ids: [d.id] } });
              announce(r.refreshedCustomerIds.length
                ? 'The customer\'s current credit state is queued afresh (an older state is never sent again).'
                : `Delivery ${d.webhookId} is due again now.`);
              list.reload();
            });
          }, { permission: 'integration:write', testid: 'resend', ariaLabel: `Resend delivery ${d.webhookId}` });
          if (!resend) return '—';
          cell.append(resend);
          return cell;
        } },
      ], nodes, { caption: `Deliveries to ${endpoint.url}, newest first`, empty: 'No delivery matches.' }),
      { pageSize: PAGE_SIZE });
    replace(box, list);
  }
  const filter = form([
    { name: 'status', label: 'Delivery status', type: 'select', value: status,
      options: [{ value: '', label: 'Any' }, ...Object.keys(DELIVERY_TONES).map((s) => ({ value: s, label: s.toLowerCase() }))] },
  ], async (values) => {
    status = values.status;
    draw();
  }, { submitLabel: 'Show' });
  filter.classList.add('inline');
  draw();
  return h('div', {}, filter, box);
}

function endpointCard(endpoint, { announce, secrets, changed }) {
  const health = endpoint.health;
  const panel = h('div');
  const bar = h('div', { class: 'actions' });
  const toggle = button(endpoint.enabled ? 'Disable' : 'Enable', async () => {
    if (await act(bar, endpoint.enabled ? 'Disabling' : 'Enabling', () => gql(SET_ENDPOINT_ENABLED,
      { i: { id: endpoint.id, enabled: !endpoint.enabled } }))) changed();
  }, { permission: 'integration:write', ariaLabel: `${endpoint.enabled ? 'Disable' : 'Enable'} ${endpoint.url}` });
  const recover = button(`Recover failed deliveries (last ${RECOVER_HOURS} h)`, async () => {
    const ok = await confirmDialog(`Send again every delivery to ${endpoint.url} that failed in the last ${RECOVER_HOURS} hours?`,
      { confirmLabel: 'Recover' });
    if (!ok) return;
    await act(bar, 'Recovering deliveries', async () => {
      const since = new Date(Date.now() - RECOVER_HOURS * 3600_000).toISOString();
      const { recoverOutboundEndpoint: r } = await gql(RECOVER, { i: { endpointId: endpoint.id, since } });
      announce(`${r.resent} failed deliveries are due again; ${r.refreshedCustomers} customers' current state queued afresh.`);
      changed();
    });
  }, { permission: 'integration:write', testid: 'recover' });
  const rotate = button('Rotate signing secret', async () => {
    const ok = await confirmDialog(`Replace the signing secret of ${endpoint.url}? During the overlap (one day) deliveries carry both signatures.`,
      { confirmLabel: 'Rotate secret' });
    if (!ok) return;
    await act(bar, 'Rotating the secret', async () => {
      const { rotateOutboundEndpointSecret: r } = await gql(ROTATE_ENDPOINT, { i: { id: endpoint.id } });
      replace(secrets);
      secretOnce(secrets, `New signing secret of ${r.endpoint.url}`, r.secret);
    });
  }, { permission: 'integration:write' });
  let open = false;
  const show = button('Show deliveries', (event) => {
    open = !open;
    event.currentTarget.textContent = open ? 'Hide deliveries' : 'Show deliveries';
    event.currentTarget.setAttribute('aria-expanded', String(open));
    replace(panel, open ? deliveries(endpoint, announce) : null);
  }, { testid: 'show-deliveries' });
  show.setAttribute('aria-expanded', 'false');
  bar.append(...[show, toggle, recover, rotate].filter(Boolean));
  return h('article', { class: 'card', 'data-testid': 'endpoint', 'aria-label': `Endpoint ${endpoint.url}` },
    h('h3', {}, h('code', {}, endpoint.url), ' ', endpoint.enabled ? badge('enabled', 'ok') : badge('disabled', 'warn')),
    endpoint.description ? h('p', {}, endpoint.description) : null,
    stats([
      ['Fallback', endpoint.fallbackUrl ?? 'none'],
      ['Events', endpoint.eventTypes.join(', ')],
      ['Attempts (24 h)', `${health.attemptsLast24h}, ${health.succeededLast24h} succeeded`],
      ['Success rate (24 h)', percent(health.successRateLast24h)],
      ['Unsent', String(health.unsentDeliveries)],
      ['Behind since', dateTime(health.oldestUnsentChangeAt)],
      ['Failed (24 h)', String(health.failedLast24h)],
      ['Circuit', enumBadge(health.circuitState, CIRCUIT_TONES, health.circuitState ? null : 'unknown')],
      endpoint.fallbackUrl ? ['Fallback circuit', enumBadge(health.fallbackCircuitState, CIRCUIT_TONES)] : null,
      ['Failing since', dateTime(health.failingSince)],
      ['Last success', dateTime(health.lastSuccessAt)],
      health.disabledReason ? ['Disabled because', health.disabledReason] : null,
    ], 'endpoint-health'),
    bar, panel);
}

function outbound(integrationId, { announce, secrets }) {
  const box = h('div', { 'data-testid': 'outbound-endpoints' });
  let list = null;
  list = pager((page) => gql(ENDPOINTS, { id: integrationId, ...page }).then((d) => d.outboundEndpoints),
    (nodes) => (nodes.length
      ? nodes.map((e) => endpointCard(e, { announce, secrets, changed: () => list.reload() }))
      : h('p', { class: 'empty' }, 'No outbound endpoint: this integration is sent nothing.')),
    { pageSize: 10 });
  replace(box, list);
  return box;
}

export async function render(root, params) {
  const { integration } = await gql(INTEGRATION, { id: params.id });
  if (!integration) {
    replace(root, h('h1', {}, 'Integration not found'),
      h('p', {}, 'There is no integration with this id. '), h('a', { href: '#/integrations' }, 'Back to the integrations'));
    return;
  }
  document.title = `${integration.name} · CCM Gateway console`;
  const announcer = liveRegion('integration-status');
  const secrets = h('div', { 'data-testid': 'secrets' });
  const summary = h('div');
  async function refreshHealth() {
    const { integration: fresh } = await gql(INTEGRATION, { id: params.id });
    if (fresh) drawSummary(fresh);
  }
  function drawSummary(i) {
    replace(summary,
      stats([
        ['State', stateBadge(i)],
        ['Kind', enumBadge(i.kind)],
        ['Profile', i.profile],
        ['Webhook URL', h('code', {}, `/webhooks/${i.slug}`)],
        ['Customer refs', i.refSystem],
        ['May write segments', i.segments.join(', ')],
        ['Scheduled sync', i.syncFrequencySeconds ? `every ${i.syncFrequencySeconds} s (last ${dateTime(i.lastSyncedAt)})` : 'off'],
        ['Old secret verifies until', dateTime(i.previousSecretExpiresAt)],
      ], 'integration-summary'),
      healthSummary(i.health),
      integrationActions(i, { secrets, changed: refreshHealth }));
  }
  drawSummary(integration);
  replace(root,
    h('p', {}, h('a', { href: '#/integrations' }, '← Integrations')),
    h('h1', {}, integration.name),
    announcer, secrets,
    section('State and health', summary),
    section('Inbound events', h('p', { class: 'muted' }, 'Callbacks as received. A dead letter failed for good; a parked event waits for data (a customer ref, site or FX rate). Replay queues them again; the ledger applies each event once.'),
      inbox(integration.id, { announce: announcer.say, refreshHealth })),
    section('Outbound endpoints', outbound(integration.id, { announce: announcer.say, secrets })));
}
