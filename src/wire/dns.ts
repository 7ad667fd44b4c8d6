/**
 * DNS messages (RFC 1035, with AAAA from RFC 3596, SRV from RFC 2782, unknown types as in
 * RFC 3597): a zero-copy header view plus a message Repr with parse and emit.
 *
 * Names are strings in presentation form without the trailing dot (`web.shop.svc.cluster.local`,
 * the root is `''`): a label byte that is `.` or `\` is escaped with a backslash, a byte outside
 * 0x21–0x7e is written `\DDD` (as dig prints it), so every label round-trips. Case is kept.
 *
 * Parsing follows compression pointers only backwards (a pointer must point before itself, so
 * no chain can loop) and enforces the 63-byte label and 255-byte name limits; any violation, a
 * truncated section, an rdata whose decoded length disagrees with RDLENGTH, or a count that the
 * bytes cannot hold is a WireError. Emitting compresses owner names and the names inside NS,
 * CNAME, PTR, MX and SOA rdata (not SRV targets, RFC 2782) unless `compress: false`.
 */
import { WireError, checkRoom, checkWindow } from './errors.js';
import { formatIpv4, readU16, readU32, writeU16, writeU32 } from './addr.js';
import type { Ipv4Addr } from './addr.js';

/** DNS's well-known port (UDP and TCP). */
export const DNS_PORT = 53;
/** Length of the fixed DNS header. */
export const DNS_HLEN = 12;
/** Longest name on the wire, length bytes and the root label included (RFC 1035 §2.3.4). */
export const DNS_MAX_NAME_WIRE = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const DNS_MAX_LABEL = 63;
/** Largest UDP message a client without EDNS0 accepts (RFC 1035 §4.2.1). */
export const DNS_UDP_PLAIN_MAX = 512;
/** Opcode of a standard query. */
export const DNS_OPCODE_QUERY = 0;

/** Resource record types podnet decodes (plus OPT and a few query-only types for naming). */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

/** Classes. */
export const DnsClass = { IN: 1, CH: 3, HS: 4, ANY: 255 } as const;

/** Response codes (the 4-bit header field). */
export const DnsRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

const TYPE_NAMES = new Map<number, string>(Object.entries(DnsType).map(([k, v]) => [v, k] as const));
const RCODE_NAMES = [
  'NOERROR',
  'FORMERR',
  'SERVFAIL',
  'NXDOMAIN',
  'NOTIMP',
  'REFUSED',
  'YXDOMAIN',
  'YXRRSET',
  'NXRRSET',
  'NOTAUTH',
  'NOTZONE',
];
const CLASS_NAMES = new Map<number, string>([
  [1, 'IN'],
  [3, 'CH'],
  [4, 'HS'],
  [254, 'NONE'],
  [255, 'ANY'],
]);

/** `A`, `SRV`, … or `TYPE<n>` for types without a mnemonic (RFC 3597 §5). */
export function dnsTypeName(t: number): string {
  return TYPE_NAMES.get(t) ?? `TYPE${t}`;
}

/** The code of a type mnemonic (`A`, `srv`, `TYPE99`), or undefined. */
export function dnsTypeCode(name: string): number | undefined {
  const up = name.toUpperCase();
  const known = (DnsType as Record<string, number>)[up];
  if (known !== undefined) return known;
  const m = /^TYPE(\d{1,5})$/.exec(up);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n <= 0xffff ? n : undefined;
}

/** `NOERROR`, `NXDOMAIN`, … or `RCODE<n>`. */
export function dnsRcodeName(r: number): string {
  return RCODE_NAMES[r] ?? `RCODE${r}`;
}

/** `IN`, `CH`, … or `CLASS<n>`. */
export function dnsClassName(c: number): string {
  return CLASS_NAMES.get(c) ?? `CLASS${c}`;
}

// ───────────────────────────── header view ─────────────────────────────

/** Zero-copy view of a DNS header at `buf[off]` (the message body follows). */
export class DnsView {
  /** Backing bytes. */
  buf: Uint8Array;
  /** Offset of the header inside {@link buf}. */
  off: number;

