import { describe, expect, it } from 'vitest';
import { redactedConfig, loadConfig, secretsInEnv } from '../../src/config/config.js';
import { redactSecrets, redactUrl, secretsOfUrl } from '../../src/config/secrets.js';
import { describeStore } from '../../src/open-store.js';

describe('secrets in settings', () => {
  const URL_WITH_SECRETS = 'postgres://app:s3cret%40pw@db.example:5432/profiles?sslmode=require&sslpassword=k3ypass';

  it("prints a database URL's password and password parameters as ***, and nothing else changed", () => {
    expect(redactUrl(URL_WITH_SECRETS)).toBe('postgres://app:***@db.example:5432/profiles?sslmode=require&sslpassword=***');
    expect(redactUrl('postgres://app@db.example/profiles?password=pw1')).toBe('postgres://app@db.example/profiles?password=***');
    expect(redactUrl('postgres://db.example:5432/profiles')).toBe('postgres://db.example:5432/profiles');
    expect(redactUrl('')).toBe('');
  });

  it('finds the password of a URL that URL cannot parse, up to its last @', () => {
    expect(redactUrl('postgres://app:p@ss@db.example:notaport/profiles')).toBe('postgres://app:***@db.example:notaport/profiles');
    expect(secretsOfUrl('postgres://app:p@ss@db.example:notaport/profiles')).toEqual(['p@ss']);
  });

  it('names each secret as written and decoded, so either form is kept out of output', () => {
    expect(secretsOfUrl(URL_WITH_SECRETS).sort()).toEqual(['k3ypass', 's3cret%40pw', 's3cret@pw'].sort());
    expect(redactSecrets('failed: s3cret@pw and k3ypass', secretsOfUrl(URL_WITH_SECRETS))).toBe('failed: *** and ***');
  });

  it('redacts the configuration and the store description the server logs', () => {
    const env = { PROFILES_DATABASE_URL: URL_WITH_SECRETS };
    expect(redactedConfig(loadConfig(env)).databaseUrl).toBe('postgres://app:***@db.example:5432/profiles?sslmode=require&sslpassword=***');
    expect(secretsInEnv(env)).toContain('s3cret@pw');
    const described = describeStore({ dataDir: './data', databaseUrl: URL_WITH_SECRETS });
    expect(described).not.toMatch(/s3cret|k3ypass/);
  });
});
