/**
 * The idle-gap experiment: requests after controlled idle gaps (0 s, 30 s,
 * 1, 2, 5, 10, 15 min…), the stall rate per gap and series, and the gap where
 * stalls begin. It answers "would keep-warm pings every five minutes help?"
 * with data rather than a guess, and says when the data cannot tell.
 *
 * It is a plan and a sink of the one pipeline (app/pipeline.ts), not a loop
 * of its own. The plan: each repeat walks the gaps in ascending order; each
 * step leaves every target idle for the gap, then sends one request per
 * target and connection mode, one after the other (the runner's `idleGapsMs`:
 * the step's gap before its first request, none before the others), after
 * one uncounted priming request per series (`primeEachSeries`: the gap before
 * a series' first request is unknown). In `reuse` mode the pooled connection
 * is kept across gaps (up to the prober's 300 s cap, below an NLB's 350 s
 * idle timeout), so a gap that kills idle connections shows up as a stall or
 * reset on the reused socket. The stall threshold comes from the shortest
 * gap's median (or probe.stallMs); the diagnosis skips periodicity.
 *
 * The sink (summarise): the statistics (idle-sweep-stats.ts) look at each
 * series on its own: the series of a step follow each other within
 * milliseconds, so only the first one sees a shared backend after the full
 * gap. The verdict is idle-sweep-verdict.ts's.
 */
