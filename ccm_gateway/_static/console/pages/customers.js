// Customers: search by name and filter by segment, status and utilisation; each row opens the
// customer's page.
import { gql } from '../api.js';
import { h, replace, form, pager, table, money, percent, badge } from '../ui.js';

export const route = '#/customers';
export const title = 'Customers';
export const permission = 'customer:read';
export const nav = true;
export const order = 2;

const PAGE_SIZE = 25;
const STATUS_TONE = { ACTIVE: 'ok', ON_HOLD: 'warn', BLOCKED: 'bad' };

export function statusBadge(status) {
  return badge(status.replace('_', ' ').toLowerCase(), STATUS_TONE[status] ?? 'neutral');
}

const QUERY = `query($filter: CustomerFilter, $first: Int, $after: String, $last: Int, $before: String) {
  customers(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { id name segment riskProfile status currency
      creditAccount { utilization limit { amount currency } exposure { amount currency } available { amount currency } } } } } }`;

/** The CustomerFilter the search form's values stand for; a bad value is an error naming it. */
export function filterOf(values) {
  const filter = {};
  if (values.name) filter.nameContains = values.name;
  if (values.segment) filter.segment = values.segment;
  if (values.status) filter.status = values.status;
  if (values.utilizationAbove) {
    const pct = Number(values.utilizationAbove);
    if (!Number.isFinite(pct) || pct < 0) {
      const err = new Error('Utilisation above must be a number of percent, 0 or more (e.g. 80).');
      err.field = 'utilizationAbove';
      throw err;
    }
    filter.utilizationAbove = pct / 100;
  }
  return filter;
}

export async function render(root, params) {
  const results = h('div', { 'data-testid': 'customer-results' });
  const initial = { name: params.name ?? '', segment: params.segment ?? '', status: params.status ?? '',
    utilizationAbove: params.utilizationAbove ?? '' };
  function show(values) {
    const filter = filterOf(values);
    replace(results, pager((page) => gql(QUERY, { filter, ...page }).then((d) => d.customers),
      (nodes) => table([
        { label: 'Name', value: (c) => h('a', { href: `#/customers/${c.id}`, 'data-testid': 'customer-link' }, c.name) },
        { label: 'Segment', value: (c) => c.segment },
        { label: 'Risk', value: (c) => c.riskProfile.toLowerCase() },
        { label: 'Status', value: (c) => statusBadge(c.status) },
        { label: 'Limit', value: (c) => money(c.creditAccount.limit), numeric: true },
        { label: 'Exposure', value: (c) => money(c.creditAccount.exposure), numeric: true },
        { label: 'Available', value: (c) => money(c.creditAccount.available), numeric: true },
        { label: 'Utilisation', value: (c) => percent(c.creditAccount.utilization), numeric: true },
      ], nodes, { caption: 'Customers', empty: 'No customer matches these filters.', testid: 'customers-table' }),
    { pageSize: PAGE_SIZE }));
  }
  const search = form([
    { name: 'name', label: 'Name contains', type: 'search', value: initial.name, testid: 'filter-name' },
    { name: 'segment', label: 'Segment', value: initial.segment, testid: 'filter-segment' },
    { name: 'status', label: 'Status', type: 'select', value: initial.status, testid: 'filter-status',
      options: [{ value: '', label: 'Any' }, { value: 'ACTIVE', label: 'Active' },
        { value: 'ON_HOLD', label: 'On hold' }, { value: 'BLOCKED', label: 'Blocked' }] },
    { name: 'utilizationAbove', label: 'Utilisation above (%)', type: 'number', min: 0, step: 1,
      value: initial.utilizationAbove, testid: 'filter-utilization', inputmode: 'decimal' },
  ], async (values) => show(values), { submitLabel: 'Search', testid: 'customer-search' });
  search.classList.add('inline');
  replace(root, h('h1', {}, 'Customers'),
    h('search', { 'aria-label': 'Search customers' }, search), results);
  show(initial);
}
