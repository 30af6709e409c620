/**
 * The statistics of the idle-gap sweep, on counts only (pure functions).
 *
 * Per series (api × route × endpoint × connection mode), every gap's stall
 * rate gets an exact Clopper–Pearson interval, and every gap but the shortest
 * is compared with all shorter gaps of the same series by Fisher's exact test
 * (one-sided: more stalls after this gap), Bonferroni-corrected over every
 * test of the sweep. Stalls begin at the smallest gap that passes. When none
 * does, the sweep may still only say "no idle effect" if it had the power to
 * see one: a rise of REFERENCE_RISE in the stall rate after the longest gap,
 * detected with SWEEP_POWER probability (or shorter gaps that already stall
 * at least half the time, by the lower end of their interval, which leaves no
 * such rise to see); otherwise it is inconclusive, and the repeats per gap
 * that would reach that power are computed.
 */
import { binomialPmf, binomialUpperTail, bonferroni, fisherExact } from "../diagnose/stats.js";

/** Family-wise error rate of the sweep's tests. */
export const SWEEP_ALPHA = 0.05;
/** Power a sweep needs before it may conclude "no idle effect". */
export const SWEEP_POWER = 0.8;
/** The idle effect a sweep must be able to see: the stall rate after the longest gap this much above the shorter gaps' (capped at 100 %). */
export const REFERENCE_RISE = 0.5;
/** The most repeats the planner suggests (the CLI's --repeats limit). */
export const MAX_REPEATS = 1000;

/** One gap of one series: requests and how many of them stalled or failed. */
export interface GapCounts {
  gapMs: number;
  n: number;
  hits: number;
}

export interface SeriesCounts {
  label: string;
  /** Ascending by gapMs. */
  gaps: GapCounts[];
}

export interface Interval {
  low: number;
  high: number;
}

export interface GapStats extends GapCounts {
  rate: number;
  /** Exact 95 % (Clopper–Pearson) interval of the rate. */
  ci: Interval;
  /** Fisher's exact test against all shorter gaps of the series (absent for the shortest gap). */
  pValue?: number;
  /** pValue × the sweep's number of tests (Bonferroni), capped at 1. */
  pAdjusted?: number;
}

export interface SeriesStats {
  label: string;
  gaps: GapStats[];
  /** Smallest gap whose stall rate is significantly above the shorter gaps'. */
  stallsBeginMs?: number;
  /** The gap before it (the longest one seen quiet). */
  lastQuietGapMs?: number;
  /** Stall rate of all gaps shorter than the longest. */
  baselineRate: number;
  /** Smallest stall rate after the longest gap the test detects with SWEEP_POWER; absent when no rate would be. */
  detectableRate?: number;
  /** Even the lower end of the baseline's 95 % interval leaves less than REFERENCE_RISE of room: most requests stall whatever the gap. */
  stallsRegardless: boolean;
  /** detectableRate is within REFERENCE_RISE of baselineRate (or the cap), or stallsRegardless: a "no idle effect" here means something. */
  powered: boolean;
}

export type Conclusion =
  | { kind: "onset"; stallsBeginMs: number; lastQuietGapMs: number; series: string[] }
  | {
      kind: "no-idle-effect";
      baselineRate: number;
      /** Absent when every series stalls regardless of the gap (no room for a rise to see). */
      detectableRate?: number;
      longestGapMs: number;
    }
  | { kind: "inconclusive"; repeatsNeeded?: number };

export interface SweepStats {
  series: SeriesStats[];
  /** Number of Fisher tests the Bonferroni correction covers. */
  tests: number;
  alpha: number;
  conclusion: Conclusion;
}

/** Exact (Clopper–Pearson) two-sided 1−alpha interval for k successes in n trials. */
export function clopperPearson(k: number, n: number, alpha = 0.05): Interval {
  if (n <= 0) return { low: 0, high: 1 };
  const half = alpha / 2;
  // P(X ≥ k | p) rises with p; P(X ≤ k | p) = 1 − P(X ≥ k+1 | p) falls with p.
  const low = k <= 0 ? 0 : solveRising((p) => binomialUpperTail(k, n, p), half);
  const high = k >= n ? 1 : solveRising((p) => binomialUpperTail(k + 1, n, p), 1 - half);
  return { low, high };
}

