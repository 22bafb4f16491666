// autocannon (the load generator), driven from this process over HTTPS on loopback.
import autocannon from 'autocannon';

/**
 * Sends requests for `seconds` over `connections`, cycling through `bodies` (or `paths` for
 * reads). Returns req/s, 2xx count, other statuses, and latency p50/p99/max in ms.
 */
export async function load({ url, key, method, path, paths, bodies, connections, seconds }) {
  let i = 0;
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    tlsOptions: { rejectUnauthorized: false },
    requests: [
      {
        method,
        path: path ?? paths[0],
        headers: { key, 'content-type': 'application/json' },
        setupRequest(request) {
          const n = i++;
          if (bodies) request.body = bodies[n % bodies.length];
          if (paths) request.path = paths[n % paths.length];
          return request;
        },
      },
    ],
  });
  const statuses = {};
  for (const [k, v] of Object.entries(result.statusCodeStats ?? {})) statuses[k] = v.count;
  return {
    requestsPerSecond: Math.round(result.requests.average),
    ok: result['2xx'],
    statuses,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    seconds,
  };
}
