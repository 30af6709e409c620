/**
 * Builds the Report: the one plain object every reporter is fed. Pure: no
 * I/O, the clock is injected. Percentiles come from the HdrHistograms (given,
 * e.g. merged from history, or built here from the records); counts, stalls
 * and failures come from the records.
 */

import type {
  FailureReport,
  Finding,
  IntervalSummary,
  LagStats,
  Phase,
  PhaseStats,
  Report,
  RequestRecord,
  SeriesReport,
  Stall,
  StallReport,
  Verdict,
  WriterReport,
} from "../model.js";
import { PHASES, seriesId, UNEXPLAINED } from "../model.js";
import { columnsOf, type RecordColumns } from "../record/columns.js";
import {
  correctedForCoordinatedOmission,
  encodeHistogram,
  type HistKey,
  type Histogram,
  HistogramSet,
  histKeyId,
  histKeyOf,
  statsOf,
} from "../record/histograms.js";
import { distributionOf } from "./distribution.js";

/** What the report needs from a diagnosis (the engine's output satisfies it). */
export interface DiagnosisLike {
  /** Ranked by the engine; kept in its order. */
  findings: Finding[];
  /** Stall seq → finding id, or `unexplained`. */
  causeBySeq: Map<number, string>;
  healthy: boolean;
  notes: string[];
  /** Optional per-stall detail line ("connect 3012 ms ≈ 3 s"). */
  explanations?: ReadonlyMap<number, { detail: string }>;
  verdict?: Verdict | undefined;
  /** Evidence findings (X-Ray), shown beside the verdict. */
  evidence?: Finding[];
}

export interface BuildReportInput {
  /** The run's records: its columnar store (a live run), or an array (history, tests). */
  records: readonly RequestRecord[] | RecordColumns;
  stalls: readonly Stall[];
  diagnosis?: DiagnosisLike | undefined;
  lag: LagStats;
  source: Report["source"];
  options: Record<string, unknown>;
  /** Per-series interval between sends when sending at a fixed rate, ms: enables the CO correction. */
  expectedIntervalMs?: number | undefined;
  /** Histograms to read percentiles from (e.g. merged history); built from `records` when absent. */
  histograms?: HistogramSet | undefined;
  /** Put the compressed base64 histograms into each series. */
  includeHistograms?: boolean | undefined;
  timeline?: IntervalSummary[] | undefined;
  /**
   * Series counts (requests, failures, stalls) from these intervals instead of from `records`: a history
   * read over a long range holds the records of its troubled rounds only, and the intervals of every round.
   */
  countsFrom?: { probe: readonly IntervalSummary[]; keepWarm: readonly IntervalSummary[] } | undefined;
  /** Lines before the diagnosis' notes (what the evidence sources found or why they failed). */
  notesBefore?: readonly string[] | undefined;
  /** Lines after the diagnosis' notes (e.g. what a history read covered). */
  notesAfter?: readonly string[] | undefined;
  /** Counts per writer (history over several probers). */
  writers?: WriterReport[] | undefined;
  /** Wall clock for `generatedAt`, epoch ms. Default Date.now. */
  now?: (() => number) | undefined;
}

/** The cause shown for keep-warm stalls: the diagnosis does not look at keep-warm pings. */
export const NOT_DIAGNOSED = "not-diagnosed";

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;
const iso = (ms: number): string => new Date(ms).toISOString();

interface Tally {
  key: HistKey;
  count: number;
  ok: number;
  failed: number;
  stalls: number;
}

export function buildReport(input: BuildReportInput): Report {
  const cols = columnsOf(input.records);
  // Rows in send order: only failed requests are materialized as objects.
  const rows = cols.bySeq();
  const hist = input.histograms ?? histogramsOf(cols, rows);
  const tallies = tally(cols, rows, input.stalls);
  const order = seriesOrder(cols, rows);
  const ctx = { hist, tallies, order, input };

  const series = buildSeries("probe", ctx);
  const keepWarm = buildSeries("keep-warm", ctx);
  const totals = { requests: 0, ok: 0, failed: 0, stalls: 0 };
  for (const s of series) {
    totals.requests += s.count;
    totals.ok += s.ok;
    totals.failed += s.failed;
    totals.stalls += s.stalls;
  }
  const findings = input.diagnosis?.findings ?? [];
  const expected = input.expectedIntervalMs;
  const corrected = expected !== undefined && expected > 0;
  const now = input.now ?? Date.now;

  const report: Report = {
    version: 1,
    generatedAt: iso(now()),
    source: input.source,
    options: input.options,
    totals,
    healthy:
      totals.stalls === 0 &&
      totals.failed === 0 &&
      findings.length === 0 &&
      input.diagnosis?.healthy !== false,
    series,
    stalls: [...input.stalls].sort((a, b) => a.record.seq - b.record.seq).map((s) => stallReport(s, input)),
    failures: failuresOf(cols, rows),
    findings,
    ...(input.diagnosis?.verdict ? { verdict: input.diagnosis.verdict } : {}),
    ...(input.diagnosis?.evidence?.length ? { evidence: input.diagnosis.evidence } : {}),
    eventLoopLagMs: input.lag,
    coordinatedOmission: corrected
      ? { corrected: true, expectedIntervalMs: expected, note: correctedNote(expected) }
      : { corrected: false, note: UNCORRECTED_NOTE },
  };
  const span = spanOf(cols, rows);
  if (span) report.span = span;
  const notes = [
    ...(input.notesBefore ?? []),
    ...(input.diagnosis?.notes ?? []),
    ...(input.notesAfter ?? []),
  ];
  if (notes.length > 0) report.notes = notes;
  if (keepWarm.length > 0) report.keepWarm = keepWarm;
  if (input.timeline) report.timeline = input.timeline;
  if (input.writers) report.writers = input.writers;
  return report;
}

