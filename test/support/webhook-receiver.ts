import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { Webhook } from 'standardwebhooks';

/** What the receiver answers a delivery: a status (and its body), or no answer at all. */
export type Answer = { status: number; headers?: Record<string, string> } | 'hang';

export interface Delivery {
  id: string;
  event: { id: string; type: string; customerId: string; profile: { attributes: Record<string, string> } | null; [k: string]: unknown };
  status: number | 'hang';
}

export interface WebhookReceiver {
  /** `https://127.0.0.1:<port>`; its certificate, self-signed for 127.0.0.1, is in `caFile`. */
  url: string;
  caFile: string;
  /** Every request received, verified, in arrival order, with what was answered. */
  received: Delivery[];
  /** Requests whose signature did not verify (must stay empty). */
  unverified: string[];
  /** The secret deliveries are verified with (set once the endpoint is created), by the URL's path. */
  secrets: Map<string, string>;
  /** Decides the answer to each verified delivery. */
  answer: (d: Omit<Delivery, 'status'>, path: string) => Answer;
  /** Ids answered 2xx, in arrival order. */
  accepted(): Delivery[];
  close(): Promise<void>;
}

/**
 * A local HTTPS webhook receiver, as a customer would write one: it verifies every delivery with
 * the `standardwebhooks` package (signature and timestamp) before answering.
 */
export async function startReceiver(dir: string): Promise<WebhookReceiver> {
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
  const hanging = new Set<import('node:http').ServerResponse>();
  const self: WebhookReceiver = {
    url: '',
    caFile,
    received: [],
    unverified: [],
    secrets: new Map(),
    answer: () => ({ status: 200 }),
    accepted: () => self.received.filter((d) => d.status !== 'hang' && d.status >= 200 && d.status < 300),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  const server = https.createServer({ key: pems.private, cert: pems.cert, keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let event: Delivery['event'];
      try {
        event = new Webhook(self.secrets.get(req.url ?? '/') ?? '').verify(body, req.headers as Record<string, string>) as Delivery['event'];
      } catch (err) {
        self.unverified.push(`${req.headers['webhook-id']}: ${(err as Error).message}`);
        res.writeHead(400).end('bad signature');
        return;
      }
      const id = String(req.headers['webhook-id']);
      const answer = self.answer({ id, event }, req.url ?? '/');
      if (answer === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        self.received.push({ id, event, status: 'hang' });
        return;
      }
      self.received.push({ id, event, status: answer.status });
      res.writeHead(answer.status, answer.headers).end(answer.status < 300 ? 'thanks' : 'not now');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self.url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  return self;
}
