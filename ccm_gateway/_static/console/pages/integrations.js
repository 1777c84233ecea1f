// Integrations: the catalogue of protocol profiles (one click adds an integration from one),
// the integrations with their health, and enable / disable, rotate secret and delete. A new
// or rotated secret is shown once, from the mutation's answer; it is kept nowhere else, so
// a reload never shows it again.
import { gql, can } from '../api.js';
import { h, replace, form, pager, table, button, percent, dateTime, confirmDialog, secretOnce,
  section, load, badge } from '../ui.js';
import { act, enumBadge, labelled, liveRegion } from './_ops.js';

export const route = '#/integrations';
export const title = 'Integrations';
export const permission = 'integration:read';
export const nav = true;
export const order = 10;

const PAGE_SIZE = 25;
const KINDS = [
  { value: 'PAYMENT_PROCESSOR', label: 'Payment processor' },
  { value: 'BUILDING_SYSTEM', label: 'Building system' },
  { value: 'ERP', label: 'ERP' },
  { value: 'CRM', label: 'CRM' },
];

export const HEALTH_FIELDS = `health { lastEventAt receivedLast24h failedLast24h failureRate
  deadLetters parked outbound { successRateLast24h unsentDeliveries failedLast24h endpoints
  enabledEndpoints oldestUnsentChangeAt } }`;
export const INTEGRATION_FIELDS = `id slug name kind profile refSystem segments enabled deletedAt
  version createdAt lastSyncedAt syncFrequencySeconds previousSecretExpiresAt ${HEALTH_FIELDS}`;

const PROFILES = `{ protocolProfiles { id name description source scheme bodyFormat
  toleranceSeconds eventTypes } }`;
const LIST = `query($first: Int, $after: String, $last: Int, $before: String, $deleted: Boolean!) {
  integrations(first: $first, after: $after, last: $last, before: $before, includeDeleted: $deleted) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${INTEGRATION_FIELDS} } } } }`;
const CREATE = `mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  secret integration { id slug name } } }`;
const SET_ENABLED = `mutation($i: SetIntegrationEnabledInput!) { setIntegrationEnabled(input: $i) { id enabled } }`;
const DELETE = `mutation($i: DeleteIntegrationInput!) { deleteIntegration(input: $i) { id deletedAt } }`;
const ROTATE = `mutation($i: RotateIntegrationSecretInput!) { rotateIntegrationSecret(input: $i) {
  secret integration { id name previousSecretExpiresAt } } }`;
const UPLOAD = `mutation($i: UploadProtocolProfileInput!) { uploadProtocolProfile(input: $i) { name } }`;

/** The kind a profile is most likely for, from its name; the person can change it. */
function kindOf(profile) {
  const name = profile.name.toLowerCase();
  if (name.includes('bms') || name.includes('building') || name.includes('gate')) return 'BUILDING_SYSTEM';
  if (name.includes('erp')) return 'ERP';
  if (name.includes('crm')) return 'CRM';
  return 'PAYMENT_PROCESSOR';
}

function suffix() {
  return Math.random().toString(36).slice(2, 7);
}

/** "Enabled"/"Disabled"/"Deleted" as a badge. */
export function stateBadge(integration) {
  if (integration.deletedAt) return badge('deleted', 'neutral');
  return integration.enabled ? badge('enabled', 'ok') : badge('disabled', 'warn');
}

/** Inbound and outbound health in one line of figures. */
export function healthSummary(health) {
  const out = health.outbound;
  return h('div', { class: 'health', 'data-testid': 'integration-health' },
    h('div', {}, `In 24 h: ${health.receivedLast24h} received, ${health.failedLast24h} failed (${percent(health.failureRate)})`),
    h('div', {}, health.deadLetters
      ? badge(`${health.deadLetters} dead letter${health.deadLetters === 1 ? '' : 's'}`, 'bad') : 'No dead letters',
    health.parked ? [' · ', badge(`${health.parked} parked`, 'warn')] : null),
    h('div', { class: 'muted' }, `Outbound: ${out.enabledEndpoints}/${out.endpoints} endpoints on, `
      + `success ${percent(out.successRateLast24h)}, ${out.unsentDeliveries} unsent, ${out.failedLast24h} failed`),
    h('div', { class: 'muted' }, `Last callback: ${dateTime(health.lastEventAt)}`));
}

