/**
 * Value parsers and validators shared by the readers: IPv4 addresses and prefixes (as u32
 * numbers, validated with ip-num), Kubernetes name syntaxes, and human descriptions of bad values.
 * Kept private to the loader so it does not depend on src/wire.
 */
import { Validator } from 'ip-num';
import type { Cidr } from '../model.js';
import { escapeControls } from '../../wire/text.js';

const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Parses dotted-quad IPv4 (no leading zeros, as Go's net/netip) to a u32; undefined when malformed. */
export function parseIpv4(text: string): number | undefined {
  const m = DOTTED.exec(text);
  if (!m) return undefined;
  if (!Validator.isValidIPv4String(text)[0]) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** An IPv4 address read the way Kubernetes' legacy IP fields are (k8s.io/utils/net ParseIPSloppy). */
export interface SloppyIpv4 {
  readonly ip: number;
  /** Why the text is not canonical dotted-quad (leading zeros, IPv4-mapped IPv6); undefined when it is. */
  readonly nonStandard: 'leading zeros' | 'IPv4-mapped IPv6' | undefined;
}

const SLOPPY_DOTTED = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/;
// "::ffff:a.b.c.d" and its spelled-out forms ("0:0:0:0:0:ffff:…", "::0:ffff:…"); the tail dotted or two hex groups.
const MAPPED = /^(?:::(?:0{1,4}:){0,4}|(?:0{1,4}:){1,4}:|(?:0{1,4}:){5})ffff:(.+)$/i;
const HEX_TAIL = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

function sloppyDotted(text: string): number | undefined {
  const m = SLOPPY_DOTTED.exec(text);
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3], m[4]].map((x) => {
    // Go's pre-1.17 parser: decimal digits, leading zeros ignored (not octal), at most 255.
    const t = (x ?? '').replace(/^0+(?=\d)/, '');
    return t.length > 3 ? 256 : Number(t);
  });
  if (parts.some((n) => n > 255)) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/**
 * Parses IPv4 as kube-proxy and the API server's legacy-field validation do (ParseIPSloppy, the
 * Go 1.16 net.ParseIP): octets may have leading zeros, read as DECIMAL (`041` is 41), and an
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is that IPv4 address. undefined when malformed.
 */
export function parseIpv4Sloppy(text: string): SloppyIpv4 | undefined {
  const strict = parseIpv4(text);
  if (strict !== undefined) return { ip: strict, nonStandard: undefined };
  const dotted = sloppyDotted(text);
  if (dotted !== undefined) return { ip: dotted, nonStandard: 'leading zeros' };
  const mapped = MAPPED.exec(text);
  if (!mapped) return undefined;
  const tail = mapped[1] ?? '';
  const hex = HEX_TAIL.exec(tail);
  const ip = hex
    ? ((Number.parseInt(hex[1] ?? '', 16) << 16) | Number.parseInt(hex[2] ?? '', 16)) >>> 0
    : sloppyDotted(tail);
  return ip === undefined ? undefined : { ip, nonStandard: 'IPv4-mapped IPv6' };
}

/**
 * Parses dotted-quad IPv4 as glibc's inet_aton does for four parts: an octet with a leading zero is
 * OCTAL (`010` is 8), `0x` is hex. This is how a pod's resolver reads a `nameserver` line kubelet
 * copied verbatim from dnsConfig. undefined when inet_aton refuses it (`096` is no octal number).
 */
export function parseIpv4Inet(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const nums = parts.map((p) => {
    if (/^0x[0-9a-f]+$/i.test(p)) return Number.parseInt(p.slice(2), 16);
    if (/^0[0-7]*$/.test(p)) return Number.parseInt(p, 8);
    if (/^[1-9]\d*$/.test(p)) return Number(p);
    return Number.NaN;
  });
  if (nums.some((n) => !(n >= 0 && n <= 255))) return undefined;
  const [a = 0, b = 0, c = 0, d = 0] = nums;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** A CIDR read the way Kubernetes' legacy CIDR fields are (k8s.io/utils/net ParseCIDRSloppy). */
export interface SloppyCidr {
  /** The prefix, host bits cleared (ParseCIDRSloppy's network). */
  readonly cidr: Cidr;
  /** Leading zeros in the address or the prefix length. */
  readonly leadingZeros: boolean;
  /** The address had bits set beyond the prefix length (an "interface address"), cleared here. */
  readonly hostBits: boolean;
}

/**
 * Parses `a.b.c.d/len` as ParseCIDRSloppy does: leading zeros allowed (decimal) in the address and
 * the length, and host bits set are cleared (the API server's legacy validation accepts both and
 * only warns; kube-proxy uses the masked network). undefined when malformed.
 */
export function parseCidrSloppy(text: string): SloppyCidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const lenText = text.slice(slash + 1);
  if (!/^\d+$/.test(lenText)) return undefined;
  const len = Number(lenText.replace(/^0+(?=\d)/, '').slice(0, 3));
  if (lenText.replace(/^0+(?=\d)/, '').length > 2 || len > 32) return undefined;
  const ipText = text.slice(0, slash);
  const strictIp = parseIpv4(ipText);
  const ip = strictIp ?? sloppyDotted(ipText);
  if (ip === undefined) return undefined;
  const cidr = cidrOf(ip, len);
  return {
    cidr,
    leadingZeros: strictIp === undefined || lenText !== String(len),
    hostBits: cidr.addr !== ip,
  };
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Netmask of a prefix length as a u32. */
export function maskOf(len: number): number {
  return len <= 0 ? 0 : len >= 32 ? 0xffffffff : (0xffffffff << (32 - len)) >>> 0;
}

export function cidrOf(addr: number, len: number): Cidr {
  return { addr: (addr & maskOf(len)) >>> 0, len };
}

export function cidrText(c: Cidr): string {
  return `${formatIpv4(c.addr)}/${c.len}`;
}

export function broadcastOf(c: Cidr): number {
  return (c.addr | ~maskOf(c.len)) >>> 0;
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return (ip & maskOf(c.len)) >>> 0 === c.addr;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.len <= b.len ? cidrContains(a, b.addr) : cidrContains(b, a.addr);
}

/** Number of addresses in a prefix (2^(32-len)). */
export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.len);
}

