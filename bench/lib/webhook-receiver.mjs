// A webhook receiver in the benchmark's process, as a customer would write one: HTTPS with a
// self-signed certificate (the server trusts it through PROFILES_WEBHOOK_CA_FILE), every delivery
// verified with the `standardwebhooks` package, answered 204 at once (or 410, when told to).
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { Webhook } from 'standardwebhooks';

/**
 * Starts the receiver; `caFile` (written into `dir`) holds its certificate. Deliveries are counted
 * by their `webhook-id`: `delivered` (distinct ids answered 2xx), `duplicates`, `unverified`; each
 * first delivery's arrival time and lag (arrival minus the event's `occurredAt`) are kept.
 * `secret` must be set (the endpoint's `whsec_…`) before deliveries come; `answer` is the status
 * every verified delivery gets (204; 410 asks the server to disable the endpoint).
 */
export async function startReceiver(dir) {
  const pems = await selfsigned.generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
    ],
  });
  const caFile = join(dir, 'receiver-ca.pem');
  writeFileSync(caFile, pems.cert);
  let hook = null;
  let secret = null;
  const seen = new Set();
  const self = {
    url: '',
    caFile,
    answer: 204,
    requests: 0,
    delivered: 0,
    duplicates: 0,
    unverified: 0,
    firstAt: null,
    lastAt: null,
    /** Arrival minus occurredAt of each first delivery, ms, in arrival order. */
    lags: [],
    /** The last verified body (a real event, for the raw baseline to send). */
    sampleBody: null,
    get secret() {
      return secret;
    },
    set secret(value) {
      secret = value;
      hook = new Webhook(value);
    },
    /** Forgets what was counted (not the secret). */
    reset() {
      seen.clear();
      Object.assign(self, { requests: 0, delivered: 0, duplicates: 0, unverified: 0, firstAt: null, lastAt: null, lags: [] });
    },
    /** Resolves once `count` distinct deliveries arrived since the last reset, or after `timeoutMs` (false). */
    async until(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (self.delivered < count) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 20));
      }
      return true;
    },
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(resolve))),
  };
  const server = https.createServer({ key: pems.private, cert: pems.cert, keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      self.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      let event;
      try {
        event = hook.verify(body, req.headers);
      } catch {
        self.unverified++;
        res.writeHead(400).end();
        return;
      }
      if (self.answer >= 300) {
        res.writeHead(self.answer).end();
        return;
      }
      const now = Date.now();
      const id = req.headers['webhook-id'];
      if (seen.has(id)) self.duplicates++;
      else {
        seen.add(id);
        self.delivered++;
        self.firstAt ??= now;
        self.lastAt = now;
        self.lags.push(now - Date.parse(event.occurredAt));
        self.sampleBody = body;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `https://127.0.0.1:${server.address().port}`;
  return self;
}
