// Portfolio insights: payment behaviour by risk profile and limit band, the impact of payment
// terms, and suggested credit limits with a "Propose" button that opens a limit change
// request. Every figure says how it was computed and on how many customers.
import { gql, can } from '../api.js';
import { h, replace, table, money, percent, load, withProgress, form, section } from '../ui.js';
import { barChart } from '../charts.js';
import { requestLimitChange } from './limits.js';

export const route = '#/insights';
export const title = 'Insights';
export const permission = 'report:read';
export const nav = true;
export const order = 4;

const M = '{ amount currency }';
const GROUP = 'group customers invoices onTimeRate overdueRate averageDaysLate';
const RISK = `query($currency: String!) { riskProfileCorrelation(currency: $currency) { method customers
  byRiskProfile { ${GROUP} } byLimitBand { ${GROUP} } } }`;
const TERMS = `query($currency: String!, $from: DateTime, $to: DateTime) { termImpactAnalysis(currency: $currency, from: $from, to: $to) {
  method customers
  byNetDays { band customers dso collected ${M} overdueRate }
  termChanges { method customers
    before { averageNetDays onTimeRate averageDaysLate invoices }
    after { averageNetDays onTimeRate averageDaysLate invoices } } } }`;
const SUGGESTIONS = `query($currency: String!, $first: Int, $after: String) { limitSuggestions(currency: $currency, first: $first, after: $after) {
  method customers pageInfo { hasNextPage endCursor }
  edges { node { customer { id name } currentLimit ${M} suggestedLimit ${M} peakExposure90d ${M}
    onTimeRate segmentCap ${M} reasoning change } } } }`;
const TERMS_MONTHS = 12;

const pct = (x) => (x === null || x === undefined ? null : Math.round(Number(x) * 1000) / 10);
const num = (x) => (x === null || x === undefined ? null : Number(x));

function method(text, customers) {
  return h('p', { class: 'method', 'data-testid': 'method' }, `${text} (${customers} customers)`);
}

/** The reasoning of a suggestion as a sentence (a string; a JSON object of facts is listed). */
export function reasoningText(reasoning) {
  if (reasoning === null || reasoning === undefined) return '';
  if (typeof reasoning === 'string') return reasoning;
  if (Array.isArray(reasoning)) return reasoning.map(reasoningText).join('; ');
  if (typeof reasoning === 'object') {
    if (typeof reasoning.summary === 'string') return reasoning.summary;
    return Object.entries(reasoning).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ');
  }
  return String(reasoning);
}

function groupCharts(container, title, rows, labelOf) {
  const labels = rows.map(labelOf);
  const rates = h('div', { 'data-testid': `chart-${title}-rates` });
  const late = h('div', { 'data-testid': `chart-${title}-late` });
  container.append(h('div', { class: 'grid' }, rates, late));
  barChart(rates, { title: `On-time and overdue rate by ${title}`, labels, yLabel: '%',
    note: rows.map((r) => `${labelOf(r)}: ${r.customers} customers, ${r.invoices} invoices`).join('; '),
    datasets: [{ label: 'On time %', data: rows.map((r) => pct(r.onTimeRate)) },
      { label: 'Overdue %', data: rows.map((r) => pct(r.overdueRate)) }] });
  barChart(late, { title: `Average days late by ${title}`, labels, yLabel: 'days',
    datasets: [{ label: 'Average days late', data: rows.map((r) => num(r.averageDaysLate)) }] });
}

