/**
 * Types of the diagnosis engine: its input, its output, and the common
 * interface of the detectors (src/diagnose/detectors/<id>.ts).
 */
import type { RequestRecord } from "../model.js";
import type { Confidence, Finding, LagStats } from "../report/types.js";
import type { Stall } from "./stalls.js";

/**
 * Extra evidence and knobs for the diagnosis. Every field is optional. Other
 * sources (NLB target health, X-Ray breakdowns) add their own optional fields
 * here, or pass untyped data through `extra` until they do.
 */
export interface DiagnoseContext {
  /** The resolver's per-query timeout (glibc `options timeout:`), ms. Default 5000. */
  resolverTimeoutMs?: number;
  /** Family-wise significance level over all statistical findings of one diagnosis. Default 0.01. */
  alpha?: number;
  /** The request deadline the run used, ms (shown in the `timeout` finding). */
  timeoutMs?: number;
  /** Open extension point: evidence from other sources, keyed by source name. */
  extra?: Readonly<Record<string, unknown>>;
}

export interface DiagnoseInput {
  records: readonly RequestRecord[];
  /** Stalls from detectStalls over the same records. */
  stalls: readonly Stall[];
  lag?: LagStats;
  context?: DiagnoseContext;
}

/** Why one stall is attributed where it is, for the terminal report. */
export interface StallExplanation {
  seq: number;
  /** A finding id, or `unexplained`. */
  cause: string;
  /** The finding's title, or "unexplained". */
  title: string;
  /** One short line about this stall, e.g. "connect 3012 ms ≈ 3 s (2nd SYN retransmission)". */
  detail: string;
  /** Other findings that also explain this stall, lower in precedence. */
  alsoMatched: string[];
}

export interface Diagnosis {
  /** Ranked: most stalls explained × confidence first. One finding per id. */
  findings: Finding[];
  /** Each stall's seq → the finding id it is attributed to, or `unexplained`. */
  causeBySeq: Map<number, string>;
  /** Per stall: cause, title and a detail line. */
  explanations: Map<number, StallExplanation>;
  /** No stalls, no failed probe requests and no findings. */
  healthy: boolean;
  /** Why tests were skipped or what was odd, e.g. "too few samples for periodicity test: n=12 < 30". */
  notes: string[];
}

/** Resolved settings every detector sees. */
export interface DetectorSettings {
  resolverTimeoutMs: number;
  /**
   * Significance level each statistical detector must beat with its corrected
   * p-value: the family-wise level (context.alpha, 0.01) divided by the number
   * of statistical detectors run.
   */
  alpha: number;
  timeoutMs: number | undefined;
}

/** What every detector is given: probe records, stalls and lookups over them. */
export interface DetectorInput {
  /** Probe and idle-sweep records (keep-warm pings excluded), in seq order. */
  records: readonly RequestRecord[];
  stalls: readonly Stall[];
  /** Seq numbers of all stalls. */
  stallSeqs: ReadonlySet<number>;
  lag: LagStats | undefined;
  settings: DetectorSettings;
  context: DiagnoseContext;
}

/** A finding before attribution, as a detector raises it. */
export interface Candidate {
  summary: string;
  /** Seq numbers of every stall this finding explains (before attribution). */
  stalls: number[];
  confidence: Confidence;
  evidence: Record<string, unknown>;
  nextStep: string;
  /** Optional per-stall detail line. */
  detailBySeq?: Map<number, string>;
  /**
   * True when the finding stands on its own even if every one of its stalls is
   * attributed to a more specific finding (e.g. address-skew behind SYN
   * retransmissions, or resets that are failures, not stalls).
   */
  corroborating?: boolean;
}

export interface DetectorResult {
  candidate?: Candidate;
  notes?: string[];
}

/** One detector per finding id. Pure: no I/O, no clock. */
export interface Detector {
  id: string;
  detect(input: DetectorInput): DetectorResult;
}

export type { Finding };
