// npm jose verifying one of the gateway's access tokens with its defaults, as a Node
// resource server would, for tests/auth/test_auth_jwt_interop.py.
//
//   node verify.mjs <jwks-url> <issuer> <audience>   (the token on standard input)
//
// Prints the verified header and claims as JSON; exits 1 with jose's error otherwise.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, audience] = process.argv.slice(2);
if (!jwksUrl || !issuer || !audience) {
  console.error('usage: node verify.mjs <jwks-url> <issuer> <audience> < token');
  process.exit(2);
}
let token = '';
for await (const chunk of process.stdin) token += chunk;

try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token.trim(), jwks, { issuer, audience });
  console.log(JSON.stringify({ header: protectedHeader, claims: payload }));
} catch (error) {
  console.error(`${error.code || error.name}: ${error.message}`);
  process.exit(1);
}
