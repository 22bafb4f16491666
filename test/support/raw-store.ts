import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * A connection of its own to a test store, behind the adapter's back (as another process would
 * write): for seeding many profiles fast with bulk SQL, and for writes that run while a test reads.
 * `$1`-style parameters on both backends.
 */
export interface RawStore {
  run(sql: string, params?: unknown[]): Promise<void>;
  all<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * Inserts master profiles `from` … `to - 1` made by `make`, in bulk (one database transaction
   * per 10,000). Timestamps are `at` ms.
   */
  seedMasters(tenantId: number, from: number, to: number, make: (n: number) => { customerId: string; attributes: Record<string, unknown> }, at?: number): Promise<void>;
  /** Brings the planner's statistics up to date (ANALYZE). */
  analyze(): Promise<void>;
  close(): Promise<void>;
}

export async function openRawStore(env: Record<string, string>): Promise<RawStore> {
  const url = env.PROFILES_DATABASE_URL;
  if (url) {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    return {
      run: async (sql, params = []) => void (await client.query(sql, params)),
      all: async <T>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as T[],
      async seedMasters(tenantId, from, to, make, at = Date.now()) {
        for (let start = from; start < to; start += 10_000) {
          const rows = Array.from({ length: Math.min(10_000, to - start) }, (_, i) => make(start + i));
          await client.query(
            `INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at)
             SELECT $1, c, a, $4, $4 FROM unnest($2::text[], $3::text[]) AS k (c, a)`,
            [tenantId, rows.map((r) => r.customerId), rows.map((r) => JSON.stringify(r.attributes)), at],
          );
        }
      },
      analyze: async () => void (await client.query('ANALYZE')),
      close: () => client.end(),
    };
  }
  const db = new Database(join(env.PROFILES_DATA_DIR, 'openprofiles.db'), { timeout: 10_000 });
  const prepared = (sql: string) => db.prepare(sql.replace(/\$\d+/g, '?'));
  return {
    run: async (sql, params = []) => void prepared(sql).run(...params),
    all: async <T>(sql: string, params: unknown[] = []) => prepared(sql).all(...params) as T[],
    async seedMasters(tenantId, from, to, make, at = Date.now()) {
      const insert = db.prepare('INSERT INTO master_profiles (tenant_id, customer_id, attributes, created_at, updated_at) VALUES (?, ?, ?, ?, ?)');
      for (let start = from; start < to; start += 10_000) {
        db.transaction(() => {
          for (let n = start; n < Math.min(start + 10_000, to); n++) {
            const { customerId, attributes } = make(n);
            insert.run(tenantId, customerId, JSON.stringify(attributes), at, at);
          }
        })();
      }
    },
    analyze: async () => void db.exec('ANALYZE'),
    close: async () => void db.close(),
  };
}
