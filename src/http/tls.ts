import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import selfsigned from 'selfsigned';
import { ensurePrivateDir, writeFileDurably } from '../storage/private-files.js';

export interface TlsFiles {
  key: string;
  cert: string;
}

/** Why `cert` and `key` cannot serve TLS (the certificate, the key, or the pair), or null when they can. */
function tlsProblem(files: TlsFiles): string | null {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(files.cert);
  } catch (err) {
    return `the certificate is not a PEM certificate (${(err as Error).message})`;
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(files.key))) return 'the key is not the certificate\'s';
  } catch (err) {
    return `the key is not a PEM private key (${(err as Error).message})`;
  }
  return null;
}

/**
 * The certificate to serve: the configured one (refused with a clear message when unusable), else
 * a self-signed one for localhost kept in the data directory: created on first start, written
 * durably (a power cut leaves it whole or absent), reused afterwards, and created again, with a
 * warning, when what is there cannot serve (empty, torn, or not a pair).
 */
export async function resolveTls(
  options: { tlsCert: string; tlsKey: string; dataDir: string },
  logger: Logger,
): Promise<TlsFiles> {
  if (options.tlsCert) {
    const configured = { cert: await readFile(options.tlsCert, 'utf8'), key: await readFile(options.tlsKey, 'utf8') };
    const problem = tlsProblem(configured);
    if (problem) throw new Error(`PROFILES_TLS_CERT ${options.tlsCert} and PROFILES_TLS_KEY ${options.tlsKey} cannot serve TLS: ${problem}`);
    return configured;
  }
  const dir = join(options.dataDir, 'tls');
  const certPath = join(dir, 'localhost.crt');
  const keyPath = join(dir, 'localhost.key');
  try {
    const kept = { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
    const problem = tlsProblem(kept);
    if (!problem) return kept;
    logger.warn({ certPath, keyPath, problem }, 'the self-signed TLS certificate in the data directory cannot serve: creating a new one');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const notAfter = new Date();
  notAfter.setFullYear(notAfter.getFullYear() + 2);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  ensurePrivateDir(options.dataDir);
  ensurePrivateDir(dir);
  // The key first: a certificate is only ever found beside its own key or none (then both are made anew).
  writeFileDurably(keyPath, pems.private);
  writeFileDurably(certPath, pems.cert);
  logger.warn({ certPath }, 'no TLS certificate configured: created a self-signed certificate for localhost (set PROFILES_TLS_CERT and PROFILES_TLS_KEY for production)');
  return { cert: pems.cert, key: pems.private };
}
