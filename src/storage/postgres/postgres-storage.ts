import pg from 'pg';
import type {
  ApplyReducer,
  KeysOf,
  NewAttributeDefinition,
  NewWriteTransaction,
  Storage,
  StorageCapabilities,
  TenantSettings,
} from '../storage.js';
import { migrate } from './migrations.js';
import { PostgresDirectory } from './postgres-directory.js';
import { PostgresErasure } from './postgres-erasure.js';
import { translatePostgresError } from './postgres-errors.js';
import { PostgresProfiles } from './postgres-profiles.js';
import { PostgresQueue, QUEUE_CHANNEL } from './postgres-queue.js';

/** Something that runs queries: the pool, or one client inside a database transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;
/** Runs `fn` in one database transaction on one client; commits, or rolls back on error. */
export type Atomically = <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;

export interface PostgresOptions {
  /** `postgres://user@host:port/database` */
  url: string;
  /** Most connections this process opens. Default 10. */
  poolSize?: number;
  /** Hears connection errors that happen outside any call (idle pool clients, the LISTEN connection). */
  onBackgroundError?: (err: unknown) => void;
}

// bigint columns (ms timestamps, seq) come back as strings; the adapter converts where it reads them.

/**
 * The scale-out store: a `pg` pool. Any number of API nodes and workers share one database;
 * commits are durable with the server's synchronous_commit (on by default).
 */
export class PostgresStorage implements Storage {
  readonly capabilities: StorageCapabilities = { hasConcurrentClaims: true, canNotifyWorkers: true, isEmbedded: false };
  private readonly pool: pg.Pool;
  private readonly directory: PostgresDirectory;
  private readonly erasure: PostgresErasure;
  private readonly profiles = new PostgresProfiles();
  private readonly queue: PostgresQueue;