export type CidrParse =
  | { readonly ok: true; readonly cidr: Cidr }
  | { readonly ok: false; readonly misaligned: Cidr | undefined };

/**
 * Parses `a.b.c.d/len`. A well-formed prefix with host bits set is reported as misaligned with
 * the aligned form, so the caller can say "did you mean 10.244.0.0/16?".
 */
export function parseCidr(text: string): CidrParse {
  const slash = text.indexOf('/');
  if (slash < 0) return { ok: false, misaligned: undefined };
  const ipText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  if (!/^\d{1,2}$/.test(lenText)) return { ok: false, misaligned: undefined };
  const ip = parseIpv4(ipText);
  const len = Number(lenText);
  if (ip === undefined || len > 32) return { ok: false, misaligned: undefined };
  if (!Validator.isValidIPv4CidrNotation(text)[0]) return { ok: false, misaligned: undefined };
  if (!Validator.isValidIPv4CidrRange(text)[0]) return { ok: false, misaligned: cidrOf(ip, len) };
  return { ok: true, cidr: { addr: ip, len } };
}

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** A checker returns undefined when the value is fine, else the "expected …" phrase. */
export type Check = (s: string) => string | undefined;

export const DNS_LABEL_EXPECTED =
  'a DNS-1123 label (lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)';
export const DNS_SUBDOMAIN_EXPECTED =
  'a DNS-1123 subdomain (lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters)';

export const DNS_1035_LABEL_EXPECTED =
  'a DNS-1035 label (lowercase letters, digits and "-", starting with a letter and ending with a letter or digit, at most 63 characters)';