  /** Wraps without validation; use {@link DnsView.checked} for untrusted bytes. */
  constructor(buf: Uint8Array, off = 0) {
    this.buf = buf;
    this.off = off;
  }

  /** Wraps after checking that the 12-byte header is present. */
  static checked(buf: Uint8Array, off = 0, len = buf.length - off): DnsView {
    checkWindow('dns', buf, off, len, DNS_HLEN);
    return new DnsView(buf, off);
  }

  /** Transaction id. */
  get id(): number {
    return readU16(this.buf, this.off);
  }
  set id(v: number) {
    writeU16(this.buf, this.off, v);
  }

  /** The 16-bit flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode). */
  get flags(): number {
    return readU16(this.buf, this.off + 2);
  }
  set flags(v: number) {
    writeU16(this.buf, this.off + 2, v);
  }

  /** True for a response. */
  get qr(): boolean {
    return (this.buf[this.off + 2]! & 0x80) !== 0;
  }
  /** The 4-bit opcode. */
  get opcode(): number {
    return (this.buf[this.off + 2]! >> 3) & 0x0f;
  }
  /** Authoritative answer. */
  get aa(): boolean {
    return (this.buf[this.off + 2]! & 0x04) !== 0;
  }
  /** Truncated. */
  get tc(): boolean {
    return (this.buf[this.off + 2]! & 0x02) !== 0;
  }
  set tc(v: boolean) {
    this.buf[this.off + 2] = v ? this.buf[this.off + 2]! | 0x02 : this.buf[this.off + 2]! & ~0x02;
  }
  /** Recursion desired. */
  get rd(): boolean {
    return (this.buf[this.off + 2]! & 0x01) !== 0;
  }
  /** Recursion available. */
  get ra(): boolean {
    return (this.buf[this.off + 3]! & 0x80) !== 0;
  }
  /** The 4-bit response code. */
  get rcode(): number {
    return this.buf[this.off + 3]! & 0x0f;
  }

  /** Entries in the question section. */
  get qdcount(): number {
    return readU16(this.buf, this.off + 4);
  }
  /** Records in the answer section. */
  get ancount(): number {
    return readU16(this.buf, this.off + 6);
  }
  /** Records in the authority section. */
  get nscount(): number {
    return readU16(this.buf, this.off + 8);
  }
  /** Records in the additional section. */
  get arcount(): number {
    return readU16(this.buf, this.off + 10);
  }
}

// ───────────────────────────── reprs ─────────────────────────────

/** Every header field; `z` is the reserved bit between RA and AD. */
export interface DnsHeader {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  rcode: number;
}

/** One question. */
export interface DnsQuestion {
  name: string;
  type: number;
  class: number;
}

