import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MAC_BROADCAST, MAC_ZERO, formatIpv4, formatMac, parseIpv4, parseMac } from '../../src/wire/index.js';
import {
  inPrefix,
  isMulticastMac,
  macFromIpv4,
  prefixMask,
  readIpv4,
  readMac,
  readU16,
  readU32,
  writeIpv4,
  writeMac,
  writeU16,
  writeU32,
} from '../../src/wire/addr.js';
import { RUNS, ipv4Addr, macAddr, toHex, u16, u32 } from './arb.js';

describe('IPv4 address text', () => {
  it('accepts strict dotted quads, including the all-zero and all-ones addresses', () => {
    expect(parseIpv4('0.0.0.0')).toBe(0);
    expect(parseIpv4('255.255.255.255')).toBe(0xffff_ffff);
    expect(parseIpv4('10.244.1.2')).toBe(0x0af4_0102);
    expect(parseIpv4('192.168.0.199')).toBe(0xc0a8_00c7);
  });

  it.each([
    '256.1.1.1',
    '1.2.3',
    '01.2.3.4',
    '1.2.3.00',
    '1.2.3.4.5',
    '',
    ' 1.2.3.4',
    '1.2.3.4 ',
    '1..2.3',
    '-1.2.3.4',
    '+1.2.3.4',
    '1.2.3.a',
    '0x1.2.3.4',
    '1.2.3.4\n',
    '1.2.3.1000',
    '１.2.3.4',
    '1e2.2.3.4',
  ])('rejects %j', (s) => {
    expect(parseIpv4(s)).toBeUndefined();
  });

  it('formats every u32 as a dotted quad that parses back to the same number', () => {
    fc.assert(
      fc.property(ipv4Addr, (a) => {
        expect(parseIpv4(formatIpv4(a))).toBe(a);
      }),
      RUNS,
    );
  });
});

describe('MAC address text', () => {
  it('parses case-insensitively and formats lowercase', () => {
    const m = parseMac('0A:58:0a:F4:01:02');
    expect(m).toBe(0x0a58_0af4_0102);
    expect(formatMac(m!)).toBe('0a:58:0a:f4:01:02');
    expect(formatMac(MAC_BROADCAST)).toBe('ff:ff:ff:ff:ff:ff');
    expect(formatMac(MAC_ZERO)).toBe('00:00:00:00:00:00');
  });

  it.each([
    'aa:bb:cc:dd:ee',
    'aa-bb-cc-dd-ee-ff',
    'aabb.ccdd.eeff',
    'aa:bb:cc:dd:ee:fg',
    'a:bb:cc:dd:ee:ff',
    'aa:bb:cc:dd:ee:ff:00',
    '',
  ])('rejects %j', (s) => {
    expect(parseMac(s)).toBeUndefined();
  });

  it('formats every 48-bit MAC as text that parses back to the same number', () => {
    fc.assert(
      fc.property(macAddr, (m) => {
        expect(parseMac(formatMac(m))).toBe(m);
      }),
      RUNS,
    );
  });
});

describe('big-endian field access', () => {
  it('reads and writes u16/u32/IPv4/MAC in network order at any offset', () => {
    const b = new Uint8Array(12);
    writeU16(b, 1, 0xabcd);
    writeU32(b, 3, 0xdeadbeef);
    expect(toHex(b)).toBe('00abcddeadbeef0000000000');
    expect(readU16(b, 1)).toBe(0xabcd);
    expect(readU32(b, 3)).toBe(0xdeadbeef);
    writeMac(b, 5, 0x0a58_0af4_0102);
    expect(toHex(b.subarray(5, 11))).toBe('0a580af40102');
    writeIpv4(b, 0, 0xc0a8_0001);
    expect(readIpv4(b, 0)).toBe(0xc0a8_0001);
  });

  it('writing then reading any value at any offset gives the value back (u32 stays unsigned)', () => {
    fc.assert(
      fc.property(u16, u32, macAddr, fc.integer({ min: 0, max: 8 }), (a, b, m, off) => {
        const buf = new Uint8Array(32);
        writeU16(buf, off, a);
        expect(readU16(buf, off)).toBe(a);
        writeU32(buf, off + 2, b);
        expect(readU32(buf, off + 2)).toBe(b);
        expect(readU32(buf, off + 2)).toBeGreaterThanOrEqual(0);
        writeMac(buf, off + 6, m);
        expect(readMac(buf, off + 6)).toBe(m);
      }),
      RUNS,
    );
  });
});

describe('MAC classification and derivation', () => {
  it('treats the I/G bit of the first octet as multicast (broadcast included)', () => {
    expect(isMulticastMac(MAC_BROADCAST)).toBe(true);
    expect(isMulticastMac(parseMac('01:00:5e:00:00:01')!)).toBe(true);
    expect(isMulticastMac(parseMac('33:33:00:00:00:01')!)).toBe(true);
    expect(isMulticastMac(parseMac('0a:58:0a:f4:01:02')!)).toBe(false);
    expect(isMulticastMac(parseMac('fe:ff:ff:ff:ff:ff')!)).toBe(false);
    expect(isMulticastMac(MAC_ZERO)).toBe(false);
  });

  it('derives pod MACs from a two-byte prefix and the IPv4 address', () => {
    expect(formatMac(macFromIpv4(0x0a58, parseIpv4('10.244.1.2')!))).toBe('0a:58:0a:f4:01:02');
    expect(formatMac(macFromIpv4(0x0a58, 0xffff_ffff))).toBe('0a:58:ff:ff:ff:ff');
  });
});

describe('prefixes', () => {
  it('builds unsigned masks, with /0 as 0 and /32 as all ones', () => {
    expect(prefixMask(0)).toBe(0);
    expect(prefixMask(1)).toBe(0x8000_0000);
    expect(prefixMask(8)).toBe(0xff00_0000);
    expect(prefixMask(24)).toBe(0xffff_ff00);
    expect(prefixMask(32)).toBe(0xffff_ffff);
  });

  it('tests membership', () => {
    const a = parseIpv4('10.244.1.2')!;
    expect(inPrefix(a, parseIpv4('10.244.0.0')!, 16)).toBe(true);
    expect(inPrefix(a, parseIpv4('10.245.0.0')!, 16)).toBe(false);
    expect(inPrefix(a, parseIpv4('10.244.1.0')!, 24)).toBe(true);
    expect(inPrefix(a, parseIpv4('10.244.1.2')!, 32)).toBe(true);
    expect(inPrefix(a, parseIpv4('10.244.1.3')!, 32)).toBe(false);
    expect(inPrefix(0xffff_ffff, 0, 0)).toBe(true);
  });

  it('every address is inside its own network at every prefix length, and the network is below the address', () => {
    fc.assert(
      fc.property(ipv4Addr, fc.integer({ min: 0, max: 32 }), (a, len) => {
        const net = (a & prefixMask(len)) >>> 0;
        expect(inPrefix(a, net, len)).toBe(true);
        expect(net).toBeLessThanOrEqual(a);
        expect(prefixMask(len)).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });
});
