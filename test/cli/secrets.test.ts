import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnServer, spawnWorker } from '../support/process.js';
import { createDatabase, freshStoreEnv, selectedBackends } from '../support/test-db.js';

const PASSWORD = 's3cretpw';
const SSL_PASSWORD = 'k3ypass';
/** Nothing listens on port 1: a command on this store fails to connect. */
const UNREACHABLE = `postgres://app:${PASSWORD}@127.0.0.1:1/profiles?sslpassword=${SSL_PASSWORD}`;
const REDACTED = 'postgres://app:***@127.0.0.1:1/profiles?sslpassword=***';

describe('secrets in CLI output', () => {
  let store: Awaited<ReturnType<typeof freshStoreEnv>>;
  beforeAll(async () => {
    store = await freshStoreEnv('sqlite');
  });
  afterAll(() => store.dispose());

  const expectNoSecret = (text: string) => {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(SSL_PASSWORD);
  };

  it("config prints the database URL's password and password parameters as ***, as text and with --json", async () => {
    const env = { ...store.env, PROFILES_DATABASE_URL: UNREACHABLE };
    const text = await runCli(['config'], env);
    expect(text.code).toBe(0);
    expectNoSecret(text.stdout + text.stderr);
    expect(text.stdout).toContain(`PROFILES_DATABASE_URL="${REDACTED}"`);
    const json = await runCli(['config', '--json'], env);
    expectNoSecret(json.stdout + json.stderr);
    expect(json.json.databaseUrl).toBe(REDACTED);
  });

  it('config shows the --database-url given, redacted', async () => {
    const flag = await runCli(['config', '--json', '--database-url', UNREACHABLE], store.env);
    expectNoSecret(flag.stdout + flag.stderr);
    expect(flag.json.databaseUrl).toBe(REDACTED);
  });

  it('a command that fails on the database never prints its password, with --json or --verbose', async () => {
    const badPort = UNREACHABLE.replace(':1/', ':notaport/');
    for (const [args, env] of [
      [['tenant', 'list', '--json', '--verbose'], { PROFILES_DATABASE_URL: UNREACHABLE }],
      [['tenant', 'list', '--verbose', '--database-url', UNREACHABLE], {}],
      [['tenant', 'list', '--json', '--verbose', `--database-url=${badPort}`], {}],
      [['serve', '--port', '0', '--verbose'], { PROFILES_DATABASE_URL: badPort }],
    ] as Array<[string[], Record<string, string>]>) {
      const failed = await runCli(args, { ...store.env, ...env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/^openprofiles: /);
      expectNoSecret(failed.stdout + failed.stderr);
    }
  });

  // PostgreSQL only when selected (STORAGE_BACKENDS); its test server trusts any password.
  for (const backend of selectedBackends().filter((b) => b === 'postgres')) {
    it(`${backend}: serve and worker log where the store is without its password`, async () => {
      const db = await createDatabase();
      try {
        const url = new URL(db.url);
        url.password = PASSWORD;
        const env = { ...store.env, PROFILES_DATABASE_URL: url.toString() };
        for (const spawned of [await spawnServer(env), await spawnWorker(env)]) {
          await spawned.stop();
          expect(spawned.output()).toContain(`:***@${url.host}`);
          expectNoSecret(spawned.output());
        }
      } finally {
        await db.drop();
      }
    });
  }
});
