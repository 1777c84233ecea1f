// Audit log (auditors): every recorded change, filtered by actor, action and object, paged;
// and the state of its hash chains, recomputed by the server as `ccm-gateway verify` does.
import { gql } from '../api.js';
import { h, replace, form, pager, table, button, dateTime, section, badge, withProgress } from '../ui.js';
import { instantOf } from './_ops.js';

export const route = '#/audit';
export const title = 'Audit log';
export const permission = 'audit:read';
export const nav = true;
export const order = 13;

const PAGE_SIZE = 25;
const LOG = `query($filter: AuditFilter, $first: Int, $after: String, $last: Int, $before: String) {
  auditLog(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id stream seq actorType actorId action objectType objectId before after
      requestId createdAt prevHash hash } } } }`;
const CHAIN = `query($after: String) { auditChainStatus(afterStream: $after) { intact eventsChecked
  streamsChecked streamsLeft resumeAfterStream breakCount checkedAt breaks { stream seq problem } } }`;
// The server checks the chains in steps of a few seconds; the page keeps at most this many
// broken links to show (the server lists 100 per step).
const BREAKS_SHOWN = 100;

function json(value) {
  return value === null || value === undefined ? 'none' : JSON.stringify(value, null, 2);
}

function change(event) {
  return h('details', {}, h('summary', {}, 'Before and after'),
    h('div', { class: 'grid' },
      h('div', {}, h('h3', {}, 'Before'), h('pre', { class: 'json' }, json(event.before))),
      h('div', {}, h('h3', {}, 'After'), h('pre', { class: 'json' }, json(event.after)))));
}

function chainView(status) {
  return h('div', { 'data-testid': 'chain-state', 'data-intact': String(status.intact) },
    h('p', {}, status.intact
      ? badge('Intact', 'ok')
      : badge(`Broken: ${status.breakCount} link${status.breakCount === 1 ? '' : 's'}`, 'bad'),
    ` ${status.eventsChecked} events in ${status.streamsChecked} streams recomputed, ${dateTime(status.checkedAt)}.`),
    status.intact ? null : table([
      { label: 'Stream', value: (b) => h('code', {}, b.stream) },
      { label: 'Position', value: (b) => String(b.seq), numeric: true },
      { label: 'What does not hold', value: (b) => b.problem },
    ], status.breaks, { caption: status.breakCount > status.breaks.length
      ? `The first ${status.breaks.length} of ${status.breakCount} broken links (ccm-gateway verify lists them all)`
      : 'Broken links', testid: 'chain-breaks' }));
}

/** Every step of the server's chain check, from the first stream to the last, telling
 *  ``progress`` how far it got; the steps' figures added up. */
async function checkWholeChain(progress) {
  const total = { intact: true, eventsChecked: 0, streamsChecked: 0, breakCount: 0, breaks: [],
    checkedAt: null };
  let after = null;
  do {
    const { auditChainStatus: step } = await gql(CHAIN, { after });
    total.intact &&= step.intact;
    total.eventsChecked += step.eventsChecked;
    total.streamsChecked += step.streamsChecked;
    total.breakCount += step.breakCount;
    total.breaks.push(...step.breaks.slice(0, BREAKS_SHOWN - total.breaks.length));
    total.checkedAt = step.checkedAt;
    after = step.resumeAfterStream;
    progress(`${total.eventsChecked} events in ${total.streamsChecked} streams checked, ${step.streamsLeft} streams left`);
  } while (after);
  return total;
}

/** The AuditFilter the form's values stand for. */
function filterOf(values) {
  const filter = {};
  if (values.actorId) filter.actorId = values.actorId;
  if (values.action) filter.action = values.action;
  if (values.objectId) filter.objectId = values.objectId;
  const since = instantOf(values.since, 'From');
  const until = instantOf(values.until, 'Until');
  if (since) filter.since = since;
  if (until) filter.until = until;
  return filter;
}

export async function render(root, params) {
  const chainBox = h('div', { 'data-testid': 'chain' });
  const chainResult = h('div');
  const logBox = h('div', { 'data-testid': 'audit-results' });

  async function checkChain() {
    const sofar = h('p', { class: 'muted', 'aria-live': 'polite', 'data-testid': 'chain-progress' });
    replace(chainResult, sofar);
    await withProgress(chainBox, 'Recomputing every audit stream\'s hash chain', async () => {
      const total = await checkWholeChain((text) => { sofar.textContent = text; });
      replace(chainResult, chainView(total));
    });
  }
  chainBox.append(chainResult, h('div', { class: 'actions' },
    button('Check again', () => checkChain(), { testid: 'chain-check' })));

  function show(values) {
    const filter = filterOf(values);
    replace(logBox, pager((page) => gql(LOG, { filter, ...page }).then((d) => d.auditLog),
      (nodes) => table([
        { label: 'When', value: (e) => dateTime(e.createdAt) },
        { label: 'Actor', value: (e) => h('span', {}, h('span', { class: 'muted' }, `${e.actorType} `), e.actorId) },
        { label: 'Action', value: (e) => h('code', { 'data-testid': 'audit-action' }, e.action) },
        { label: 'Object', value: (e) => h('span', {}, `${e.objectType} `, h('code', {}, e.objectId)) },
        { label: 'Change', value: change },
        // Shortened, with the whole id as its title: enough to tell requests apart here.
        { label: 'Request', value: (e) => (e.requestId
          ? h('code', { title: e.requestId, 'aria-label': `request ${e.requestId}` }, e.requestId.slice(0, 8)) : '—') },
        { label: 'Chain', value: (e) => h('span', { title: e.hash }, `${e.stream} #${e.seq}`) },
      ], nodes, { caption: 'Audit events, newest first', empty: 'No audit event matches these filters.',
        testid: 'audit-table' }), { pageSize: PAGE_SIZE }));
  }
  const initial = { actorId: params.actor ?? '', action: params.action ?? '', objectId: params.object ?? '',
    since: '', until: '' };
  const filters = form([
    { name: 'actorId', label: 'Actor (who made the change)', value: initial.actorId, testid: 'filter-actor' },
    { name: 'action', label: 'Action', value: initial.action, testid: 'filter-action', placeholder: 'e.g. credit.set_limit' },
    { name: 'objectId', label: 'Object id', value: initial.objectId, testid: 'filter-object' },
    { name: 'since', label: 'From', type: 'datetime-local', testid: 'filter-since' },
    { name: 'until', label: 'Until', type: 'datetime-local', testid: 'filter-until' },
  ], async (values) => show(values), { submitLabel: 'Filter', testid: 'audit-filter' });
  filters.classList.add('inline');

  replace(root, h('h1', {}, 'Audit log'),
    h('p', { class: 'muted' }, 'Every change: who, what, when, before and after, and the request that made it. Append-only, and hash-chained per stream so that tampering is detectable.'),
    section('Hash-chain state', h('p', { class: 'muted' }, 'The server recomputes every stream\'s chain from its events (the check of ccm-gateway verify).'),
      chainBox),
    section('Events', h('search', { 'aria-label': 'Filter the audit log' }, filters), logBox));
  show(initial);
  await checkChain();
}
