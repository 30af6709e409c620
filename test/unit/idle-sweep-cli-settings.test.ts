/**
 * `stallwatch idle-sweep`'s gaps and repeats: with --lab the lab's own (LAB_GAPS, LAB_REPEATS), else the
 * production defaults, the flags over both. And the lab's defaults are enough to decide on the lab's cold-start
 * scenario at its real timings: fed the outcome that scenario produces (the first series of a step stalls after
 * every gap past the idle threshold, nothing else stalls), the sweep's own statistics find the onset, past the
 * threshold and at most 4 s, the last quiet gap below it and at least 2 s, with the Bonferroni correction over all
 * four series the CLI probes on the lab. The CLI run itself, against the lab, is in
 * test/integration/idle-sweep.test.ts (with short gaps around the same threshold).
 */
import { describe, expect, it } from "vitest";
import { analyseSweep, type SeriesCounts } from "../../src/app/idle-sweep-stats.js";
import { sweepVerdict } from "../../src/app/idle-sweep-verdict.js";
import {
  DEFAULT_GAPS,
  DEFAULT_REPEATS,
  LAB_GAPS,
  LAB_REPEATS,
  sweepSettings,
} from "../../src/cli/idle-sweep.js";
import { UsageError } from "../../src/errors.js";
import { resolveTimings } from "../../src/lab/index.js";

describe("idle-sweep settings", () => {
  it("--lab (with or without a scenario) takes the lab's gaps and repeats", () => {
    const lab = { gapsMs: [0, 1000, 2000, 2500, 3500], repeats: 5 };
    expect(LAB_GAPS).toBe("0s,1s,2s,2.5s,3.5s");
    expect(LAB_REPEATS).toBe(5);
    expect(sweepSettings({ lab: true })).toEqual(lab);
    expect(sweepSettings({ lab: "cold-start" })).toEqual(lab);
  });

  it("without --lab the production defaults, minutes apart", () => {
    expect(DEFAULT_GAPS).toBe("0s,30s,1m,2m,5m,10m,15m");
    expect(DEFAULT_REPEATS).toBe(3);
    const want = { gapsMs: [0, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000], repeats: 3 };
    expect(sweepSettings({})).toEqual(want);
    expect(sweepSettings({ lab: false })).toEqual(want);
    expect(sweepSettings({ url: "127.0.0.1:1/" })).toEqual(want);
  });

  it("the flags override both", () => {
    expect(sweepSettings({ lab: true, gaps: "2.5s,3.5s", repeats: "4" })).toEqual({
      gapsMs: [2500, 3500],
      repeats: 4,
    });
    expect(sweepSettings({ gaps: "1m", repeats: "7" })).toEqual({ gapsMs: [60_000], repeats: 7 });
  });

  it("bad repeats or gaps are usage errors", () => {
    for (const repeats of ["0", "1.5", "1001", "x"]) {
      expect(() => sweepSettings({ lab: true, repeats })).toThrow(UsageError);
    }
    expect(() => sweepSettings({ repeats: "0" })).toThrow(
      /--repeats: expected a whole number from 1 to 1000/,
    );
    expect(() => sweepSettings({ gaps: "5 minutes" })).toThrow(/--gaps: .*not a duration/);
  });

  it("the lab's defaults decide on the cold-start scenario's real timings: onset between 2 and 4 s, past the threshold", () => {
    const { idleThresholdMs } = resolveTimings("cold-start");
    const { gapsMs, repeats } = sweepSettings({ lab: true });
    // Half a second or more on either side of the threshold, so timer slack cannot move a request across.
    expect(gapsMs.filter((g) => Math.abs(g - idleThresholdMs) < 500)).toEqual([]);
    // What the scenario does: after a gap past the threshold the step's first request is cold; the three series
    // that follow it within milliseconds find the target awake (the CLI probes 2 routes × fresh and reuse).
    const series: SeriesCounts[] = ["first", "second", "third", "fourth"].map((label, i) => ({
      label,
      gaps: gapsMs.map((gapMs) => ({
        gapMs,
        n: repeats,
        hits: i === 0 && gapMs > idleThresholdMs ? repeats : 0,
      })),
    }));
    const stats = analyseSweep(series);
    expect(stats.tests).toBe(4 * (gapsMs.length - 1));
    expect(stats.conclusion.kind).toBe("onset");
    if (stats.conclusion.kind !== "onset") return;
    const { stallsBeginMs, lastQuietGapMs } = stats.conclusion;
    expect(stallsBeginMs).toBeGreaterThan(idleThresholdMs);
    expect(stallsBeginMs).toBeLessThanOrEqual(4000);
    expect(lastQuietGapMs).toBeLessThan(idleThresholdMs);
    expect(lastQuietGapMs).toBeGreaterThanOrEqual(2000);
    // significant after the correction with room to spare (5 of 5 against 0 of 20, × 16 tests)
    const onset = stats.series[0]?.gaps.find((g) => g.gapMs === stallsBeginMs);
    expect(onset?.pAdjusted).toBeLessThan(0.001);
    const v = sweepVerdict(stats, series.length);
    expect(v.keepWarmIntervalMs).toBeLessThan(idleThresholdMs);
    expect(v.fiveMinuteKeepWarmHelps).toBe(false);
    expect(v.text).toMatch(
      /^stalls begin after ~[\d.]+ s idle .*keep-warm pings every [\d.]+ s would avoid them/,
    );
  });
});
