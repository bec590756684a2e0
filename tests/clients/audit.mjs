// Runs graphql-http's auditServer (the reference audit of the GraphQL-over-HTTP spec)
// against a live cardcrm: `node audit.mjs <url> <token>`. Every request carries the token.
// Prints one JSON line per audit: id, name, status and, for a failure, the reason and the
// response's HTTP status and body, so a test can fail on any error, warning or 5xx.
import { auditServer } from 'graphql-http';

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error('usage: node audit.mjs <url> <token>');
  process.exit(2);
}

function withToken(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = await auditServer({ url, fetchFn: withToken });
for (const result of results) {
  const line = { id: result.id, name: result.name, status: result.status };
  if (result.status !== 'ok') {
    line.reason = result.reason;
    line.httpStatus = result.response.status;
    line.body = await result.response.clone().text().catch(() => null);
  }
  console.log(JSON.stringify(line));
}
