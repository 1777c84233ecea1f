// DOM helpers every page builds with. Text always goes in as text nodes (never innerHTML),
// every control has a label, and every control is reachable and usable by keyboard.
import { can } from './api.js';

const BOOLEAN_ATTRIBUTES = new Set(['disabled', 'required', 'hidden', 'checked', 'selected',
  'readonly', 'multiple', 'open']);

/** ``h('button', {class: 'primary', onClick: fn, 'aria-label': '…'}, 'Save')``. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') el.textContent = String(value);
    else if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'value' && 'value' in el) el.value = value;
    else if (BOOLEAN_ATTRIBUTES.has(key)) el.toggleAttribute(key, Boolean(value));
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Empties ``el`` and fills it with ``children``. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A table; ``columns``: [{label, value: row => node|string, numeric?}]. */
export function table(columns, rows, { caption, empty = 'Nothing to show.', testid } = {}) {
  if (!rows.length) return h('p', { class: 'empty', 'data-testid': testid }, empty);
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region',
    'aria-label': caption ?? 'Table', 'data-testid': testid },
  h('table', {},
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', {
      scope: 'col', class: c.numeric ? 'numeric' : null }, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', {
      class: c.numeric ? 'numeric' : null }, c.value(row) ?? '—')))))));
}

/** A button, or null when ``permission`` is given and the viewer lacks it. */
export function button(label, onClick, { kind = 'plain', permission, testid, type = 'button',
  ariaLabel } = {}) {
  if (permission && !can(permission)) return null;
  return h('button', { type, class: `btn btn-${kind}`, 'data-testid': testid,
    'aria-label': ariaLabel, onClick }, label);
}

function groupDigits(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "1,250.50 EUR" from a Money {amount, currency}; the amount stays a decimal string. */
export function money(m) {
  if (!m) return '—';
  const raw = String(m.amount);
  const negative = raw.startsWith('-');
  const [whole, fraction] = raw.replace(/^-/, '').split('.');
  return `${negative ? '−' : ''}${groupDigits(whole)}${fraction ? `.${fraction}` : ''} ${m.currency}`;
}

/** A Money amount as a Number, for charts only (never for arithmetic on money). */
export function amountNumber(m) {
  return m ? Number(m.amount) : 0;
}

export function dateTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric',
    hour: '2-digit', minute: '2-digit' });
}

export function date(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso)
    : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

/** 0.853 -> "85.3 %"; null -> "—". */
export function percent(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(Number(x))) return '—';
  return `${(Number(x) * 100).toFixed(digits)} %`;
}

/** A status word as a badge (text and colour, never colour alone). */
export function badge(text, tone = 'neutral') {
  return h('span', { class: `badge badge-${tone}` }, text);
}

/** Replaces ``container``'s content with an alert saying what was wrong. */
export function showError(container, err) {
  const box = errorBox(err);
  replace(container, box);
  return box;
}

export function errorBox(err) {
  const message = err?.message || String(err);
  const details = [];
  if (err?.field) details.push(h('span', {}, `Field: ${err.field}`));
  if (err?.code) details.push(h('span', { class: 'code' }, `Code: ${err.code}`));
  return h('div', { class: 'error', role: 'alert', 'data-testid': 'error' },
    h('strong', {}, 'Could not complete this: '), message,
    details.length ? h('div', { class: 'error-details' }, details) : null);
}

/** Runs ``promiseFn`` with ``container``'s controls disabled and a progress indicator shown;
 *  then shows the error in ``container`` or returns the result. */
