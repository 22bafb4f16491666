/**
 * The certificate the server serves: a self-signed one kept in the data directory is made anew,
 * with a warning, when what a power cut (or anything else) left there cannot serve; a configured
 * one that cannot serve stops the start with a message naming it.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveTls } from '../../src/http/tls.js';

describe('TLS files', () => {
  let dataDir: string;
  let warnings: string[];
  const logger = () => pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
  const resolveKept = () => resolveTls({ tlsCert: '', tlsKey: '', dataDir }, logger());
  const certFile = () => join(dataDir, 'tls', 'localhost.crt');
  const keyFile = () => join(dataDir, 'tls', 'localhost.key');

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'openprofiles-tls-'));
    warnings = [];
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates a self-signed pair on first start and serves the same pair after', async () => {
    const first = await resolveKept();
    expect(new X509Certificate(first.cert).checkPrivateKey(createPrivateKey(first.key))).toBe(true);
    warnings = [];
    expect(await resolveKept()).toEqual(first);
    expect(warnings).toEqual([]);
  });

  it.each([
    ['both empty, as a power cut left them', () => (writeFileSync(certFile(), ''), writeFileSync(keyFile(), ''))],
    ['an empty certificate', () => writeFileSync(certFile(), '')],
    ['a key cut short', () => writeFileSync(keyFile(), readFileSync(keyFile(), 'utf8').slice(0, 60))],
    ['a key of another pair', () => writeFileSync(keyFile(), readFileSync(join(dataDir, 'other.key'), 'utf8'))],
  ])('makes the self-signed pair anew, with a warning, when it finds %s', async (_, damage) => {
    const other = await resolveKept();
    writeFileSync(join(dataDir, 'other.key'), other.key);
    rmSync(join(dataDir, 'tls'), { recursive: true });
    const first = await resolveKept();
    damage();
    warnings = [];
    const next = await resolveKept();
    expect(next.cert).not.toBe(first.cert);
    expect(new X509Certificate(next.cert).checkPrivateKey(createPrivateKey(next.key))).toBe(true);
    expect({ cert: readFileSync(certFile(), 'utf8'), key: readFileSync(keyFile(), 'utf8') }).toEqual(next);
    expect(warnings.map((w) => JSON.parse(w).msg)).toEqual([
      'the self-signed TLS certificate in the data directory cannot serve: creating a new one',
      expect.stringMatching(/^no TLS certificate configured: created a self-signed certificate/),
    ]);
  });

  it('refuses a configured certificate that cannot serve, naming the files and what is wrong', async () => {
    const pair = await resolveKept();
    mkdirSync(join(dataDir, 'conf'));
    const [cert, key] = [join(dataDir, 'conf', 'site.crt'), join(dataDir, 'conf', 'site.key')];
    writeFileSync(cert, '');
    writeFileSync(key, pair.key);
    await expect(resolveTls({ tlsCert: cert, tlsKey: key, dataDir }, logger())).rejects.toThrow(
      `PROFILES_TLS_CERT ${cert} and PROFILES_TLS_KEY ${key} cannot serve TLS: the certificate is not a PEM certificate`,
    );
    writeFileSync(cert, pair.cert);
    await expect(resolveTls({ tlsCert: cert, tlsKey: key, dataDir }, logger())).resolves.toEqual(pair);
  });
});
