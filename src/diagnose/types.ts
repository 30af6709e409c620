/**
 * Types of the diagnosis engine: its input, its output, and the common
 * interface of the detectors (src/diagnose/detectors/<id>.ts).
 */
import type {
  AwsEvidence,
  Confidence,
  Finding,
  LagStats,
  RequestRecord,
  Verdict,
  VerdictEvidence,
} from "../model.js";
import type { RecordColumns } from "../record/columns.js";
import type { FamilyFallback } from "../system/happy-eyeballs.js";
import type { SynSchedule, TypicalPhases } from "./physics.js";
import type { Hop } from "./registry.js";
import type { Stall } from "./stalls.js";

/**
 * Extra evidence and knobs for the diagnosis. Every field is optional. The
 * evidence from other sources (NLB target health, X-Ray breakdowns,
 * CloudWatch series: {@link AwsEvidence}) comes typed, one field per source;
 * a new source adds its field to AwsEvidence in src/model/evidence.ts.
 */
export interface DiagnoseContext extends AwsEvidence {
  /** The resolver's per-query timeout (glibc `options timeout:`), ms. Default 5000. */
  resolverTimeoutMs?: number;
  /** Family-wise significance level over all statistical findings of one diagnosis. Default 0.01. */
  alpha?: number;
  /** The request deadline the run used, ms (shown in the `timeout` finding). */
  timeoutMs?: number;
  /** The prober host's SYN retransmission schedule (its kernel settings). Default: classic Linux. */
  synSchedule?: SynSchedule;
  /** The prober host's address-family fallback (Happy Eyeballs) settings. Default: Node's (on, 250 ms). */
  familyFallback?: FamilyFallback;
  /**
   * Detectors not to run, each with the reason shown in the notes (e.g. periodic-stall over rounds picked for
   * having stalls, whose selection makes periods of its own).
   */
  skip?: Readonly<Record<string, string>>;
}

export interface DiagnoseInput {
  /** The run's records: a columnar store (the report path, constant per-request memory) or an array (history, tests). */
  records: readonly RequestRecord[] | RecordColumns;
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

/** An explanation the diagnosis considered and rejected. */
export interface RuledOut {
  cause: string;
  reason: string;
}

export interface Diagnosis {
  /**
   * Causes, ranked: most stalls explained × confidence first. One finding per id; `stalls` lists exactly the
   * stalls attributed to it.
   */
  findings: Finding[];
  /** Evidence findings (X-Ray): where stall time went; they take no stall. */
  evidence: Finding[];
  /** Causes considered and rejected, with why. */
  ruledOut: RuledOut[];
  /** The top cause as a checkable chain; absent when no cause was found. */
  verdict?: Verdict;
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
  synSchedule: SynSchedule;
}

/** What every detector is given: probe records, stalls and lookups over them. */
export interface DetectorInput {
  /**
   * The run's records as columns (src/record/columns.ts): read them by row with the accessors
   * (`columns.total(i)`, `columns.remoteAddress(i)`, …) and `columns.record(i)` for a row needed whole.
   */
  columns: RecordColumns;
  /** The rows detectors look at: probe and idle-sweep requests (keep-warm pings excluded), in seq order. */
  rows: Uint32Array;
  /**
   * ADAPTER for detectors not yet migrated to `columns` + `rows`: the same rows materialized as RequestRecord
   * objects, built on first read and cached for the other detectors. On the report path that makes every
   * request an object again (~600 bytes each instead of the store's ~180): a detector that reads it gives up
   * constant memory. Read `columns` + `rows` instead (test/unit/diagnose-columns.test.ts checks how many rows a
   * diagnosis materializes).
   */
  readonly records: readonly RequestRecord[];
  stalls: readonly Stall[];
  /** Seq numbers of all stalls. */
  stallSeqs: ReadonlySet<number>;
  lag: LagStats | undefined;
  settings: DetectorSettings;
  context: DiagnoseContext;
  /** Median of each phase per series and connection mode over requests that did not stall. */
  typical: TypicalPhases;
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
  /** Seq numbers of failed requests (not stalls) the finding explains, e.g. resets or 429s. */
  failures?: number[];
  /** The hop the time was lost at, when the detector knows better than its registry entry. */
  hop?: Hop;
  /** Which target, AZ, address or route: the most specific place the detector can name. */
  where?: string;
  /** How the time was lost, in a few words ("2 SYNs lost, retransmitted at 1 s and 2 s"). */
  mechanism?: string;
  /** Facts from other sources that agree with this cause (target health of the named target, host settings). */
  corroboration?: VerdictEvidence[];
}

export interface DetectorResult {
  candidate?: Candidate;
  notes?: string[];
  /** Why the detector considered the stalls and rejected its explanation (shown as a ruled-out alternative). */
  ruledOut?: string;
}

/** One detector per finding id. Pure: no I/O, no clock. */
export interface Detector {
  id: string;
  detect(input: DetectorInput): DetectorResult;
}

export type { Finding };
