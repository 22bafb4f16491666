import pg from 'pg';

/** Something that runs queries: the pool, or one client inside a database transaction. */
export type Queryable = Pick<pg.PoolClient, 'query'>;
/** Runs `fn` in one database transaction on one client; commits, or rolls back on error. */
export type Atomically = <T>(fn: (client: pg.PoolClient) => Promise<T>) => Promise<T>;
/** A pool client, and how to give it back. */
export type Checkout = () => Promise<{ client: pg.PoolClient; release(isBroken?: boolean): void }>;

// bigint columns (ms timestamps, seq) come back as strings; the adapter converts where it reads them.

/** The pool of an opened store, with its checkout and `atomically`. */
export function openPool(url: string, poolSize: number, onBackgroundError: (err: unknown) => void): { pool: pg.Pool; checkout: Checkout; atomically: Atomically } {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server is dropped by the pool; without a listener the error would crash the process.
  pool.on('error', onBackgroundError);

  /**
   * A pool client, with an error listener while it is checked out: a connection that dies between
   * queries emits 'error', which would otherwise crash the process. The next query on it fails
   * and is translated as usual.
   */
  const checkout: Checkout = async () => {
    const client = await pool.connect();
    client.on('error', onBackgroundError);
    return {
      client,
      release: (isBroken = false) => {
        client.off('error', onBackgroundError);
        client.release(isBroken);
      },
    };
  };

  const atomically: Atomically = async (fn) => {
    const { client, release } = await checkout();
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
  return { pool, checkout, atomically };
}
