/**
 * Every setting of the server in one schema: its environment variable, default and meaning. The
 * configuration is loaded once, validated whole, and frozen. The README's configuration table is
 * generated from it (`openprofiles config --markdown`), and a test keeps the two equal.
 */

import { redactUrl, secretsOfUrl } from './secrets.js';

type Parser<T> = (text: string) => T;

interface Setting<T> {
  env: string;
  default: T;
  doc: string;
  parse: Parser<T>;
  /** For a setting that holds a secret: the value fit to print, and the secrets in a raw value. */
  secret?: { redact: (value: T) => T; secretsOf: (raw: string) => string[] };
}

class ConfigError extends Error {
  override name = 'ConfigError';
}

const text: Parser<string> = (v) => v;
const bool: Parser<boolean> = (v) => {
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`expected true or false, got ${JSON.stringify(v)}`);
};
const int =
  (min: number, max: number): Parser<number> =>
  (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return n;
  };
const oneOf =
  <T extends string>(...values: T[]): Parser<T> =>
  (v) => {
    if (!(values as string[]).includes(v)) throw new ConfigError(`expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  };
const list: Parser<string[]> = (v) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A comma list of durations (`0`, `500ms`, `5s`, `5m`, `2h`), in ms. */
export function parseDurations(v: string): number[] {
  const items = v.split(',').map((s) => s.trim());
  return items.map((item) => {
    const match = /^(\d{1,9})(ms|s|m|h)?$/.exec(item);
    if (!match || (match[2] === undefined && match[1] !== '0')) throw new ConfigError(`expected a comma list of durations such as 0,5s,5m,2h (units ms, s, m, h), got ${JSON.stringify(v)}`);
    return Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms'];
  });
}
const durations: Parser<string> = (v) => (parseDurations(v), v);

const setting = <T>(env: string, defaultValue: T, parse: Parser<T>, doc: string, secret?: Setting<T>['secret']): Setting<T> => ({ env, default: defaultValue, parse, doc, secret });
const secretUrl = { redact: redactUrl, secretsOf: secretsOfUrl };

export const SETTINGS = {
  dataDir: setting('PROFILES_DATA_DIR', './data', text, 'Directory of the embedded SQLite store, the generated certificate and the demo credentials.'),
  databaseUrl: setting('PROFILES_DATABASE_URL', '', text, 'PostgreSQL URL (`postgres://user@host:5432/db`). Empty: the embedded SQLite store in the data directory.', secretUrl),
  sqliteCacheMiB: setting('PROFILES_SQLITE_CACHE_MIB', 16, int(1, 65_536), 'Embedded store: page cache of the connection that applies the queue (the server\'s applying thread\'s, or `openprofiles worker`\'s), MiB. The operating system caches the database file as well: at 1 M profiles, 16 applied a minute of hot updates about 6 % slower than 64 and took about 50 MB less memory; 8 was about 14 % slower than 64 (docs/performance.md).'),
  databasePoolSize: setting('PROFILES_DATABASE_POOL_SIZE', 10, int(1, 1000), 'PostgreSQL connections per pool, opened as needed. A server has a pool for reads, one for commits and, unless `--no-worker`, one for its appliers; `openprofiles worker` has one.'),
  host: setting('PROFILES_HOST', '::', text, 'Address to listen on. `::` takes every IPv6 and IPv4 address.'),
  port: setting('PROFILES_PORT', 8443, int(0, 65535), 'TCP port to listen on.'),
  tlsCert: setting('PROFILES_TLS_CERT', '', text, 'PEM certificate file. With neither this nor the key, a self-signed one for localhost is created in the data directory.'),
  tlsKey: setting('PROFILES_TLS_KEY', '', text, 'PEM private key file of that certificate.'),
  isPlainHttp: setting('PROFILES_PLAIN_HTTP', false, bool, 'Serve plain HTTP, for running behind a TLS-terminating proxy only.'),
  trustProxy: setting('PROFILES_TRUST_PROXY', [] as string[], list, 'Comma list of proxy addresses or CIDR ranges whose `X-Forwarded-For` is believed. Empty: the socket address is the client.'),
  logLevel: setting('PROFILES_LOG_LEVEL', 'info', oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'), 'pino log level.'),
  hasApplier: setting('PROFILES_WORKER', true, bool, 'Apply the journal in the server process, in a thread of its own; false (`serve --no-worker`): `openprofiles worker` processes apply it.'),
  applierConcurrency: setting('PROFILES_WORKER_CONCURRENCY', 1, int(1, 256), 'Applier loops per process (PostgreSQL; SQLite takes one).'),
  applierBatchSize: setting('PROFILES_WORKER_BATCH', 0, int(0, 10_000), 'Most write transactions an applier applies in one database transaction. 0: by store, 16 on SQLite and 256 on PostgreSQL, where a claim also stops at 25,600 records (or at its first write, if that alone holds more). On PostgreSQL smaller batches take less memory and a write waits less for admission under load, but apply less (docs/performance.md).'),
  applierLeaseMs: setting('PROFILES_WORKER_LEASE_MS', 30_000, int(100, 3_600_000), 'PostgreSQL: how long a claim on queued work holds before another applier may take it over. (SQLite claims nothing: one applier per store holds a lock and applies from a cursor.)'),
  applierIdlePollMs: setting('PROFILES_WORKER_POLL_MS', 250, int(10, 60_000), 'How often an idle applier looks for work that nothing woke it for.'),
  maxQueueRecords: setting('PROFILES_MAX_QUEUE_RECORDS', 1_000_000, int(1, 1_000_000_000), 'Records the queue may hold; past this, writes get 7902 (HTTP 503).'),
  queueSoftLimitRecords: setting('PROFILES_QUEUE_SOFT_LIMIT_RECORDS', 50_000, int(1, 1_000_000_000), 'Past this many queued records a write waits (up to 10 s, then 7902) for the appliers to catch up before it is queued, unless its tenant is within its fair share (this limit divided among the tenants with records queued): the lag stays bounded, one tenant\'s backlog never holds back another\'s writes, and the applying thread keeps the CPU that accepting more would take.'),
  rateLimitHoldMs: setting('PROFILES_RATE_LIMIT_HOLD_MS', 1000, int(0, 10_000), 'A request over its tenant\'s rate limit is answered 7020 after this pause (never longer than its `Retry-After`): a client that ignores `Retry-After` cannot keep the server busy refusing it while other tenants\' requests wait. 0: refuse at once.'),
  tenantTurnBytes: setting('PROFILES_TENANT_TURN_BYTES', 65_536, int(0, 1_073_741_824), 'Bytes of request bodies one tenant has parsed and validated in one turn of the server\'s event loop before its next body waits for other tenants\' (at least one body per turn): smaller, a tenant\'s burst of large writes delays other tenants less; larger, one tenant\'s steady load reaches the committer in fewer, larger messages (the default cost the hot and insert benchmarks about 10 %, docs/performance.md). 0: no turns, bodies in arrival order.'),
  bodyLimit: setting('PROFILES_BODY_LIMIT', 1_048_576, int(1024, 64 * 1_048_576), 'Largest request body, bytes; larger ones get 7012 (HTTP 413).'),
  requestTimeoutMs: setting('PROFILES_REQUEST_TIMEOUT_MS', 30_000, int(1000, 3_600_000), 'Longest time a client may take to send a whole request, headers and body; past it the server answers HTTP 408 and closes the connection (a client trickling its body cannot hold a connection longer).'),
  directoryPollMs: setting('PROFILES_DIRECTORY_POLL_MS', 250, int(10, 60_000), 'How often the server looks for tenant, key, app and allow-list changes made elsewhere (the CLI).'),
  retentionSweepMs: setting('PROFILES_RETENTION_SWEEP_MS', 60_000, int(100, 86_400_000), 'How often finished write transactions, imports and change events past their retention are purged.'),
  changesRetentionDays: setting('PROFILES_CHANGES_RETENTION_DAYS', 7, int(1, 3650), 'Days the change feed keeps its events; a reader behind that gets 410 (7930) and the oldest cursor kept.'),
  webhookAllowPrivate: setting('PROFILES_WEBHOOK_ALLOW_PRIVATE', false, bool, 'Let webhook endpoints be loopback, private, link-local or metadata addresses, and plain `http` (tests, and receivers on a private network only). Otherwise such URLs are refused when added and at every attempt (docs/changes.md, "Safe targets").'),
  webhookTimeoutMs: setting('PROFILES_WEBHOOK_TIMEOUT_MS', 15_000, int(100, 300_000), 'Longest wait for a webhook receiver\'s answer; past it the attempt failed (`timeout`) and is retried.'),
  webhookRetrySchedule: setting('PROFILES_WEBHOOK_RETRY_SCHEDULE', '0,5s,5m,30m,2h,5h,10h,10h', durations, 'Delays before each retry of a failed webhook delivery (units ms, s, m, h), each varied by up to 20 % (jitter) and at least the receiver\'s `Retry-After`; after the last the delivery is given up (`webhook resend` sends it again).'),
  webhookConcurrency: setting('PROFILES_WEBHOOK_CONCURRENCY', 16, int(1, 1000), 'Webhook attempts in flight per endpoint, each for a different customer (a customer\'s events go one at a time, in order).'),
  webhookLeaseMs: setting('PROFILES_WEBHOOK_LEASE_MS', 30_000, int(300, 3_600_000), 'How long a process\'s hold on a webhook endpoint lasts unless renewed (every third of it): one process delivers an endpoint\'s events at a time; when it dies, another takes over after this.'),
  webhookDisableAfterHours: setting('PROFILES_WEBHOOK_DISABLE_AFTER_HOURS', 120, int(1, 87_600), 'A webhook endpoint whose every attempt has failed for this long is disabled (`webhook enable` enables it again).'),
  webhookCaFile: setting('PROFILES_WEBHOOK_CA_FILE', '', text, 'PEM file of extra CA certificates that webhook deliveries trust (besides the system\'s), for receivers with a private CA or a self-signed certificate. `NODE_EXTRA_CA_CERTS` works too.'),
  isDemoEnabled: setting('PROFILES_DEMO', true, bool, 'On an empty store, create a `demo` tenant with one app per channel and print how to call it.'),
  shutdownTimeoutMs: setting('PROFILES_SHUTDOWN_TIMEOUT_MS', 10_000, int(0, 600_000), 'Longest wait for in-flight requests and the applier on shutdown.'),
};

export type Config = { readonly [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K]['default'] };

/**
 * Loads the configuration from the environment and explicit overrides (CLI flags win), validates
 * every setting, and returns it frozen. Throws one error listing every invalid setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, s] of Object.entries(SETTINGS) as Array<[keyof Config, Setting<unknown>]>) {
    if (overrides[name] !== undefined) {
      out[name] = overrides[name];
      continue;
    }
    const raw = env[s.env];
    if (raw === undefined || raw === '') {
      out[name] = s.default;
      continue;
    }
    try {
      out[name] = s.parse(raw);
    } catch (err) {
      problems.push(`${s.env}: ${(err as Error).message}`);
    }
  }
  if (Boolean(out.tlsCert) !== Boolean(out.tlsKey)) problems.push('PROFILES_TLS_CERT and PROFILES_TLS_KEY must be given together');
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(out) as Config;
}

/** The configuration fit to print: every secret (a database URL's password) as `***`. */
export function redactedConfig(config: Config): Config {
  const out: Record<string, unknown> = { ...config };
  for (const [name, s] of Object.entries(SETTINGS) as Array<[keyof Config, Setting<unknown>]>) if (s.secret) out[name] = s.secret.redact(config[name]);
  return Object.freeze(out) as Config;
}

/** Every secret the environment's settings hold (valid or not), to keep out of any output. */
export function secretsInEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.values(SETTINGS as Record<string, Setting<unknown>>).flatMap((s) => (s.secret && env[s.env] ? s.secret.secretsOf(env[s.env]!) : []));
}

/** The settings table as Markdown (docs/configuration.md). */
export function settingsMarkdown(): string {
  const rows = Object.values(SETTINGS).map((s) => {
    const def = Array.isArray(s.default) ? (s.default.length ? s.default.join(',') : '(empty)') : String(s.default);
    return `| \`${s.env}\` | \`${def}\` | ${s.doc} |`;
  });
  return ['| Variable | Default | Meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}