/** Record data of the types podnet decodes; `RAW` holds any other type's rdata bytes verbatim. */
export type DnsRData =
  | { type: 'A'; address: Ipv4Addr }
  | { type: 'AAAA'; address: Uint8Array }
  | { type: 'NS' | 'CNAME' | 'PTR'; target: string }
  | { type: 'MX'; preference: number; exchange: string }
  | {
      type: 'SOA';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { type: 'SRV'; priority: number; weight: number; port: number; target: string }
  | { type: 'TXT'; text: string[] }
  | { type: 'RAW'; code: number; bytes: Uint8Array };

/**
 * A resource record. For OPT (RAW code 41) `class` is the UDP payload size and `ttl` the extended rcode, version and
 * flags.
 */
export interface DnsRecord {
  name: string;
  class: number;
  ttl: number;
  data: DnsRData;
}

/** A whole message. */
export interface DnsMessage {
  header: DnsHeader;
  questions: DnsQuestion[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
}

/** Options of the encoder. */
export interface DnsEmitOptions {
  /** Compress names with pointers (default true). */
  compress?: boolean;
}

const DECODED_TYPES = new Set<number>([
  DnsType.A,
  DnsType.NS,
  DnsType.CNAME,
  DnsType.SOA,
  DnsType.PTR,
  DnsType.MX,
  DnsType.TXT,
  DnsType.AAAA,
  DnsType.SRV,
]);

/** The numeric type of record data. */
export function rdataTypeCode(d: DnsRData): number {
  return d.type === 'RAW' ? d.code : DnsType[d.type];
}

/** The numeric type of a record. */
export function recordType(r: DnsRecord): number {
  return rdataTypeCode(r.data);
}

/** A header with every flag clear. */
export function dnsHeader(fields: Partial<DnsHeader> = {}): DnsHeader {
  return {
    id: 0,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: false,
    ra: false,
    z: false,
    ad: false,
    cd: false,
    rcode: 0,
    ...fields,
  };
}

// ───────────────────────────── names ─────────────────────────────

function isPlain(b: number): boolean {
  return b >= 0x21 && b <= 0x7e && b !== 0x2e && b !== 0x5c;
}

/** Presentation form of one label's bytes (see the module comment for the escapes). */
export function formatLabel(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) {
    if (isPlain(b)) s += String.fromCharCode(b);
    else if (b === 0x2e || b === 0x5c) s += `\\${String.fromCharCode(b)}`;
    else s += `\\${String(b).padStart(3, '0')}`;
  }
  return s;
}

/**
 * Splits a presentation-form name into label bytes; one trailing dot is allowed. Throws WireError on bad escapes, empty
 * or long labels, or long names.
 */
export function nameToLabels(name: string): Uint8Array[] {
  const labels: Uint8Array[] = [];
  if (name === '' || name === '.') return labels;
  let cur: number[] = [];
  let i = 0;
  const end = (): void => {
    if (cur.length === 0) throw new WireError('dns', `empty label in name ${JSON.stringify(name)}`);
    if (cur.length > DNS_MAX_LABEL)
      throw new WireError('dns', `label of ${cur.length} bytes (max ${DNS_MAX_LABEL}) in name ${JSON.stringify(name)}`);
    labels.push(Uint8Array.from(cur));
    cur = [];
  };
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c === 0x2e) {
      end();
      i++;
      if (i === name.length) break; // the one trailing dot
      continue;
    }
    if (c === 0x5c) {
      const d = /^[0-9]{3}/.exec(name.slice(i + 1, i + 4));
      if (d !== null) {
        const v = Number(d[0]);
        if (v > 255) throw new WireError('dns', `escape \\${d[0]} is above 255 in name ${JSON.stringify(name)}`);
        cur.push(v);
        i += 4;
        continue;
      }
      if (i + 1 >= name.length) throw new WireError('dns', `dangling backslash in name ${JSON.stringify(name)}`);
      const e = name.charCodeAt(i + 1);
      if (e > 0xff)
        throw new WireError('dns', `character U+${e.toString(16)} is not a byte in name ${JSON.stringify(name)}`);
      cur.push(e);
      i += 2;
      continue;
    }
    if (c > 0xff)
      throw new WireError('dns', `character U+${c.toString(16)} is not a byte in name ${JSON.stringify(name)}`);
    cur.push(c);
    i++;
  }
  if (cur.length > 0) end();
  let wire = 1;
  for (const l of labels) wire += 1 + l.length;
  if (wire > DNS_MAX_NAME_WIRE)
    throw new WireError('dns', `name of ${wire} bytes on the wire (max ${DNS_MAX_NAME_WIRE}): ${JSON.stringify(name)}`);
  return labels;
}

/** The presentation form of label bytes (no trailing dot; `''` for the root). */
export function labelsToName(labels: readonly Uint8Array[]): string {
  return labels.map(formatLabel).join('.');
}

/**
 * A name in canonical presentation form (escapes normalised, one trailing dot removed); throws WireError when invalid.
 */
export function canonicalName(name: string): string {
  return labelsToName(nameToLabels(name));
}

