import pg from 'pg';
import { type Applier, type ChangeFeed, type Directory, type Erasure, type Imports, type Journal, type Keys, type Profiles, type ProfileScan, type Store, type StoreRules, type WebhookDeliveries, type Webhooks } from '../ports.js';
import { APPLIER_METHODS, CHANGE_FEED_METHODS, DIRECTORY_METHODS, ERASURE_METHODS, IMPORTS_METHODS, JOURNAL_METHODS, KEYS_METHODS, PROFILE_SCAN_METHODS, PROFILES_METHODS, translating, WEBHOOK_DELIVERIES_METHODS, WEBHOOKS_METHODS } from '../roles.js';
import { claimedOf } from '../rows.js';
import { migrate } from './migrations.js';
import { PostgresChanges } from './postgres-changes.js';
import { PostgresDirectory } from './postgres-directory.js';
import { PostgresErasure } from './postgres-erasure.js';
import { PostgresImports } from './postgres-imports.js';
import { translatePostgresError } from './postgres-errors.js';
import { openPool } from './postgres-pool.js';
import { PostgresProfiles } from './postgres-profiles.js';
import { PostgresProfileScan } from './postgres-profile-scan.js';
import { PostgresApplier, PostgresQueue, QUEUE_CHANNEL } from './postgres-queue.js';
import { PostgresWebhooks } from './postgres-webhooks.js';

export interface PostgresOptions {
  /** `postgres://user@host:port/database` */
  url: string;
  /** Most connections this process opens. Default 10. */
  poolSize?: number;
  /** Hears connection errors that happen outside any call (idle pool clients, the LISTEN connection). */
  onBackgroundError?: (err: unknown) => void;
}

/**
 * Opens the scale-out store: a `pg` pool. Any number of API nodes and workers share one database,
 * and several appliers claim at once; commits are durable with the server's synchronous_commit
 * (on by default).
 */
export function openPostgresStore(options: PostgresOptions, rules: StoreRules): Store {
  const { pool, checkout, atomically } = openPool(options.url, options.poolSize ?? 10, (err) => options.onBackgroundError?.(err));
  const t = translatePostgresError;
  const directory = new PostgresDirectory(pool, atomically);
  const queue = new PostgresQueue(pool, atomically, rules);
  const toClaimed = claimedOf(rules.recordsOf);
  const webhooks = new PostgresWebhooks(pool, atomically);
  const own = translating(
    {
      async migrate() {
        const { client, release } = await checkout();
        try {
          return await migrate(client);
        } finally {
          release();
        }
      },
      /** VACUUM cannot run in a database transaction: it goes straight to the pool. */
      reclaimQueueSpace: async () => void (await pool.query('VACUUM (ANALYZE) write_transactions')),
    },
    ['migrate', 'reclaimQueueSpace'],
    t,
  );
  return {
    capabilities: { canWakeAppliers: true, isEmbedded: false },
    directory: translating<Directory>(directory, DIRECTORY_METHODS, t),
    keys: translating<Keys>(directory, KEYS_METHODS, t),
    profiles: translating<Profiles>(new PostgresProfiles(pool), PROFILES_METHODS, t),
    journal: { ...translating<Journal>(queue, JOURNAL_METHODS, t), reclaimQueueSpace: own.reclaimQueueSpace, watchForWork: watchForWork.bind(null, options) },
    appliers: {
      hasConcurrentClaims: true,
      claim: (applierId, leaseMs) => translating<Applier>(new PostgresApplier(atomically, toClaimed, rules.schedule, applierId, leaseMs), APPLIER_METHODS, t),
    },
    erasure: translating<Erasure>(new PostgresErasure(pool), ERASURE_METHODS, t),
    changes: translating<ChangeFeed>(new PostgresChanges(pool), CHANGE_FEED_METHODS, t),
    imports: translating<Imports>(new PostgresImports(pool, atomically), IMPORTS_METHODS, t),
    profileScan: translating<ProfileScan>(new PostgresProfileScan(pool, checkout), PROFILE_SCAN_METHODS, t),
    webhooks: translating<Webhooks>(webhooks, WEBHOOKS_METHODS, t),
    webhookDeliveries: translating<WebhookDeliveries>(webhooks, WEBHOOK_DELIVERIES_METHODS, t),

    migrate: own.migrate,

    close: () => pool.end(),
  };
}

/**
 * LISTEN on a connection of its own (outside the pool). When that connection drops it is
 * reopened, and `onWork` is called once so that nothing notified meanwhile is missed.
 */
async function watchForWork(options: PostgresOptions, onWork: () => void): Promise<() => Promise<void>> {
  let client: pg.Client | null = null;
  let isStopped = false;
  let retry: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: options.url });
    next.on('notification', () => onWork());
    next.on('error', (err) => {
      options.onBackgroundError?.(err);
      reconnect();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${QUEUE_CHANNEL}`);
      client = next;
      onWork();
    } catch (err) {
      options.onBackgroundError?.(err);
      await next.end().catch(() => undefined);
      reconnect();
    }
  };
  const reconnect = () => {
    if (isStopped || retry) return;
    const old = client;
    client = null;
    void old?.end().catch(() => undefined);
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, 1000);
    retry.unref();
  };
  await connect();
  return async () => {
    isStopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