/** Enable/Disable, Rotate secret and Delete for one integration (only those the viewer may
 *  use). ``secrets`` is where a rotated secret is shown once; ``changed()`` redraws. */
export function integrationActions(integration, { secrets, changed }) {
  if (integration.deletedAt) return '—';
  const cell = h('div', { class: 'actions' });
  const toggle = button(integration.enabled ? 'Disable' : 'Enable', async () => {
    if (await act(cell, integration.enabled ? 'Disabling' : 'Enabling', () => gql(SET_ENABLED, {
      i: { id: integration.id, enabled: !integration.enabled } }))) changed();
  }, { permission: 'integration:write', testid: 'integration-toggle',
    ariaLabel: `${integration.enabled ? 'Disable' : 'Enable'} ${integration.name}` });
  const rotate = button('Rotate secret', async () => {
    const ok = await confirmDialog(`Replace the signing secret of ${integration.name}? The old one keeps verifying for the overlap, then stops.`,
      { confirmLabel: 'Rotate secret' });
    if (!ok) return;
    await act(cell, 'Rotating the secret', async () => {
      const { rotateIntegrationSecret: r } = await gql(ROTATE, { i: { id: integration.id } });
      secretOnce(secrets, `New signing secret of ${r.integration.name}`, r.secret);
      secrets.querySelector('[data-testid="secret-copy"]')?.focus();
    });
  }, { permission: 'integration:write', testid: 'integration-rotate', ariaLabel: `Rotate the secret of ${integration.name}` });
  const remove = button('Delete', async () => {
    const ok = await confirmDialog(`Delete ${integration.name}? Its callbacks are refused from then on, for good; its record and inbox stay.`,
      { confirmLabel: 'Delete', kind: 'danger' });
    if (!ok) return;
    if (await act(cell, 'Deleting', () => gql(DELETE, { i: { id: integration.id } }))) changed();
  }, { kind: 'danger', permission: 'integration:write', testid: 'integration-delete',
    ariaLabel: `Delete ${integration.name}` });
  const shown = [toggle, rotate, remove].filter(Boolean);
  if (!shown.length) return '—';
  cell.append(...shown);
  return cell;
}

function profileCard(profile, { secrets, added, announce }) {
  const card = h('article', { class: 'card profile', 'data-testid': `profile-${profile.name}`,
    'aria-labelledby': `profile-${profile.id}` },
  h('h3', { id: `profile-${profile.id}` }, profile.name, ' ',
    badge(profile.source, profile.source === 'shipped' ? 'info' : 'neutral')),
  h('p', {}, profile.description),
  h('p', { class: 'muted' }, `Signed with ${profile.scheme}, ${profile.bodyFormat} bodies, `
    + `${profile.toleranceSeconds} s tolerance. Events: ${profile.eventTypes.join(', ') || 'none'}.`));
  if (!can('integration:write')) return card;
  // One click adds with these defaults; they can be changed first.
  const slug = h('input', { name: 'slug', value: `${profile.name}-${suffix()}`.slice(0, 40),
    'data-testid': `slug-${profile.name}`, autocomplete: 'off' });
  const name = h('input', { name: 'name', value: profile.description.replace(/\s*\(.*\)\s*$/, ''),
    autocomplete: 'off' });
  const kind = h('select', { name: 'kind' }, KINDS.map((k) => h('option', {
    value: k.value, selected: k.value === kindOf(profile) }, k.label)));
  const segments = h('input', { name: 'segments', value: '*', autocomplete: 'off' });
  const add = button(`Add ${profile.name}`, async () => {
    const wanted = segments.value.split(',').map((s) => s.trim()).filter(Boolean);
    await act(card, `Adding ${profile.name}`, async () => {
      const { createIntegration: made } = await gql(CREATE, { i: {
        slug: slug.value.trim(), name: name.value.trim(), kind: kind.value, profile: profile.name,
        segments: wanted } });
      replace(secrets);
      const box = secretOnce(secrets, `Signing secret of ${made.integration.name}`, made.secret);
      box.append(h('p', {}, 'Give it to the vendor with the webhook URL ',
        h('code', {}, `/webhooks/${made.integration.slug}`), '. ',
        h('a', { href: `#/integrations/${made.integration.id}`, 'data-testid': 'new-integration-link' },
          `Open ${made.integration.name}`)));
      announce(`${made.integration.name} was added. Its signing secret is shown once, above.`);
      box.querySelector('[data-testid="secret-copy"]')?.focus();
      // A fresh default slug, so a second click adds a second integration.
      slug.value = `${profile.name}-${suffix()}`.slice(0, 40);
      added();
    });
  }, { kind: 'primary', testid: `add-${profile.name}` });
  card.append(h('div', { class: 'actions' }, add),
    h('details', { class: 'defaults' }, h('summary', {}, 'Change the defaults'),
      h('div', { class: 'form' },
        labelled('Slug', slug, 'Its webhook URL is /webhooks/<slug>.'),
        labelled('Display name', name),
        labelled('Kind', kind),
        labelled('Customer segments it may write', segments, 'Comma-separated; * = all.'))));
  return card;
}