/** Lower-cases ASCII letters only (DNS names compare case-insensitively, RFC 4343). */
export function lowerName(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * True when two names are equal ignoring ASCII case, escape spelling and a trailing dot; false when either is not a
 * valid name.
 */
export function sameName(a: string, b: string): boolean {
  try {
    return lowerName(canonicalName(a)) === lowerName(canonicalName(b));
  } catch {
    return false;
  }
}

/** `name.` for display (the root prints as `.`); a name already written absolute keeps its one trailing dot. */
export function fqdn(name: string): string {
  if (name === '') return '.';
  // `a\.` ends in an escaped dot (part of the label), not the root
  const absolute = name.endsWith('.') && !/(^|[^\\])(\\\\)*\\\.$/.test(name);
  return absolute ? name : `${name}.`;
}

/** The in-addr.arpa name of an IPv4 address (`7.1.244.10.in-addr.arpa`). */
export function reverseName(a: Ipv4Addr): string {
  return `${a & 0xff}.${(a >>> 8) & 0xff}.${(a >>> 16) & 0xff}.${a >>> 24}.in-addr.arpa`;
}

interface NameRead {
  name: string;
  /** Offset just after the name where it started (after its first pointer, if any). */
  next: number;
}

/**
 * Reads a possibly compressed name starting at `off`. `msg` is the message start (pointer base),
 * `limit` the end of the bytes the name's uncompressed part may occupy.
 */
function readName(buf: Uint8Array, msg: number, msgEnd: number, off: number, limit: number): NameRead {
  const labels: Uint8Array[] = [];
  let pos = off;
  let next = -1;
  let wire = 1;
  let end = limit;
  for (let hops = 0; ; ) {
    if (pos >= end) throw new WireError('dns', `name at offset ${off - msg} runs past the end of its section`);
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= end) throw new WireError('dns', `compression pointer at offset ${pos - msg} is truncated`);
      const target = ((len & 0x3f) << 8) | buf[pos + 1]!;
      if (msg + target >= pos) {
        throw new WireError(
          'dns',
          `compression pointer at offset ${pos - msg} points forward or at itself (to ${target}): loops are refused`,
        );
      }
      if (++hops > 127) throw new WireError('dns', 'too many compression pointers in one name');
      if (next < 0) next = pos + 2;
      pos = msg + target;
      // after a jump the name may continue anywhere before the pointer
      end = msgEnd;
      continue;
    }
    if (kind !== 0)
      throw new WireError('dns', `label type 0x${kind.toString(16)} at offset ${pos - msg} is not supported`);
    if (pos + 1 + len > end)
      throw new WireError('dns', `label at offset ${pos - msg} runs past the end of its section`);
    wire += 1 + len;
    if (wire > DNS_MAX_NAME_WIRE)
      throw new WireError('dns', `name at offset ${off - msg} is longer than ${DNS_MAX_NAME_WIRE} bytes`);
    labels.push(buf.subarray(pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labelsToName(labels), next };
}

// ───────────────────────────── parse ─────────────────────────────

function readHeader(v: DnsView): DnsHeader {
  const f = v.flags;
  return {
    id: v.id,
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0x0f,
    aa: (f & 0x0400) !== 0,
    tc: (f & 0x0200) !== 0,
    rd: (f & 0x0100) !== 0,
    ra: (f & 0x0080) !== 0,
    z: (f & 0x0040) !== 0,
    ad: (f & 0x0020) !== 0,
    cd: (f & 0x0010) !== 0,
    rcode: f & 0x000f,
  };
}

/** Reads the header fields of a view. */
export function parseDnsHeader(v: DnsView): DnsHeader {
  return readHeader(v);
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function parseRData(buf: Uint8Array, msg: number, msgEnd: number, type: number, off: number, rdlen: number): DnsRData {
  const end = off + rdlen;
  const exact = (n: number, what: string): void => {
    if (n !== end) throw new WireError('dns', `${what} rdata is ${rdlen} bytes but its fields take ${n - off}`);
  };
  const need = (n: number, what: string): void => {
    if (off + n > end) throw new WireError('dns', `${what} rdata of ${rdlen} bytes is too short`);
  };
  switch (type) {
    case DnsType.A:
      if (rdlen !== 4) throw new WireError('dns', `A rdata is ${rdlen} bytes, expected 4`);
      return { type: 'A', address: readU32(buf, off) };
    case DnsType.AAAA:
      if (rdlen !== 16) throw new WireError('dns', `AAAA rdata is ${rdlen} bytes, expected 16`);
      return { type: 'AAAA', address: buf.slice(off, end) };
    case DnsType.NS:
    case DnsType.CNAME:
    case DnsType.PTR: {
      const t = type === DnsType.NS ? 'NS' : type === DnsType.CNAME ? 'CNAME' : 'PTR';
      const n = readName(buf, msg, msgEnd, off, end);
      exact(n.next, t);
      return { type: t, target: n.name };
    }
    case DnsType.MX: {
      need(2, 'MX');
      const n = readName(buf, msg, msgEnd, off + 2, end);
      exact(n.next, 'MX');
      return { type: 'MX', preference: readU16(buf, off), exchange: n.name };
    }
    case DnsType.SOA: {
      const m = readName(buf, msg, msgEnd, off, end);
      const r = readName(buf, msg, msgEnd, m.next, end);
      const p = r.next;
      if (p + 20 > end) throw new WireError('dns', `SOA rdata of ${rdlen} bytes is too short`);
      exact(p + 20, 'SOA');
      return {
        type: 'SOA',
        mname: m.name,
        rname: r.name,
        serial: readU32(buf, p),
        refresh: readU32(buf, p + 4),
        retry: readU32(buf, p + 8),
        expire: readU32(buf, p + 12),
        minimum: readU32(buf, p + 16),
      };
    }
    case DnsType.SRV: {
      need(6, 'SRV');
      const n = readName(buf, msg, msgEnd, off + 6, end);
      exact(n.next, 'SRV');
      return {
        type: 'SRV',
        priority: readU16(buf, off),
        weight: readU16(buf, off + 2),
        port: readU16(buf, off + 4),
        target: n.name,
      };
    }
    case DnsType.TXT: {
      if (rdlen === 0) throw new WireError('dns', 'TXT rdata is empty (at least one character-string is required)');
      const text: string[] = [];
      let p = off;
      while (p < end) {
        const l = buf[p]!;
        if (p + 1 + l > end) throw new WireError('dns', 'TXT character-string runs past its rdata');
        text.push(latin1(buf.subarray(p + 1, p + 1 + l)));
        p += 1 + l;
      }
      return { type: 'TXT', text };
    }
    default:
      return { type: 'RAW', code: type, bytes: buf.slice(off, end) };
  }
}

/** Parses a whole DNS message from `buf[off, off+len)`; bytes after the last record are ignored. */
export function parseDns(buf: Uint8Array, off = 0, len = buf.length - off): DnsMessage {
  const v = DnsView.checked(buf, off, len);
  const end = off + len;
  const header = readHeader(v);
  let pos = off + DNS_HLEN;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < v.qdcount; i++) {
    if (pos >= end) throw new WireError('dns', `question ${i + 1} of ${v.qdcount} is missing`);
    const n = readName(buf, off, end, pos, end);
    if (n.next + 4 > end) throw new WireError('dns', `question ${i + 1} of ${v.qdcount} is truncated`);
    questions.push({ name: n.name, type: readU16(buf, n.next), class: readU16(buf, n.next + 2) });
    pos = n.next + 4;
  }
  const section = (count: number, what: string): DnsRecord[] => {
    const out: DnsRecord[] = [];
    for (let i = 0; i < count; i++) {
      if (pos >= end) throw new WireError('dns', `${what} record ${i + 1} of ${count} is missing`);
      const n = readName(buf, off, end, pos, end);
      if (n.next + 10 > end) throw new WireError('dns', `${what} record ${i + 1} of ${count} is truncated`);
      const type = readU16(buf, n.next);
      const klass = readU16(buf, n.next + 2);
      const ttl = readU32(buf, n.next + 4);
      const rdlen = readU16(buf, n.next + 8);
      const rd = n.next + 10;
      if (rd + rdlen > end)
        throw new WireError(
          'dns',
          `${what} record ${i + 1} of ${count}: rdata of ${rdlen} bytes runs past the message`,
        );
      out.push({ name: n.name, class: klass, ttl, data: parseRData(buf, off, end, type, rd, rdlen) });
      pos = rd + rdlen;
    }
    return out;
  };
  const answers = section(v.ancount, 'answer');
  const authorities = section(v.nscount, 'authority');
  const additionals = section(v.arcount, 'additional');
  return { header, questions, answers, authorities, additionals };
}

/** Parses the messages of a TCP stream (each prefixed with a 2-byte length); returns them and the bytes left over. */
export function parseDnsTcpStream(
  buf: Uint8Array,
  off = 0,
  len = buf.length - off,
): { messages: DnsMessage[]; rest: number } {
  const messages: DnsMessage[] = [];
  let pos = off;
  const end = off + len;
  while (pos + 2 <= end) {
    const l = readU16(buf, pos);
    if (pos + 2 + l > end) break;
    messages.push(parseDns(buf, pos + 2, l));
    pos += 2 + l;
  }
  return { messages, rest: end - pos };
}

// ───────────────────────────── emit ─────────────────────────────

class Writer {
  buf = new Uint8Array(512);
  len = 0;
  private readonly names = new Map<string, number>();

  constructor(private readonly compress: boolean) {}

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }

  u8(v: number): void {
    this.grow(1);
    this.buf[this.len++] = v;
  }

  u16(v: number, what: string): void {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff))
      throw new WireError('dns', `${what} ${v} is not a 16-bit value`);
    this.grow(2);
    writeU16(this.buf, this.len, v);
    this.len += 2;
  }

  u32(v: number, what: string): void {
    if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff))
      throw new WireError('dns', `${what} ${v} is not a 32-bit value`);
    this.grow(4);
    writeU32(this.buf, this.len, v);
    this.len += 4;
  }

  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /**
   * Writes a name, pointing at an earlier copy of a suffix when compressing (`compress` false: write in full but
   * remember it).
   */
  name(name: string, compress: boolean): void {
    const labels = nameToLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labelsToName(labels.slice(i));
      const at = this.names.get(key);
      if (at !== undefined && compress && this.compress) {
        this.u16(0xc000 | at, 'pointer');
        return;
      }
      if (at === undefined && this.len < 0x4000) this.names.set(key, this.len);
      const l = labels[i]!;
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }
}

