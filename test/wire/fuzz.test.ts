import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ArpView,
  EthernetView,
  IcmpView,
  Ipv4View,
  TcpView,
  UdpView,
  VxlanView,
  dissectFrame,
  parseArp,
  parseEthernet,
  parseIcmp,
  parseIpv4Header,
  parseTcp,
  parseTcpOptions,
  parseUdp,
  parseVxlan,
} from '../../src/wire/index.js';
import { summarizeFrame } from '../../src/trace/frame-summary.js';
import { onlyWireErrors } from './arb.js';

/** Arbitrary bytes with a window that is usually, but not always, inside them. */
const input = fc
  .record({
    bytes: fc.uint8Array({ maxLength: 120 }),
    off: fc.integer({ min: -2, max: 130 }),
    len: fc.integer({ min: -2, max: 130 }),
    sane: fc.boolean(),
  })
  .map(({ bytes, off, len, sane }) => {
    if (!sane) return { bytes, off, len };
    const o = bytes.length === 0 ? 0 : Math.abs(off) % (bytes.length + 1);
    return { bytes, off: o, len: Math.abs(len) % (bytes.length - o + 1) };
  });

const RUNS = { numRuns: 2000 } as const;

describe('parsers fed arbitrary bytes', () => {
  it('every checked() and parse function either succeeds or throws a WireError', () => {
    fc.assert(
      fc.property(input, ({ bytes, off, len }) => {
        onlyWireErrors(() => parseEthernet(EthernetView.checked(bytes, off, len)));
        onlyWireErrors(() => parseArp(ArpView.checked(bytes, off, len)));
        onlyWireErrors(() => {
          const v = Ipv4View.checked(bytes, off, len);
          parseIpv4Header(v);
          v.verifyChecksum();
          // Everything a checked view promises must lie inside the window it was given.
          expect(v.payloadOffset + v.payloadLength).toBeLessThanOrEqual(off + len);
        });
        onlyWireErrors(() => {
          const v = IcmpView.checked(bytes, off, len);
          v.verifyChecksum(len);
        });
        onlyWireErrors(() => parseIcmp(bytes, off, len));
        onlyWireErrors(() => {
          const v = UdpView.checked(bytes, off, len);
          parseUdp(v);
          v.verifyChecksum(1, 2);
          expect(v.payloadOffset + v.payloadLength).toBeLessThanOrEqual(off + len);
        });
        onlyWireErrors(() => {
          const v = TcpView.checked(bytes, off, len);
          expect(v.payloadOffset).toBeLessThanOrEqual(off + len);
          v.verifyChecksum(1, 2, len);
          parseTcp(v);
        });
        onlyWireErrors(() => parseTcpOptions(bytes, off, len));
        onlyWireErrors(() => parseVxlan(VxlanView.checked(bytes, off, len)));
      }),
      RUNS,
    );
  });

  it('dissectFrame never throws, and neither does summarizing its result', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(0x0800, 0x0806, 0x86dd),
        fc.boolean(),
        (bytes, type, forceType) => {
          // Forcing a known ethertype (and IPv4 version nibble) steers random bytes deeper into the decoder.
          if (forceType && bytes.length >= 15) {
            bytes[12] = type >>> 8;
            bytes[13] = type & 0xff;
            if (type === 0x0800) bytes[14] = 0x45;
          }
          const d = dissectFrame(bytes);
          expect(d.len).toBe(bytes.length);
          expect(JSON.stringify(d)).not.toContain('internal error');
          expect(typeof summarizeFrame(d)).toBe('string');
        },
      ),
      RUNS,
    );
  });
});