function uploadForm(done) {
  return h('details', { class: 'card' }, h('summary', {}, 'Upload a protocol profile'),
    h('p', { class: 'muted' }, 'A vendor\'s callback format as YAML (see webhooks/ in the repository); an upload replaces the uploaded profile of the same name.'),
    form([{ name: 'source', label: 'Profile (YAML or JSON)', type: 'textarea', required: true }],
      async (values) => {
        await gql(UPLOAD, { i: { source: values.source } });
        done();
      }, { submitLabel: 'Upload profile', testid: 'upload-profile' }));
}

export async function render(root) {
  const secrets = h('div', { 'data-testid': 'secrets', class: 'secrets' });
  const announcer = liveRegion('integrations-status');
  const catalogue = h('div', { class: 'grid', 'data-testid': 'catalogue' });
  const listBox = h('div', { 'data-testid': 'integration-list' });
  let showDeleted = false;
  let list = null;

  function drawList() {
    list = pager((page) => gql(LIST, { ...page, deleted: showDeleted }).then((d) => d.integrations),
      (nodes) => table([
        { label: 'Name', value: (i) => h('a', { href: `#/integrations/${i.id}`, 'data-testid': 'integration-link' }, i.name) },
        { label: 'Slug', value: (i) => h('code', {}, i.slug) },
        { label: 'Kind', value: (i) => enumBadge(i.kind) },
        { label: 'Profile', value: (i) => i.profile },
        { label: 'State', value: (i) => stateBadge(i) },
        { label: 'Health', value: (i) => healthSummary(i.health) },
        { label: 'Actions', value: (i) => integrationActions(i, { secrets, changed: () => list.reload() }) },
      ], nodes, { caption: 'Integrations', empty: 'No integration yet: add one from the catalogue.',
        testid: 'integrations-table' }), { pageSize: PAGE_SIZE });
    replace(listBox, list);
  }

  async function drawCatalogue() {
    await load(catalogue, 'Loading the protocol profiles', () => gql(PROFILES),
      (data) => data.protocolProfiles.map((p) => profileCard(p, { secrets, added: () => list.reload(),
        announce: announcer.say })));
  }

  const deletedToggle = h('label', { class: 'check' },
    h('input', { type: 'checkbox', 'data-testid': 'show-deleted', onChange: (e) => {
      showDeleted = e.currentTarget.checked;
      drawList();
    } }), 'Show deleted integrations');

  replace(root, h('h1', {}, 'Integrations'),
    h('p', { class: 'muted' }, 'Payment processors, building systems, ERPs and CRMs that call the gateway\'s webhooks and receive its outbound deliveries.'),
    announcer, secrets,
    section('Add an integration',
      h('p', { class: 'muted' }, 'Every protocol profile the gateway knows, shipped or uploaded. Adding one generates its signing secret, shown once.'),
      catalogue, can('integration:write') ? uploadForm(() => drawCatalogue()) : null),
    section('Integrations', h('div', { class: 'toolbar' }, deletedToggle), listBox));
  drawList();
  await drawCatalogue();
}
