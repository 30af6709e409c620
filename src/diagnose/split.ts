/**
 * The idle split test shared by cold-start-after-idle and stale-connection:
 * does the stall rate rise above some idle gap? Splits at fixed boundaries,
 * one-sided Fisher exact test (above vs below), Bonferroni over the distinct
 * partitions tried, minimum effect sizes.
 */
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

export function idleSplit(samples: readonly GapSample[], alpha: number, label: string): SplitOutcome {
  const n = samples.length;
  if (n < SPLIT_MIN_SAMPLES) {
    return { ok: false, reason: `too few samples for ${label} test: n=${n} < ${SPLIT_MIN_SAMPLES}` };
  }
  const totalStalls = samples.filter((s) => s.stall).length;
  if (totalStalls < SPLIT_MIN_STALLS_ABOVE)
    return { ok: false, reason: `${label} test: only ${totalStalls} stalls` };
  const seen = new Set<string>();
  const tried: Array<Omit<SplitResult, "pAdjusted" | "tests">> = [];
  for (const boundaryMs of GAP_BOUNDARIES_MS) {
    const above = samples.filter((s) => s.gapMs >= boundaryMs);
    const below = samples.filter((s) => s.gapMs < boundaryMs);
    if (above.length < SPLIT_MIN_SIDE || below.length < SPLIT_MIN_SIDE) continue;
    const key = `${above.length}`;
    if (seen.has(key)) continue; // same partition as a smaller boundary
    seen.add(key);
    const stallsAbove = above.filter((s) => s.stall);
    const stallsBelow = below.filter((s) => s.stall).length;
    const p = fisherExact({
      a: stallsAbove.length,
      b: above.length - stallsAbove.length,
      c: stallsBelow,
      d: below.length - stallsBelow,
    }).greater;
    tried.push({
      boundaryMs,
      nAbove: above.length,
      stallsAbove: stallsAbove.length,
      nBelow: below.length,
      stallsBelow,
      pValue: p,
      stallsBeginMs: Math.min(...stallsAbove.map((s) => s.gapMs), Number.POSITIVE_INFINITY),
      firstAboveMs: Math.min(...above.map((s) => s.gapMs)),
      lastQuietGapMs: Math.max(...below.map((s) => s.gapMs)),
      explained: stallsAbove.map((s) => s.seq),
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