function writeRData(w: Writer, d: DnsRData): void {
  switch (d.type) {
    case 'A':
      w.u32(d.address, 'A address');
      return;
    case 'AAAA':
      if (d.address.length !== 16) throw new WireError('dns', `AAAA address of ${d.address.length} bytes, expected 16`);
      w.bytes(d.address);
      return;
    case 'NS':
    case 'CNAME':
    case 'PTR':
      w.name(d.target, true);
      return;
    case 'MX':
      w.u16(d.preference, 'MX preference');
      w.name(d.exchange, true);
      return;
    case 'SOA':
      w.name(d.mname, true);
      w.name(d.rname, true);
      w.u32(d.serial, 'SOA serial');
      w.u32(d.refresh, 'SOA refresh');
      w.u32(d.retry, 'SOA retry');
      w.u32(d.expire, 'SOA expire');
      w.u32(d.minimum, 'SOA minimum');
      return;
    case 'SRV':
      w.u16(d.priority, 'SRV priority');
      w.u16(d.weight, 'SRV weight');
      w.u16(d.port, 'SRV port');
      w.name(d.target, false);
      return;
    case 'TXT':
      if (d.text.length === 0) throw new WireError('dns', 'TXT record without character-strings');
      for (const s of d.text) {
        if (s.length > 255) throw new WireError('dns', `TXT character-string of ${s.length} bytes (max 255)`);
        w.u8(s.length);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c > 0xff) throw new WireError('dns', `TXT character U+${c.toString(16)} is not a byte`);
          w.u8(c);
        }
      }
      return;
    case 'RAW':
      if (DECODED_TYPES.has(d.code))
        throw new WireError('dns', `RAW rdata for type ${dnsTypeName(d.code)}, which has its own form`);
      w.bytes(d.bytes);
      return;
  }
}

