import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Safe webhook targets: a URL is delivered to only when every address its host resolves to is a
 * public unicast address (not loopback, private, link-local, carrier-grade NAT, unique-local,
 * metadata, multicast or reserved), unless private targets are allowed
 * (`PROFILES_WEBHOOK_ALLOW_PRIVATE`, which also allows http). The check runs when an endpoint is
 * added and before every attempt, and the attempt connects to the address checked, so a DNS
 * answer that changes in between (rebinding) cannot send it elsewhere.
 */

/** A URL that may not receive webhooks, and why. */
export class UnsafeTargetError extends Error {
  override name = 'UnsafeTargetError';
}

const MAX_URL_LENGTH = 2048;

/** The URL if its form is acceptable: https (http only with `allowPrivate`), a host, no credentials. */
export function parseTargetUrl(text: string, allowPrivate: boolean): URL {
  if (text.length > MAX_URL_LENGTH) throw new UnsafeTargetError(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UnsafeTargetError(`${JSON.stringify(text)} is not an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowPrivate)) {
    throw new UnsafeTargetError(allowPrivate ? 'the URL must be https or http' : 'the URL must be https (http only with PROFILES_WEBHOOK_ALLOW_PRIVATE=true)');
  }
  if (url.username || url.password) throw new UnsafeTargetError('the URL may not hold credentials; authenticate deliveries by their signature');
  if (!url.hostname) throw new UnsafeTargetError('the URL has no host');
  return url;
}

/** The URL's host as DNS and `isIP` take it (an IPv6 literal without its brackets). */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** Whether an address is public unicast: `ipaddr.js` names every special range otherwise. */
export function isPublicAddress(address: string): boolean {
  try {
    return ipaddr.process(address).range() === 'unicast';
  } catch {
    return false;
  }
}

export interface ResolvedTarget {
  url: URL;
  /** The address to connect to, checked. */
  address: string;
  family: 4 | 6;
}

/** Resolves the URL's host now and checks every address it has; throws UnsafeTargetError. */
export async function resolveTarget(url: URL, allowPrivate: boolean): Promise<ResolvedTarget> {
  const host = hostOf(url);
  let addresses: Array<{ address: string; family: number }>;
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookup(host, { all: true, verbatim: true });
  } catch (err) {
    throw new UnsafeTargetError(`${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (addresses.length === 0) throw new UnsafeTargetError(`${host} does not resolve`);
  if (!allowPrivate) {
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      throw new UnsafeTargetError(
        `${host} resolves to ${refused.address}, a loopback, private, link-local or otherwise non-public address (allowed only with PROFILES_WEBHOOK_ALLOW_PRIVATE=true)`,
      );
    }
  }
  return { url, address: addresses[0].address, family: addresses[0].family === 6 ? 6 : 4 };
}