export async function render(root, params) {
  const currency = (params.currency ?? 'USD').toUpperCase();
  const risk = h('div', { 'data-testid': 'insight-risk' });
  const terms = h('div', { 'data-testid': 'insight-terms' });
  const suggestions = h('div', { 'data-testid': 'insight-suggestions' });
  const picker = form([{ name: 'currency', label: 'Currency', value: currency, required: true,
    testid: 'insight-currency', help: 'Insights compare amounts in one currency (ISO 4217 code).' }],
  async (values) => { location.hash = `#/insights?currency=${encodeURIComponent(values.currency.toUpperCase())}`; },
  { submitLabel: 'Show' });
  picker.classList.add('inline');
  replace(root, h('h1', {}, 'Insights'), picker,
    section('Risk-profile correlation', risk),
    section('Term impact analysis', terms),
    section('Limit optimisation', suggestions));

  const now = new Date();
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - TERMS_MONTHS, 1));
  await Promise.all([
    load(risk, 'Correlating payment behaviour with risk', () => gql(RISK, { currency }), ({ riskProfileCorrelation: r }) => {
      const box = h('div', {}, method(r.method, r.customers));
      // Charts measure their box, so they are drawn once the box is in the page.
      queueMicrotask(() => {
        groupCharts(box, 'risk profile', r.byRiskProfile, (g) => g.group.toLowerCase());
        groupCharts(box, 'limit band', r.byLimitBand, (g) => g.group);
      });
      return box;
    }),
    load(terms, 'Analysing payment terms', () => gql(TERMS, { currency, from: from.toISOString(), to: now.toISOString() }), ({ termImpactAnalysis: t }) => {
      const box = h('div', {}, method(t.method, t.customers));
      queueMicrotask(() => {
        const bands = t.byNetDays;
        const labels = bands.map((b) => b.band);
        const dso = h('div', { 'data-testid': 'chart-terms-dso' });
        const collected = h('div', { 'data-testid': 'chart-terms-collected' });
        const overdue = h('div', { 'data-testid': 'chart-terms-overdue' });
        const change = h('div', { 'data-testid': 'chart-terms-change' });
        box.append(h('div', { class: 'grid' }, dso, collected, overdue, change));
        const note = bands.map((b) => `${b.band}: ${b.customers} customers`).join('; ');
        barChart(dso, { title: 'DSO by net-days band', labels, yLabel: 'days', note,
          datasets: [{ label: 'DSO (days)', data: bands.map((b) => num(b.dso)) }] });
        barChart(collected, { title: `Collected revenue by net-days band (${currency})`, labels, note,
          datasets: [{ label: `Collected (${currency})`, data: bands.map((b) => num(b.collected?.amount)) }] });
        barChart(overdue, { title: 'Overdue rate by net-days band', labels, yLabel: '%', note,
          datasets: [{ label: 'Overdue %', data: bands.map((b) => pct(b.overdueRate)) }] });
        const c = t.termChanges;
        barChart(change, { title: 'Before and after a change of terms', labels: ['On time %', 'Average days late', 'Average net days'],
          note: `${c.method} (${c.customers} customers; ${c.before.invoices} invoices before, ${c.after.invoices} after)`,
          datasets: [
            { label: 'Before', data: [pct(c.before.onTimeRate), num(c.before.averageDaysLate), num(c.before.averageNetDays)] },
            { label: 'After', data: [pct(c.after.onTimeRate), num(c.after.averageDaysLate), num(c.after.averageNetDays)] }] });
      });
      return box;
    }),
    load(suggestions, 'Computing suggested limits', () => gql(SUGGESTIONS, { currency, first: 50 }), ({ limitSuggestions: s }) => {
      const rows = s.edges.map((e) => e.node);
      return h('div', {},
        method(s.method, s.customers),
        s.pageInfo.hasNextPage ? h('p', { class: 'muted' }, `The first ${rows.length} are listed.`) : null,
        table([
          { label: 'Customer', value: (r) => h('a', { href: `#/customers/${r.customer.id}` }, r.customer.name) },
          { label: 'Current limit', value: (r) => money(r.currentLimit), numeric: true },
          { label: 'Suggested limit', value: (r) => money(r.suggestedLimit), numeric: true },
          { label: '90-day peak exposure', value: (r) => money(r.peakExposure90d), numeric: true },
          { label: 'On time', value: (r) => percent(r.onTimeRate), numeric: true },
          { label: 'Segment cap', value: (r) => (r.segmentCap ? money(r.segmentCap) : 'none'), numeric: true },
          { label: 'Reasoning', value: (r) => reasoningText(r.reasoning) },
          { label: 'Change', value: (r) => String(r.change ?? '—').toLowerCase() },
          { label: 'Propose', value: (r) => proposeCell(r) },
        ], rows, { caption: 'Suggested limits', empty: 'No suggestions in this currency.', testid: 'suggestions' }));
    }),
  ]);
}

function proposeCell(r) {
  if (!can('credit:limit:write')) return h('span', { class: 'muted' }, '—');
  if (r.suggestedLimit.amount === r.currentLimit.amount) return h('span', { class: 'muted' }, 'no change');
  const cell = h('div', {});
  const btn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': `propose-${r.customer.id}`,
    'aria-label': `Propose ${money(r.suggestedLimit)} for ${r.customer.name}` }, 'Propose');
  btn.addEventListener('click', async () => {
    const made = await withProgress(cell, 'Proposing', () => requestLimitChange(r.customer.id,
      r.suggestedLimit.amount, r.suggestedLimit.currency,
      `Limit optimisation suggestion: ${reasoningText(r.reasoning)}`.slice(0, 500)));
    if (made) {
      cell.replaceChildren(h('a', { href: `#/customers/${r.customer.id}`, class: 'notice', 'data-testid': 'proposed' },
        `Requested: ${made.status.toLowerCase()}`));
    }
  });
  cell.append(btn);
  return cell;
}
