/**
 * Small exact statistics for the diagnosis engine: log-gamma, binomial tail,
 * Fisher's exact test on 2×2 tables, Bonferroni correction. Pure functions,
 * no dependencies; accurate to ~1e-12 relative for the sizes stallwatch sees
 * (tables up to a few hundred thousand requests).
 */

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos approximation, g = 7, n = 9). */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1−x) = π / sin(πx)
    return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  }
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln C(n, k); −Infinity when k is outside 0..n. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return Number.NEGATIVE_INFINITY;
  if (k === 0 || k === n) return 0;
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** P(X = k) for X ~ Binomial(n, p). */
export function binomialPmf(k: number, n: number, p: number): number {
  if (k < 0 || k > n) return 0;
  if (p <= 0) return k === 0 ? 1 : 0;
  if (p >= 1) return k === n ? 1 : 0;
  return Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log1p(-p));
}

/** Upper tail P(X ≥ k) for X ~ Binomial(n, p): the one-sided binomial test's p-value. */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // Terms by recurrence from P(X = k): pmf(i+1) = pmf(i) · (n−i)/(i+1) · p/(1−p).
  const odds = p / (1 - p);
  let term = binomialPmf(k, n, p);
  let sum = term;
  for (let i = k; i < n; i++) {
    term *= ((n - i) / (i + 1)) * odds;
    sum += term;
    // Past the mode the terms only shrink; stop once they no longer matter.
    if (i > n * p && term < sum * 1e-17) break;
  }
  return Math.min(1, sum);
}

/**
 * A 2×2 contingency table:
 * ```
 *            event   no event
 * group     a        b
 * others    c        d
 * ```
 */
export interface Table2x2 {
  a: number;
  b: number;
  c: number;
  d: number;
}

export interface FisherResult {
  /** One-sided p-value: P(A ≥ a), the group has MORE events than chance explains. */
  greater: number;
  /** One-sided p-value: P(A ≤ a). */
  less: number;
  /** Two-sided p-value: sum of the probabilities of all tables no more likely than the observed one. */
  twoSided: number;
  /** Sample odds ratio (a·d)/(b·c); Infinity when b·c = 0 and a·d > 0, NaN when both are 0. */
  oddsRatio: number;
}

/** Fisher's exact test on a 2×2 table (hypergeometric, margins fixed). */
export function fisherExact(t: Table2x2): FisherResult {
  const { a, b, c, d } = t;
  const row1 = a + b;
  const col1 = a + c;
  const n = a + b + c + d;
  const lo = Math.max(0, row1 + col1 - n);
  const hi = Math.min(row1, col1);
  // log P(x) for every x by recurrence from x = lo:
  // P(x+1)/P(x) = (row1 − x)(col1 − x) / ((x + 1)(n − row1 − col1 + x + 1)).
  const logP = new Float64Array(hi - lo + 1);
  logP[0] = logChoose(col1, lo) + logChoose(n - col1, row1 - lo) - logChoose(n, row1);
  for (let x = lo; x < hi; x++) {
    const i = x - lo;
    logP[i + 1] = logP[i]! + Math.log(((row1 - x) * (col1 - x)) / ((x + 1) * (n - row1 - col1 + x + 1)));
  }
  const logObs = logP[a - lo]!;
  let greater = 0;
  let less = 0;
  let twoSided = 0;
  for (let x = lo; x <= hi; x++) {
    const lp = logP[x - lo]!;
    const px = Math.exp(lp);
    if (x >= a) greater += px;
    if (x <= a) less += px;
    if (lp <= logObs + 1e-7) twoSided += px;
  }
  const num = a * d;
  const den = b * c;
  const oddsRatio = den === 0 ? (num === 0 ? Number.NaN : Number.POSITIVE_INFINITY) : num / den;
  return {
    greater: Math.min(1, greater),
    less: Math.min(1, less),
    twoSided: Math.min(1, twoSided),
    oddsRatio,
  };
}

/** Bonferroni-adjusted p-value for one of `tests` comparisons. */
export function bonferroni(p: number, tests: number): number {
  return Math.min(1, p * Math.max(1, tests));
}

/** A p-value rounded for display and JSON (3 significant digits). */
export function roundP(p: number): number {
  if (p === 0) return 0;
  return Number(p.toPrecision(3));
}
