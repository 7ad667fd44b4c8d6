/**
 * The distribution tests' helper, on the chi-square survival function the kernel comparer uses (src/verify/stats.ts).
 */
import { chiSquareSurvival } from '../../src/verify/stats.js';

/** p-value of Pearson's chi-square test that `counts` come from a uniform distribution over the categories. */
export function chiSquareUniformP(counts: readonly number[]): number {
  const n = counts.reduce((a, b) => a + b, 0);
  const k = counts.length;
  const expected = n / k;
  const chi2 = counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
  return chiSquareSurvival(chi2, k - 1);
}