import type { Clock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import type { Diagnosis } from "../diagnose/index.js";
import { median, type StallRule } from "../diagnose/stalls.js";
import type { ConnectionMode, RequestRecord } from "../model.js";
import { countable, seriesConnectionId } from "../model.js";
import { columnsOf, type RecordColumns } from "../record/columns.js";
import { analyseSweep, type Conclusion, type GapStats, type SeriesStats } from "./idle-sweep-stats.js";
import { sweepVerdict } from "./idle-sweep-verdict.js";
import { stallRuleOf } from "./live.js";
import { type PipelineOptions, type PipelineResult, runPipeline } from "./pipeline.js";

export interface IdleSweepOptions {
  /** Idle gaps to test, ms; sorted ascending before use. */
  gapsMs: number[];
  /** Requests per gap per target and connection mode. */
  repeats: number;
  signal?: AbortSignal;
  clock?: Clock;
  onRecord?: (r: RequestRecord) => void;
}

export interface GapResult {
  gapMs: number;
  n: number;
  stalls: number;
  failures: number;
  stallRate: number;
  p50Ms: number;
  maxMs: number;
}

/** One gap of one series: the counts of GapResult, the rate of stalled-or-failed requests with its exact interval and test. */
export type SeriesGapResult = GapResult & GapStats;

export interface SeriesResult extends Omit<SeriesStats, "gaps"> {
  api: string;
  route: string;
  endpoint: string;
  connection: ConnectionMode;
  /** Position in each step (0: probed first after the gap; later ones follow it within milliseconds). */
  order: number;
  gaps: SeriesGapResult[];
}

export interface IdleSweepResult {
  /** Per gap, all series pooled (a summary; the conclusion comes from `series`). */
  gaps: GapResult[];
  /** Per series: each gap's rate of stalled-or-failed requests, its Clopper–Pearson interval and Fisher test. */
  series: SeriesResult[];
  /** Stall threshold used, from the shortest gap's median (or probe.stallMs), ms. */
  thresholdMs: number;
  /** The test behind `pValue`/`pAdjusted`, in words. */
  test: string;
  /** Number of tests the Bonferroni correction covers. */
  tests: number;
  /** Family-wise error rate. */
  alpha: number;
  conclusion: Conclusion;
  /** Smallest gap whose stall rate is significantly above the shorter gaps' in some series; absent when none. */
  stallsBeginMs?: number;
  /** The gap before it in that series (the longest one seen quiet). */
  lastQuietGapMs?: number;
  /** Keep-warm interval that keeps every gap at or below the longest quiet one. */
  keepWarmIntervalMs?: number;
  /** True when 5-minute keep-warm pings would avoid the stalls, false when they are too far apart; absent when there is nothing to avoid or the sweep cannot tell. */
  fiveMinuteKeepWarmHelps?: boolean;
  verdict: string;
  /** Lines that qualify the verdict (which series, how it was tested). */
  notes: string[];
  /** The measured requests in send order (a clean stop's aborted ones left out). */
  records: RequestRecord[];
  diagnosis: Diagnosis;
}

const SWEEP_TEST =
  "Fisher's exact test, one-sided: each gap's stalled-or-failed requests against all shorter gaps of the same series, Bonferroni over every test of the sweep";

/** The sweep as a probe plan of the pipeline, and the gap each request (by seq) was sent after. */
export interface SweepPlan {
  probe: NonNullable<PipelineOptions["probe"]>;
  gapOf(seq: number): number | undefined;
}

export function sweepPlan(loaded: LoadedConfig, gapsMs: readonly number[], repeats: number): SweepPlan {
  const modes = loaded.config.probe.connection === "both" ? 2 : 1;
  // One step: every target × mode in the runner's slot order, the step's gap before the first only.
  const perStep = loaded.targets.length * modes;
  const idleGapsMs = gapsMs.flatMap((g) => Array.from({ length: perStep }, (_, i) => (i === 0 ? g : 0)));
  return {
    probe: {
      tag: "idle-sweep",
      count: repeats * gapsMs.length,
      idleGapsMs,
      primeEachSeries: true,
      // Reused connections are kept across the longest gap (the prober caps this below an NLB's 350 s idle timeout).
      keepAliveTimeoutMs: Math.min(300_000, (gapsMs.at(-1) ?? 0) + 10_000),
    },
    gapOf: (seq) => (perStep > 0 ? gapsMs[Math.floor(seq / perStep) % gapsMs.length] : undefined),
  };
}

/** The stall rule of a sweep: probe.stallMs, else stallFactor × the shortest gap's median (at least the floor). */
export function sweepStallRule(
  loaded: LoadedConfig,
  measured: readonly RequestRecord[] | RecordColumns,
  shortestGap: (seq: number) => boolean,
): StallRule {
  const rule = stallRuleOf(loaded);
  if (rule.stallMs !== undefined) return rule;
  const c = columnsOf(measured);
  const totals: number[] = [];
  for (let i = 0; i < c.length; i++) if (c.ok(i) && shortestGap(c.seq(i))) totals.push(c.total(i) ?? 0);
  const baseline = median(totals);
  return {
    ...rule,
    stallMs: Math.max(rule.stallFloorMs, rule.stallFactor * (Number.isNaN(baseline) ? 0 : baseline)),
  };
}

export async function idleSweep(loaded: LoadedConfig, opts: IdleSweepOptions): Promise<IdleSweepResult> {
  const gapsMs = [...new Set(opts.gapsMs)].sort((a, b) => a - b);
  const plan = sweepPlan(loaded, gapsMs, opts.repeats);
  let thresholdMs = Number.NaN;
  const result = await runPipeline({
    loaded,
    probe: {
      ...plan.probe,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.clock ? { clock: opts.clock } : {}),
    },
    ...(opts.onRecord ? { onRecord: opts.onRecord } : {}),
    stallRule: (measured) => {
      const rule = sweepStallRule(loaded, measured, (seq) => plan.gapOf(seq) === gapsMs[0]);
      thresholdMs = rule.stallMs ?? rule.stallFloorMs;
      return rule;
    },
    // The sweep sends in a fixed order per repeat (the gap's first request is always the same series), which
    // makes periods of its own: the idle split, not periodicity, is what a sweep tests.
    skip: { "periodic-stall": "an idle sweep sends in a fixed order, which makes periods of its own" },
  });
  return summarise(result, gapsMs, plan.gapOf, thresholdMs);
}

