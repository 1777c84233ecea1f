// A real OIDC provider (panva/oidc-provider 9) for tests/auth/test_auth_oidc.py and
// tests/console/test_console_oidc.py.
//
//   node provider.mjs <port> [clock-offset-seconds]
//   OIDC_CONSOLE_REDIRECT_URI=http://127.0.0.1:<p>/console/callback node provider.mjs <port>
//
// Listens on 127.0.0.1:<port> with issuer http://127.0.0.1:<port>. Clients use
// client_credentials; resource indicators make the access tokens RS256 JWTs whose
// audience is the requested resource (default urn:ccm:gateway). Each client's
// extra claims (roles, partner) come from CLIENTS below. A clock offset makes
// every time the provider stamps (iat, exp) that many seconds off.
//
// With OIDC_CONSOLE_REDIRECT_URI set there is also the ops console's client,
// ccm-console: authorization code with PKCE (required) to that redirect URI, people
// signing in through the development login and consent forms (any password); their ID
// tokens carry the roles and partner claims of ACCOUNTS below.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.OIDC_PORT);
const offset = Number(process.argv[3] || process.env.OIDC_CLOCK_OFFSET || 0);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node provider.mjs <port> [clock-offset-seconds]');
  process.exit(2);
}
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset * 1000;
}

const SECRET = 'test-secret-0123456789abcdef0123456789';
const CLIENTS = {
  'partner-a': { roles: ['portal-finance', 'portal-unknown'], partner: 'oidc-partner-a' },
  'partner-b-viewer': { roles: 'portal-viewer', partner: 'oidc-partner-b' },
  'no-role': { roles: ['portal-unknown'], partner: 'oidc-partner-a' },
};
const DEFAULT_RESOURCE = 'urn:ccm:gateway';
const CONSOLE_CLIENT = 'ccm-console';
const CONSOLE_REDIRECT_URI = process.env.OIDC_CONSOLE_REDIRECT_URI;
const ACCOUNTS = {
  'staff-finance': { roles: ['ccm-finance', 'ccm-unknown'] },
  'staff-it': { roles: 'ccm-it' },
  'partner-viewer': { roles: ['ccm-viewer'], partner: 'oidc-partner-a' },
  'no-role': { roles: ['ccm-unknown'] },
};
const consoleClients = CONSOLE_REDIRECT_URI ? [{
  client_id: CONSOLE_CLIENT,
  client_secret: SECRET,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  redirect_uris: [CONSOLE_REDIRECT_URI],
  token_endpoint_auth_method: 'client_secret_basic',
}] : [];

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `rsa-${port}`, use: 'sig', alg: 'RS256' };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: Object.keys(CLIENTS).map((id) => ({
    client_id: id,
    client_secret: SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  })).concat(consoleClients),
  jwks: { keys: [jwk] },
  // The console's people: their claims go into the ID token (not only userinfo).
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, ...(ACCOUNTS[id] || {}) }),
  }),
  claims: { openid: ['sub', 'roles', 'partner'], profile: ['name'] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: Boolean(CONSOLE_REDIRECT_URI) },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The console's access tokens are for userinfo, not for a resource server.
      defaultResource: async (ctx, client) => (
        client?.clientId === CONSOLE_CLIENT ? undefined : DEFAULT_RESOURCE),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, resource) => ({
        scope: 'api',
        audience: resource,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: async (ctx, token) => CLIENTS[token.clientId] || undefined,
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on http://127.0.0.1:${port}`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
