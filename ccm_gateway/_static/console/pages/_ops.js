// Helpers the ops pages (integrations, reconciliation, alerts, audit) share, built on ui.js
// only. General enough for ui.js; kept here until the core takes them.
import { h, badge, withProgress } from '../ui.js';

/** An enum value as a badge: "DEAD" -> "dead", coloured by ``tones`` (text, never colour
 *  alone, tells the state). */
export function enumBadge(value, tones = {}, label = null) {
  if (!value) return '—';
  return badge(label ?? String(value).replaceAll('_', ' ').toLowerCase(), tones[value] ?? 'neutral');
}

/** A row's action buttons (nulls, the buttons the viewer may not use, left out); a dash
 *  when none is left. */
export function actions(...buttons) {
  const shown = buttons.flat().filter(Boolean);
  return shown.length ? h('div', { class: 'actions' }, shown) : '—';
}

/** A polite live region; ``say(text)`` announces text to screen readers and shows it. */
export function liveRegion(testid) {
  const el = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite', hidden: true,
    'data-testid': testid });
  el.say = (text) => {
    el.hidden = false;
    el.textContent = text;
  };
  return el;
}

/** Calls ``fetchOnce`` until ``done(result)`` or ``timeoutMs`` pass; the last result. */
export async function pollUntil(fetchOnce, done, { timeoutMs = 20_000, intervalMs = 500 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let result = await fetchOnce();
  while (!done(result) && Date.now() < deadline) {
    await new Promise((resolve) => { setTimeout(resolve, intervalMs); });
    result = await fetchOnce();
  }
  return result;
}

/** Runs a row's action with progress inside ``cell``; true when it succeeded (its error
 *  stays shown in the cell otherwise). */
export async function act(cell, label, fn) {
  let ok = false;
  await withProgress(cell, label, async () => {
    await fn();
    ok = true;
  });
  return ok;
}

let fieldSeq = 0;

/** ``input`` (an <input>, <select> or <textarea>) with its <label>, in a .field. */
export function labelled(label, input, help = null) {
  const id = input.id || `ops-field-${++fieldSeq}`;
  input.id = id;
  const helpEl = help ? h('p', { id: `${id}-help`, class: 'help' }, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, helpEl);
}

let dialogSeq = 0;

/** A modal <dialog> asking for a note (required unless ``optional``); resolves the note, or
 *  null on Cancel or Escape. */
export function noteDialog(message, { label = 'Note', confirmLabel = 'Save', optional = false,
  testid = 'note-dialog' } = {}) {
  return new Promise((resolve) => {
    const id = `note-${++dialogSeq}`;
    const input = h('textarea', { id, rows: 3, required: !optional, 'data-testid': `${testid}-note`,
      'aria-describedby': `${id}-message` });
    const problem = h('p', { class: 'error', role: 'alert', hidden: true });
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': `${id}-message`, 'data-testid': testid },
      h('form', { method: 'dialog', class: 'form', novalidate: true, onSubmit: (event) => {
        event.preventDefault();
        const note = input.value.trim();
        if (!note && !optional) {
          problem.hidden = false;
          problem.textContent = `Fill in: ${label}.`;
          input.setAttribute('aria-invalid', 'true');
          input.focus();
          return;
        }
        close(note);
      } },
      h('p', { id: `${id}-message` }, message),
      h('div', { class: 'field' }, h('label', { for: id }, label, optional ? ' (optional)' : null), input),
      problem,
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': `${testid}-save` }, confirmLabel),
        h('button', { type: 'button', class: 'btn btn-plain', 'data-testid': `${testid}-cancel`,
          onClick: () => close(null) }, 'Cancel'))));
    const opener = document.activeElement;
    function close(answer) {
      dialog.close();
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(answer);
    }
    dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(null); });
    document.body.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

/** A <dl class="stats"> of [term, value] pairs. */
export function stats(pairs, testid) {
  return h('dl', { class: 'stats', 'data-testid': testid },
    pairs.filter(Boolean).map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', {}, value ?? '—'))));
}

/** An ISO instant from a <input type="datetime-local"> value (local time); '' -> null. */
export function instantOf(localValue, label) {
  if (!localValue) return null;
  const d = new Date(localValue);
  if (Number.isNaN(d.getTime())) {
    throw new Error(`${label} is not a date and time.`);
  }
  return d.toISOString();
}
