// The GraphQL-over-HTTP audit of graphql-http (the spec's reference implementation) run
// against a real server: node http_audit.mjs <graphql url> <bearer token>. Prints one JSON
// line per audit: {id, name, status} with status ok, warn (a SHOULD) or error (a MUST).
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
const authorized = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });

const results = await auditServer({ url, fetchFn: authorized });
for (const result of results) {
  console.log(JSON.stringify({ id: result.id, name: result.name, status: result.status,
                               reason: result.reason }));
}
