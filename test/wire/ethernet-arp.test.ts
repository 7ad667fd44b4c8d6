import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ARPOP_REQUEST,
  ARP_LEN,
  ArpView,
  ETHERTYPE_ARP,
  ETH_HLEN,
  EthernetView,
  WireError,
  emitArp,
  emitEthernet,
  parseArp,
  parseEthernet,
} from '../../src/wire/index.js';
import { RUNS, arpRepr, ethernetRepr, hex, toHex } from './arb.js';
import { ip, podMac } from './frames.js';

describe('ethernet', () => {
  it('header emitted from any repr at any offset parses back to the same repr', () => {
    fc.assert(
      fc.property(ethernetRepr, fc.integer({ min: 0, max: 7 }), (repr, off) => {
        const buf = new Uint8Array(off + ETH_HLEN);
        expect(emitEthernet(repr, buf, off)).toBe(ETH_HLEN);
        const v = EthernetView.checked(buf, off);
        expect(parseEthernet(v)).toEqual(repr);
        expect(v.payloadOffset).toBe(off + ETH_HLEN);
      }),
      RUNS,
    );
  });

  it('lays out dst, src, ethertype as on the wire', () => {
    const buf = new Uint8Array(ETH_HLEN);
    emitEthernet({ dst: 0xffff_ffff_ffff, src: podMac('10.244.1.3'), ethertype: ETHERTYPE_ARP }, buf, 0);
    expect(toHex(buf)).toBe('ffffffffffff' + '0a580af40103' + '0806');
  });

  it('setters rewrite only their own bytes', () => {
    const buf = hex('000000000000 111111111111 0800 aa');
    const v = new EthernetView(buf);
    v.dst = 0x0102_0304_0506;
    v.ethertype = 0x86dd;
    expect(toHex(buf)).toBe('010203040506' + '111111111111' + '86dd' + 'aa');
    expect(v.src).toBe(0x1111_1111_1111);
  });

  it('rejects frames shorter than 14 bytes and windows outside the buffer', () => {
    expect(() => EthernetView.checked(new Uint8Array(13))).toThrow(WireError);
    expect(() => EthernetView.checked(new Uint8Array(20), 10)).toThrow(WireError);
    expect(() => EthernetView.checked(new Uint8Array(20), 0, 21)).toThrow(WireError);
    expect(() => EthernetView.checked(new Uint8Array(20), -1, 14)).toThrow(WireError);
    expect(() => emitEthernet({ dst: 0, src: 0, ethertype: 0 }, new Uint8Array(13), 0)).toThrow(WireError);
  });
});

describe('arp', () => {
  it('packet emitted from any repr parses back to the same repr', () => {
    fc.assert(
      fc.property(arpRepr, fc.integer({ min: 0, max: 7 }), (repr, off) => {
        const buf = new Uint8Array(off + ARP_LEN);
        expect(emitArp(repr, buf, off)).toBe(ARP_LEN);
        expect(parseArp(ArpView.checked(buf, off))).toEqual(repr);
      }),
      RUNS,
    );
  });

  it('encodes a who-has request byte for byte', () => {
    const buf = new Uint8Array(ARP_LEN);
    emitArp(
      {
        op: ARPOP_REQUEST,
        senderMac: podMac('10.244.1.3'),
        senderIp: ip('10.244.1.3'),
        targetMac: 0,
        targetIp: ip('10.244.1.1'),
      },
      buf,
      0,
    );
    expect(toHex(buf)).toBe('0001 0800 06 04 0001 0a580af40103 0af40103 000000000000 0af40101'.replace(/ /g, ''));
  });

  it.each([
    ['hardware type 6', '0006 0800 06 04'],
    ['protocol type IPv6', '0001 86dd 06 04'],
    ['hardware length 8', '0001 0800 08 04'],
    ['protocol length 16', '0001 0800 06 10'],
  ])('rejects %s', (_name, head) => {
    const buf = new Uint8Array(ARP_LEN);
    buf.set(hex(head));
    expect(() => ArpView.checked(buf)).toThrow(WireError);
  });

  it('rejects packets shorter than 28 bytes', () => {
    const buf = new Uint8Array(ARP_LEN);
    emitArp({ op: 1, senderMac: 1, senderIp: 1, targetMac: 1, targetIp: 1 }, buf, 0);
    expect(() => ArpView.checked(buf, 0, 27)).toThrow(WireError);
  });
});

describe('ArpView.isEthernetIpv4', () => {
  it('accepts exactly what ArpView.checked accepts, without throwing', () => {
    const header = fc.constantFrom(
      [0, 1, 8, 0, 6, 4],
      [0, 6, 8, 0, 6, 4],
      [0, 1, 0x86, 0xdd, 6, 16],
      [0, 1, 8, 0, 6, 5],
    );
    fc.assert(
      fc.property(header, fc.uint8Array({ minLength: 0, maxLength: 40 }), fc.nat(8), (h, rest, off) => {
        const buf = new Uint8Array([...new Uint8Array(off), ...h, ...rest]);
        const len = buf.length - off;
        let accepted = true;
        try {
          ArpView.checked(buf, off, len);
        } catch (e) {
          if (!(e instanceof WireError)) throw e;
          accepted = false;
        }
        expect(ArpView.isEthernetIpv4(buf, off, len)).toBe(accepted);
      }),
      RUNS,
    );
  });
});
