import { describe, expect, it } from 'vitest';
import { Ipv4View, type WireError, isWireError } from '../../src/wire/index.js';

describe('WireError', () => {
  it('names the layer that rejected the bytes', () => {
    try {
      Ipv4View.checked(new Uint8Array(4));
      expect.unreachable();
    } catch (e) {
      expect(isWireError(e)).toBe(true);
      const w = e as WireError;
      expect(w.name).toBe('WireError');
      expect(w.layer).toBe('ipv4');
      expect(w.message).toMatch(/^ipv4: truncated/);
      expect(w).toBeInstanceOf(Error);
    }
  });

  it('is recognised by shape as well as by class, and nothing else is', () => {
    const foreign = Object.assign(new Error('tcp: x'), { name: 'WireError', layer: 'tcp' });
    expect(isWireError(foreign)).toBe(true);
    expect(isWireError(new Error('x'))).toBe(false);
    expect(isWireError(new RangeError('x'))).toBe(false);
    expect(isWireError({ name: 'WireError' })).toBe(false);
    expect(isWireError(null)).toBe(false);
    expect(isWireError('WireError')).toBe(false);
  });
});
