// Boot, session and router: reads the session, shows the sign-in screen or the signed-in
// shell (who, Sign out, the nav of the pages the viewer may read), and renders the page the
// location's hash names. Pages are the modules pages/index.js lists.
import { loadSession, onSessionChange, session, signInDev, signOut, can } from './api.js';
import { h, replace, form, showError, loading, button } from './ui.js';
import * as registry from './pages/index.js';

const ROLES = ['admin', 'finance', 'credit_manager', 'it_admin', 'auditor', 'viewer'];
const DEFAULT_ROUTE = '#/overview';

// Pages in nav order: an optional `order` export first (the core pages set one), then title.
const pages = Object.values(registry)
  .filter((p) => p && typeof p.render === 'function' && p.route)
  .sort((a, b) => (a.order ?? 50) - (b.order ?? 50) || a.title.localeCompare(b.title));

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let cleanup = null;
let rendering = 0;
// Focus moves to a new page's heading after navigation, not on the first load (where the
// skip link must stay the first stop).
let navigated = false;

function focusHeading() {
  const heading = main.querySelector('h1');
  if (!heading || !navigated) return;
  // Not when the user has already moved on into the page while it loaded.
  const at = document.activeElement;
  if (at && at !== main && main.contains(at) && at !== heading) return;
  heading.setAttribute('tabindex', '-1');
  heading.focus();
}

function compile(route) {
  const names = [];
  const pattern = route.replace(/^#/, '').split('/').map((part) => {
    if (part.startsWith(':')) {
      names.push(part.slice(1));
      return '([^/]+)';
    }
    return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }).join('/');
  return { regex: new RegExp(`^${pattern}/?$`), names };
}
const compiled = pages.map((page) => ({ page, ...compile(page.route) }));

function match(hash) {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  for (const { page, regex, names } of compiled) {
    const m = regex.exec(path || '/');
    if (m) {
      const params = Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      for (const [k, v] of new URLSearchParams(query)) if (!(k in params)) params[k] = v;
      return { page, params };
    }
  }
  return null;
}

function drawWho() {
  if (!session.signedIn) {
    replace(who);
    return;
  }
  replace(who,
    h('span', { class: 'who-name', 'data-testid': 'who' }, session.subject ?? 'signed in'),
    h('span', { class: 'who-roles' }, (session.roles ?? []).join(', ')),
    session.partnerId ? h('span', { class: 'who-roles' }, `partner ${session.partnerId}`) : null,
    button('Sign out', async (event) => {
      event.currentTarget.disabled = true;
      try {
        await signOut();
      } catch (err) {
        showError(main, err);
      }
    }, { testid: 'sign-out' }));
}

function drawNav(current) {
  if (!session.signedIn) {
    replace(nav);
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  const items = pages.filter((p) => p.nav !== false && (!p.permission || can(p.permission)));
  replace(nav, h('ul', {}, items.map((p) => h('li', {}, h('a', {
    href: p.route, 'data-testid': `nav-${p.route.replace(/^#\//, '').replace(/\/.*/, '')}`,
    'aria-current': current === p ? 'page' : null,
  }, p.title)))));
}

function signInScreen() {
  document.title = 'Sign in · CCM Gateway console';
  const parts = [h('h1', { tabindex: '-1' }, 'Sign in')];
  if (session.devSignIn) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'dev-sign-in' },
      h('h2', { id: 'dev-sign-in' }, 'Development sign-in'),
      h('p', {}, `This gateway runs in ${session.env ?? 'dev'}: a development token is minted for the subject and roles you choose.`),
      form([
        { name: 'subject', label: 'Subject (who you are)', required: true, value: 'dev-user',
          testid: 'dev-subject' },
        { name: 'roles', label: 'Roles', type: 'checkboxes', required: true, value: ['admin'],
          options: ROLES },
        { name: 'partnerId', label: 'Partner id (optional: sign in as a partner portal user)',
          testid: 'dev-partner' },
      ], async (values) => {
        await signInDev(values.subject, values.roles, values.partnerId || null);
      }, { submitLabel: 'Sign in with a development token', testid: 'dev-sign-in' })));
  }
  if (session.oidc) {
    parts.push(h('section', { class: 'card', 'aria-labelledby': 'oidc-sign-in' },
      h('h2', { id: 'oidc-sign-in' }, 'Staff and partner sign-in'),
      h('p', {}, 'Sign in with your organisation\'s account.'),
      h('a', { class: 'btn btn-primary', href: 'console/login', 'data-testid': 'oidc-sign-in' },
        'Sign in')));
  }
  if (!session.devSignIn && !session.oidc) {
    parts.push(h('p', { class: 'error', role: 'alert' },
      'No sign-in method is configured on this gateway: set an OpenID Connect issuer (prod) or run it with CCM_ENV=dev.'));
  }
  replace(main, h('div', { class: 'sign-in' }, parts));
  focusHeading();
}

async function route() {
  const ticket = ++rendering;
  if (cleanup) {
    try { cleanup(); } catch { /* a page's cleanup must not stop navigation */ }
    cleanup = null;
  }
  drawWho();
  if (!session.signedIn) {
    drawNav(null);
    signInScreen();
    return;
  }
  if (!location.hash || location.hash === '#' || location.hash === '#/') {
    history.replaceState(null, '', DEFAULT_ROUTE);
  }
  const found = match(location.hash);
  drawNav(found?.page ?? null);
  if (!found) {
    document.title = 'Not found · CCM Gateway console';
    replace(main, h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', {}, 'There is no console page at this address. '), h('a', { href: DEFAULT_ROUTE }, 'Go to the overview'));
    focusHeading();
    return;
  }
  const { page, params } = found;
  document.title = `${page.title} · CCM Gateway console`;
  if (page.permission && !can(page.permission)) {
    replace(main, h('h1', { tabindex: '-1' }, page.title),
      h('p', { class: 'error', role: 'alert' },
        `Your roles (${(session.roles ?? []).join(', ') || 'none'}) do not grant ${page.permission}, which this page needs.`));
    focusHeading();
    return;
  }
  // The page draws into a root that is already in the document, so its charts can measure
  // their boxes; the progress line goes once render() is done.
  const progress = loading(`Loading ${page.title}`);
  const root = h('div', { class: 'page', 'data-page': page.route });
  replace(main, progress, root);
  // Until the heading is there, focus waits on <main> (not on the link just left behind).
  if (navigated) main.focus();
  try {
    const result = await page.render(root, params);
    if (ticket !== rendering) {
      if (typeof result === 'function') result();
      return;
    }
    cleanup = typeof result === 'function' ? result : null;
  } catch (err) {
    if (ticket !== rendering) return;
    if (!root.querySelector('h1')) root.prepend(h('h1', { tabindex: '-1' }, page.title));
    const box = h('div');
    root.append(box);
    showError(box, err);
  } finally {
    progress.remove();
  }
  // Keyboard and screen-reader users start on the new page's heading.
  focusHeading();
}

async function boot() {
  try {
    await loadSession();
  } catch (err) {
    replace(main, h('h1', {}, 'The console cannot reach the gateway'));
    const box = h('div');
    main.append(box);
    showError(box, err);
    return;
  }
  onSessionChange(() => { navigated = true; route(); });
  window.addEventListener('hashchange', () => { navigated = true; route(); });
  route();
}

boot();
