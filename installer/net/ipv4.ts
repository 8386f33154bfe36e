/**
 * IPv4 addresses and subnets: the one parser of `A.B.C.D` and `A.B.C.D/P` and the arithmetic on them,
 * used by the answer file's schema and checks, the render model and the migration test's guest. Pure.
 */

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
/** `198.18.1.1`: four decimal octets, no leading zeros. */
export const IPV4_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);
/** `198.18.1.11/24`: an address with a prefix from 0 to 32. */
export const IPV4_CIDR_RE = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}/(?:3[0-2]|[12]?\\d)$`);

export interface Ipv4Cidr {
  /** The address as an unsigned 32-bit number. */
  address: number;
  prefix: number;
}

/** `198.18.1.1` as an unsigned 32-bit number; throws on anything else. */
export function parseIpv4(text: string): number {
  const trimmed = text.trim();
  if (!IPV4_RE.test(trimmed)) throw new Error(`expected an IPv4 address, like 198.18.1.1, not "${text}"`);
  const parts = trimmed.split('.').map(Number);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

/** `198.18.1.11/24`; throws on anything else. */
export function parseCidr(text: string): Ipv4Cidr {
  const trimmed = text.trim();
  if (!IPV4_CIDR_RE.test(trimmed)) throw new Error(`expected an IPv4 address with prefix, like 198.18.1.200/24, not "${text}"`);
  const [address, prefix] = trimmed.split('/');
  return { address: parseIpv4(address!), prefix: Number(prefix) };
}

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** The netmask of a prefix as a number (`/24`: 255.255.255.0). */
export function netmask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function networkOf(cidr: Ipv4Cidr): number {
  return (cidr.address & netmask(cidr.prefix)) >>> 0;
}

export function broadcastOf(cidr: Ipv4Cidr): number {
  return (networkOf(cidr) | ~netmask(cidr.prefix)) >>> 0;
}

/** `198.19.1.0/24` */
export function subnetText(cidr: Ipv4Cidr): string {
  return `${formatIpv4(networkOf(cidr))}/${cidr.prefix}`;
}

export function sameSubnet(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.prefix === b.prefix && networkOf(a) === networkOf(b);
}

export function inSubnet(address: number, subnet: Ipv4Cidr): boolean {
  return ((address & netmask(subnet.prefix)) >>> 0) === networkOf(subnet);
}

export function subnetsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  const shorter = Math.min(a.prefix, b.prefix);
  return ((a.address & netmask(shorter)) >>> 0) === ((b.address & netmask(shorter)) >>> 0);
}

/** The address part of `198.18.1.11/24` as written (`198.18.1.11`); text without a prefix as it is. */
export function addressOf(cidr: string): string {
  return cidr.split('/')[0]!;
}
