// Test-only builders, written independently of src/ so they can check it (no src/wire import).
import { spawnSync } from 'node:child_process';

/** RFC 1071 Internet checksum over `data`. */
export function internetChecksum(data: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < data.length; i += 2) sum += ((data[i] ?? 0) << 8) | (data[i + 1] ?? 0);
  if (data.length % 2 === 1) sum += (data[data.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface IcmpEchoSpec {
  srcMac: number[];
  dstMac: number[];
  srcIp: [number, number, number, number];
  dstIp: [number, number, number, number];
  type: 0 | 8;
  id: number;
  seq: number;
  payload: Uint8Array;
  ipId: number;
}

/** Ethernet II + IPv4 (20-byte header) + ICMP echo, with both checksums filled in. */
export function icmpEchoFrame(spec: IcmpEchoSpec): Uint8Array {
  const icmpLen = 8 + spec.payload.length;
  const ipLen = 20 + icmpLen;
  const f = new Uint8Array(14 + ipLen);
  const v = new DataView(f.buffer);
  f.set(spec.dstMac, 0);
  f.set(spec.srcMac, 6);
  v.setUint16(12, 0x0800);
  const ip = 14;
  f[ip] = 0x45;
  f[ip + 1] = 0;
  v.setUint16(ip + 2, ipLen);
  v.setUint16(ip + 4, spec.ipId);
  v.setUint16(ip + 6, 0x4000);
  f[ip + 8] = 64;
  f[ip + 9] = 1;
  f.set(spec.srcIp, ip + 12);
  f.set(spec.dstIp, ip + 16);
  v.setUint16(ip + 10, internetChecksum(f.subarray(ip, ip + 20)));
  const icmp = ip + 20;
  f[icmp] = spec.type;
  f[icmp + 1] = 0;
  v.setUint16(icmp + 4, spec.id);
  v.setUint16(icmp + 6, spec.seq);
  f.set(spec.payload, icmp + 8);
  v.setUint16(icmp + 2, internetChecksum(f.subarray(icmp)));
  return f;
}

/** Minimal pcapng block assembler with selectable byte order, for hand-made test files. */
export class BlockBuilder {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}

  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.parts.push(...(this.le ? b : b.reverse()));
    return this;
  }
  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.parts.push(bytes[i] ?? 0);
    return this;
  }
  pad(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  option(code: number, value: ArrayLike<number>): this {
    return this.u16(code).u16(value.length).raw(value).pad();
  }
  stringOption(code: number, value: string): this {
    return this.option(code, new TextEncoder().encode(value));
  }
  get length(): number {
    return this.parts.length;
  }
  /** Wraps the accumulated body as a block of `type`. */
  block(type: number): Uint8Array {
    const total = this.parts.length + 12;
    const out = new BlockBuilder(this.le).u32(type).u32(total).raw(this.parts).u32(total);
    return Uint8Array.from(out.parts);
  }
}

/** Concatenates byte arrays. */
export function concat(...chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Section Header Block (no options) in the given byte order. */
export function shb(le: boolean): Uint8Array {
  return new BlockBuilder(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).block(0x0a0d0d0a);
}

/** Rewrites a little-endian classic pcap as big-endian (header and record fields swapped). */
export function pcapToBigEndian(le: Uint8Array): Uint8Array {
  const out = le.slice();
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(out.buffer);
  dst.setUint32(0, src.getUint32(0, true), false);
  dst.setUint16(4, src.getUint16(4, true), false);
  dst.setUint16(6, src.getUint16(6, true), false);
  for (let i = 8; i < 24; i += 4) dst.setUint32(i, src.getUint32(i, true), false);
  let off = 24;
  while (off < le.length) {
    for (let i = 0; i < 16; i += 4) dst.setUint32(off + i, src.getUint32(off + i, true), false);
    off += 16 + src.getUint32(off + 8, true);
  }
  return out;
}

/** Path-free check for a command-line tool: true when `cmd args` runs. */
export function toolAvailable(cmd: string, args: string[] = ['--version']): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
}
