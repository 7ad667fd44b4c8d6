/** The statistic match's probability: stored as lround(p·2^31), printed as %.11f of stored/2^31. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatProbability, probabilityToStored } from '../../src/netfilter/iptables-save.js';
import {
  formatFixedExact,
  kubeProxyProbability,
  kubeProxyProbabilityText,
} from '../../src/kube/agents/kube-proxy/iptables.js';

describe('kube-proxy probabilities as iptables-save prints them', () => {
  // n: kube-proxy's %0.10f text for 1/n, the value the kernel stores, iptables-save's %.11f.
  it.each([
    [2, '0.5000000000', 1073741824, '0.50000000000'],
    [3, '0.3333333333', 715827883, '0.33333333349'],
    [4, '0.2500000000', 536870912, '0.25000000000'],
    [5, '0.2000000000', 429496730, '0.20000000019'],
    [6, '0.1666666667', 357913941, '0.16666666651'],
    [7, '0.1428571429', 306783378, '0.14285714272'],
    [8, '0.1250000000', 268435456, '0.12500000000'],
    [9, '0.1111111111', 238609294, '0.11111111101'],
    [10, '0.1000000000', 214748365, '0.10000000009'],
  ])('1/%i is written %s, stored %i and saved %s', (n, text, stored, saved) => {
    expect(kubeProxyProbabilityText(n)).toBe(text);
    expect(probabilityToStored(Number(text))).toBe(stored);
    expect(formatProbability(stored)).toBe(saved);
    expect(kubeProxyProbability(n)).toEqual({ stored, saved });
  });

  it('prints 0 and 1 at the ends of the range', () => {
    expect(formatProbability(0)).toBe('0.00000000000');
    expect(formatProbability(2 ** 31)).toBe('1.00000000000');
  });

  it('rounds exact ties to even like printf, not up like toFixed', () => {
    // 2^19/2^31 = 2^-12 = 0.000244140625: the 12th decimal is an exact 5.
    expect(formatProbability(2 ** 19)).toBe('0.00024414062');
    expect((2 ** 19 / 2 ** 31).toFixed(11)).toBe('0.00024414063');
    expect(formatProbability(3 * 2 ** 19)).toBe('0.00073242188');
    // Go's %0.10f of 1/2048 = 0.00048828125 also rounds the tie to even.
    expect(formatFixedExact(1 / 2048, 10)).toBe('0.0004882812');
  });

  it('matches an exact rational computation for every stored value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), (stored) => {
        const s = formatProbability(stored);
        // Reading the printed value back and storing it again gives the same u32 (the property
        // that makes iptables-save | iptables-restore lossless).
        expect(probabilityToStored(Number(s))).toBe(stored);
        const exact = stored / 2 ** 31;
        expect(Math.abs(Number(s) - exact)).toBeLessThanOrEqual(5e-12 + 1e-17);
      }),
      { numRuns: 2000 },
    );
  });
});
