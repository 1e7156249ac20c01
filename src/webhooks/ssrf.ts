/**
 * The SSRF guard (ADR 0019): a webhook URL is chosen by a customer, and the
 * request is made from inside our network, so without a guard an endpoint at
 * http://169.254.169.254/ or http://10.0.0.5:5432/ would turn Tasklane into a
 * proxy to the cloud metadata service or the database. Every address a target
 * resolves to is checked when the socket connects (so a DNS answer that changes
 * between a check and the request — rebinding — is caught too).
 */
import dns from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const blocked = new BlockList();
// IPv4: "this network", private, carrier-grade NAT, loopback, link-local (the
// metadata services), IETF protocol assignments, documentation, benchmarking,
// multicast, reserved and broadcast.
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
// IPv6: unspecified, loopback, NAT64 (reaches IPv4 behind it), unique local,
// link-local, documentation, multicast. IPv4-mapped addresses are checked as IPv4.
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['2001:db8::', 32],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** True for an address no webhook may reach: private, loopback, link-local, reserved. */
export function isPrivateAddress(address: string): boolean {
  const mapped = MAPPED_IPV4.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The error a refused target fails with; its message is what the attempt records. */
export class BlockedTargetError extends Error {
  override name = 'BlockedTargetError';
  readonly code = 'blocked_target';
}

/** A hostname without brackets: URL keeps IPv6 literals as `[::1]`. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * For a URL whose host is an address literal, the refusal (net.connect does not
 * call `lookup` for literals, so they are checked here); undefined for names.
 */
export function literalTargetRefusal(url: URL): BlockedTargetError | undefined {
  const host = bareHost(url);
  if (isIP(host) !== 0 && isPrivateAddress(host)) {
    return new BlockedTargetError(`${host} is a private, loopback or link-local address`);
  }
  return undefined;
}

/**
 * A `lookup` for sockets that fails when any address a name resolves to is
 * private: all of them, not only the first, since the connection may try each.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((entry) => isPrivateAddress(entry.address));
    if (refused) {
      const blockedError = new BlockedTargetError(
        `${hostname} resolves to ${refused.address}, a private, loopback or link-local address`,
      );
      return callback(blockedError as NodeJS.ErrnoException, '', 0);
    }
    if (options.all) return (callback as unknown as AllCallback)(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
};
type AllCallback = (error: null, addresses: dns.LookupAddress[]) => void;

/** The refusal for a URL about to be saved: literals now, names when they resolve. */
export async function targetRefusal(url: URL): Promise<BlockedTargetError | undefined> {
  const literal = literalTargetRefusal(url);
  if (literal || isIP(bareHost(url)) !== 0) return literal;
  let addresses: dns.LookupAddress[];
  try {
    addresses = await dns.promises.lookup(bareHost(url), { all: true });
  } catch {
    // A name that does not resolve yet is not refused: deliveries check again.
    return undefined;
  }
  const refused = addresses.find((entry) => isPrivateAddress(entry.address));
  return refused
    ? new BlockedTargetError(`${url.hostname} resolves to ${refused.address}, a private address`)
    : undefined;
}