export async function withProgress(container, label, promiseFn) {
  const controls = [...container.querySelectorAll('button, input, select, textarea')]
    .filter((c) => !c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  container.setAttribute('aria-busy', 'true');
  container.querySelectorAll(':scope > .error, :scope > .progress').forEach((e) => e.remove());
  const status = h('div', { class: 'progress', role: 'status', 'data-testid': 'progress' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${label}…`);
  container.append(status);
  try {
    return await promiseFn();
  } catch (err) {
    container.append(errorBox(err));
    return undefined;
  } finally {
    status.remove();
    container.removeAttribute('aria-busy');
    controls.forEach((c) => { if (c.isConnected) c.disabled = false; });
  }
}

let fieldSeq = 0;

/** A labelled form; ``fields``: [{name, label, type, required, options?, value?, help?, min?,
 *  step?}]; ``onSubmit(values)`` may be async, and its error shows inline. */
export function form(fields, onSubmit, { submitLabel = 'Save', testid, cancel } = {}) {
  const inputs = {};
  const el = h('form', { class: 'form', 'data-testid': testid, novalidate: true });
  for (const f of fields) {
    const id = `f${++fieldSeq}-${f.name}`;
    const helpId = f.help ? `${id}-help` : null;
    let input;
    const common = { id, name: f.name, required: f.required, 'aria-describedby': helpId,
      'data-testid': f.testid ?? `field-${f.name}` };
    if (f.type === 'select') {
      input = h('select', common, (f.options ?? []).map((o) => {
        const opt = typeof o === 'string' ? { value: o, label: o } : o;
        return h('option', { value: opt.value, selected: String(opt.value) === String(f.value ?? '') },
          opt.label);
      }));
    } else if (f.type === 'checkboxes') {
      input = h('fieldset', { class: 'checks', id, 'aria-describedby': helpId },
        h('legend', {}, f.label),
        (f.options ?? []).map((o) => {
          const opt = typeof o === 'string' ? { value: o, label: o } : o;
          const cid = `${id}-${opt.value}`;
          return h('label', { for: cid, class: 'check' },
            h('input', { type: 'checkbox', id: cid, name: f.name, value: opt.value,
              checked: (f.value ?? []).includes(opt.value), 'data-testid': `check-${f.name}-${opt.value}` }),
            opt.label);
        }));
    } else if (f.type === 'textarea') {
      input = h('textarea', { ...common, rows: 3 }, f.value ?? '');
    } else {
      input = h('input', { ...common, type: f.type ?? 'text', value: f.value ?? '',
        min: f.min, max: f.max, step: f.step, placeholder: f.placeholder,
        inputmode: f.inputmode, autocomplete: f.autocomplete ?? 'off' });
    }
    inputs[f.name] = { field: f, input };
    el.append(f.type === 'checkboxes'
      ? h('div', { class: 'field' }, input, helpId ? h('p', { id: helpId, class: 'help' }, f.help) : null)
      : h('div', { class: 'field' }, h('label', { for: id }, f.label, f.required ? h('span', {
        class: 'req', 'aria-hidden': 'true' }, ' *') : null), input,
      helpId ? h('p', { id: helpId, class: 'help' }, f.help) : null));
  }
  const actions = h('div', { class: 'actions' },
    h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': testid ? `${testid}-submit` : null },
      submitLabel),
    cancel ? h('button', { type: 'button', class: 'btn btn-plain', onClick: cancel }, 'Cancel') : null);
  el.append(actions);
  el.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = {};
    const missing = [];
    for (const [name, { field, input }] of Object.entries(inputs)) {
      if (field.type === 'checkboxes') {
        values[name] = [...input.querySelectorAll('input:checked')].map((c) => c.value);
        if (field.required && !values[name].length) missing.push(field.label);
      } else {
        values[name] = input.value.trim();
        input.removeAttribute('aria-invalid');
        if (field.required && !values[name]) {
          missing.push(field.label);
          input.setAttribute('aria-invalid', 'true');
        }
      }
    }
    el.querySelectorAll(':scope > .error').forEach((e) => e.remove());
    if (missing.length) {
      el.append(errorBox(new Error(`Fill in: ${missing.join(', ')}.`)));
      return;
    }
    await withProgress(el, submitLabel, () => onSubmit(values));
  });
  return el;
}

/** An accessible modal <dialog>; resolves true on confirm, false on cancel or Escape. */
export function confirmDialog(message, { confirmLabel = 'Confirm', kind = 'primary' } = {}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-message',
      'data-testid': 'confirm-dialog' },
    h('p', { id: 'dialog-message' }, message),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: `btn btn-${kind}`, 'data-testid': 'confirm-yes',
        onClick: () => close(true) }, confirmLabel),
      h('button', { type: 'button', class: 'btn btn-plain', 'data-testid': 'confirm-no',
        onClick: () => close(false) }, 'Cancel')));
    const opener = document.activeElement;
    function close(answer) {
      dialog.close();
      dialog.remove();
      if (opener instanceof HTMLElement) opener.focus();
      resolve(answer);
    }
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); close(false); });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('button').focus();
  });
}

/** "Previous page" / "Next page" over a Relay connection. ``connectionFetcher({first, after,
 *  last, before})`` returns the connection; ``renderRows(nodes)`` returns the node to show. */
export function pager(connectionFetcher, renderRows, { pageSize = 25 } = {}) {
  const body = h('div', { class: 'pager-body', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'btn btn-plain', 'data-testid': 'page-prev' },
    'Previous page');
  const next = h('button', { type: 'button', class: 'btn btn-plain', 'data-testid': 'page-next' },
    'Next page');
  const el = h('div', { class: 'pager' }, body, h('nav', { class: 'pager-nav',
    'aria-label': 'Pages' }, prev, next));
  let info = null;
  async function load(args) {
    prev.disabled = true;
    next.disabled = true;
    const done = await withProgress(el, 'Loading', async () => {
      const connection = await connectionFetcher(args);
      info = connection.pageInfo;
      replace(body, renderRows(connection.edges.map((e) => e.node)));
      return true;
    });
    prev.disabled = !(done && info?.hasPreviousPage);
    next.disabled = !(done && info?.hasNextPage);
  }
  prev.addEventListener('click', () => load({ last: pageSize, before: info.startCursor }));
  next.addEventListener('click', () => load({ first: pageSize, after: info.endCursor }));
  el.reload = () => load({ first: pageSize });
  el.reload();
  return el;
}

/** Shows a secret once with a Copy button; it is kept nowhere but this element. */
export function secretOnce(container, label, secret) {
  const value = h('code', { class: 'secret-value', 'data-testid': 'secret-value' }, secret);
  const status = h('span', { role: 'status', class: 'copy-status' });
  const box = h('section', { class: 'secret', 'aria-label': label, 'data-testid': 'secret-once' },
    h('h2', {}, label),
    h('p', { class: 'warning' }, 'This is shown once. Copy it now and store it safely: it cannot be shown again.'),
    value,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'secret-copy',
        onClick: async () => {
          try {
            await navigator.clipboard.writeText(secret);
            status.textContent = 'Copied.';
          } catch {
            const range = document.createRange();
            range.selectNodeContents(value);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            status.textContent = 'Selected: press Ctrl+C to copy.';
          }
        } }, 'Copy'),
      h('button', { type: 'button', class: 'btn btn-plain', 'data-testid': 'secret-dismiss',
        onClick: () => box.remove() }, 'I have stored it'),
      status));
  container.append(box);
  return box;
}

/** A section with a heading; ``level`` 2 by default. */
export function section(title, ...children) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...children);
}

/** "Loading…" placeholder with role=status, replaced by the caller. */
export function loading(label = 'Loading') {
  return h('div', { class: 'progress', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${label}…`);
}

/** Fills ``container`` from ``promiseFn``'s result via ``render``, with progress and errors. */
export async function load(container, label, promiseFn, render) {
  replace(container, loading(label));
  container.setAttribute('aria-busy', 'true');
  try {
    const result = await promiseFn();
    replace(container, render(result));
  } catch (err) {
    showError(container, err);
  } finally {
    container.removeAttribute('aria-busy');
  }
}