/** The sweep's sink: statistics per series and gap, and the verdict, from what the pipeline measured. */
function summarise(
  result: PipelineResult,
  gapsMs: number[],
  gapOf: (seq: number) => number | undefined,
  thresholdMs: number,
): IdleSweepResult {
  const records = result.records.filter(countable);
  const stallSeqs = new Set(result.stalls.map((s) => s.record.seq));
  const isStall = (r: RequestRecord) => stallSeqs.has(r.seq);
  const gapOfSeq = new Map(records.map((r) => [r.seq, gapOf(r.seq)]));

  const gaps = gapsMs.map((gapMs) => gapResult(gapMs, records, gapOfSeq, isStall));

  // Per series, in the order each step probes them: the statistics compare a series only with itself.
  const bySeries = new Map<string, RequestRecord[]>();
  for (const r of records) {
    const key = seriesKey(r);
    const list = bySeries.get(key);
    if (list) list.push(r);
    else bySeries.set(key, [r]);
  }
  const multiApi = new Set(records.map((r) => r.api)).size > 1;
  const seriesRecords = [...bySeries.values()];
  const counts = seriesRecords.map((rs) => ({
    label: seriesLabel(rs[0]!, multiApi),
    gaps: gapsMs.map((gapMs) => {
      const at = rs.filter((r) => gapOfSeq.get(r.seq) === gapMs);
      return { gapMs, n: at.length, hits: at.filter((r) => isStall(r) || !r.ok).length };
    }),
  }));
  const stats = analyseSweep(counts);
  const series: SeriesResult[] = stats.series.map((st, i) => {
    const rs = seriesRecords[i]!;
    const first = rs[0]!;
    return {
      ...st,
      api: first.api,
      route: first.route,
      endpoint: first.endpoint,
      connection: first.connection,
      order: i,
      gaps: st.gaps.map((g) => ({ ...g, ...gapResult(g.gapMs, rs, gapOfSeq, isStall) })),
    };
  });

  const diagnosis = result.diagnosis;
  // The pipeline diagnoses unless told not to, and throws what the diagnosis throws.
  if (!diagnosis) throw new Error("idle-sweep: the pipeline returned no diagnosis");
  const verdict = sweepVerdict(stats, series.length);
  const c = stats.conclusion;
  return {
    gaps,
    series,
    thresholdMs,
    test: SWEEP_TEST,
    tests: stats.tests,
    alpha: stats.alpha,
    conclusion: c,
    ...(c.kind === "onset" ? { stallsBeginMs: c.stallsBeginMs, lastQuietGapMs: c.lastQuietGapMs } : {}),
    ...(verdict.keepWarmIntervalMs !== undefined ? { keepWarmIntervalMs: verdict.keepWarmIntervalMs } : {}),
    ...(verdict.fiveMinuteKeepWarmHelps !== undefined
      ? { fiveMinuteKeepWarmHelps: verdict.fiveMinuteKeepWarmHelps }
      : {}),
    verdict: verdict.text,
    notes: verdict.notes,
    records,
    diagnosis,
  };
}

function gapResult(
  gapMs: number,
  records: readonly RequestRecord[],
  gapOfSeq: ReadonlyMap<number, number | undefined>,
  isStall: (r: RequestRecord) => boolean,
): GapResult {
  const at = records.filter((r) => gapOfSeq.get(r.seq) === gapMs);
  const totals = at.map((r) => r.phasesMs.total ?? 0);
  const stalls = at.filter(isStall).length;
  return {
    gapMs,
    n: at.length,
    stalls,
    failures: at.filter((r) => !r.ok).length,
    stallRate: at.length ? stalls / at.length : 0,
    p50Ms: Math.round(median(totals) * 1000) / 1000 || 0,
    maxMs: Math.round(Math.max(0, ...totals) * 1000) / 1000,
  };
}

function seriesKey(r: RequestRecord): string {
  return seriesConnectionId(r, r.connection);
}

function seriesLabel(r: RequestRecord, withApi: boolean): string {
  return `${withApi ? `${r.api} ` : ""}${r.route} ${r.endpoint} ${r.connection}`;
}

/** Parses "0s,30s,1m,2m,5m,10m,15m" (also ms and h) into milliseconds. */
export function parseGaps(list: string): number[] {
  return list.split(",").map((raw) => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(raw);
    if (!m) throw new Error(`'${raw.trim()}' is not a duration (expected e.g. 0s, 500ms, 30s, 5m, 1h)`);
    const n = Number(m[1]);
    const unit = m[2] ?? "s";
    const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "h" ? 3_600_000 : 60_000;
    return n * factor;
  });
}
