/**
 * The idle split test shared by cold-start-after-idle and stale-connection:
 * does the stall rate rise above some idle gap? Splits at fixed boundaries,
 * one-sided Fisher exact test (above vs below), Bonferroni over the distinct
 * partitions tried, minimum effect sizes.
 */
import { Float64List } from "../model.js";
import { bonferroni, fisherExact } from "./stats.js";

/** Candidate split points, ms: 1 s … 4 h. */
export const GAP_BOUNDARIES_MS = [
  1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 180_000, 300_000, 420_000, 600_000, 900_000,
  1_200_000, 1_800_000, 2_700_000, 3_600_000, 7_200_000, 14_400_000,
] as const;

export const SPLIT_MIN_SAMPLES = 20;
export const SPLIT_MIN_SIDE = 5;
export const SPLIT_MIN_STALLS_ABOVE = 3;
export const SPLIT_MIN_RATE_ABOVE = 0.2;
export const SPLIT_MIN_RATE_RATIO = 3;

export interface GapSample {
  seq: number;
  gapMs: number;
  stall: boolean;
}

/**
 * Gap samples of a run: every gap in a Float64Array, and the stalled samples (few) listed apart with their
 * seq. That is all the split needs: the gaps sorted (a native numeric sort, no comparator and no copy on the
 * JS heap) and, per boundary, which stalls fall above it. One object per sample was ~15 MB of garbage per
 * detector at 300,000 requests.
 */
export class GapSamples {
  private readonly gaps: Float64List;
  /** The stalled samples: their gap, their seq, and their position among all samples (push order). */
  readonly stalls: { gapMs: number; seq: number; at: number }[] = [];

  /** `capacity`: the number of samples expected (e.g. the run's rows), so the buffer never grows. */
  constructor(capacity = 64) {
    this.gaps = new Float64List(capacity);
  }

  get length(): number {
    return this.gaps.length;
  }

  static of(list: readonly GapSample[]): GapSamples {
    const out = new GapSamples(list.length);
    for (const x of list) out.push(x.seq, x.gapMs, x.stall);
    return out;
  }

  push(seq: number, gapMs: number, stall: boolean): void {
    if (stall) this.stalls.push({ gapMs, seq, at: this.gaps.length });
    this.gaps.push(gapMs);
  }

  /** The gaps, ascending (a new array). */
  sortedGaps(): Float64Array {
    return this.gaps.values.slice(0, this.gaps.length).sort();
  }
}

export interface SplitResult {
  /** Boundary chosen: gaps ≥ this are "above". */
  boundaryMs: number;
  nAbove: number;
  stallsAbove: number;
  nBelow: number;
  stallsBelow: number;
  pValue: number;
  pAdjusted: number;
  /** Distinct partitions tried (the Bonferroni factor). */
  tests: number;
  /** Smallest gap of a stalled sample above the boundary: where stalls begin. */
  stallsBeginMs: number;
  /** Smallest gap above the boundary (the partition really starts here). */
  firstAboveMs: number;
  /** Largest gap below the boundary: shown to be (mostly) safe. */
  lastQuietGapMs: number;
  /** Seqs of the stalled samples above the boundary. */
  explained: number[];
}

export type SplitOutcome = { ok: true; split: SplitResult } | { ok: false; reason: string };

export function idleSplit(samples: GapSamples, alpha: number, label: string): SplitOutcome {
  const n = samples.length;
  if (n < SPLIT_MIN_SAMPLES) {
    return { ok: false, reason: `too few samples for ${label} test: n=${n} < ${SPLIT_MIN_SAMPLES}` };
  }
  const totalStalls = samples.stalls.length;
  if (totalStalls < SPLIT_MIN_STALLS_ABOVE)
    return { ok: false, reason: `${label} test: only ${totalStalls} stalls` };
  // The gaps sorted, and the stalls sorted the same way (by gap; equal gaps keep their order): the samples
  // below a boundary are the first `cut` of the sorted gaps, the stalls below it those with a smaller gap.
  const sorted = samples.sortedGaps();
  const stalls = [...samples.stalls].sort((x, y) => x.gapMs - y.gapMs || x.at - y.at);
  const stallsUnder = (ms: number): number => {
    let lo = 0;
    let hi = stalls.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (stalls[mid]!.gapMs < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const firstAtOrAbove = (ms: number): number => {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]! < ms) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const seen = new Set<number>();
  const tried: Array<Omit<SplitResult, "pAdjusted" | "tests">> = [];
  for (const boundaryMs of GAP_BOUNDARIES_MS) {
    const cut = firstAtOrAbove(boundaryMs);
    const nBelow = cut;
    const nAbove = n - cut;
    if (nAbove < SPLIT_MIN_SIDE || nBelow < SPLIT_MIN_SIDE) continue;
    if (seen.has(cut)) continue; // same partition as a smaller boundary
    seen.add(cut);
    const stallsBelow = stallsUnder(boundaryMs);
    const stallsAbove = totalStalls - stallsBelow;
    const p = fisherExact({
      a: stallsAbove,
      b: nAbove - stallsAbove,
      c: stallsBelow,
      d: nBelow - stallsBelow,
    }).greater;
    const stalledAbove = stalls.slice(stallsBelow);
    tried.push({
      boundaryMs,
      nAbove,
      stallsAbove,
      nBelow,
      stallsBelow,
      pValue: p,
      stallsBeginMs: stalledAbove[0]?.gapMs ?? Number.POSITIVE_INFINITY,
      firstAboveMs: sorted[cut]!,
      lastQuietGapMs: sorted[cut - 1]!,
      explained: stalledAbove.map((x) => x.seq),
    });
  }
  if (tried.length === 0) {
    return {
      ok: false,
      reason: `${label} test: the gaps do not spread over two ranges with ≥ ${SPLIT_MIN_SIDE} samples each`,
    };
  }
  let best: SplitResult | undefined;
  for (const t of tried) {
    const rateAbove = t.stallsAbove / t.nAbove;
    const rateBelow = t.stallsBelow / t.nBelow;
    if (t.stallsAbove < SPLIT_MIN_STALLS_ABOVE || rateAbove < SPLIT_MIN_RATE_ABOVE) continue;
    if (rateAbove < SPLIT_MIN_RATE_RATIO * rateBelow) continue;
    const pAdjusted = bonferroni(t.pValue, tried.length);
    if (pAdjusted >= alpha) continue;
    if (!best || t.pValue < best.pValue) best = { ...t, pAdjusted, tests: tried.length };
  }
  if (!best)
    return { ok: false, reason: `${label} test: no significant rise of the stall rate with the gap` };
  return { ok: true, split: best };
}
