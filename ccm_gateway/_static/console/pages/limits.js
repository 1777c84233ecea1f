// Limit change requests, as the customer page and the approvals queue show them: the table,
// Approve and Reject for holders of credit:limit:approve, and the "Request a change" form.
import { gql, can } from '../api.js';
import { h, table, money, dateTime, badge, button, confirmDialog, withProgress, form } from '../ui.js';

export const REQUEST_FIELDS = `id status source requestedBy reason reasoning requiredApprovals requiredRoles
  createdAt expiresAt decidedAt decisionReason
  currentLimit { amount currency } requestedLimit { amount currency }
  customer { id name }
  approvals { approverId roles decidedAt comment }`;

const TONE = { PENDING: 'warn', APPLIED: 'ok', REJECTED: 'bad', CANCELLED: 'neutral', EXPIRED: 'neutral',
  SUPERSEDED: 'neutral' };

const APPROVE = `mutation($input: ApproveCreditLimitChangeInput!) {
  approveCreditLimitChange(input: $input) { ${REQUEST_FIELDS} } }`;
const REJECT = `mutation($input: RejectCreditLimitChangeInput!) {
  rejectCreditLimitChange(input: $input) { ${REQUEST_FIELDS} } }`;
const REQUEST = `mutation($input: RequestCreditLimitChangeInput!) {
  requestCreditLimitChange(input: $input) { ${REQUEST_FIELDS} } }`;

/** Asks for a limit change; the new request (pending, or applied when no approval is needed). */
export async function requestLimitChange(customerId, amount, currency, reason) {
  const input = { customerId, limit: { amount, currency } };
  if (reason) input.reason = reason;
  return (await gql(REQUEST, { input })).requestCreditLimitChange;
}

function approvalsText(r) {
  const done = r.approvals.map((a) => `${a.approverId} (${a.roles.join(', ')})`).join(', ');
  return `${r.approvals.length} of ${r.requiredApprovals}${r.requiredRoles.length ? `; needs ${r.requiredRoles.join(', ')}` : ''}${done ? `; by ${done}` : ''}`;
}

/** A table of requests; ``onChange(updated)`` after an approval or rejection went through. */
export function requestsTable(requests, { onChange, showCustomer = false, caption = 'Limit change requests' } = {}) {
  const status = h('div', { 'aria-live': 'polite' });
  const decide = (r, action) => async (event) => {
    const row = event.currentTarget.closest('td');
    const verb = action === 'approve' ? 'Approve' : 'Reject';
    const yes = await confirmDialog(`${verb} the change of ${r.customer.name}'s limit from ${money(r.currentLimit)} to ${money(r.requestedLimit)}?`,
      { confirmLabel: verb, kind: action === 'approve' ? 'primary' : 'danger' });
    if (!yes) return;
    const updated = await withProgress(row, action === 'approve' ? 'Approving' : 'Rejecting', async () => {
      const data = await gql(action === 'approve' ? APPROVE : REJECT, { input: { requestId: r.id } });
      return data.approveCreditLimitChange ?? data.rejectCreditLimitChange;
    });
    if (updated) {
      status.replaceChildren(h('p', { class: 'notice', 'data-testid': 'decision-notice' },
        `${verb === 'Approve' ? 'Approved' : 'Rejected'}: the request is now ${updated.status.toLowerCase()}.`));
      onChange?.(updated);
    }
  };
  const columns = [
    ...(showCustomer ? [{ label: 'Customer', value: (r) => h('a', { href: `#/customers/${r.customer.id}` }, r.customer.name) }] : []),
    { label: 'Status', value: (r) => badge(r.status.toLowerCase(), TONE[r.status]) },
    { label: 'Current limit', value: (r) => money(r.currentLimit), numeric: true },
    { label: 'Requested limit', value: (r) => money(r.requestedLimit), numeric: true },
    { label: 'Requested by', value: (r) => `${r.requestedBy} (${r.source.toLowerCase()})` },
    { label: 'Reason', value: (r) => r.reason ?? r.decisionReason ?? '—' },
    { label: 'Approvals', value: approvalsText },
    { label: 'Requested', value: (r) => dateTime(r.createdAt) },
    { label: 'Decision', value: (r) => {
      if (r.status !== 'PENDING') return r.decidedAt ? dateTime(r.decidedAt) : '—';
      const buttons = [
        button('Approve', decide(r, 'approve'), { kind: 'primary', permission: 'credit:limit:approve',
          testid: `approve-${r.id}`, ariaLabel: `Approve ${r.customer.name}: ${money(r.requestedLimit)}` }),
        button('Reject', decide(r, 'reject'), { kind: 'danger', permission: 'credit:limit:approve',
          testid: `reject-${r.id}`, ariaLabel: `Reject ${r.customer.name}: ${money(r.requestedLimit)}` }),
      ].filter(Boolean);
      return buttons.length ? h('div', { class: 'actions' }, buttons) : h('span', { class: 'muted' }, 'awaiting an approver');
    } },
  ];
  return h('div', {}, status, table(columns, requests, { caption, empty: 'No limit change requests.', testid: 'limit-requests' }));
}

/** The "Request a change" form for holders of credit:limit:write; null for everyone else. */
export function requestForm(customer, { onDone } = {}) {
  if (!can('credit:limit:write')) return null;
  const result = h('div', { 'aria-live': 'polite' });
  const el = form([
    { name: 'amount', label: `New limit (${customer.currency})`, required: true, inputmode: 'decimal',
      placeholder: '25000.00', testid: 'request-amount',
      help: 'A decimal amount, with no more decimals than the currency allows. Increases need approval.' },
    { name: 'reason', label: 'Reason', type: 'textarea', testid: 'request-reason' },
  ], async (values) => {
    if (!/^\d+(\.\d+)?$/.test(values.amount)) {
      const err = new Error(`The new limit must be a decimal amount such as 25000.00, not "${values.amount}".`);
      err.field = 'amount';
      throw err;
    }
    const made = await requestLimitChange(customer.id, values.amount, customer.currency, values.reason);
    result.replaceChildren(h('p', { class: 'notice', 'data-testid': 'request-notice' },
      `Requested ${money(made.requestedLimit)}: the request is ${made.status.toLowerCase()}.`));
    onDone?.(made);
  }, { submitLabel: 'Request a change', testid: 'request-change' });
  return h('div', {}, el, result);
}
