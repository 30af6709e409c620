/**
 * The idle-gap experiment against the lab's cold-start scenario (in process,
 * small timings): stalls must begin exactly past the lab's idle threshold,
 * and the verdict must say whether 5-minute keep-warm pings would help.
 */
import { afterEach, describe, expect, it } from "vitest";
import { idleSweep, parseGaps } from "../../src/app/idle-sweep.js";
import { applyProbeOverrides } from "../../src/config/flags.js";
import { parseConfig } from "../../src/config/load.js";
import { type Lab, labConfig, startLab } from "../../src/lab/index.js";

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.close();
  lab = undefined;
});

describe("idle-sweep", () => {
  it("finds the gap where cold starts begin on the lab's cold-start scenario", async () => {
    lab = await startLab({
      scenario: "cold-start",
      timings: { idleThresholdMs: 700, coldMs: 900, jitterMs: 1 },
    });
    // An absolute threshold: on a loaded machine the relative rule (5 × the shortest gap's median) can rise
    // above the injected cold start and hide it.
    const loaded0 = applyProbeOverrides(parseConfig(labConfig(lab)), { connection: "fresh", stallMs: 450 });
    const loaded = {
      ...loaded0,
      targets: loaded0.targets.filter((t) => t.endpoint === "/" && t.route === "execute-api"),
    };
    const result = await idleSweep(loaded, { gapsMs: [0, 300, 1000, 1400], repeats: 2 });
    const trace = result.records
      .map((r) => `${r.idleGapMs?.toFixed(0)}ms idle→${r.phasesMs.total?.toFixed(0)}ms`)
      .join(", ");

    const byGap = new Map(result.gaps.map((g) => [g.gapMs, g]));
    expect(byGap.get(0)?.stalls).toBe(0);
    expect(byGap.get(300)?.stalls).toBe(0);
    expect(byGap.get(1000)?.stallRate, trace).toBe(1);
    expect(byGap.get(1400)?.stallRate).toBe(1);
    expect(result.stallsBeginMs).toBe(1000);
    expect(result.lastQuietGapMs).toBe(300);
    expect(result.fiveMinuteKeepWarmHelps).toBe(false);
    expect(result.keepWarmIntervalMs).toBeLessThanOrEqual(1000);
    expect(result.verdict).toMatch(/too far apart/);
    for (const r of result.records) expect(r.tag).toBe("idle-sweep");
  }, 60_000);

  it("says keep-warm would not help when nothing depends on idleness", async () => {
    lab = await startLab({ scenario: "healthy", timings: { jitterMs: 1 } });
    const loaded0 = applyProbeOverrides(parseConfig(labConfig(lab)), { connection: "both" });
    const loaded = {
      ...loaded0,
      targets: loaded0.targets.filter((t) => t.endpoint === "/" && t.route === "execute-api"),
    };
    const result = await idleSweep(loaded, { gapsMs: [0, 200, 500], repeats: 2 });
    expect(result.stallsBeginMs).toBeUndefined();
    expect(result.fiveMinuteKeepWarmHelps).toBeUndefined();
    expect(result.verdict).toMatch(/not needed|would not/);
    // reuse requests after the first kept their socket across the gaps
    const reused = result.records.filter((r) => r.connection === "reuse" && r.reused);
    expect(reused.length).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it("parses gap lists and rejects garbage", () => {
    expect(parseGaps("0s,30s,1m,2m,5m,10m,15m")).toEqual([
      0, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    ]);
    expect(parseGaps("500ms,1.5s,1h")).toEqual([500, 1500, 3_600_000]);
    expect(() => parseGaps("5 minutes")).toThrow(/not a duration/);
  });
});