  constructor(private readonly options: PostgresOptions) {
    this.pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000 });
    // An idle client that loses its server is dropped by the pool; without a listener the error would crash the process.
    this.pool.on('error', (err) => options.onBackgroundError?.(err));
    this.directory = new PostgresDirectory(this.pool, this.atomically);
    this.erasure = new PostgresErasure(this.pool);
    this.queue = new PostgresQueue(this.pool, this.atomically, this.profiles);
  }

  /**
   * A pool client, with an error listener while it is checked out: a connection that dies between
   * queries emits 'error', which would otherwise crash the process. The next query on it fails
   * and is translated as usual.
   */
  private async checkout(): Promise<{ client: pg.PoolClient; release(isBroken?: boolean): void }> {
    const client = await this.pool.connect();
    const onError = (err: Error) => this.options.onBackgroundError?.(err);
    client.on('error', onError);
    return {
      client,
      release: (isBroken = false) => {
        client.off('error', onError);
        client.release(isBroken);
      },
    };
  }

  private readonly atomically: Atomically = async (fn) => {
    const { client, release } = await this.checkout();
    let isBroken = false;
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        isBroken = true; // the connection is gone: release it as broken, report the first error
      }
      throw err;
    } finally {
      release(isBroken);
    }
  };

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translatePostgresError(err);
    }
  }

  async migrate() {
    return this.run(async () => {
      const { client, release } = await this.checkout();
      try {
        return await migrate(client);
      } finally {
        release();
      }
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  configVersion = () => this.run(() => this.directory.configVersion());
  loadDirectory = () => this.run(() => this.directory.load());
  createTenant = (name: string, settings: TenantSettings, master: NewAttributeDefinition[]) => this.run(() => this.directory.createTenant(name, settings, master));
  listTenants = () => this.run(() => this.directory.listTenants());
  getTenant = (tenantId: number) => this.run(() => this.directory.getTenant(tenantId));
  updateTenantSettings = (tenantId: number, patch: Partial<TenantSettings>) => this.run(() => this.directory.updateTenantSettings(tenantId, patch));
  setAllowList = (tenantId: number, entries: string[]) => this.run(() => this.directory.setAllowList(tenantId, entries));
  createProfileKey = (tenantId: number, keyId: string, hash: string) => this.run(() => this.directory.createProfileKey(tenantId, keyId, hash));
  listProfileKeys = (tenantId: number) => this.run(() => this.directory.listProfileKeys(tenantId));
  revokeProfileKey = (tenantId: number, keyId: string) => this.run(() => this.directory.revokeProfileKey(tenantId, keyId));
  createApp = (tenantId: number, appid: string, channel: string, attributes: NewAttributeDefinition[]) =>
    this.run(() => this.directory.createApp(tenantId, appid, channel, attributes));
  listApps = (tenantId: number) => this.run(() => this.directory.listApps(tenantId));
  defineAttributes = (tenantId: number, scope: string, definitions: NewAttributeDefinition[]) =>
    this.run(() => this.directory.defineAttributes(tenantId, scope, definitions));

  countTenantRows = (tenantId: number) => this.run(() => this.erasure.countTenantRows(tenantId));
  countAppRows = (tenantId: number, appid: string) => this.run(() => this.erasure.countAppRows(tenantId, appid));
  removeTenant = (tenantId: number) => this.run(() => this.directory.removeTenant(tenantId));
  eraseTenantRows = (tenantId: number, limit: number) => this.run(() => this.erasure.eraseTenantRows(tenantId, limit));
  removeApp = (tenantId: number, appid: string) => this.run(() => this.directory.removeApp(tenantId, appid));
  eraseAppRows = (tenantId: number, appid: string, limit: number) => this.run(() => this.erasure.eraseAppRows(tenantId, appid, limit));

  enqueue = (batch: NewWriteTransaction[], windowMs: number) => this.run(() => this.queue.enqueue(batch, windowMs));
  applyNext = (workerId: string, limit: number, leaseMs: number, keysOf: KeysOf, reduce: ApplyReducer) =>
    this.run(() => this.queue.applyNext(workerId, limit, leaseMs, keysOf, reduce));
  getWriteTransactionStatus = (tenantId: number, transid: string) => this.run(() => this.queue.getStatus(tenantId, transid));
  queueStats = () => this.run(() => this.queue.queueStats());
  purgeWriteTransactions = (tenantId: number, before: number, limit: number) => this.run(() => this.queue.purgeFinished(tenantId, before, limit));
  /** VACUUM cannot run in a database transaction: it goes straight to the pool. */
  reclaimQueueSpace = () => this.run(async () => void (await this.pool.query('VACUUM (ANALYZE) write_transactions')));

  getMasterProfiles = (tenantId: number, customerIds: string[]) => this.run(() => this.profiles.masters(this.pool, tenantId, customerIds));
  getAppProfiles = (tenantId: number, appid: string, customerIds: string[]) => this.run(() => this.profiles.apps(this.pool, tenantId, appid, customerIds));
  findAppProfilesByUserId = (tenantId: number, appid: string, userId: string) => this.run(() => this.profiles.appsByUserId(this.pool, tenantId, appid, userId));
  getAppProfilesOfCustomers = (tenantId: number, customerIds: string[]) => this.run(() => this.profiles.appsOfCustomers(this.pool, tenantId, customerIds));

  /**
   * LISTEN on a connection of its own (outside the pool). When that connection drops it is
   * reopened, and `onWork` is called once so that nothing notified meanwhile is missed.
   */
  async watchForWork(onWork: () => void): Promise<() => Promise<void>> {
    let client: pg.Client | null = null;
    let isStopped = false;
    let retry: NodeJS.Timeout | null = null;
    const connect = async (): Promise<void> => {
      const next = new pg.Client({ connectionString: this.options.url });
      next.on('notification', () => onWork());
      next.on('error', (err) => {
        this.options.onBackgroundError?.(err);
        reconnect();
      });
      try {
        await next.connect();
        await next.query(`LISTEN ${QUEUE_CHANNEL}`);
        client = next;
        onWork();
      } catch (err) {
        this.options.onBackgroundError?.(err);
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
}
