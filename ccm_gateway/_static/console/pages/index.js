// The console's pages, one import per line (a merge keeps both sides' lines). Each module
// exports route, title, render(root, params) and optionally permission, nav and order.
export * as overview from './overview.js';
export * as customers from './customers.js';
export * as customer from './customer.js';
export * as approvals from './approvals.js';
export * as insights from './insights.js';
export * as integrations from './integrations.js';
export * as integration from './integration.js';
export * as reconciliation from './reconciliation.js';
export * as alerts from './alerts.js';
export * as audit from './audit.js';
