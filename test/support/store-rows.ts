import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

/**
 * Reads a store's tables directly (behind any server's back) from a process environment of
 * `freshStoreEnv` (`PROFILES_DATA_DIR`, `PROFILES_DATABASE_URL`): what a CLI or server process stored.
 * `$1`-style parameters on both backends.
 */
export async function storeRows(env: Record<string, string>, sql: string, params: unknown[] = []): Promise<Array<Record<string, any>>> {
  if (env.PROFILES_DATABASE_URL) {
    const client = new pg.Client({ connectionString: env.PROFILES_DATABASE_URL });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }
  const db = new Database(join(env.PROFILES_DATA_DIR, 'openprofiles.db'), { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    return db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as Array<Record<string, any>>;
  } finally {
    db.close();
  }
}

/** Every master profile of the tenant: customerId → attributes (parsed). */
export async function masterProfiles(env: Record<string, string>, tenantId: number): Promise<Map<string, Record<string, unknown>>> {
  const rows = await storeRows(env, 'SELECT customer_id, attributes FROM master_profiles WHERE tenant_id = $1', [tenantId]);
  return new Map(rows.map((r) => [r.customer_id as string, JSON.parse(r.attributes as string)]));
}