function writeRecord(w: Writer, r: DnsRecord): void {
  w.name(r.name, true);
  w.u16(rdataTypeCode(r.data), 'type');
  w.u16(r.class, 'class');
  w.u32(r.ttl, 'TTL');
  const lenAt = w.len;
  w.u16(0, 'rdlength');
  writeRData(w, r.data);
  const rdlen = w.len - lenAt - 2;
  if (rdlen > 0xffff) throw new WireError('dns', `rdata of ${rdlen} bytes does not fit RDLENGTH`);
  writeU16(w.buf, lenAt, rdlen);
}

function flagsWord(h: DnsHeader): number {
  if (!(Number.isInteger(h.opcode) && h.opcode >= 0 && h.opcode <= 15))
    throw new WireError('dns', `opcode ${h.opcode} is not 0–15`);
  if (!(Number.isInteger(h.rcode) && h.rcode >= 0 && h.rcode <= 15))
    throw new WireError('dns', `rcode ${h.rcode} is not 0–15`);
  return (
    (h.qr ? 0x8000 : 0) |
    (h.opcode << 11) |
    (h.aa ? 0x0400 : 0) |
    (h.tc ? 0x0200 : 0) |
    (h.rd ? 0x0100 : 0) |
    (h.ra ? 0x0080 : 0) |
    (h.z ? 0x0040 : 0) |
    (h.ad ? 0x0020 : 0) |
    (h.cd ? 0x0010 : 0) |
    h.rcode
  );
}

