// Shared fast-check arbitraries and helpers for the wire tests.
import fc from 'fast-check';
import { isWireError } from '../../src/wire/index.js';
import type { ArpRepr, EthernetRepr, IcmpRepr, Ipv4Repr, TcpOption, TcpRepr, UdpRepr } from '../../src/wire/index.js';

export const RUNS = { numRuns: 500 } as const;

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
export const ipv4Addr = u32;
export const macAddr = fc.integer({ min: 0, max: 0xffff_ffff_ffff });

/** Bytes of a bounded size, small enough that per-bit flip loops stay fast. */
export const bytes = (maxLength = 64): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: 0, maxLength });

export const ethernetRepr: fc.Arbitrary<EthernetRepr> = fc.record({ dst: macAddr, src: macAddr, ethertype: u16 });

export const arpRepr: fc.Arbitrary<ArpRepr> = fc.record({
  op: u16,
  senderMac: macAddr,
  senderIp: ipv4Addr,
  targetMac: macAddr,
  targetIp: ipv4Addr,
});

export const ipv4Repr: fc.Arbitrary<Ipv4Repr> = fc.record({
  src: ipv4Addr,
  dst: ipv4Addr,
  protocol: u8,
  ttl: u8,
  ident: u16,
  df: fc.boolean(),
  mf: fc.boolean(),
  fragOffset: fc.integer({ min: 0, max: 0x1fff }).map((u) => u * 8),
  tos: u8,
  payloadLen: fc.integer({ min: 0, max: 0xffff - 20 }),
});

/** ICMP reprs in their canonical form (what parseIcmp gives back). */
export const icmpRepr: fc.Arbitrary<IcmpRepr> = fc.oneof(
  fc.record({
    kind: fc.constantFrom('echo-request' as const, 'echo-reply' as const),
    ident: u16,
    seq: u16,
    data: bytes(),
  }),
  fc.record({ code: u8, mtu: u16, quote: bytes() }).map(({ code, mtu, quote }) => ({
    kind: 'dest-unreachable' as const,
    code,
    nextHopMtu: code === 4 ? mtu : 0,
    quote,
  })),
  fc.record({ kind: fc.constant('time-exceeded' as const), code: u8, quote: bytes() }),
  fc.record({
    kind: fc.constant('other' as const),
    type: u8.filter((t) => t !== 0 && t !== 3 && t !== 8 && t !== 11),
    code: u8,
    rest: u32,
    data: bytes(),
  }),
);

export const udpRepr: fc.Arbitrary<UdpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  payloadLen: fc.integer({ min: 0, max: 2000 }),
});

const KNOWN_OPTION_KINDS = new Set([0, 1, 2, 3, 4, 5, 8]);

export const tcpOption: fc.Arbitrary<TcpOption> = fc.oneof(
  fc.constant({ kind: 'eol' as const }),
  fc.constant({ kind: 'nop' as const }),
  u16.map((value) => ({ kind: 'mss' as const, value })),
  u8.map((shift) => ({ kind: 'wscale' as const, shift })),
  fc.constant({ kind: 'sack-permitted' as const }),
  fc
    .array(fc.tuple(u32, u32), { minLength: 1, maxLength: 4 })
    .map((blocks) => ({ kind: 'sack' as const, blocks: blocks as Array<[number, number]> })),
  fc.record({ kind: fc.constant('timestamps' as const), tsval: u32, tsecr: u32 }),
  fc.record({
    kind: fc.constant('unknown' as const),
    type: u8.filter((t) => !KNOWN_OPTION_KINDS.has(t)),
    data: fc.uint8Array({ maxLength: 10 }),
  }),
);

function optLen(o: TcpOption): number {
  switch (o.kind) {
    case 'eol':
    case 'nop':
      return 1;
    case 'mss':
      return 4;
    case 'wscale':
      return 3;
    case 'sack-permitted':
      return 2;
    case 'sack':
      return 2 + 8 * o.blocks.length;
    case 'timestamps':
      return 10;
    case 'unknown':
      return 2 + o.data.length;
  }
}

/** Option lists that fit in 40 bytes (counting only up to the first EOL, like the encoder). */
export const tcpOptions: fc.Arbitrary<TcpOption[]> = fc.array(tcpOption, { maxLength: 8 }).map((opts) => {
  const out: TcpOption[] = [];
  let n = 0;
  for (const o of opts) {
    if (n + optLen(o) > 40) break;
    out.push(o);
    n += optLen(o);
  }
  return out;
});

export const tcpRepr: fc.Arbitrary<TcpRepr> = fc.record({
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: u8,
  window: u16,
  urgent: u16,
  options: tcpOptions,
});

/** Calls `check` with a copy of `pkt` for every single-bit flip inside `[start, start+len)`. */
export function forEachBitFlip(
  pkt: Uint8Array,
  start: number,
  len: number,
  check: (flipped: Uint8Array, byte: number, bit: number) => void,
): void {
  const copy = pkt.slice();
  for (let i = start; i < start + len; i++) {
    for (let bit = 0; bit < 8; bit++) {
      copy[i] = pkt[i]! ^ (1 << bit);
      check(copy, i, bit);
      copy[i] = pkt[i]!;
    }
  }
}

/** Hex string to bytes, ignoring whitespace. */
export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes to lowercase hex. */
export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** Runs `fn` and fails unless it returns normally or throws a WireError. */
export function onlyWireErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!isWireError(e)) throw new Error(`expected only WireError, got ${String(e)}`);
  }
}
