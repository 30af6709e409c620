/**
 * The idle-gap experiment: requests after controlled idle gaps (0 s, 30 s,
 * 1, 2, 5, 10, 15 min…), the stall rate per gap, and the gap where stalls
 * begin. It answers "would keep-warm pings every five minutes help?" with
 * data rather than a guess.
 *
 * Each repeat walks the gaps in ascending order; before each step every
 * target is left idle for the gap, then sent one request per connection
 * mode, after one uncounted priming request per series (the gap before a
 * series' first request is unknown). In `reuse` mode the pooled connection is kept across gaps (up to the
 * prober's 300 s cap, below an NLB's 350 s idle timeout), so a gap that kills
 * idle connections shows up as a stall or reset on the reused socket.
 */
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import { keepWarmIntervalMs } from "../diagnose/detectors/cold-start-after-idle.js";
import { type Diagnosis, diagnose } from "../diagnose/index.js";
import { median } from "../diagnose/stalls.js";
import { fmtGap } from "../diagnose/util.js";
import type { ConnectionMode, RequestRecord } from "../model.js";
import { createLagMonitor } from "../probe/lag.js";
import { proberFor, stallRuleOf } from "./live.js";
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

export interface IdleSweepResult {
  gaps: GapResult[];
  /** Stall threshold used, from the shortest gap's median (or probe.stallMs), ms. */
  thresholdMs: number;
  /** Smallest gap from which on every gap stalls at least half the time; absent when none. */
  stallsBeginMs?: number;
  /** The largest gap below that stayed quiet. */
  lastQuietGapMs?: number;
  /** Keep-warm interval that keeps every gap below where stalls begin. */
  keepWarmIntervalMs?: number;
  /** True when 5-minute keep-warm pings would avoid the stalls, false when they would not, absent when there is nothing to avoid. */
  fiveMinuteKeepWarmHelps?: boolean;
  verdict: string;
  records: RequestRecord[];
  diagnosis: Diagnosis;
}

const FIVE_MIN_MS = 300_000;

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

export async function idleSweep(loaded: LoadedConfig, opts: IdleSweepOptions): Promise<IdleSweepResult> {
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? defaultSleep;
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
        lastEnd.set(`${target.api}\u0000${target.route}\u0000${target.endpoint}\u0000${mode}`, clock.now());
      }
    }
    for (let rep = 0; rep < opts.repeats && !opts.signal?.aborted; rep++) {
      for (const gapMs of gapsMs) {
        await sleep(gapMs, opts.signal);
        if (opts.signal?.aborted) break;
        for (const target of loaded.targets) {
          for (const mode of modes) {
            const key = `${target.api}\u0000${target.route}\u0000${target.endpoint}\u0000${mode}`;
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

  const gaps: GapResult[] = gapsMs.map((gapMs) => {
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
  });

  let begin: number | undefined;
  for (let i = gaps.length - 1; i >= 0 && gaps[i]!.stallRate >= 0.5; i--) begin = i;
  const stallsBeginMs = begin !== undefined ? gaps[begin]!.gapMs : undefined;
  const lastQuietGapMs = begin !== undefined && begin > 0 ? gaps[begin - 1]!.gapMs : undefined;

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
    context: { timeoutMs: loaded.config.probe.timeoutMs },
  });

  let verdict: string;
  let interval: number | undefined;
  let helps: boolean | undefined;
  const maxGap = gapsMs.at(-1) ?? 0;
  if (stallsBeginMs === undefined) {
    const any = gaps.some((g) => g.stalls > 0);
    verdict = any
      ? `stalls did not grow with idleness up to ${fmtGap(maxGap)}: keep-warm pings would not avoid them`
      : `no stalls after any idle gap up to ${fmtGap(maxGap)}: keep-warm pings are not needed for this`;
  } else if (begin === 0) {
    verdict = `requests stall even after the shortest gap (${fmtGap(stallsBeginMs)}): the stalls do not come from idleness, keep-warm would not help`;
    helps = false;
  } else {
    interval = keepWarmIntervalMs(stallsBeginMs);
    helps = stallsBeginMs > FIVE_MIN_MS;
    verdict = helps
      ? `stalls begin between ${fmtGap(lastQuietGapMs ?? 0)} and ${fmtGap(stallsBeginMs)} idle: keep-warm pings every 5 min would avoid them`
      : `stalls begin between ${fmtGap(lastQuietGapMs ?? 0)} and ${fmtGap(stallsBeginMs)} idle: 5-minute keep-warm pings are too far apart; ping every ${fmtGap(interval)}`;
  }
  return {
    gaps,
    thresholdMs,
    ...(stallsBeginMs !== undefined ? { stallsBeginMs } : {}),
    ...(lastQuietGapMs !== undefined ? { lastQuietGapMs } : {}),
    ...(interval !== undefined ? { keepWarmIntervalMs: interval } : {}),
    ...(helps !== undefined ? { fiveMinuteKeepWarmHelps: helps } : {}),
    verdict,
    records,
    diagnosis,
  };
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
