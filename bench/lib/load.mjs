// Load generation over HTTPS on loopback: autocannon for timed runs, and a plain keep-alive
// client for loading a fixed set of batches.
import http from 'node:http';
import https from 'node:https';
import autocannon from 'autocannon';

const quantile = (sorted, q) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]) : null);

/**
 * Sends requests for `seconds` over `connections`: bodies from `body()` (writes) or paths cycled
 * from `paths` (reads). `onAccepted(transid, atMs)` hears 202 answers, at most one per
 * `sampleEveryMs`.
 *
 * Latency p50/p99/max are of each connection's requests after its first. The first includes
 * opening the connection (TCP, TLS), and a server whose event loop is busy takes on new
 * connections one per loop turn, so when all connections open at once their first answers form
 * a staircase that says nothing about steady-state latency; it is reported on its own
 * (`firstMax`), and autocannon's own p99 over every request is kept too (`allP99`).
 * `allConnectedAt` is when the last connection got its first answer. `overallRate`: at most that
 * many requests a second over all connections (autocannon's own pacing); without it, each
 * connection sends its next request as soon as the last is answered.
 */
export async function load({ url, key, method, path, paths, body, connections, seconds, headers = {}, onAccepted, sampleEveryMs = 200, overallRate }) {
  let i = 0;
  let lastSample = 0;
  const onResponse = onAccepted
    ? (status, text) => {
        const now = Date.now();
        if (status !== 202 || now - lastSample < sampleEveryMs) return;
        lastSample = now;
        const transid = /"transid":"([^"]+)"/.exec(text)?.[1];
        if (transid) onAccepted(transid, now);
      }
    : undefined;
  const instance = autocannon({
    url,
    connections,
    duration: seconds,
    ...(overallRate && { overallRate }),
    tlsOptions: { rejectUnauthorized: false },
    requests: [
      {
        method,
        path: path ?? paths[0],
        headers: { key, ...(body && { 'content-type': 'application/json' }), ...headers },
        setupRequest(request) {
          const n = i++;
          if (body) request.body = body();
          if (paths) request.path = paths[n % paths.length];
          return request;
        },
        ...(onResponse && { onResponse }),
      },
    ],
  });
  const seen = new Set();
  const steady = [];
  const first = [];
  let allConnectedAt = null;
  instance.on('response', (client, _status, _bytes, ms) => {
    if (seen.has(client)) steady.push(ms);
    else {
      seen.add(client);
      first.push(ms);
      if (seen.size === connections) allConnectedAt = Date.now();
    }
  });
  const result = await instance;
  steady.sort((a, b) => a - b);
  const statuses = {};
  for (const [k, v] of Object.entries(result.statusCodeStats ?? {})) statuses[k] = v.count;
  return {
    requestsPerSecond: Math.round(result.requests.average),
    ok: result['2xx'],
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: quantile(steady, 0.5),
    p99: quantile(steady, 0.99),
    max: steady.length ? Math.round(steady.at(-1)) : null,
    firstMax: first.length ? Math.round(Math.max(...first)) : null,
    allP99: result.latency.p99,
    allConnectedAt,
    seconds,
  };
}

/** A keep-alive HTTPS client for the service: `request(method, path, body?, headers?)` → { status, text }. */
export function client(svc, sockets = 4) {
  const transport = svc.url.startsWith('https:') ? https : http;
  const agent = new transport.Agent({ rejectUnauthorized: false, keepAlive: true, maxSockets: sockets });
  const request = (method, path, body, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = transport.request(`${svc.url}${path}`, { method, agent, headers: { key: svc.key, 'content-type': 'application/json', ...headers } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  /** Opens every socket now (a server under load takes on new connections one per event-loop turn). */
  const warm = () => Promise.all(Array.from({ length: sockets }, () => request('GET', '/healthz')));
  return { request, warm, close: () => agent.destroy() };
}

/**
 * Sends `count` bodies, `body(i)` each, over `parallel` connections, as fast as they are accepted.
 * A 503 (queue full) or 429 waits 200 ms and sends the same body again.
 */
export async function push(svc, method, path, count, body, parallel = 8) {
  const http = client(svc, parallel);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < count) {
          const text = body(next++);
          for (;;) {
            const { status } = await http.request(method, path, text);
            if (status === 202) break;
            if (status !== 503 && status !== 429) throw new Error(`load: HTTP ${status}`);
            await new Promise((r) => setTimeout(r, 200));
          }
        }
      }),
    );
  } finally {
    http.close();
  }
}