/** p in [0, 1] with f(p) = target for a non-decreasing f (bisection). */
function solveRising(f: (p: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < target) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** One-sided Fisher p-value: a gap with `hits` of `n` against shorter gaps with `hits0` of `n0`. */
export function gapPValue(hits: number, n: number, hits0: number, n0: number): number {
  return fisherExact({ a: hits, b: n - hits, c: hits0, d: n0 - hits0 }).greater;
}

/** Smallest hit count of n that the test rejects at `level` given hits0 of n0; undefined when even n would not. */
function criticalHits(n: number, hits0: number, n0: number, level: number): number | undefined {
  if (gapPValue(n, n, hits0, n0) > level) return undefined;
  // The one-sided p-value falls as the gap's hits rise: binary search.
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (gapPValue(mid, n, hits0, n0) <= level) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

/**
 * Power of the gap test as a function of the gap's true stall rate: n requests after the gap, n0 after shorter
 * gaps whose true rate is p0, rejecting at `level`. The critical counts are computed once; the function is cheap.
 */
export function gapPower(n: number, n0: number, p0: number, level: number): (p1: number) => number {
  const sd = Math.sqrt(n0 * p0 * (1 - p0));
  const from = Math.max(0, Math.floor(n0 * p0 - 9 * sd - 1));
  const to = Math.min(n0, Math.ceil(n0 * p0 + 9 * sd + 1));
  const terms: { weight: number; critical: number }[] = [];
  for (let x0 = from; x0 <= to; x0++) {
    const weight = binomialPmf(x0, n0, p0);
    if (weight < 1e-12) continue;
    const critical = criticalHits(n, x0, n0, level);
    if (critical !== undefined) terms.push({ weight, critical });
  }
  return (p1) => terms.reduce((s, t) => s + t.weight * binomialUpperTail(t.critical, n, p1), 0);
}

/** Smallest true stall rate after the gap that the test detects with `power`; undefined when none does. */
export function detectableRate(n: number, n0: number, p0: number, level: number, power = SWEEP_POWER) {
  if (n <= 0 || n0 <= 0) return undefined;
  const f = gapPower(n, n0, p0, level);
  if (f(1) < power) return undefined;
  return solveRising(f, power);
}

function isPowered(baselineRate: number, rate: number | undefined): boolean {
  return rate !== undefined && rate <= Math.min(1, baselineRate + REFERENCE_RISE) + 1e-9;
}

/** The sweep's statistics and its conclusion. `alpha`: family-wise error rate. */
export function analyseSweep(input: readonly SeriesCounts[], alpha = SWEEP_ALPHA): SweepStats {
  const series = input.map((s) => ({ label: s.label, gaps: s.gaps.filter((g) => g.n > 0) }));
  const tests = series.reduce((sum, s) => sum + Math.max(0, s.gaps.length - 1), 0);
  const level = alpha / Math.max(1, tests);

  const stats: SeriesStats[] = series.map((s) => {
    let n0 = 0;
    let hits0 = 0;
    const gaps: GapStats[] = s.gaps.map((g, i) => {
      const out: GapStats = { ...g, rate: g.hits / g.n, ci: clopperPearson(g.hits, g.n) };
      if (i > 0) {
        const p = gapPValue(g.hits, g.n, hits0, n0);
        out.pValue = p;
        out.pAdjusted = bonferroni(p, tests);
      }
      n0 += g.n;
      hits0 += g.hits;
      return out;
    });
    const onset = gaps.findIndex((g) => g.pValue !== undefined && g.pValue <= level);
    const last = gaps.at(-1);
    const shorter = gaps.slice(0, -1);
    const nShort = shorter.reduce((a, g) => a + g.n, 0);
    const baselineRate = nShort ? shorter.reduce((a, g) => a + g.hits, 0) / nShort : 0;
    const detectable = last ? detectableRate(last.n, nShort, baselineRate, level) : undefined;
    const hitsShort = shorter.reduce((a, g) => a + g.hits, 0);
    const stallsRegardless = nShort > 0 && clopperPearson(hitsShort, nShort).low >= 1 - REFERENCE_RISE;
    return {
      label: s.label,
      gaps,
      ...(onset > 0 ? { stallsBeginMs: gaps[onset]!.gapMs, lastQuietGapMs: gaps[onset - 1]!.gapMs } : {}),
      baselineRate,
      ...(detectable !== undefined ? { detectableRate: detectable } : {}),
      stallsRegardless,
      powered: stallsRegardless || isPowered(baselineRate, detectable),
    };
  });

  return { series: stats, tests, alpha, conclusion: conclude(stats, alpha) };
}

function conclude(stats: SeriesStats[], alpha: number): Conclusion {
  const onsets = stats.filter((s) => s.stallsBeginMs !== undefined);
  if (onsets.length > 0) {
    // Keep-warm has to cover the series that goes cold soonest.
    const first = onsets.reduce((a, b) => (b.stallsBeginMs! < a.stallsBeginMs! ? b : a));
    return {
      kind: "onset",
      stallsBeginMs: first.stallsBeginMs!,
      lastQuietGapMs: first.lastQuietGapMs!,
      series: onsets.filter((s) => s.stallsBeginMs === first.stallsBeginMs).map((s) => s.label),
    };
  }
  const tested = stats.filter((s) => s.gaps.length >= 2);
  if (tested.length > 0 && tested.every((s) => s.powered)) {
    // Report the least sensitive series: the claim holds for all of them at that size.
    const sized = tested.filter((s) => s.detectableRate !== undefined && !s.stallsRegardless);
    const longestGapMs = Math.max(...tested.map((s) => s.gaps.at(-1)!.gapMs));
    if (sized.length === 0) {
      const least = tested.reduce((a, b) => (b.baselineRate < a.baselineRate ? b : a));
      return { kind: "no-idle-effect", baselineRate: least.baselineRate, longestGapMs };
    }
    const worst = sized.reduce((a, b) =>
      b.detectableRate! - b.baselineRate > a.detectableRate! - a.baselineRate ? b : a,
    );
    return {
      kind: "no-idle-effect",
      baselineRate: worst.baselineRate,
      detectableRate: worst.detectableRate!,
      longestGapMs: worst.gaps.at(-1)!.gapMs,
    };
  }
  const repeatsNeeded = planRepeats(stats, alpha);
  return { kind: "inconclusive", ...(repeatsNeeded !== undefined ? { repeatsNeeded } : {}) };
}

/**
 * Requests per gap per series that would make the sweep decide: with that many, every series has the power to
 * see the reference rise after its longest gap (at its observed baseline rate), so the sweep either finds where
 * stalls begin or may say there is no idle effect. Undefined when more than MAX_REPEATS would be needed.
 */
export function planRepeats(stats: readonly SeriesStats[], alpha = SWEEP_ALPHA): number | undefined {
  const shapes = stats
    .map((s) => ({ baseline: s.baselineRate, gaps: s.gaps.length }))
    .filter((s) => s.gaps >= 2);
  if (shapes.length === 0) return undefined;
  const tests = stats.reduce((sum, s) => sum + Math.max(0, s.gaps.length - 1), 0);
  const level = alpha / tests;
  const enough = (n: number) =>
    shapes.every((s) => isPowered(s.baseline, detectableRate(n, n * (s.gaps - 1), s.baseline, level)));
  // Doubling, then bisection (power is near-monotone in n; discreteness can make the answer a little early).
  let hi = 2;
  while (hi < MAX_REPEATS && !enough(hi)) hi *= 2;
  if (hi >= MAX_REPEATS) {
    if (!enough(MAX_REPEATS)) return undefined;
    hi = MAX_REPEATS;
  }
  let lo = Math.max(1, hi >> 1);
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (enough(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}
