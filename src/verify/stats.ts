/**
 * The distribution check of random backend choices: Pearson's chi-square test of homogeneity
 * of two samples over k categories (a 2 × k contingency table), with its exact p-value from
 * the chi-square distribution with k − 1 degrees of freedom (categories no sample used are
 * dropped). The approximation is trusted only when every expected count is at least
 * MIN_EXPECTED (Cochran's rule); below that the test is reported as not applicable.
 */

/** Significance level of the distribution check. */
export const DISTRIBUTION_ALPHA = 0.001;

/** Smallest expected cell count for which the chi-square approximation is used. */
export const MIN_EXPECTED = 5;

function lnGamma(z: number): number {
  // Lanczos approximation (g = 7, n = 9): ~15 significant digits for z > 0
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (z < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * z)) - lnGamma(1 - z);
  const y = z - 1;
  let x = c[0]!;
  for (let i = 1; i < 9; i++) x += c[i]! / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(x);
}

/** Regularised upper incomplete gamma Q(s, x): series below s + 1, continued fraction above (bounded loops). */
export function gammaQ(s: number, x: number): number {
  if (!(s > 0)) throw new Error(`gammaQ: s must be positive, got ${s}`);
  if (x <= 0) return 1;
  const front = Math.exp(-x + s * Math.log(x) - lnGamma(s));
  if (x < s + 1) {
    let sum = 1 / s;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (s + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * front));
  }
  const tiny = 1e-300;
  let b = x + 1 - s;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.min(1, Math.max(0, front * h));
}

/** P(X ≥ x) for X chi-square distributed with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}

/** The outcome of a homogeneity test. */
export interface HomogeneityTest {
  /** Categories (in the order given), with each sample's count. */
  readonly categories: readonly string[];
  readonly a: readonly number[];
  readonly b: readonly number[];
  readonly n: readonly [number, number];
  /** Pearson's statistic, degrees of freedom and p-value (undefined when not applicable). */
  readonly chi2: number | undefined;
  readonly df: number;
  readonly p: number | undefined;
  /** The smallest expected cell count. */
  readonly minExpected: number;
  /**
   * Whether the test was applied (both samples non-empty, ≥ 2 categories used, every expected count ≥ MIN_EXPECTED).
   */
  readonly applicable: boolean;
  /** Why it was not applied. */
  readonly why: string | undefined;
}

/**
 * Chi-square test of homogeneity of two samples (`a`, `b`: counts per category, same order).
 * Categories with no observation in either sample are dropped.
 */
export function chiSquareHomogeneity(
  categories: readonly string[],
  a: readonly number[],
  b: readonly number[],
): HomogeneityTest {
  if (a.length !== categories.length || b.length !== categories.length)
    throw new Error('chiSquareHomogeneity: one count per category and sample');
  const used = categories.map((_, i) => (a[i] ?? 0) + (b[i] ?? 0) > 0);
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  const n = na + nb;
  const k = used.filter(Boolean).length;
  const df = Math.max(0, k - 1);
  let chi2 = 0;
  let minExpected = Number.POSITIVE_INFINITY;
  for (let i = 0; i < categories.length; i++) {
    if (!used[i]) continue;
    const col = a[i]! + b[i]!;
    for (const [obs, row] of [
      [a[i]!, na],
      [b[i]!, nb],
    ] as const) {
      const e = (row * col) / n;
      minExpected = Math.min(minExpected, e);
      if (e > 0) chi2 += (obs - e) ** 2 / e;
    }
  }
  if (!Number.isFinite(minExpected)) minExpected = 0;
  const base = { categories, a, b, n: [na, nb] as const, df, minExpected };
  let why: string | undefined;
  if (na === 0 || nb === 0) why = 'a sample is empty';
  else if (k < 2) why = `only one category (${categories[used.indexOf(true)] ?? '?'})`;
  else if (minExpected < MIN_EXPECTED)
    why = `too few choices: smallest expected count ${minExpected.toFixed(1)} < ${MIN_EXPECTED}`;
  if (why !== undefined) return { ...base, chi2: undefined, p: undefined, applicable: false, why };
  return { ...base, chi2, p: chiSquareSurvival(chi2, df), applicable: true, why: undefined };
}