export const UNCORRECTED_NOTE =
  "No coordinated-omission correction: requests were sent closed-loop (each after the previous one finished), " +
  "so every latency is measured from its own send and the run's rate adapted to the server. During a stall fewer " +
  "requests went out, so users sending at a steady rate would meet stalls more often than these percentiles show.";

export function correctedNote(expectedIntervalMs: number): string {
  return (
    `correctedLatencyMs.total is corrected for coordinated omission: requests were due every ` +
    `${expectedIntervalMs} ms per series, and the requests a slow one held back are back-filled ` +
    `(HdrHistogram's copyCorrectedForCoordinatedOmission). latencyMs holds the measured values.`
  );
}

/** Histograms of records held as objects (history and tests pass theirs; a live run's collector built its own). */
function histogramsOf(cols: RecordColumns, rows: Uint32Array): HistogramSet {
  const set = new HistogramSet();
  for (const i of rows) set.recordRecord(cols.record(i));
  return set;
}

function histKeyAt(cols: RecordColumns, i: number): HistKey {
  return {
    api: cols.api(i),
    route: cols.route(i),
    endpoint: cols.endpoint(i),
    connection: cols.connection(i),
    tag: cols.tag(i),
  };
}

function tally(cols: RecordColumns, rows: Uint32Array, stalls: readonly Stall[]): Map<string, Tally> {
  const out = new Map<string, Tally>();
  const get = (key: HistKey): Tally => {
    const id = histKeyId(key);
    let t = out.get(id);
    if (!t) {
      t = { key, count: 0, ok: 0, failed: 0, stalls: 0 };
      out.set(id, t);
    }
    return t;
  };
  for (const i of rows) {
    const t = get(histKeyAt(cols, i));
    t.count++;
    if (cols.ok(i)) t.ok++;
    else t.failed++;
  }
  for (const s of stalls) get(histKeyOf(s.record)).stalls++;
  return out;
}

/**
 * Series order: api, then route, then endpoint, then connection, each in the
 * order first seen in send order (which is config order for a prober that
 * walks the config). Returns a sort key per histKeyId.
 */
function seriesOrder(cols: RecordColumns, rows: Uint32Array): Map<string, number[]> {
  const ranks = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  const out = new Map<string, number[]>();
  const rank = (m: Map<string, number>, k: string): number => {
    let v = m.get(k);
    if (v === undefined) {
      v = m.size;
      m.set(k, v);
    }
    return v;
  };
  for (const i of rows) {
    const r = histKeyAt(cols, i);
    const id = histKeyId(r);
    const apiRank = rank(ranks[0]!, r.api);
    const routeRank = rank(ranks[1]!, `${r.api}\u0000${r.route}`);
    const endpointRank = rank(ranks[2]!, seriesId(r));
    if (!out.has(id)) out.set(id, [apiRank, routeRank, endpointRank, out.size]);
  }
  return out;
}

interface Ctx {
  hist: HistogramSet;
  tallies: Map<string, Tally>;
  order: Map<string, number[]>;
  input: BuildReportInput;
}

function buildSeries(tag: "probe" | "keep-warm", ctx: Ctx): SeriesReport[] {
  const keys = new Map<string, HistKey>();
  for (const t of ctx.tallies.values()) if (t.key.tag === tag) keys.set(histKeyId(t.key), t.key);
  for (const { key } of ctx.hist.series()) if (key.tag === tag) keys.set(histKeyId(key), key);
  const never = [Number.POSITIVE_INFINITY];
  const sorted = [...keys.entries()].sort(([a], [b]) =>
    compareRanks(ctx.order.get(a) ?? never, ctx.order.get(b) ?? never),
  );
  return sorted.map(([id, key]) => seriesReport(key, ctx.tallies.get(id), ctx));
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return 0;
}

/** A series' counts summed over its intervals (every round of a history range). */
function countsOf(key: HistKey, intervals: readonly IntervalSummary[]): Tally {
  const t: Tally = { key, count: 0, ok: 0, failed: 0, stalls: 0 };
  for (const iv of intervals) {
    if (iv.api !== key.api || iv.route !== key.route || iv.endpoint !== key.endpoint) continue;
    if (iv.connection !== key.connection) continue;
    t.count += iv.count;
    t.failed += iv.failures;
    t.stalls += iv.stalls;
  }
  t.ok = t.count - t.failed;
  return t;
}

