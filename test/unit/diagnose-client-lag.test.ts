/**
 * client-lag's floor: loop lag is evidence only above what the lag monitor can resolve (its drift sampler's
 * period above the run's median lag), then the rule (lag ≥ 50 % of the stall, or the lag plus the sampler's
 * period covers the stall's whole excess over its series' typical total) decides. Records of a fast API (a 30 ms stall threshold) whose lags sit between the new floor and
 * the old fixed 100 ms one, in both directions: explained when the lag accounts for the stall, not when it is
 * within the sampler's resolution or the run's ordinary lag, nor when it is a small part of a large stall.
 */
import { describe, expect, it } from "vitest";
import { clientLag } from "../../src/diagnose/detectors/client-lag.js";
import { diagnose } from "../../src/diagnose/diagnose.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import {
  DEFAULT_LAG_SAMPLE_PERIOD_MS,
  type LagStats,
  loopLagFloorMs,
  type RequestRecord,
} from "../../src/model.js";
import { makeRecord } from "../helpers/records.js";

/** Deterministic jitter in [0, 1). */
const jit = (i: number) => ((i * 7919) % 1000) / 1000;

/** What the old detector required before any lag could explain a stall. */
const OLD_FLOOR_MS = 100;

/** A fast API: 200 reused requests of 2-4 ms, each with the loop lag `baseLagMs` + up to 1 ms. */
function fastRun(baseLagMs = 0): RequestRecord[] {
  return Array.from({ length: 200 }, (_, i) => {
    const ttfb = 2 + 2 * jit(i);
    return makeRecord({
      seq: i,
      seriesSeq: i,
      connection: "reuse",
      reused: true,
      phasesMs: { ttfb, transfer: 0.2, total: ttfb + 0.2 },
      loopLagMs: baseLagMs + jit(i + 17),
    });
  });
}

/** Make request `seq` a stall: `extraMs` more time to first byte, `lagMs` of it (or none) the prober's own. */
function stall(records: RequestRecord[], seq: number, extraMs: number, lagMs: number): void {
  const r = records[seq]!;
  r.phasesMs.ttfb = (r.phasesMs.ttfb ?? 0) + extraMs;
  r.phasesMs.total = (r.phasesMs.total ?? 0) + extraMs;
  r.loopLagMs = lagMs;
}

/** A 30 ms threshold: the floor, since 5 × the lower quartile (~3 ms) is under it. */
const RULE = { stallFactor: 5, stallFloorMs: 30 };

function lagStats(over: Partial<LagStats> = {}): LagStats {
  return { p50: 0.3, p99: 4, max: 95, utilization: 0.05, affectedRequests: 0, samplePeriodMs: 10, ...over };
}

function causes(records: RequestRecord[], lag: LagStats | undefined): Map<number, string> {
  const stalls = detectStalls(records, RULE);
  for (const s of stalls) expect(s.thresholdMs).toBe(30);
  return diagnose({ records, stalls, ...(lag ? { lag } : {}) }).causeBySeq;
}