/** Encodes a message to fresh bytes; throws WireError for values that do not fit the format. */
export function encodeDns(m: DnsMessage, opts: DnsEmitOptions = {}): Uint8Array {
  const w = new Writer(opts.compress ?? true);
  w.u16(m.header.id, 'id');
  w.u16(flagsWord(m.header), 'flags');
  w.u16(m.questions.length, 'question count');
  w.u16(m.answers.length, 'answer count');
  w.u16(m.authorities.length, 'authority count');
  w.u16(m.additionals.length, 'additional count');
  for (const q of m.questions) {
    w.name(q.name, true);
    w.u16(q.type, 'question type');
    w.u16(q.class, 'question class');
  }
  for (const r of m.answers) writeRecord(w, r);
  for (const r of m.authorities) writeRecord(w, r);
  for (const r of m.additionals) writeRecord(w, r);
  if (w.len > 0xffff) throw new WireError('dns', `message of ${w.len} bytes is larger than 65535`);
  return w.buf.slice(0, w.len);
}

/** Encoded length of a message. */
export function dnsLength(m: DnsMessage, opts: DnsEmitOptions = {}): number {
  return encodeDns(m, opts).length;
}

/** Writes a message at `buf[off]`; returns the bytes written. */
export function emitDns(m: DnsMessage, buf: Uint8Array, off: number, opts: DnsEmitOptions = {}): number {
  const bytes = encodeDns(m, opts);
  checkRoom('dns', buf, off, bytes.length);
  buf.set(bytes, off);
  return bytes.length;
}

/** A message with its 2-byte TCP length prefix (RFC 1035 §4.2.2). */
export function frameDnsTcp(msg: Uint8Array): Uint8Array {
  if (msg.length > 0xffff) throw new WireError('dns', `message of ${msg.length} bytes cannot be framed for TCP`);
  const out = new Uint8Array(2 + msg.length);
  writeU16(out, 0, msg.length);
  out.set(msg, 2);
  return out;
}

// ───────────────────────────── EDNS0 ─────────────────────────────

/** The EDNS0 fields of an OPT pseudo-record (RFC 6891 §6.1.3). */
export interface Edns {
  udpSize: number;
  extRcode: number;
  version: number;
  do: boolean;
  /** The options, as raw bytes. */
  options: Uint8Array;
}

/** The message's OPT record as EDNS fields, or undefined without one. */
export function ednsOf(m: DnsMessage): Edns | undefined {
  const opt = m.additionals.find((r) => r.data.type === 'RAW' && r.data.code === DnsType.OPT);
  if (opt === undefined || opt.data.type !== 'RAW') return undefined;
  return {
    udpSize: opt.class,
    extRcode: opt.ttl >>> 24,
    version: (opt.ttl >>> 16) & 0xff,
    do: (opt.ttl & 0x8000) !== 0,
    options: opt.data.bytes,
  };
}