function seriesReport(key: HistKey, t: Tally | undefined, ctx: Ctx): SeriesReport {
  const latencyMs: Partial<Record<Phase, PhaseStats>> = {};
  const histograms: Partial<Record<Phase, string>> = {};
  const phaseHists = new Map<Phase, Histogram>();
  for (const phase of PHASES) {
    const h = ctx.hist.get(key, phase);
    if (!h || h.totalCount === 0) continue;
    phaseHists.set(phase, h);
    latencyMs[phase] = statsWithinMax(h);
    if (ctx.input.includeHistograms) histograms[phase] = encodeHistogram(h);
  }
  const totalCount = phaseHists.get("total")?.totalCount ?? 0;
  const from = ctx.input.countsFrom;
  if (from) t = countsOf(key, key.tag === "keep-warm" ? from.keepWarm : from.probe);
  const s: SeriesReport = {
    api: key.api,
    route: key.route,
    endpoint: key.endpoint,
    connection: key.connection,
    // Without records (histograms only) the outcome of each request is unknown: count what was timed.
    count: t?.count ?? totalCount,
    ok: t?.ok ?? totalCount,
    failed: t?.failed ?? 0,
    stalls: t?.stalls ?? 0,
    latencyMs,
  };
  const total = phaseHists.get("total");
  const expected = ctx.input.expectedIntervalMs;
  if (total && expected !== undefined && expected > 0) {
    s.correctedLatencyMs = { total: statsWithinMax(correctedForCoordinatedOmission(total, expected)) };
  }
  if (ctx.input.includeHistograms) s.histograms = histograms;
  const dist = total ? distributionOf(total) : undefined;
  if (dist) s.distribution = dist;
  return s;
}

/**
 * Percentiles report the top of their HdrHistogram bucket (≤ 0.1 % above the
 * value) while max is the recorded value, so p99 could read 10,002 beside a max
 * of 10,000. No percentile is above the maximum: cap them there.
 */
function statsWithinMax(h: Histogram): PhaseStats {
  const st = statsOf(h);
  const cap = (v: number): number => Math.min(v, st.max);
  return { ...st, p50: cap(st.p50), p90: cap(st.p90), p99: cap(st.p99), p999: cap(st.p999) };
}

function roundPhases(p: Partial<Record<Phase, number>>): Partial<Record<Phase, number>> {
  const out: Partial<Record<Phase, number>> = {};
  for (const phase of PHASES) {
    const v = p[phase];
    if (v !== undefined) out[phase] = round3(v);
  }
  return out;
}

function stallReport(s: Stall, input: BuildReportInput): StallReport {
  const r = s.record;
  const out: StallReport = {
    at: iso(r.atMs),
    seq: r.seq,
    api: r.api,
    route: r.route,
    endpoint: r.endpoint,
    connection: r.connection,
    reused: r.reused,
    totalMs: round3(s.totalMs),
    thresholdMs: round3(s.thresholdMs),
    phase: s.phase,
    phasesMs: roundPhases(r.phasesMs),
    // Keep-warm pings are kept out of the diagnosis (and of every count): said as such, not as unexplained.
    cause: r.tag === "keep-warm" ? NOT_DIAGNOSED : (input.diagnosis?.causeBySeq.get(r.seq) ?? UNEXPLAINED),
  };
  if (r.remoteAddress !== undefined) out.remoteAddress = r.remoteAddress;
  if (r.requestId !== undefined) out.requestId = r.requestId;
  if (r.traceId !== undefined) out.traceId = r.traceId;
  if (r.status !== undefined) out.status = r.status;
  if (r.error) out.error = r.error.code;
  const detail = input.diagnosis?.explanations?.get(r.seq)?.detail;
  if (detail) out.detail = detail;
  if (r.tag !== "probe") out.tag = r.tag;
  if (r.writer !== undefined) out.writer = r.writer;
  return out;
}

function failureReport(r: RequestRecord): FailureReport {
  const out: FailureReport = {
    at: iso(r.atMs),
    seq: r.seq,
    api: r.api,
    route: r.route,
    endpoint: r.endpoint,
    code: r.error?.code ?? "other",
    phase: r.error?.phase ?? "assert",
    message: r.error?.message ?? "request marked failed without a recorded error",
  };
  if (r.status !== undefined) out.status = r.status;
  if (r.remoteAddress !== undefined) out.remoteAddress = r.remoteAddress;
  if (r.requestId !== undefined) out.requestId = r.requestId;
  if (r.tag !== "probe") out.tag = r.tag;
  return out;
}

function failuresOf(cols: RecordColumns, rows: Uint32Array): FailureReport[] {
  const out: FailureReport[] = [];
  for (const i of rows) if (!cols.ok(i)) out.push(failureReport(cols.record(i)));
  return out;
}

function spanOf(cols: RecordColumns, rows: Uint32Array): Report["span"] {
  if (rows.length === 0) return undefined;
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const i of rows) {
    const at = cols.atMs(i);
    start = Math.min(start, at);
    end = Math.max(end, at + (cols.total(i) ?? 0));
  }
  return { startedAt: iso(start), endedAt: iso(end), durationMs: round3(end - start) };
}
