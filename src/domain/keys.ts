import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new profile key: 192 random bits, shown once; only `hash` is stored. */
export interface IssuedKey {
  keyId: string;
  key: string;
  hash: string;
}

export function issueProfileKey(): IssuedKey {
  const key = `opk_${randomBytes(24).toString('base64url')}`;
  return { keyId: `key_${randomBytes(6).toString('hex')}`, key, hash: hashProfileKey(key) };
}

/** Hex SHA-256: keys carry 192 random bits, so a fast hash is enough (no password stretching needed). */
export function hashProfileKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Constant-time equality of two hex hashes of equal length. */
export function isSameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