/** An OPT pseudo-record advertising `udpSize` (version 0, no options). */
export function optRecord(udpSize: number, opts: { do?: boolean; options?: Uint8Array } = {}): DnsRecord {
  return {
    name: '',
    class: udpSize,
    ttl: opts.do === true ? 0x8000 : 0,
    data: { type: 'RAW', code: DnsType.OPT, bytes: opts.options ?? new Uint8Array(0) },
  };
}

/** True for an OPT pseudo-record. */
export function isOpt(r: DnsRecord): boolean {
  return r.data.type === 'RAW' && r.data.code === DnsType.OPT;
}

// ───────────────────────────── presentation ─────────────────────────────

function formatIpv6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // the longest run of two or more zero words collapses to :: (RFC 5952)
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function quoteTxt(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += `\\${s[i]}`;
    else if (c >= 0x20 && c <= 0x7e) out += s[i];
    else out += `\\${String(c).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** Record data as dig prints it (`10.96.0.10`, `0 100 80 web.shop.svc.cluster.local.`, `"1.1.0"`). */
export function formatRData(d: DnsRData): string {
  switch (d.type) {
    case 'A':
      return formatIpv4(d.address);
    case 'AAAA':
      return d.address.length === 16 ? formatIpv6(d.address) : `\\# ${d.address.length}`;
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return fqdn(d.target);
    case 'MX':
      return `${d.preference} ${fqdn(d.exchange)}`;
    case 'SOA':
      return `${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case 'SRV':
      return `${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`;
    case 'TXT':
      return d.text.map(quoteTxt).join(' ');
    case 'RAW': {
      const hex = Array.from(d.bytes, (b) => b.toString(16).padStart(2, '0'))
        .join('')
        .toUpperCase();
      return d.bytes.length === 0 ? '\\# 0' : `\\# ${d.bytes.length} ${hex}`;
    }
  }
}

// bind's masterdump indent(): tabs up to the field's column, then spaces; a field that is already
// past its column gets one separator (a tab when that separator reaches a tab stop)
class Columns {
  text = '';
  col = 0;
  add(s: string): this {
    this.text += s;
    this.col += s.length;
    return this;
  }
  to(column: number): this {
    const to = Math.max(column, this.col + 1);
    const tabs = Math.floor(to / 8) - Math.floor(this.col / 8);
    let from = this.col;
    if (tabs > 0) {
      this.text += '\t'.repeat(tabs);
      from = Math.floor(to / 8) * 8;
    }
    this.text += ' '.repeat(to - from);
    this.col = to;
    return this;
  }
}

/** One record as dig prints it in an answer section (columns 24, 32, 40, 48). */
export function formatRecord(r: DnsRecord): string {
  return new Columns()
    .add(fqdn(r.name))
    .to(24)
    .add(String(r.ttl))
    .to(32)
    .add(dnsClassName(r.class))
    .to(40)
    .add(dnsTypeName(recordType(r)))
    .to(48)
    .add(formatRData(r.data)).text;
}

/** A question as dig prints it (`;web.shop.svc.cluster.local.\tIN\tA`). */
export function formatQuestion(q: DnsQuestion): string {
  return new Columns()
    .add(`;${fqdn(q.name)}`)
    .to(32)
    .add(dnsClassName(q.class))
    .to(40)
    .add(dnsTypeName(q.type)).text;
}

/** Header flags as dig lists them (`qr aa rd ra`). */
export function formatDnsFlags(h: DnsHeader): string {
  const f: string[] = [];
  if (h.qr) f.push('qr');
  if (h.aa) f.push('aa');
  if (h.tc) f.push('tc');
  if (h.rd) f.push('rd');
  if (h.ra) f.push('ra');
  if (h.ad) f.push('ad');
  if (h.cd) f.push('cd');
  return f.join(' ');
}

/** A short form of a record for one-line summaries (`A 10.96.0.10`, `CNAME db.example.com.`). */
export function shortRecord(r: DnsRecord): string {
  return `${dnsTypeName(recordType(r))} ${formatRData(r.data)}`;
}
