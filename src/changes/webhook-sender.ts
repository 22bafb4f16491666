import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Webhook } from 'standardwebhooks';
import type { AttemptOutcome } from '../model/webhook.js';
import { hostOf, type ResolvedTarget } from './webhook-targets.js';

/** The most of a receiver's answer an attempt keeps. */
const EXCERPT_BYTES = 1024;
/** A longer answer is cut off (its connection is not reused). */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface SendResult {
  outcome: Exclude<AttemptOutcome, 'refused'>;
  status: number | null;
  durationMs: number;
  /** The start of the answer, or why none came. */
  response: string;
  /** The receiver's `Retry-After`, in ms; null when it sent none. */
  retryAfterMs: number | null;
}

/** `Retry-After` as seconds or an HTTP date, in ms from now; null when absent or unreadable. */
export function retryAfterMsOf(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\d{1,9}$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Signs and sends one delivery (Standard Webhooks): POSTs the event's JSON with `webhook-id`
 * (the event's id, the same on every attempt), `webhook-timestamp` and `webhook-signature`, to the
 * address that was checked, with the URL's host as `Host` and TLS server name. Connections are
 * kept alive between attempts. Never throws: a failure is a result.
 */
export class WebhookSender {
  private readonly agents: { http: http.Agent; https: https.Agent };
  /**
   * Trusted CAs: the system's, and the extra ones given (PROFILES_WEBHOOK_CA_FILE), parsed once:
   * a `ca` list on each request would parse every certificate again for each new connection.
   */
  private readonly secureContext: SecureContext | undefined;

  constructor(
    private readonly timeoutMs: number,
    extraCa: string | null,
    maxSockets: number,
  ) {
    this.secureContext = extraCa ? createSecureContext({ ca: [...rootCertificates, extraCa] }) : undefined;
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets }), https: new https.Agent({ keepAlive: true, maxSockets }) };
  }

  send(target: ResolvedTarget, secret: string, eventId: string, body: string): Promise<SendResult> {
    const { url, address } = target;
    const timestamp = new Date();
    const signature = new Webhook(secret).sign(eventId, timestamp, body);
    const isHttps = url.protocol === 'https:';
    const host = hostOf(url);
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    return new Promise<SendResult>((resolve) => {
      let isSettled = false;
      const settle = (result: Omit<SendResult, 'durationMs'>) => {
        if (isSettled) return;
        isSettled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const options: https.RequestOptions = {
        method: 'POST',
        host: address,
        port: url.port || (isHttps ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'OpenProfiles-Webhooks/1',
          'webhook-id': eventId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        agent: isHttps ? this.agents.https : this.agents.http,
        ...(isHttps && { servername: isIP(host) ? undefined : host, ...(this.secureContext && { secureContext: this.secureContext }) }),
      };
      const req = (isHttps ? https : http).request(options, (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (kept < EXCERPT_BYTES) {
            chunks.push(chunk.subarray(0, EXCERPT_BYTES - kept));
            kept += Math.min(chunk.length, EXCERPT_BYTES - kept);
          }
          if (total > MAX_ANSWER_BYTES) res.destroy();
        });
        const finish = () => {
          const status = res.statusCode ?? 0;
          settle({
            outcome: status >= 200 && status < 300 ? 'delivered' : 'failed',
            status,
            response: Buffer.concat(chunks).toString('utf8'),
            retryAfterMs: retryAfterMsOf(res.headers['retry-after']),
          });
        };
        res.on('end', finish);
        res.on('close', finish);
        res.on('error', () => undefined);
      });
      const timer = setTimeout(() => {
        settle({ outcome: 'timeout', status: null, response: `no answer within ${this.timeoutMs} ms`, retryAfterMs: null });
        req.destroy();
      }, this.timeoutMs);
      req.on('error', (err: NodeJS.ErrnoException) => settle({ outcome: 'unreachable', status: null, response: `${err.code ?? 'error'}: ${err.message}`, retryAfterMs: null }));
      req.end(body);
    });
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
