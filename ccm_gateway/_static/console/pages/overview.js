// The portfolio at a glance: utilisation distribution, exposure against limit by segment,
// aging, DSO trend, alerts per week and integration health, each a chart over the reports.
import { gql, can } from '../api.js';
import { h, replace, showError, loading, percent } from '../ui.js';
import { barChart, histogram, lineChart } from '../charts.js';

export const route = '#/overview';
export const title = 'Overview';
export const permission = 'report:read';
export const nav = true;
export const order = 1;

// utilisationReport's bucket names, in order, and how the chart labels them.
export const UTILISATION_LABELS = {
  FROM_0_TO_10: '0-10 %', FROM_10_TO_20: '10-20 %', FROM_20_TO_30: '20-30 %',
  FROM_30_TO_40: '30-40 %', FROM_40_TO_50: '40-50 %', FROM_50_TO_60: '50-60 %',
  FROM_60_TO_70: '60-70 %', FROM_70_TO_80: '70-80 %', FROM_80_TO_90: '80-90 %',
  FROM_90_TO_100: '90-100 %', OVER_100: 'over 100 %', NO_LIMIT: 'no limit',
};
const AGING_BUCKETS = [['current', 'Current'], ['days1To30', '1-30 days'], ['days31To60', '31-60 days'],
  ['days61To90', '61-90 days'], ['daysOver90', 'Over 90 days']];
const DSO_MONTHS = 6;
const ALERT_WEEKS = 12;
// Exposure by segment reads customers page by page, up to this many.
const SEGMENT_PAGES = 10;

const MONEY = 'amount currency';

function card(title, testid) {
  const body = h('div', { class: 'chart-slot', 'data-testid': testid }, loading(`Loading ${title}`));
  return { el: h('section', { class: 'card', 'aria-label': title }, body), body };
}

async function fill(slot, draw) {
  try {
    await draw();
  } catch (err) {
    showError(slot.body, err);
  }
}

function monthStart(d, back) {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1));
}

