import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS, settingsMarkdown } from '../../src/config/config.js';

describe('configuration', () => {
  it('uses every default when the environment is empty, frozen', () => {
    const config = loadConfig({});
    for (const [name, s] of Object.entries(SETTINGS)) expect(config[name as keyof typeof config]).toEqual(s.default);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads and parses environment variables; overrides win', () => {
    const config = loadConfig({ PROFILES_PORT: '9443', PROFILES_WORKER: 'false', PROFILES_TRUST_PROXY: '10.0.0.1, 10.1.0.0/16' }, { port: 1 });
    expect(config.port).toBe(1);
    expect(config.hasApplier).toBe(false);
    expect(config.trustProxy).toEqual(['10.0.0.1', '10.1.0.0/16']);
  });

  it('refuses every invalid setting at once, naming each variable', () => {
    expect(() => loadConfig({ PROFILES_PORT: 'http', PROFILES_WORKER: 'maybe', PROFILES_LOG_LEVEL: 'loud' })).toThrow(
      /PROFILES_PORT[\s\S]*PROFILES_LOG_LEVEL[\s\S]*PROFILES_WORKER|PROFILES_PORT[\s\S]*PROFILES_WORKER[\s\S]*PROFILES_LOG_LEVEL/,
    );
    expect(() => loadConfig({ PROFILES_TLS_CERT: 'cert.pem' })).toThrow(/together/);
  });

  it("keeps the README's configuration table equal to the settings schema", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('<!-- settings:start -->') + '<!-- settings:start -->'.length, readme.indexOf('<!-- settings:end -->'));
    expect(table.trim()).toBe(settingsMarkdown().trim());
  });
});
