/**
 * What a stall is, as data: the rule's knobs and one detected stall. The rule
 * itself (thresholds per series, `detectStalls`) is src/diagnose/stalls.ts;
 * layers below the diagnosis (record, aws) take stalls or a stall detector as
 * input instead of importing it.
 */
import type { Phase, RequestRecord } from "./record.js";

export interface StallRule {
  stallMs?: number | undefined;
  stallFactor: number;
  stallFloorMs: number;
}

/**
 * Finds the stalls among records: src/diagnose/stalls.ts `detectStalls` with a rule, handed to the layers
 * that may not import the diagnosis (record/ counts stalls per interval with it).
 */
export type StallDetector = (records: readonly RequestRecord[]) => readonly Pick<Stall, "index">[];

/**
 * The 1-based nearest rank of the q-quantile (0..1) among n values: at least 1, at most n (0 for none).
 * HdrHistogram's definition, and the stall rule's: every percentile stallwatch computes from values uses it.
 */
export function nearestRank(q: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(q * n)));
}

/**
 * The stall rule as counting from histograms needs it (no records): src/diagnose/stalls.ts `stallCounter`
 * builds it from a rule, so the rule's formula stays in one place. A series' threshold derives from one
 * quantile of its successful probe totals; a request is a stall when its total is above it, or when it
 * failed on a deadline.
 */
export interface StallCounter {
  /** The quantile (0..1, nearest rank) of a series' successful probe totals its threshold derives from. */
  typicalQuantile: number;
  /** The series threshold from that quantile (undefined: the series had no successful probe request). */
  thresholdMs(typicalMs: number | undefined): number;
  /** A failure that is a stall whatever its total: it hit a deadline. */
  timedOut(code: string | undefined): boolean;
}

export interface Stall {
  /** Row of the stall in the records (array index, or row of the columnar store) it was detected in. */
  index: number;
  record: RequestRecord;
  /** The phase that took the most time. */
  phase: Phase;
  totalMs: number;
  /** The threshold this series was held to. */
  thresholdMs: number;
  /** The series' typical total the threshold came from (its successful requests' lower quartile); absent: it had none. */
  typicalMs?: number;
}