/** A Service name: a DNS-1035 label (like a DNS-1123 label, but it must start with a letter). */
export const dns1035Label: Check = (s) =>
  s.length <= 63 && /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(s) ? undefined : DNS_1035_LABEL_EXPECTED;

/** Whether a string looks like an IPv6 address or prefix (for "podnet is IPv4-only" messages). */
export function looksIpv6(s: string): boolean {
  return s.includes(':') && /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(s);
}

export const dnsLabel: Check = (s) => (s.length <= 63 && LABEL_RE.test(s) ? undefined : DNS_LABEL_EXPECTED);
export const dnsSubdomain: Check = (s) =>
  s.length <= 253 && SUBDOMAIN_RE.test(s) ? undefined : DNS_SUBDOMAIN_EXPECTED;

/** IANA_SVC_NAME as Kubernetes validates port names: ≤15 chars, [a-z0-9-], a letter, no "--", no edge "-". */
export const ianaSvcName: Check = (s) =>
  s.length >= 1 && s.length <= 15 && LABEL_RE.test(s) && /[a-z]/.test(s) && !s.includes('--')
    ? undefined
    : 'an IANA service name (at most 15 lowercase letters, digits and "-", with at least one letter, no "--", not starting or ending with "-")';

/** A label or taint key: `[prefix/]name`, prefix a DNS subdomain, name ≤63 chars of [A-Za-z0-9-_.]. */
export const labelKey: Check = (s) => {
  const slash = s.lastIndexOf('/');
  const prefix = slash >= 0 ? s.slice(0, slash) : undefined;
  const name = slash >= 0 ? s.slice(slash + 1) : s;
  const ok =
    name.length <= 63 &&
    QUALIFIED_NAME_RE.test(name) &&
    (prefix === undefined || (prefix.length <= 253 && SUBDOMAIN_RE.test(prefix)));
  return ok
    ? undefined
    : 'a label key ([prefix/]name: name at most 63 characters of letters, digits, "-", "_" and ".", prefix a DNS subdomain)';
};

/** A qualified name (appProtocol): the syntax of a label key, named as the API server names it. */
export const qualifiedName: Check = (s) =>
  labelKey(s) === undefined
    ? undefined
    : 'a qualified name ([prefix/]name: name at most 63 characters of letters, digits, "-", "_" and ".", prefix a DNS subdomain)';

/** A label value: empty, or ≤63 chars of [A-Za-z0-9-_.] starting and ending alphanumeric. */
export const labelValue: Check = (s) =>
  s === '' || (s.length <= 63 && QUALIFIED_NAME_RE.test(s))
    ? undefined
    : 'a label value (at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit)';

/** Quotes a string for messages, truncating long ones, with no control character left raw. */
export function quote(s: string): string {
  const max = 60;
  const t = s.length > max ? `${s.slice(0, max)}…` : s;
  // JSON escapes C0; DEL, C1 and the bidi overrides are escaped as well
  return escapeControls(JSON.stringify(t), false);
}

/** Ordinal for messages: 1st, 2nd, 3rd, 4th, 11th, 21st. */
export function ordinal(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

/**
 * Edit distance with adjacent transpositions (optimal string alignment), so `clusterCIRD` is one edit from
 * `clusterCIDR`; stops early once every entry of a row exceeds `limit`.
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/**
 * The candidate closest to `word` when it is near enough to be a slip of the keyboard: the same but for
 * letter case, or within one edit per four characters (at least one, at most three); undefined otherwise.
 */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = Math.min(3, Math.max(1, Math.floor(word.length / 4)));
  for (const c of candidates) {
    if (c === word) continue;
    if (c.toLowerCase() === lower) return c;
    const d = editDistance(lower, c.toLowerCase(), bestD);
    if (d < bestD || (d === bestD && best === undefined)) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