describe("loopLagFloorMs", () => {
  it("is the sampler's period: what the lag monitor can resolve", () => {
    expect(loopLagFloorMs(lagStats({ samplePeriodMs: 10 }))).toBe(10);
    expect(loopLagFloorMs(lagStats({ samplePeriodMs: 5 }))).toBe(5);
    // Without figures (a diagnosis given no lag stats, or history): the default sampler's period.
    expect(loopLagFloorMs(undefined)).toBe(DEFAULT_LAG_SAMPLE_PERIOD_MS);
    const { samplePeriodMs: _, ...unknownPeriod } = lagStats({ p50: 1 });
    expect(loopLagFloorMs(unknownPeriod)).toBe(DEFAULT_LAG_SAMPLE_PERIOD_MS);
  });

  it("does not rise with the run's lag: not with its tail (a loop blocked often), nor its median (a short run)", () => {
    // Measured: 60 ms busy-waits 5 times a second put the drift sampler's p99 at 58-60 ms. A floor from the p99
    // would refuse exactly the lags that explain those stalls.
    expect(loopLagFloorMs(lagStats({ p50: 0.2, p99: 59, max: 62 }))).toBe(10);
    // One 200 ms block in a 220 ms run: a handful of ticks, the block their median. A floor on the median would
    // have made the block its own floor (prober-runner's test, under load, counted no affected request).
    expect(loopLagFloorMs(lagStats({ p50: 190, p99: 195, max: 195 }))).toBe(10);
  });

  it("a bad period (zero, NaN, infinite) falls back to the default", () => {
    for (const samplePeriodMs of [0, -3, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(loopLagFloorMs(lagStats({ samplePeriodMs }))).toBe(DEFAULT_LAG_SAMPLE_PERIOD_MS);
    }
  });
});

describe("client-lag below the old 100 ms floor", () => {
  // seq (irregular: no period for periodic-stall to find): [extra ms to first byte, loop lag ms, explained?]
  const CASES: Record<number, [number, number, boolean]> = {
    // Most of the stall: 58 of ~61 ms.
    20: [58, 58, true],
    // 42 of ~45 ms, and the request would have been ~3 ms without it.
    47: [42, 42, true],
    // Just under the old floor: 95 of ~98 ms.
    83: [95, 95, true],
    // A small part of a large stall: 40 ms of lag in a 150 ms wait (110 ms of it the server's).
    112: [150, 40, false],
    // Within the sampler's resolution: 9 ms, which alone would bring a 36 ms request under 30 ms.
    141: [33, 9, false],
    // A network stall with the loop idle.
    176: [70, 0.5, false],
    // A hiccup above the floor during a stall just over the threshold: 14 ms of lag cannot have made 32 ms of
    // excess (the old "total − lag ≤ threshold" took it: 35 − 14 ≤ 30).
    159: [32, 14, false],
    // 24 ms of lag, read up to a period short, covers 30 ms of excess.
    191: [30, 24, true],
  };

  const EXPLAINED = Object.entries(CASES)
    .filter(([, [, , explained]]) => explained)
    .map(([seq]) => Number(seq))
    .sort((a, b) => a - b);

  function runWithCases(baseLagMs = 0): RequestRecord[] {
    const records = fastRun(baseLagMs);
    for (const [seq, [extra, lag]] of Object.entries(CASES)) stall(records, Number(seq), extra, lag);
    return records;
  }

  it("explains the stalls its lag accounts for, and only those", () => {
    const records = runWithCases();
    const lag = lagStats();
    const floor = loopLagFloorMs(lag);
    const byCause = causes(records, lag);
    for (const [seq, [, lagMs, explained]] of Object.entries(CASES)) {
      const s = Number(seq);
      expect(byCause.has(s), `seq ${s} is a stall`).toBe(true);
      if (explained) {
        expect(lagMs).toBeLessThan(OLD_FLOOR_MS); // the old detector left it to the network
        expect(lagMs).toBeGreaterThan(floor);
        expect(byCause.get(s), `seq ${s}: ${lagMs} ms of lag`).toBe("client-lag");
      } else {
        expect(byCause.get(s), `seq ${s}: ${lagMs} ms of lag`).not.toBe("client-lag");
      }
    }
    // One count: client-lag's finding lists exactly the stalls attributed to it.
    const d = diagnose({ records, stalls: detectStalls(records, RULE), lag });
    const f = d.findings.find((x) => x.id === "client-lag");
    expect(f?.stalls).toEqual(EXPLAINED);
    expect(f?.evidence.loopLagFloorMs).toBe(Math.round(floor * 10) / 10);
    expect(f?.evidence.samplePeriodMs).toBe(10);
  });

  it("a loop always late: its ordinary lateness is in the typical total, so the rule takes it off", () => {
    // Every request ~38 ms late (the typical total holds it): a stall is the prober's only when its lag covers
    // the excess over that typical total, whatever the run's median lag.
    const records = fastRun(38);
    for (const r of records) {
      r.phasesMs.ttfb = (r.phasesMs.ttfb ?? 0) + 38;
      r.phasesMs.total = (r.phasesMs.total ?? 0) + 38;
    }
    stall(records, 20, 60, 100); // 100 ms of lag, 60 ms over typical: the prober's
    stall(records, 47, 60, 40); // the loop's usual 40 ms during a 60 ms excess: not the prober's
    const lag = lagStats({ p50: 38, p99: 100 });
    const stalls = detectStalls(records, { stallFactor: 2, stallFloorMs: 30 });
    const byCause = diagnose({ records, stalls, lag }).causeBySeq;
    expect(byCause.get(20)).toBe("client-lag");
    expect(byCause.get(47)).not.toBe("client-lag");
  });

  it("a coarser sampler resolves less: with a 50 ms period, 42 ms is no evidence, 58 ms is", () => {
    const byCause = causes(runWithCases(), lagStats({ samplePeriodMs: 50 }));
    expect(byCause.get(47)).not.toBe("client-lag");
    expect(byCause.get(20)).toBe("client-lag");
  });

  it("without lag figures the default sampler period is the floor", () => {
    const byCause = causes(runWithCases(), undefined);
    expect(byCause.get(20)).toBe("client-lag");
    expect(byCause.get(47)).toBe("client-lag");
    expect(byCause.get(141)).not.toBe("client-lag");
  });

  it("a healthy fast run (lags 0-1 ms, no stall) raises nothing", () => {
    const records = fastRun();
    const stalls = detectStalls(records, RULE);
    expect(stalls).toEqual([]);
    const d = diagnose({ records, stalls, lag: lagStats() });
    expect(d.findings).toEqual([]);
  });

  it("the detector alone: same verdicts as through the diagnosis", () => {
    const records = runWithCases();
    const stalls = detectStalls(records, RULE);
    const d = diagnose({ records, stalls, lag: lagStats() }, [clientLag]);
    expect([...d.causeBySeq].filter(([, c]) => c === "client-lag").map(([s]) => s)).toEqual(EXPLAINED);
  });
});
