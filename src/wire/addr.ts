/** An IPv4 address as an unsigned 32-bit integer (always normalised with `>>> 0`). */
export type Ipv4Addr = number;
/** A MAC address as a 48-bit unsigned integer (exact in a float64). */
export type MacAddr = number;

/** An IPv4 prefix, `addr` being the network address (host bits zero). */
export interface Cidr {
  readonly addr: Ipv4Addr;
  readonly len: number;
}

// 48-bit MACs do not fit in 32-bit bitwise ops, so the top 16 bits are split off arithmetically.
const TWO32 = 0x1_0000_0000;
const TWO40 = 0x100_0000_0000;

/** The all-ones broadcast MAC ff:ff:ff:ff:ff:ff. */
export const MAC_BROADCAST: MacAddr = 0xffff_ffff_ffff;
/** The all-zero MAC, used e.g. as the unknown target in ARP requests. */
export const MAC_ZERO: MacAddr = 0;

const OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

/** Parses a strict dotted quad (four decimal octets, no leading zeros, no whitespace); undefined if malformed. */
export function parseIpv4(s: string): Ipv4Addr | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let a = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    a = a * 256 + n;
  }
  return a >>> 0;
}

/** Formats an IPv4 address as a dotted quad. */
export function formatIpv4(a: Ipv4Addr): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

const MAC_RE = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/i;

/** Parses `aa:bb:cc:dd:ee:ff` (case-insensitive); undefined if malformed. */
export function parseMac(s: string): MacAddr | undefined {
  if (!MAC_RE.test(s)) return undefined;
  return Number.parseInt(s.replace(/:/g, ''), 16);
}

// a cluster has one MAC per device, and traces print them on every frame
const macTexts = new Map<MacAddr, string>();

/** Formats a MAC address as lowercase colon-separated hex. */
export function formatMac(m: MacAddr): string {
  let text = macTexts.get(m);
  if (text === undefined) {
    const hex = m.toString(16).padStart(12, '0');
    text = `${hex.slice(0, 2)}:${hex.slice(2, 4)}:${hex.slice(4, 6)}:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`;
    if (macTexts.size >= 65536) macTexts.clear();
    macTexts.set(m, text);
  }
  return text;
}

/** Reads a big-endian u16. */
export function readU16(buf: Uint8Array, off: number): number {
  return (buf[off]! << 8) | buf[off + 1]!;
}

/** Writes a big-endian u16 (the value is truncated to 16 bits). */
export function writeU16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 8;
  buf[off + 1] = v;
}

/** Reads a big-endian u32 as an unsigned number. */
export function readU32(buf: Uint8Array, off: number): number {
  return ((buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!) >>> 0;
}

/** Writes a big-endian u32 (the value is truncated to 32 bits). */
export function writeU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = v >>> 16;
  buf[off + 2] = v >>> 8;
  buf[off + 3] = v;
}

/** Reads an IPv4 address stored in network order. */
export function readIpv4(buf: Uint8Array, off: number): Ipv4Addr {
  return readU32(buf, off);
}

/** Writes an IPv4 address in network order. */
export function writeIpv4(buf: Uint8Array, off: number, a: Ipv4Addr): void {
  writeU32(buf, off, a);
}

/** Reads a 6-byte MAC address. */
export function readMac(buf: Uint8Array, off: number): MacAddr {
  return ((buf[off]! << 8) | buf[off + 1]!) * TWO32 + readU32(buf, off + 2);
}

/** Writes a 6-byte MAC address. */
export function writeMac(buf: Uint8Array, off: number, m: MacAddr): void {
  const hi = Math.floor(m / TWO32);
  buf[off] = hi >>> 8;
  buf[off + 1] = hi;
  writeU32(buf, off + 2, m % TWO32);
}

/** True if the I/G bit of the first octet is set (multicast or broadcast). */
export function isMulticastMac(m: MacAddr): boolean {
  return (Math.floor(m / TWO40) & 1) === 1;
}

/** Netmask for a prefix length as a u32 (0 for /0, 0xffffffff for /32); lengths are clamped to 0..32. */
export function prefixMask(len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return 0xffff_ffff;
  // A shift by 32 would be a no-op in JS, which is why /0 is special-cased above.
  return (0xffff_ffff << (32 - len)) >>> 0;
}

/** True if `addr` lies in `network/len`. */
export function inPrefix(addr: Ipv4Addr, network: Ipv4Addr, len: number): boolean {
  return ((addr ^ network) & prefixMask(len)) === 0;
}

/**
 * A MAC made of a two-byte prefix and the four IP bytes, as flannel/CNI derive pod MACs (0x0a58 + 10.244.1.2 →
 * 0a:58:0a:f4:01:02).
 */
export function macFromIpv4(prefix16: number, ip: Ipv4Addr): MacAddr {
  return (prefix16 & 0xffff) * TWO32 + (ip >>> 0);
}
