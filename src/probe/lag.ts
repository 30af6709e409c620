/**
 * The prober's own event-loop lag. Time the loop spends blocked is added to
 * every phase measured meanwhile, so stallwatch records it and can say "that
 * stall was ours, not the network's".
 *
 * Two sources, because `monitorEventLoopDelay` undercounts long stalls
 * (nodejs/node#34661): the libuv-timer histogram for percentiles, and a
 * `setInterval` drift sampler that keeps (tick time, delay) pairs in a ring
 * buffer so the largest delay inside any [t0, t1] window can be looked up.
 */
import { type EventLoopUtilization, monitorEventLoopDelay, performance } from "node:perf_hooks";
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import { DEFAULT_LAG_SAMPLE_PERIOD_MS } from "../model.js";

/** Event-loop delay figures in milliseconds; utilisation 0..1. */
export interface LagSnapshot {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Mean event-loop utilisation over the window, 0..1. */
  utilization: number;
  /** Drift samples the figures are based on. */
  samples: number;
}

export interface LagMonitor {
  readonly running: boolean;
  /** The drift sampler's period, ms: what the figures can resolve (a block reads up to one period short). */
  readonly intervalMs: number;
  start(): void;
  stop(): void;
  /**
   * Largest delay (ms) the loop suffered at any moment inside [fromMs, toMs]
   * (monotonic `clock.now()` times). 0 when no delay was observed; undefined
   * when the monitor was not running or the window is older than its memory.
   */
  maxLagMs(fromMs: number, toMs: number): number | undefined;
  /** Figures since `sinceMs` (monotonic), or since `start()` when omitted. */
  stats(sinceMs?: number): LagSnapshot;
}

export interface LagMonitorOptions {
  /** Drift sampler period. Smaller finds shorter stalls and costs more wake-ups. Default 10 ms (DEFAULT_LAG_SAMPLE_PERIOD_MS). */
  intervalMs?: number;
  /** How many drift samples are kept (ring buffer). Default 65 536 (≈ 11 min at 10 ms). */
  capacity?: number;
  clock?: Clock;
}

const HISTOGRAM_RESOLUTION_MS = 10;
const ELU_EVERY_MS = 1000;

export function createLagMonitor(options: LagMonitorOptions = {}): LagMonitor {
  const intervalMs = options.intervalMs ?? DEFAULT_LAG_SAMPLE_PERIOD_MS;
  const capacity = options.capacity ?? 65_536;
  const clock = options.clock ?? systemClock;
  const tickAt = new Float64Array(capacity);
  const delayMs = new Float32Array(capacity);
  let n = 0; // samples written in total
  let startedAt = 0;
  let lastTick = 0;
  let timer: NodeJS.Timeout | undefined;
  let histogram: ReturnType<typeof monitorEventLoopDelay> | undefined;
  const elu: { at: number; value: EventLoopUtilization }[] = [];

  const tick = (): void => {
    const now = clock.now();
    const delay = Math.max(0, now - lastTick - intervalMs);
    lastTick = now;
    const i = n % capacity;
    tickAt[i] = now;
    delayMs[i] = delay;
    n++;
    const lastElu = elu[elu.length - 1];
    if (!lastElu || now - lastElu.at >= ELU_EVERY_MS) {
      elu.push({ at: now, value: performance.eventLoopUtilization() });
      if (elu.length > capacity / 100) elu.shift();
    }
  };

  /**
   * The samples whose blocked interval may overlap [from, to]: their largest
   * delay, each delay pushed to `into` when given; undefined when the window
   * is older than the ring buffer's memory. No callback: it runs once per probe.
   */
  const delaysIn = (from: number, to: number, into?: number[]): number | undefined => {
    const oldest = Math.max(0, n - capacity);
    if (n === 0) return undefined;
    const oldestAt = tickAt[oldest % capacity] ?? 0;
    if (from < oldestAt - intervalMs && oldest > 0) return undefined;
    let max = 0;
    for (let k = n - 1; k >= oldest; k--) {
      const at = tickAt[k % capacity] ?? 0;
      const d = delayMs[k % capacity] ?? 0;
      if (at < from) break;
      // The tick at `at` reports a block that happened within (at - interval - d, at].
      if (at - intervalMs - d > to) continue;
      if (d > max) max = d;
      into?.push(d);
    }
    return max;
  };

  const utilizationSince = (sinceMs: number): number => {
    const now = performance.eventLoopUtilization();
    const base = elu.find((e) => e.at >= sinceMs) ?? elu[0];
    if (!base) return now.utilization;
    return performance.eventLoopUtilization(now, base.value).utilization;
  };

  return {
    get running() {
      return timer !== undefined;
    },
    intervalMs,
    start() {
      if (timer) return;
      n = 0;
      elu.length = 0;
      startedAt = clock.now();
      lastTick = startedAt;
      elu.push({ at: startedAt, value: performance.eventLoopUtilization() });
      histogram = monitorEventLoopDelay({ resolution: HISTOGRAM_RESOLUTION_MS });
      histogram.enable();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    stop() {
      if (!timer) return;
      clearInterval(timer);
      timer = undefined;
      tick();
      histogram?.disable();
    },
    maxLagMs(fromMs, toMs) {
      if (n === 0 && !timer) return undefined;
      const scanned = delaysIn(fromMs, toMs);
      const inMemory = scanned !== undefined;
      let max = scanned ?? 0;
      // A block still in progress at `toMs` shows up only at the next tick.
      if (timer && toMs >= lastTick) max = Math.max(max, clock.now() - lastTick - intervalMs);
      return inMemory || timer ? Math.max(0, max) : undefined;
    },
    stats(sinceMs) {
      const from = sinceMs ?? startedAt;
      const delays: number[] = [];
      delaysIn(from, Number.POSITIVE_INFINITY, delays);
      delays.sort((a, b) => a - b);
      const pct = (p: number): number =>
        delays.length ? (delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))] ?? 0) : 0;
      let p50Ms = pct(50);
      let p99Ms = pct(99);
      let maxMs = delays[delays.length - 1] ?? 0;
      // The libuv histogram sees delays between drift ticks too; it reports
      // timer periods, so subtract its resolution to get the delay itself.
      if (histogram && sinceMs === undefined && histogram.count > 0) {
        const lag = (ns: number): number => Math.max(0, ns / 1e6 - HISTOGRAM_RESOLUTION_MS);
        p50Ms = Math.max(p50Ms, lag(histogram.percentile(50)));
        p99Ms = Math.max(p99Ms, lag(histogram.percentile(99)));
        maxMs = Math.max(maxMs, lag(histogram.max));
      }
      return { p50Ms, p99Ms, maxMs, utilization: utilizationSince(from), samples: delays.length };
    },
  };
}