export async function render(root) {
  const slots = {
    utilisation: card('Utilisation distribution', 'chart-utilisation'),
    segments: card('Exposure against limit by segment', 'chart-segments'),
    aging: card('Aging of receivables', 'chart-aging'),
    dso: card('DSO trend', 'chart-dso'),
    alerts: card('Alerts per week', 'chart-alerts'),
    integrations: card('Integration health', 'chart-integrations'),
    latency: card('Sync latency', 'chart-sync-latency'),
  };
  const showIntegrations = can('integration:read');
  replace(root,
    h('h1', {}, 'Overview'),
    h('p', { class: 'muted' }, 'The whole portfolio the signed-in viewer may see, as of now.'),
    h('div', { class: 'grid' }, slots.utilisation.el, slots.segments.el, slots.aging.el,
      slots.dso.el, slots.alerts.el, ...(showIntegrations ? [slots.integrations.el, slots.latency.el] : [])));

  const now = new Date();
  await Promise.all([
    fill(slots.utilisation, async () => {
      const { utilisationReport: r } = await gql(`{ utilisationReport { customers buckets { bucket customers } } }`);
      histogram(slots.utilisation.body, {
        title: 'Utilisation distribution',
        note: `Exposure (posted + held) over the limit, per customer; ${r.customers} customers.`,
        buckets: r.buckets.map((b) => ({ label: UTILISATION_LABELS[b.bucket] ?? b.bucket, count: b.customers })),
      });
    }),
    fill(slots.segments, async () => {
      const groups = new Map();
      let after = null;
      let read = 0;
      let more = true;
      for (let page = 0; page < SEGMENT_PAGES && more; page += 1) {
        const { customers } = await gql(`query($after: String) { customers(first: 100, after: $after) {
          pageInfo { hasNextPage endCursor }
          edges { node { segment currency creditAccount { limit { ${MONEY} } exposure { ${MONEY} } } } } } }`,
        { after });
        for (const { node } of customers.edges) {
          const key = `${node.segment} (${node.currency})`;
          const g = groups.get(key) ?? { limit: 0, exposure: 0, customers: 0 };
          g.limit += Number(node.creditAccount.limit.amount);
          g.exposure += Number(node.creditAccount.exposure.amount);
          g.customers += 1;
          groups.set(key, g);
          read += 1;
        }
        more = customers.pageInfo.hasNextPage;
        after = customers.pageInfo.endCursor;
      }
      const labels = [...groups.keys()].sort();
      barChart(slots.segments.body, {
        title: 'Exposure against limit by segment',
        note: `Sum of limits and of exposure (posted + held) per segment and currency; ${read} customers${more ? ' (the first ones only)' : ''}.`,
        labels,
        datasets: [
          { label: 'Limit', data: labels.map((l) => groups.get(l).limit) },
          { label: 'Exposure', data: labels.map((l) => groups.get(l).exposure) },
        ],
      });
    }),
    fill(slots.aging, async () => {
      const { agingReport: r } = await gql(`{ agingReport { asOf portfolio { currency customers invoices
        ${AGING_BUCKETS.map(([k]) => `${k} { amount }`).join(' ')} } } }`);
      const customers = r.portfolio.reduce((n, p) => n + p.customers, 0);
      barChart(slots.aging.body, {
        title: 'Aging of receivables',
        note: `Outstanding invoice amounts by days past due, per currency; ${customers} customers, ${r.portfolio.reduce((n, p) => n + p.invoices, 0)} invoices.`,
        labels: r.portfolio.map((p) => p.currency),
        stacked: true,
        datasets: AGING_BUCKETS.map(([key, label]) => ({ label, data: r.portfolio.map((p) => Number(p[key].amount)) })),
      });
    }),
    fill(slots.dso, async () => {
      const months = Array.from({ length: DSO_MONTHS }, (_, i) => DSO_MONTHS - 1 - i);
      const reports = await Promise.all(months.map(async (back) => {
        const from = monthStart(now, back);
        const to = back === 0 ? now : monthStart(now, back - 1);
        const { dsoReport } = await gql(`query($from: DateTime!, $to: DateTime!) { dsoReport(from: $from, to: $to) {
          figures { currency simple receivablesCustomers } } }`, { from: from.toISOString(), to: to.toISOString() });
        return { label: from.toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' }), dsoReport };
      }));
      const currencies = [...new Set(reports.flatMap((r) => r.dsoReport.figures.map((f) => f.currency)))].sort();
      const customers = Math.max(0, ...reports.flatMap((r) => r.dsoReport.figures.map((f) => f.receivablesCustomers)));
      lineChart(slots.dso.body, {
        title: 'DSO trend',
        note: `Simple DSO (receivables / credit sales × days) per month, per currency; up to ${customers} customers with receivables.`,
        labels: reports.map((r) => r.label),
        yLabel: 'days',
        datasets: currencies.map((c) => ({ label: c, data: reports.map((r) => {
          const f = r.dsoReport.figures.find((x) => x.currency === c);
          return f?.simple === null || f?.simple === undefined ? null : Number(f.simple);
        }) })),
      });
    }),
    fill(slots.alerts, async () => {
      const from = new Date(now.getTime() - ALERT_WEEKS * 7 * 86400_000);
      const { creditAlertFrequency: periods } = await gql(`query($from: DateTime!, $to: DateTime!) {
        creditAlertFrequency(from: $from, to: $to, interval: WEEK) { start end breaches thresholds customers } }`,
      { from: from.toISOString(), to: now.toISOString() });
      barChart(slots.alerts.body, {
        title: 'Alerts per week',
        note: `Credit threshold and breach alerts per week, last ${ALERT_WEEKS} weeks; ${periods.reduce((n, p) => Math.max(n, p.customers), 0)} customers at most in a week.`,
        labels: periods.map((p) => new Date(p.start).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' })),
        stacked: true,
        datasets: [{ label: 'Thresholds', data: periods.map((p) => p.thresholds) },
          { label: 'Breaches', data: periods.map((p) => p.breaches) }],
      });
    }),
    showIntegrations ? fill(slots.integrations, async () => {
      const { integrations } = await gql(`{ integrations(first: 100) { edges { node { name slug enabled
        health { failureRate receivedLast24h failedLast24h
          outbound { successRateLast24h attemptsLast24h unsentDeliveries oldestUnsentChangeAt } } } } } }`);
      const nodes = integrations.edges.map((e) => e.node);
      const labels = nodes.map((n) => n.name);
      barChart(slots.integrations.body, {
        title: 'Integration health',
        note: `Last 24 hours, per integration (${nodes.length}): inbound failure rate, outbound failure rate, and uptime as the share of outbound attempts that succeeded (none attempted: not shown).`,
        labels,
        yLabel: '%',
        datasets: [
          { label: 'Inbound failure rate %', data: nodes.map((n) => round(n.health.failureRate * 100)) },
          { label: 'Outbound failure rate %', data: nodes.map((n) => (n.health.outbound.successRateLast24h === null
            ? null : round((1 - n.health.outbound.successRateLast24h) * 100))) },
          { label: 'Uptime %', data: nodes.map((n) => (n.health.outbound.successRateLast24h === null
            ? null : round(n.health.outbound.successRateLast24h * 100))) },
        ],
      });
      barChart(slots.latency.body, {
        title: 'Sync latency',
        note: `How far behind each integration's receivers are: seconds since the oldest change still unsent (0: nothing waiting); ${nodes.length} integrations.`,
        labels,
        horizontal: true,
        yLabel: 'seconds',
        datasets: [{ label: 'Seconds behind', data: nodes.map((n) => {
          const oldest = n.health.outbound.oldestUnsentChangeAt;
          return oldest ? Math.max(0, Math.round((now - new Date(oldest)) / 1000)) : 0;
        }) }],
      });
      slots.integrations.body.append(h('p', { class: 'muted' },
        nodes.map((n) => `${n.name}: ${n.health.receivedLast24h} received, ${n.health.failedLast24h} failed, inbound failure rate ${percent(n.health.failureRate)}`).join('; ') || 'No integrations.'));
    }) : null,
  ]);
}

function round(x) {
  return Math.round(x * 10) / 10;
}
