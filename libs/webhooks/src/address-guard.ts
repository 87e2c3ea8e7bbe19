import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Server-side request forgery guard: a webhook URL must not reach the machine it runs on, its
 * private network or the cloud metadata service. Addresses are checked when an endpoint is
 * registered and again at every connection, on the address actually connected to (the lookup
 * below is the connection's own DNS resolution), so a name that later resolves elsewhere (DNS
 * rebinding) is refused too.
 */

/** Why an address is refused; undefined: a public address. */
export type RefusedAddress =
  'loopback' | 'private' | 'link-local' | 'unspecified' | 'metadata' | 'multicast' | 'reserved';

/** IPv4 ranges that are not the public internet, most specific first. */
const V4_RANGES: ReadonlyArray<[string, number, RefusedAddress]> = [
  ['169.254.169.254', 32, 'metadata'],
  ['0.0.0.0', 8, 'unspecified'],
  ['127.0.0.0', 8, 'loopback'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT, shared address space
  ['169.254.0.0', 16, 'link-local'],
  ['192.0.0.0', 24, 'reserved'],
  ['198.18.0.0', 15, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes 255.255.255.255
];

const V6_RANGES: ReadonlyArray<[string, number, RefusedAddress]> = [
  ['fd00:ec2::254', 128, 'metadata'],
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'private'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'reserved'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
  ['100::', 64, 'reserved'], // discard-only
];

function v4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** The 16 bytes of an IPv6 address (`::` expanded, a dotted IPv4 tail included). */
function v6Bytes(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = v4Bytes(tail[1]);
    text = text.slice(0, -tail[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string): string[] => (part ? part.split(':') : []);
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const middle = rest === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

function inRange(bytes: number[], base: number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((bytes[bit >> 3] & mask) !== (base[bit >> 3] & mask)) return false;
  }
  return true;
}

function classifyV4(address: string): RefusedAddress | undefined {
  const bytes = v4Bytes(address);
  return V4_RANGES.find(([base, prefix]) => inRange(bytes, v4Bytes(base), prefix))?.[2];
}

/** Why `address` (an IPv4 or IPv6 literal) may not be connected to, or undefined if it may. */
export function classifyAddress(address: string): RefusedAddress | undefined {
  const family = isIP(address.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(address);
  if (family !== 6) return 'reserved';
  const bytes = v6Bytes(address);
  // IPv4 carried in IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and NAT64 (64:ff9b::/96)
  // reach the IPv4 address, so they are judged as that address.
  const embedded = (from: number): string => bytes.slice(from, from + 4).join('.');
  if (inRange(bytes, v6Bytes('::ffff:0:0'), 96)) return classifyV4(embedded(12));
  if (inRange(bytes, v6Bytes('64:ff9b::'), 96)) return classifyV4(embedded(12));
  const found = V6_RANGES.find(([base, prefix]) => inRange(bytes, v6Bytes(base), prefix))?.[2];
  if (found) return found;
  if (inRange(bytes, v6Bytes('::'), 96)) return classifyV4(embedded(12));
  return undefined;
}

export class AddressRefused extends Error {
  override readonly name = 'AddressRefused';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: RefusedAddress,
  ) {
    super(
      host === address ? `${address} is a ${reason} address` : `${host} resolves to ${address}, a ${reason} address`,
    );
  }
}

export class HostUnresolvable extends Error {
  override readonly name = 'HostUnresolvable';
  constructor(
    readonly host: string,
    cause: unknown,
  ) {
    super(`${host} does not resolve (${(cause as { code?: string }).code ?? (cause as Error).message})`);
  }
}

/** The URL's host without IPv6 brackets. */
export const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Every address `host` resolves to, each checked; throws AddressRefused for the first that is not
 * public (unless private networks are allowed) and HostUnresolvable if there is none.
 */
export async function resolveChecked(
  host: string,
  allowPrivate: boolean,
): Promise<Array<{ address: string; family: number }>> {
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await dnsLookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new HostUnresolvable(host, error);
    }
    if (addresses.length === 0) throw new HostUnresolvable(host, new Error('no addresses'));
  }
  if (!allowPrivate) {
    for (const { address } of addresses) {
      const reason = classifyAddress(address);
      if (reason) throw new AddressRefused(host, address, reason);
    }
  }
  return addresses;
}

/**
 * A `lookup` for http(s).request: the socket connects only to the addresses this resolved and
 * checked. (A literal IP in the URL skips lookup; `resolveChecked` is called on it before the request.)
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, allowPrivate).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = wanted ? addresses.filter((a) => a.family === wanted) : addresses;
        if (usable.length === 0) {
          callback(new HostUnresolvable(hostname, new Error(`no IPv${String(wanted)} address`)), '', 0);
        } else if (options.all) {
          (callback as unknown as (error: null, addresses: Array<{ address: string; family: number }>) => void)(
            null,
            usable,
          );
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}
