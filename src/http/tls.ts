import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import selfsigned from 'selfsigned';
import { ensurePrivateDir } from '../storage/private-files.js';

export interface TlsFiles {
  key: string;
  cert: string;
}

/**
 * The certificate to serve: the configured one, else a self-signed one for localhost kept in the
 * data directory (created on first start, reused afterwards).
 */
export async function resolveTls(
  options: { tlsCert: string; tlsKey: string; dataDir: string },
  logger: Logger,
): Promise<TlsFiles> {
  if (options.tlsCert) {
    return { cert: await readFile(options.tlsCert, 'utf8'), key: await readFile(options.tlsKey, 'utf8') };
  }
  const dir = join(options.dataDir, 'tls');
  const certPath = join(dir, 'localhost.crt');
  const keyPath = join(dir, 'localhost.key');
  try {
    return { cert: await readFile(certPath, 'utf8'), key: await readFile(keyPath, 'utf8') };
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
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(keyPath, pems.private, { mode: 0o600 });
  await writeFile(certPath, pems.cert);
  logger.warn({ certPath }, 'no TLS certificate configured: created a self-signed certificate for localhost (set PROFILES_TLS_CERT and PROFILES_TLS_KEY for production)');
  return { cert: pems.cert, key: pems.private };
}
