// Reconciliation: "Run now" matches an integration's latest reported balances with the
// ledger (with progress while it runs), the runs so far, and the breaks they opened, which
// finance acknowledges and resolves with a note.
import { gql, can } from '../api.js';
import { h, replace, form, pager, table, money, dateTime, section, button, withProgress } from '../ui.js';
import { act, enumBadge, labelled, liveRegion, noteDialog, stats } from './_ops.js';

export const route = '#/reconciliation';
export const title = 'Reconciliation';
export const permission = 'integration:read';
export const nav = true;
export const order = 11;

const PAGE_SIZE = 20;
const BREAK_TONES = { OPEN: 'bad', ACKNOWLEDGED: 'warn', RESOLVED: 'ok' };
const SOURCES = [
  { value: 'WEBHOOK', label: 'Balances it reported by webhook' },
  { value: 'PULL', label: 'Balances pulled from it' },
];

const INTEGRATIONS = `{ integrations(first: 100) { edges { node { id name slug enabled } } } }`;
const RUN_FIELDS = `id integrationId source fileName startedAt finishedAt matched broken
  missingInLedger missingExternally tolerancePpm actor`;
const RUNS = `query($first: Int, $after: String, $last: Int, $before: String) {
  reconciliationRuns(first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${RUN_FIELDS} } } } }`;
const BREAK_FIELDS = `id runId integrationId customerId asOf status note acknowledgedAt acknowledgedBy
  resolvedAt resolvedBy version createdAt externalBalance { amount currency }
  ledgerBalance { amount currency } difference { amount currency }`;
const BREAKS = `query($filter: ReconciliationBreakFilter, $first: Int, $after: String, $last: Int, $before: String) {
  reconciliationBreaks(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${BREAK_FIELDS} } } } }`;
const RUN = `mutation($i: RunReconciliationInput!) { runReconciliation(input: $i) { ${RUN_FIELDS} } }`;
const ACKNOWLEDGE = `mutation($i: AcknowledgeReconciliationBreakInput!) {
  acknowledgeReconciliationBreak(input: $i) { id status } }`;
const RESOLVE = `mutation($i: ResolveReconciliationBreakInput!) {
  resolveReconciliationBreak(input: $i) { id status } }`;

/** Tolerance in parts per million as a percentage: 100 ppm -> "0.01 %". */
function ppm(value) {
  return `${(value / 10_000).toLocaleString(undefined, { maximumFractionDigits: 4 })} %`;
}

function runSummary(run, names) {
  return stats([
    ['Integration', names.get(run.integrationId) ?? run.integrationId ?? '—'],
    ['Source', enumBadge(run.source)],
    ['Matched', String(run.matched)],
    ['Broken', String(run.broken)],
    ['Unknown to the ledger', String(run.missingInLedger)],
    ['No external figure', String(run.missingExternally)],
    ['Tolerance', ppm(run.tolerancePpm)],
  ], 'run-result');
}

function breakActions(brk, changed) {
  const cell = h('div', { class: 'actions' });
  const decide = (mutation, verb, label) => async () => {
    const note = await noteDialog(`${verb} the break of ${money(brk.difference)} (external ${money(brk.externalBalance)}, ledger ${money(brk.ledgerBalance)})?`,
      { label, confirmLabel: verb, testid: 'break-note' });
    if (note === null) return;
    if (await act(cell, `${verb.replace(/e$/, '')}ing`, () => gql(mutation, { i: {
      id: brk.id, note, expectedVersion: brk.version } }))) changed();
  };
  const shown = [
    brk.status === 'OPEN' ? button('Acknowledge', decide(ACKNOWLEDGE, 'Acknowledge', 'What is being done about it'),
      { permission: 'reconciliation:write', testid: 'break-acknowledge' }) : null,
    brk.status !== 'RESOLVED' ? button('Resolve', decide(RESOLVE, 'Resolve', 'How it was resolved'),
      { kind: 'primary', permission: 'reconciliation:write', testid: 'break-resolve' }) : null,
  ].filter(Boolean);
  if (!shown.length) return '—';
  cell.append(...shown);
  return cell;
}

/** The integration, the figures and the tolerance; Run now runs it with progress shown. */
function runNowForm(known, finished) {
  const integration = h('select', { 'data-testid': 'run-integration', required: true },
    h('option', { value: '' }, 'Choose an integration'),
    known.map((i) => h('option', { value: i.id }, `${i.name} (${i.slug})`)));
  const source = h('select', { 'data-testid': 'run-source' },
    SOURCES.map((s) => h('option', { value: s.value }, s.label)));
  const tolerance = h('input', { type: 'number', min: 0, step: 1, inputmode: 'numeric',
    'data-testid': 'run-tolerance', autocomplete: 'off' });
  const box = h('div', { class: 'form inline', 'data-testid': 'run-now' },
    labelled('Integration', integration), labelled('Figures', source),
    labelled('Tolerance (ppm)', tolerance, 'Parts per million of the larger balance; empty: 100 (0.01 %).'));
  box.append(h('div', { class: 'actions' }, button('Run now', async () => {
    box.querySelectorAll(':scope > .error').forEach((e) => e.remove());
    await withProgress(box, 'Reconciling: matching the reported balances with the ledger', async () => {
      if (!integration.value) {
        integration.setAttribute('aria-invalid', 'true');
        throw Object.assign(new Error('Choose the integration whose balances to match.'), { field: 'integrationId' });
      }
      integration.removeAttribute('aria-invalid');
      const input = { integrationId: integration.value, source: source.value };
      if (tolerance.value !== '') {
        const ppmValue = Number(tolerance.value);
        if (!Number.isInteger(ppmValue) || ppmValue < 0) {
          tolerance.setAttribute('aria-invalid', 'true');
          throw Object.assign(new Error('The tolerance must be a whole number of parts per million, 0 or more.'),
            { field: 'tolerancePpm' });
        }
        input.tolerancePpm = ppmValue;
      }
      tolerance.removeAttribute('aria-invalid');
      const { runReconciliation: run } = await gql(RUN, { i: input });
      await finished(run);
    });
  }, { kind: 'primary', testid: 'run-now-submit' })));
  return box;
}

