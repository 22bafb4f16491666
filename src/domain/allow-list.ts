import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Why an allow-list entry is not an IPv4/IPv6 address or CIDR range, or null. */
export function allowListEntryProblem(entry: string): string | null {
  try {
    parseRange(entry);
    return null;
  } catch {
    return `"${entry}" is not an IPv4 or IPv6 address or CIDR range`;
  }
}

function parseRange(entry: string): Range {
  const text = entry.trim();
  if (text.includes('/')) return ipaddr.parseCIDR(text);
  const address = ipaddr.parse(text);
  return [address, address.kind() === 'ipv4' ? 32 : 128];
}

/** An IP allow list: empty allows every address. IPv4-mapped IPv6 addresses match IPv4 entries. */
export class AllowList {
  private readonly ranges: Range[];

  constructor(entries: readonly string[]) {
    this.ranges = entries.map(parseRange);
  }

  allows(ip: string): boolean {
    if (this.ranges.length === 0) return true;
    let address: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      address = ipaddr.process(ip);
    } catch {
      return false;
    }
    return this.ranges.some(([range, bits]) => range.kind() === address.kind() && address.match(range, bits));
  }
}
