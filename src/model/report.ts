/**
 * The report: one plain object that every reporter (terminal, JSON, HTML,
 * EMF) is fed, and the pieces of it other layers share (findings, verdicts,
 * phase statistics, interval summaries). `--json` prints it as is; its shape is documented in
 * docs/report-json.md and versioned by `version`.
 */

import type { ConnectionMode, FailureClass, FailurePhase, Phase, RecordTag } from "./record.js";

/** Percentiles of one phase in milliseconds (from a microsecond-resolution HdrHistogram). */
export interface PhaseStats {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface SeriesReport {
  api: string;
  route: string;
  endpoint: string;
  connection: ConnectionMode;
  count: number;
  ok: number;
  failed: number;
  stalls: number;
  /** Per phase; a phase that never happened in this series is absent. */
  latencyMs: Partial<Record<Phase, PhaseStats>>;
  /** Present when requests were sent at a fixed rate: `total` corrected for coordinated omission. */
  correctedLatencyMs?: Partial<Record<Phase, PhaseStats>>;
  /** Compressed base64 HdrHistograms (values in µs) per phase, for merging runs. */
  histograms?: Partial<Record<Phase, string>>;
  /** Counts of `total` latencies in log-spaced buckets (the terminal's distribution picture). */
  distribution?: LatencyDistribution;
}

/**
 * A coarse histogram of `total` latency: `counts[i]` requests took
 * `[edgesMs[i], edgesMs[i+1])` ms; the first bucket also holds everything
 * below `edgesMs[0]`, the last everything from its edge upwards.
 */
export interface LatencyDistribution {
  edgesMs: number[];
  counts: number[];
}

export interface StallReport {
  /** The writer (prober) that saw it, in reports over recorded history. */
  writer?: string;
  /** ISO wall-clock time the request started. */
  at: string;
  seq: number;
  api: string;
  route: string;
  endpoint: string;
  connection: ConnectionMode;
  reused: boolean;
  totalMs: number;
  thresholdMs: number;
  /** The dominant phase. */
  phase: Phase;
  phasesMs: Partial<Record<Phase, number>>;
  remoteAddress?: string;
  requestId?: string;
  traceId?: string;
  status?: number;
  error?: FailureClass;
  /** The finding id that explains this stall, or `unexplained`; `not-diagnosed` for keep-warm pings. */
  cause: string;
  /** One line on why this stall was attributed to its cause (from the diagnosis), when known. */
  detail?: string;
  /** The record's tag when it is not `probe` (a keep-warm or idle-sweep request). */
  tag?: RecordTag;
}

export interface FailureReport {
  at: string;
  seq: number;
  api: string;
  route: string;
  endpoint: string;
  code: FailureClass;
  phase: FailurePhase;
  message: string;
  status?: number;
  remoteAddress?: string;
  requestId?: string;
  /** The record's tag when it is not `probe` (a keep-warm or idle-sweep request). */
  tag?: RecordTag;
}

/** The cause recorded for a stall no finding explains (`StallReport.cause`, the diagnosis' causeBySeq). */
export const UNEXPLAINED = "unexplained";

export type Confidence = "high" | "medium" | "low";

export interface Finding {
  /** Stable id, e.g. `tcp-syn-retransmit` (see src/diagnose/registry.ts). */
  id: string;
  /** One line a person can act on. */
  summary: string;
  /**
   * Seq numbers of exactly the stalls whose cause is this finding (each stall has one cause). Stalls the
   * finding's pattern also fits, attributed to a more specific cause, are counted in `evidence.alsoFits`.
   */
  stalls: number[];
  /** Seq numbers of failed requests (not stalls) this finding explains (resets, 429s), when any. */
  failures?: number[];
  confidence: Confidence;
  /** The numbers behind the finding (sample sizes, p-values, addresses, periods...). */
  evidence: Record<string, unknown>;
  nextStep: string;
}

/** One line of evidence behind a verdict, and where it came from. */
export interface VerdictEvidence {
  source: "timing" | "pattern" | "x-ray" | "target-health" | "cloudwatch" | "host";
  text: string;
}

/**
 * The report's answer: the cause that explains the stalls, as a chain a person can check (phase → hop →
 * where → mechanism), the evidence from every source that agrees, and what to do next. Absent when nothing
 * stalled or failed.
 */
export interface Verdict {
  /** The finding id of the cause (= findings[0].id). */
  cause: string;
  title: string;
  /** One sentence: what is wrong, where. */
  headline: string;
  /** Stalls attributed to this cause (= findings[0].stalls.length). */
  stalls: number;
  /** All probe stalls of the report. */
  ofStalls: number;
  /** Failed requests this cause explains. */
  failures: number;
  confidence: Confidence;
  /** The dominant phase of its stalls (or of its failures). */
  phase: string;
  /** Where on the path the time was lost: client, dns, edge, gateway, nlb, target, app, path. */
  hop: string;
  /** Which target, AZ, address or route, when known. */
  where?: string;
  mechanism: string;
  evidence: VerdictEvidence[];
  nextStep: string;
  /** Other causes with stalls of their own, largest first. */
  alsoCauses: Array<{ cause: string; stalls: number; failures: number }>;
  /** Explanations considered and rejected, with the reason. */
  ruledOut: Array<{ cause: string; reason: string }>;
}

/**
 * The lag monitor's default drift-sampler period, ms (src/probe/lag.ts): a block shows as a delay up to one
 * period short of its length, and a block shorter than a period may not show at all.
 */
export const DEFAULT_LAG_SAMPLE_PERIOD_MS = 10;

export interface LagStats {
  /** Event-loop delay percentiles over the run, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Mean event-loop utilisation over the run, 0..1. */
  utilization: number;
  /** Requests whose loop lag while in flight was above the lag floor ({@link loopLagFloorMs}). */
  affectedRequests: number;
  /** The lag floor `affectedRequests` counts against, ms. */
  thresholdMs?: number;
  /** The drift sampler's period the figures come from, ms; absent when not known (history). */
  samplePeriodMs?: number;
}

const finiteOr = (v: number | undefined, fallback: number, positive: boolean): number =>
  v !== undefined && Number.isFinite(v) && (positive ? v > 0 : v >= 0) ? v : fallback;

/** The drift sampler's period the figures come from (the default when they do not say, or say nonsense). */
export function lagSamplePeriodMs(lag: Pick<LagStats, "samplePeriodMs"> | undefined): number {
  return finiteOr(lag?.samplePeriodMs, DEFAULT_LAG_SAMPLE_PERIOD_MS, true);
}

/**
 * The loop lag (ms) at or under which a request's `loopLagMs` is no evidence of a block: the lag monitor's
 * sampler period. A block shorter than a period may not show at all, and one that shows reads up to a
 * period short. Not the run's median lag on top: over a short run a single block is the median (one 200 ms
 * block in a 220 ms run read as its own floor, so it explained nothing), and the loop's ordinary lateness
 * needs no floor of its own, since it is in every request, hence in the series' typical total, which the
 * client-lag rule takes off first. One definition: client-lag's floor, and what every report's "requests in
 * flight during lag" (`affectedRequests`) counts against, live and over history.
 */
export function loopLagFloorMs(lag: Partial<LagStats> | undefined): number {
  return lagSamplePeriodMs(lag);
}

export interface Report {
  version: 1;
  generatedAt: string;
  source: {
    kind: "live" | "lab" | "history";
    scenario?: string;
    dir?: string;
    since?: string;
    until?: string;
  };
  /** The options the run used (count, concurrency, rate, connection, timeoutMs, stall rule). */
  options: Record<string, unknown>;
  /** Wall-clock span of the records (probe and keep-warm): first start to last end. Absent without records. */
  span?: { startedAt: string; endedAt: string; durationMs: number };
  totals: { requests: number; ok: number; failed: number; stalls: number };
  /** True when there are no stalls, no failures and no findings. */
  healthy: boolean;
  series: SeriesReport[];
  stalls: StallReport[];
  failures: FailureReport[];
  findings: Finding[];
  /** The verdict: the cause of the stalls, first thing every reporter shows. Absent when healthy. */
  verdict?: Verdict;
  /** Evidence findings (X-Ray breakdowns): where stall time went, shown beside the verdict, never a cause. */
  evidence?: Finding[];
  /** Diagnosis notes: tests skipped for too few samples, oddities. */
  notes?: string[];
  eventLoopLagMs: LagStats;
  coordinatedOmission: { corrected: boolean; expectedIntervalMs?: number; note: string };
  /** Keep-warm samples, reported beside (never mixed into) the probe series. */
  keepWarm?: SeriesReport[];
  /** Latency over time, for reports over recorded history. */
  timeline?: IntervalSummary[];
  /**
   * Reports over recorded history: counts per writer (prober), overall and
   * per series, so a stall seen from one prober only is visible as data.
   */
  writers?: WriterReport[];
  /** Command-line gates (`--max-stalls`, `--max-failures`, `--threshold`) and how the run did against each. */
  gates?: GateResult[];
}

/**
 * One interval of recorded history for one series (the SmokePing view):
 * produced from the store's interval histograms, rendered by the terminal
 * and HTML reporters.
 */
export interface IntervalSummary {
  api: string;
  route: string;
  endpoint: string;
  connection: ConnectionMode;
  /** Interval start and end, epoch ms. */
  startMs: number;
  endMs: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  stalls: number;
  failures: number;
}

export interface GateResult {
  /** The flag as given: `--max-stalls 0`, `--threshold p(99)<500`. */
  gate: string;
  passed: boolean;
  /** The series the result is about (thresholds); absent for run totals. */
  series?: string;
  /** The measured value: a count, or milliseconds for thresholds. */
  actual: number;
  limit: number;
}

export interface WriterSeriesCounts {
  api: string;
  route: string;
  endpoint: string;
  requests: number;
  failed: number;
  stalls: number;
}

export interface WriterReport {
  writer: string;
  rounds: number;
  requests: number;
  failed: number;
  stalls: number;
  /** First and last round start, ISO. */
  firstRoundAt: string;
  lastRoundAt: string;
  series: WriterSeriesCounts[];
}
