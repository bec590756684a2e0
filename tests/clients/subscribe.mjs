// Subscribes with graphql-ws (the reference graphql-transport-ws client, as Apollo Client
// and urql use it) to a live cardcrm: `node subscribe.mjs <ws-url> <token> <query> [variables]`.
// Prints one JSON line per thing that happens: {"event":"opened"}, {"event":"connected"}
// (the server's connection_ack), {"event":"next","payload":...}, {"event":"error",...},
// {"event":"closed","code":...,"reason":...}; it stops after the first result or at a close.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, token, query, variables] = process.argv.slice(2);
if (!url || !token || !query) {
  console.error('usage: node subscribe.mjs <ws-url> <token> <query> [variables-json]');
  process.exit(2);
}

const print = (line) => console.log(JSON.stringify(line));
const client = createClient({
  url,
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  lazy: false,
  retryAttempts: 0,
  on: {
    opened: () => print({ event: 'opened' }),
    connected: () => print({ event: 'connected' }),
    closed: (event) => print({ event: 'closed', code: event.code, reason: event.reason }),
    error: (error) => print({ event: 'error', message: String(error?.message ?? error) }),
  },
});

const finish = (code) => client.dispose().finally(() => process.exit(code));

client.subscribe(
  { query, variables: variables ? JSON.parse(variables) : {} },
  {
    next: (payload) => {
      print({ event: 'next', payload });
      finish(0);
    },
    error: (error) => {
      const detail = Array.isArray(error)
        ? { errors: error }
        : { code: error?.code, reason: error?.reason, message: error?.message };
      print({ event: 'failed', ...detail });
      finish(1);
    },
    complete: () => {
      print({ event: 'complete' });
      finish(0);
    },
  },
);
