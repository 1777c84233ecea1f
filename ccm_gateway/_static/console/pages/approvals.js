// The queue of pending limit change requests, oldest deadline last; approvers decide here.
import { gql } from '../api.js';
import { h, replace, pager } from '../ui.js';
import { REQUEST_FIELDS, requestsTable } from './limits.js';

export const route = '#/approvals';
export const title = 'Approvals';
export const permission = 'customer:read';
export const nav = true;
export const order = 3;

const QUERY = `query($first: Int, $after: String, $last: Int, $before: String) {
  creditLimitChangeRequests(filter: { status: PENDING }, first: $first, after: $after, last: $last, before: $before) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { node { ${REQUEST_FIELDS} } } } }`;

export async function render(root) {
  let queue = null;
  queue = pager((page) => gql(QUERY, page).then((d) => d.creditLimitChangeRequests),
    (requests) => requestsTable(requests, { showCustomer: true, caption: 'Pending limit change requests',
      // A decided request leaves the queue; reload it after the notice has been read out.
      onChange: () => setTimeout(() => queue.reload(), 1500) }));
  replace(root, h('h1', {}, 'Approvals'),
    h('p', { class: 'muted' }, 'Limit changes waiting for sign-off, newest first. Increases need approvals by amount band; nobody approves their own request.'),
    queue);
}
