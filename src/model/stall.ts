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

export interface Stall {
  /** Row of the stall in the records (array index, or row of the columnar store) it was detected in. */
  index: number;
  record: RequestRecord;
  /** The phase that took the most time. */
  phase: Phase;
  totalMs: number;
  /** The threshold this series was held to. */
  thresholdMs: number;
}
