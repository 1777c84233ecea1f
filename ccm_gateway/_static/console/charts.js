// Chart.js wrappers. Each chart is a <figure>: a canvas with role="img" and an aria-label that
// summarises the data, a caption, and a visually hidden table of the same figures for screen
// readers. The container gets data-chart-ready="true" once the chart is drawn (the browser
// tests wait for it). Chart.js (vendor/, UMD) is loaded by index.html as a classic script.
import { h, replace } from './ui.js';

// Colours that keep 3:1 against white for graphical objects (WCAG 1.4.11), told apart by
// lightness as well as hue.
export const PALETTE = ['#1f5fa8', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0f766e',
  '#a16207', '#475569'];
const TEXT = '#1f2937';
const GRID = '#d1d5db';

function chartLib() {
  const Chart = globalThis.Chart;
  if (!Chart) throw new Error('the chart library did not load (vendor/chart.js)');
  Chart.defaults.color = TEXT;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.borderColor = GRID;
  return Chart;
}

function hiddenTable(title, headers, rows) {
  // In a hidden box: a table is never narrower than its content, whatever its width says.
  return h('div', { class: 'visually-hidden' }, h('table', {},
    h('caption', {}, title),
    h('thead', {}, h('tr', {}, headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0
      ? h('th', { scope: 'row' }, String(c)) : h('td', {}, String(c)))))))));
}

function formatNumber(v) {
  return typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(2) : String(v ?? '—');
}

function mount(container, { title, summary, headers, rows, note, height = 260 }) {
  const canvas = h('canvas', { role: 'img', 'aria-label': `${title}. ${summary}` });
  const figure = h('figure', { class: 'chart' },
    h('figcaption', {}, h('span', { class: 'chart-title' }, title),
      note ? h('span', { class: 'chart-note' }, note) : null),
    h('div', { class: 'chart-box', style: `height:${height}px` }, canvas),
    hiddenTable(title, headers, rows));
  container.removeAttribute('data-chart-ready');
  replace(container, figure);
  return canvas;
}

function ready(container, chart) {
  container._chart = chart;
  container.setAttribute('data-chart-ready', 'true');
  return chart;
}

const baseOptions = () => ({
  responsive: true,
  maintainAspectRatio: false,
  // No animation: nothing moves for people who asked for less motion, and the chart is
  // drawn when the constructor returns.
  animation: false,
  plugins: { legend: { position: 'bottom' } },
});

function summaryOf(labels, datasets) {
  return datasets.map((d) => `${d.label}: ${labels.map((l, i) => `${l} ${formatNumber(d.data[i])}`)
    .join(', ')}`).join('; ');
}

/** Bars per label, one colour per dataset; ``stacked`` stacks them, ``horizontal`` lays them flat. */
export function barChart(container, { title, labels, datasets, stacked = false, horizontal = false,
  note, height, yLabel } = {}) {
  const Chart = chartLib();
  const canvas = mount(container, { title, note, height,
    summary: labels.length ? summaryOf(labels, datasets) : 'No data.',
    headers: ['', ...datasets.map((d) => d.label)],
    rows: labels.map((l, i) => [l, ...datasets.map((d) => formatNumber(d.data[i]))]) });
  const valueAxis = { stacked, beginAtZero: true, title: yLabel ? { display: true, text: yLabel } : undefined };
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: datasets.map((d, i) => ({ backgroundColor: PALETTE[i % PALETTE.length],
      ...d })) },
    options: { ...baseOptions(), indexAxis: horizontal ? 'y' : 'x',
      scales: horizontal ? { x: valueAxis, y: { stacked } } : { x: { stacked }, y: valueAxis } },
  });
  return ready(container, chart);
}

export function lineChart(container, { title, labels, datasets, note, height, yLabel } = {}) {
  const Chart = chartLib();
  const canvas = mount(container, { title, note, height,
    summary: labels.length ? summaryOf(labels, datasets) : 'No data.',
    headers: ['', ...datasets.map((d) => d.label)],
    rows: labels.map((l, i) => [l, ...datasets.map((d) => formatNumber(d.data[i]))]) });
  const chart = new Chart(canvas, {
    type: 'line',
    data: { labels, datasets: datasets.map((d, i) => ({ borderColor: PALETTE[i % PALETTE.length],
      backgroundColor: PALETTE[i % PALETTE.length], pointRadius: 4, spanGaps: true, ...d })) },
    options: { ...baseOptions(), scales: { y: { beginAtZero: true,
      title: yLabel ? { display: true, text: yLabel } : undefined } } },
  });
  return ready(container, chart);
}

/** Counts per bucket, bars touching. */
export function histogram(container, { title, buckets, note, height, label = 'Customers' } = {}) {
  const Chart = chartLib();
  const labels = buckets.map((b) => b.label);
  const counts = buckets.map((b) => b.count);
  const canvas = mount(container, { title, note, height,
    summary: buckets.map((b) => `${b.label}: ${b.count}`).join(', ') || 'No data.',
    headers: ['Bucket', label], rows: buckets.map((b) => [b.label, b.count]) });
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label, data: counts, backgroundColor: PALETTE[0],
      categoryPercentage: 1.0, barPercentage: 0.96 }] },
    options: { ...baseOptions(), plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  return ready(container, chart);
}

/** A half-doughnut of a credit account: balance, held and available make up the limit (an
 *  exposure over the limit shows as its own segment). Amounts are decimal strings. */
export function gauge(container, { title, limit, balance, held, available, currency, height = 220 } = {}) {
  const Chart = chartLib();
  const n = (v) => Number(v?.amount ?? v ?? 0);
  const limitN = n(limit);
  const balanceN = Math.max(0, n(balance));
  const heldN = Math.max(0, n(held));
  const availableN = Math.max(0, n(available));
  const over = Math.max(0, balanceN + heldN - limitN);
  const labels = ['Balance', 'Held', 'Available', ...(over > 0 ? ['Over the limit'] : [])];
  const data = [balanceN, heldN, availableN, ...(over > 0 ? [over] : [])];
  const fmt = (v) => `${v.toLocaleString(undefined, { maximumFractionDigits: 3 })} ${currency}`;
  const canvas = mount(container, { title, height,
    summary: `Limit ${fmt(limitN)}; ${labels.map((l, i) => `${l} ${fmt(data[i])}`).join(', ')}`,
    headers: ['Part', `Amount (${currency})`],
    rows: [['Limit', limitN], ...labels.map((l, i) => [l, data[i]])] });
  const chart = new Chart(canvas, {
    type: 'doughnut',
    data: { labels, datasets: [{ label: title, data: data.every((v) => v === 0) ? [0, 0, 1] : data,
      backgroundColor: ['#1f5fa8', '#c2410c', '#15803d', '#b91c1c'] }] },
    options: { ...baseOptions(), rotation: -90, circumference: 180, cutout: '60%' },
  });
  // The figures the gauge stands for, readable by tests and by anything else on the page.
  container.dataset.limit = String(limitN);
  container.dataset.balance = String(balanceN);
  container.dataset.held = String(heldN);
  container.dataset.available = String(availableN);
  return ready(container, chart);
}
