/**
 * The idle-gap experiment: requests after controlled idle gaps (0 s, 30 s,
 * 1, 2, 5, 10, 15 min…), the stall rate per gap and series, and the gap where
 * stalls begin. It answers "would keep-warm pings every five minutes help?"
 * with data rather than a guess, and says when the data cannot tell.
 *
 * Each repeat walks the gaps in ascending order; before each step every
 * target is left idle for the gap, then sent one request per connection
 * mode, after one uncounted priming request per series (the gap before a
 * series' first request is unknown). In `reuse` mode the pooled connection is kept across gaps (up to the
 * prober's 300 s cap, below an NLB's 350 s idle timeout), so a gap that kills
 * idle connections shows up as a stall or reset on the reused socket.
 *
 * The statistics (idle-sweep-stats.ts) look at each series on its own: the
 * series of a step follow each other within milliseconds, so only the first
 * one sees a shared backend after the full gap.
 */
import type { Clock } from "../clock.js";
import { sleep as realSleep, systemClock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import { type Diagnosis, diagnose } from "../diagnose/index.js";
import { median } from "../diagnose/stalls.js";
import type { ConnectionMode, RequestRecord } from "../model.js";
import { seriesConnectionId } from "../model.js";
import { createLagMonitor } from "../probe/lag.js";
import { analyseSweep, type Conclusion, type GapStats, type SeriesStats } from "./idle-sweep-stats.js";
import { sweepVerdict } from "./idle-sweep-verdict.js";
import { machineContext, proberFor, stallRuleOf } from "./live.js";
import { warmUpProber } from "./warmup.js";

export interface IdleSweepOptions {
  /** Idle gaps to test, ms; sorted ascending before use. */
  gapsMs: number[];
  /** Requests per gap per target and connection mode. */
  repeats: number;
  signal?: AbortSignal;
  clock?: Clock;
  /** Waits `ms` (or until aborted). Injected so tests can shorten nothing but still observe. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
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
  records: RequestRecord[];
  diagnosis: Diagnosis;
}

const SWEEP_TEST =
  "Fisher's exact test, one-sided: each gap's stalled-or-failed requests against all shorter gaps of the same series, Bonferroni over every test of the sweep";

export async function idleSweep(loaded: LoadedConfig, opts: IdleSweepOptions): Promise<IdleSweepResult> {
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? realSleep;
  const gapsMs = [...new Set(opts.gapsMs)].sort((a, b) => a - b);
  const p = loaded.config.probe;
  const modes: ConnectionMode[] = p.connection === "both" ? ["fresh", "reuse"] : [p.connection];
  const lag = createLagMonitor({ clock });
  // Reused connections are kept across the longest gap (the prober caps this below an NLB's 350 s idle timeout).
  const prober = proberFor(loaded, {
    clock,
    lagMonitor: lag,
    keepAliveTimeoutMs: Math.min(300_000, (gapsMs.at(-1) ?? 0) + 10_000),
  });
  const records: RequestRecord[] = [];
  const gapOfSeq = new Map<number, number>();
  const lastEnd = new Map<string, number>();
  const seriesSeq = new Map<string, number>();
  lag.start();
  try {
    await warmUpProber(prober);
    // The gap before a series' first request is unknown (it may have been idle for hours), so one
    // priming request per series opens the experiment and is not counted.
    for (const target of loaded.targets) {
      for (const mode of modes) {
        await prober.probe(target, { connection: mode, ...(opts.signal ? { signal: opts.signal } : {}) });
        lastEnd.set(seriesConnectionId(target, mode), clock.now());
      }
    }
    for (let rep = 0; rep < opts.repeats && !opts.signal?.aborted; rep++) {
      for (const gapMs of gapsMs) {
        await sleep(gapMs, opts.signal);
        if (opts.signal?.aborted) break;
        for (const target of loaded.targets) {
          for (const mode of modes) {
            const key = seriesConnectionId(target, mode);
            const before = lastEnd.get(key);
            const startedAt = clock.now();
            const outcome = await prober.probe(target, {
              connection: mode,
              ...(opts.signal ? { signal: opts.signal } : {}),
            });
            const n = seriesSeq.get(key) ?? 0;
            seriesSeq.set(key, n + 1);
            const record: RequestRecord = {
              ...outcome,
              seq: records.length,
              seriesSeq: n,
              tag: "idle-sweep",
              ...(before !== undefined ? { idleGapMs: startedAt - before } : {}),
            };
            lastEnd.set(key, clock.now());
            gapOfSeq.set(record.seq, gapMs);
            records.push(record);
            opts.onRecord?.(record);
          }
        }
      }
    }
  } finally {
    lag.stop();
    await prober.close();
  }
  return summarise(loaded, gapsMs, records, gapOfSeq, lag.stats());
}

function summarise(
  loaded: LoadedConfig,
  gapsMs: number[],
  records: RequestRecord[],
  gapOfSeq: Map<number, number>,
  lagSnap: { p50Ms: number; p99Ms: number; maxMs: number; utilization: number },
): IdleSweepResult {
  const rule = stallRuleOf(loaded);
  const shortest = records.filter((r) => gapOfSeq.get(r.seq) === gapsMs[0] && r.ok);
  const baseline = median(shortest.map((r) => r.phasesMs.total ?? 0));
  const thresholdMs =
    rule.stallMs ?? Math.max(rule.stallFloorMs, rule.stallFactor * (Number.isNaN(baseline) ? 0 : baseline));
  const isStall = (r: RequestRecord) =>
    (r.phasesMs.total ?? 0) > thresholdMs || (r.error?.code.endsWith("timeout") ?? false);

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

  const stallSet = records.filter(isStall).map((r) => ({
    index: r.seq,
    record: r,
    phase: "total" as const,
    totalMs: r.phasesMs.total ?? 0,
    thresholdMs,
  }));
  const lag = {
    p50: lagSnap.p50Ms,
    p99: lagSnap.p99Ms,
    max: lagSnap.maxMs,
    utilization: lagSnap.utilization,
    affectedRequests: 0,
  };
  const diagnosis = diagnose({
    records,
    stalls: stallSet,
    lag,
    context: {
      ...machineContext(loaded),
      // The sweep sends in a fixed order per repeat (the gap's first request is always the same series), which
      // makes periods of its own: the idle split, not periodicity, is what a sweep tests.
      skip: { "periodic-stall": "an idle sweep sends in a fixed order, which makes periods of its own" },
    },
  });

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
  gapOfSeq: Map<number, number>,
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
