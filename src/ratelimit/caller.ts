import { isIPv6 } from 'node:net';

/** The rate limit key of a signed-in user. */
export function userKey(userId: string): string {
  return `user:${userId}`;
}

/**
 * The rate limit key of an anonymous client: its IPv4 address, or the /64 its
 * IPv6 address belongs to — one subscriber usually holds a whole /64, so keying
 * by the full address would hand an attacker 2^64 buckets.
 */
export function ipKey(ip: string): string {
  if (!isIPv6(ip)) return `ip:${ip}`;
  const mappedV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mappedV4) return `ip:${mappedV4[1]}`;
  return `ip6:${ipv6Groups(ip).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, without leading zeros. */
function ipv6Groups(ip: string): string[] {
  // A zone (fe80::1%eth0) names an interface, not part of the address.
  const address = ip.split('%', 1)[0]!.toLowerCase();
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...zeros, ...right].map((group) => Number.parseInt(group, 16).toString(16));
}

/** A login attempt's account key: the address as typed, case-folded as sign-up stores it. */
export function accountKey(email: string): string {
  return `account:${email.trim().toLowerCase()}`;
}
