import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VXLAN_FLAG_I, VXLAN_HLEN, VxlanView, WireError, emitVxlan, parseVxlan } from '../../src/wire/index.js';
import { RUNS, toHex } from './arb.js';

describe('vxlan', () => {
  it('header emitted from any VNI parses back to the same repr', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xff_ffff }), fc.integer({ min: 0, max: 5 }), (vni, off) => {
        const buf = new Uint8Array(off + VXLAN_HLEN).fill(0xaa);
        expect(emitVxlan({ vni }, buf, off)).toBe(VXLAN_HLEN);
        const v = VxlanView.checked(buf, off);
        expect(parseVxlan(v)).toEqual({ vni });
        expect(v.flags).toBe(VXLAN_FLAG_I);
        expect(v.payloadOffset).toBe(off + 8);
      }),
      RUNS,
    );
  });

  it('writes flags 0x08 and zero reserved bytes', () => {
    const buf = new Uint8Array(8).fill(0xff);
    emitVxlan({ vni: 1 }, buf, 0);
    expect(toHex(buf)).toBe('0800000000000100');
    const v = new VxlanView(buf);
    v.vni = 0xabcdef;
    expect(toHex(buf)).toBe('08000000abcdef00');
  });

  it('checked() rejects fewer than 8 bytes', () => {
    expect(() => VxlanView.checked(new Uint8Array(7))).toThrow(WireError);
  });
});
