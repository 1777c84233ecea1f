// The console's one way to the gateway: the cookie session (/console/session), short-lived
// bearer tokens minted from it (/console/token, CSRF-protected), GraphQL over HTTP and
// subscriptions over graphql-transport-ws. Pages never call fetch themselves, so every call
// carries the same authentication and reports failures the same way.

// Every URL is relative to where the console is served (…/console/static/api.js), so a path
// prefix in front of the gateway still works.
const CONSOLE_URL = new URL('..', import.meta.url);
const url = (path) => new URL(path, CONSOLE_URL).toString();
const GRAPHQL_URL = url('../graphql');
// Mint a new access token this long before the current one expires.
const REFRESH_MARGIN_MS = 30_000;

/** GET /console/session as last read; a live binding, replaced on sign-in and sign-out. */
export let session = { signedIn: false };

/** A GraphQL error response: the server's messages joined, its first error code and field. */
export class GraphQLFailure extends Error {
  constructor(errors, status = 200) {
    super(errors.map((e) => e.message).join('; ') || `the request failed (HTTP ${status})`);
    this.name = 'GraphQLFailure';
    this.errors = errors;
    const first = errors[0] ?? {};
    this.code = first.extensions?.code ?? null;
    this.field = first.extensions?.field ?? null;
    this.status = status;
  }
}

const listeners = new Set();
/** Calls ``fn(session)`` whenever the session changes (app.js redraws the shell). */
export function onSessionChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function setSession(next) {
  session = next;
  token = null;
  if (wsClient) {
    wsClient.dispose();
    wsClient = null;
  }
  for (const fn of listeners) fn(session);
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body?.error_description ?? body?.message ?? body?.error
      ?? (text && text.length < 300 ? text : `HTTP ${response.status}`);
    throw new GraphQLFailure([{ message, extensions: { code: body?.code ?? body?.error ?? null } }],
      response.status);
  }
  return body;
}

export async function loadSession() {
  const response = await fetch(url('session'), {
    credentials: 'same-origin', headers: { Accept: 'application/json' }, cache: 'no-store',
  });
  setSession(await answer(response));
  return session;
}

/** Dev only: starts a cookie session for ``subject`` with ``roles`` (the server refuses in prod). */
export async function signInDev(subject, roles, partnerId = null) {
  const body = { subject, roles };
  if (partnerId) body.partnerId = partnerId;
  await answer(await fetch(url('session/dev'), {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  }));
  return loadSession();
}

/** Ends the session on the server, then forgets it here. */
export async function signOut() {
  try {
    await answer(await fetch(url('logout'), {
      method: 'POST', credentials: 'same-origin',
      headers: { 'X-CSRF-Token': session.csrfToken ?? '', Accept: 'application/json' },
    }));
  } finally {
    await loadSession().catch(() => setSession({ ...session, signedIn: false }));
  }
}

export function can(permission) {
  return Boolean(session.signedIn && session.permissions?.includes(permission));
}

// The current access token and when to mint the next; never stored outside this module.
let token = null;
let minting = null;

async function accessToken() {
  if (token && Date.now() < token.refreshAt) return token.value;
  if (!minting) {
    minting = (async () => {
      const started = Date.now();
      const body = await answer(await fetch(url('token'), {
        method: 'POST', credentials: 'same-origin',
        headers: { 'X-CSRF-Token': session.csrfToken ?? '', Accept: 'application/json' },
      }));
      const lifetime = Math.max(0, Number(body.expiresIn) * 1000 - REFRESH_MARGIN_MS);
      token = { value: body.accessToken, refreshAt: started + lifetime };
      return token.value;
    })().finally(() => { minting = null; });
  }
  return minting;
}

async function sessionEnded(err) {
  // An expired or ended session: show the sign-in screen instead of a page of errors.
  if (err instanceof GraphQLFailure && err.status === 401) {
    await loadSession().catch(() => setSession({ signedIn: false }));
  }
  throw err;
}

/** Runs a GraphQL operation; its data, or a GraphQLFailure naming what the server refused. */
export async function gql(query, variables = {}) {
  let bearer;
  try {
    bearer = await accessToken();
  } catch (err) {
    return sessionEnded(err);
  }
  const response = await fetch(GRAPHQL_URL, {
    method: 'POST', credentials: 'omit',
    headers: {
      'Content-Type': 'application/json', Accept: 'application/json',
      Authorization: `Bearer ${bearer}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  let body;
  try {
    body = await answer(response);
  } catch (err) {
    return sessionEnded(err);
  }
  if (body?.errors?.length) throw new GraphQLFailure(body.errors, response.status);
  return body.data;
}

let wsClient = null;

function wsUrl() {
  const u = new URL(GRAPHQL_URL);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

function client() {
  if (!wsClient) {
    // The UMD build of graphql-ws (vendor/), loaded by index.html as a classic script.
    wsClient = globalThis.graphqlWs.createClient({
      url: wsUrl(),
      lazy: true,
      retryAttempts: 20,
      // Called on every (re)connect, so a reconnect authenticates with a fresh token.
      connectionParams: async () => ({ Authorization: `Bearer ${await accessToken()}` }),
    });
  }
  return wsClient;
}

/** Subscribes over the shared graphql-ws client; returns the function that unsubscribes. */
export function subscribe(query, variables, { next, error, complete } = {}) {
  return client().subscribe({ query, variables }, {
    next: (result) => {
      if (result.errors?.length) error?.(new GraphQLFailure(result.errors));
      else next?.(result.data);
    },
    error: (err) => {
      if (Array.isArray(err)) error?.(new GraphQLFailure(err));
      else if (err instanceof Error) error?.(err);
      else error?.(new Error(`the live connection closed${err?.reason ? `: ${err.reason}` : ''}`));
    },
    complete: () => complete?.(),
  });
}

/** A file from the gateway (e.g. ``/reports/aging.csv``), fetched with the bearer token. */
export async function download(path) {
  const response = await fetch(url(`..${path.startsWith('/') ? path : `/${path}`}`), {
    credentials: 'omit', headers: { Authorization: `Bearer ${await accessToken()}` },
  });
  if (!response.ok) await answer(response);
  return response.blob();
}
