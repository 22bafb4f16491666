// The raw baseline of webhook delivery, in a worker thread of the benchmark (as the server's
// deliverer has a thread of its own): `count` POSTs of one real event body, each signed with the
// `standardwebhooks` package under its own `webhook-id`, `concurrency` in flight over keep-alive
// HTTPS connections (node:https, as the deliverer), to the receiver. Nothing is read or written
// to a store: what the machine does for signed HTTPS POSTs alone.
import https from 'node:https';
import { parentPort, workerData } from 'node:worker_threads';
import { Webhook } from 'standardwebhooks';

const { url, secret, body, count, concurrency, ca } = workerData;
const target = new URL(url);
const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca });
const hook = new Webhook(secret);

function post(id) {
  const timestamp = new Date();
  const headers = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': hook.sign(id, timestamp, body),
  };
  return new Promise((resolve, reject) => {
    const req = https.request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode >= 200 && res.statusCode < 300 ? resolve() : reject(new Error(`raw POST: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let next = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (next < count) await post(`raw_${next++}`);
  }),
);
const seconds = (performance.now() - started) / 1000;
agent.destroy();
parentPort.postMessage({ seconds });