export async function render(root) {
  const { integrations } = await gql(INTEGRATIONS);
  const known = integrations.edges.map((e) => e.node);
  const names = new Map(known.map((i) => [i.id, i.name]));
  const announcer = liveRegion('reconciliation-status');
  const result = h('div', { 'data-testid': 'run-now-result' });
  const runsBox = h('div', { 'data-testid': 'runs' });
  const breaksBox = h('div', { 'data-testid': 'breaks' });
  let breakStatus = 'OPEN';
  let runs = null;
  let breaks = null;

  function drawRuns() {
    runs = pager((page) => gql(RUNS, page).then((d) => d.reconciliationRuns), (nodes) => table([
      { label: 'Started', value: (r) => dateTime(r.startedAt) },
      { label: 'Finished', value: (r) => (r.finishedAt ? dateTime(r.finishedAt) : enumBadge('RUNNING', { RUNNING: 'info' })) },
      { label: 'Integration', value: (r) => names.get(r.integrationId) ?? r.integrationId ?? '—' },
      { label: 'Source', value: (r) => h('span', {}, enumBadge(r.source), r.fileName ? ` ${r.fileName}` : null) },
      { label: 'Matched', value: (r) => String(r.matched), numeric: true },
      { label: 'Broken', value: (r) => String(r.broken), numeric: true },
      { label: 'Unknown to the ledger', value: (r) => String(r.missingInLedger), numeric: true },
      { label: 'No external figure', value: (r) => String(r.missingExternally), numeric: true },
      { label: 'Tolerance', value: (r) => ppm(r.tolerancePpm), numeric: true },
      { label: 'By', value: (r) => r.actor },
    ], nodes, { caption: 'Reconciliation runs, newest first', empty: 'No run yet.', testid: 'runs-table' }),
    { pageSize: PAGE_SIZE });
    replace(runsBox, runs);
  }

  function drawBreaks() {
    const filter = breakStatus ? { status: breakStatus } : {};
    breaks = pager((page) => gql(BREAKS, { filter, ...page }).then((d) => d.reconciliationBreaks),
      (nodes) => table([
        { label: 'Opened', value: (b) => dateTime(b.createdAt) },
        { label: 'Customer', value: (b) => h('a', { href: `#/customers/${b.customerId}` }, b.customerId.slice(0, 8)) },
        { label: 'Integration', value: (b) => names.get(b.integrationId) ?? '—' },
        { label: 'As of', value: (b) => dateTime(b.asOf) },
        { label: 'External', value: (b) => money(b.externalBalance), numeric: true },
        { label: 'Ledger', value: (b) => money(b.ledgerBalance), numeric: true },
        { label: 'Difference', value: (b) => money(b.difference), numeric: true },
        { label: 'Status', value: (b) => h('span', { 'data-testid': 'break-status' }, enumBadge(b.status, BREAK_TONES)) },
        { label: 'Note', value: (b) => h('div', {}, b.note ?? '—',
          b.acknowledgedBy ? h('div', { class: 'muted' }, `Acknowledged by ${b.acknowledgedBy}, ${dateTime(b.acknowledgedAt)}`) : null,
          b.resolvedBy ? h('div', { class: 'muted' }, `Resolved by ${b.resolvedBy}, ${dateTime(b.resolvedAt)}`) : null) },
        { label: 'Actions', value: (b) => breakActions(b, () => {
          announcer.say(`The break of ${money(b.difference)} was updated.`);
          breaks.reload();
        }) },
      ], nodes, { caption: 'Reconciliation breaks, newest first', empty: 'No break with this status.',
        testid: 'breaks-table' }), { pageSize: PAGE_SIZE });
    replace(breaksBox, breaks);
  }

  const runNow = can('reconciliation:write') ? runNowForm(known, async (run) => {
    replace(result, h('h3', {}, `Run finished ${dateTime(run.finishedAt)}`), runSummary(run, names));
    announcer.say(`Reconciliation finished: ${run.matched} matched, ${run.broken} broken.`);
    runs.reload();
    breaks.reload();
  }) : null;

  const statusFilter = form([
    { name: 'status', label: 'Break status', type: 'select', value: breakStatus, testid: 'break-status-filter',
      options: [{ value: '', label: 'Any' }, { value: 'OPEN', label: 'Open' },
        { value: 'ACKNOWLEDGED', label: 'Acknowledged' }, { value: 'RESOLVED', label: 'Resolved' }] },
  ], async (values) => {
    breakStatus = values.status;
    drawBreaks();
  }, { submitLabel: 'Show', testid: 'break-filter' });
  statusFilter.classList.add('inline');

  replace(root, h('h1', {}, 'Reconciliation'),
    h('p', { class: 'muted' }, 'External balances matched with the ledger as of the same time; a difference above the tolerance opens a break.'),
    announcer,
    runNow ? section('Run now', runNow, result) : null,
    section('Breaks', statusFilter, breaksBox),
    section('Runs', runsBox));
  drawRuns();
  drawBreaks();
}

