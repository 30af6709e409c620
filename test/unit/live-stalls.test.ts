/** The progress bar's stall count: against the floor until the series has a quartile, then the full rule. */
import { describe, expect, test } from "vitest";
import { createLiveStallCounter, MIN_SAMPLES_FOR_QUARTILE } from "../../src/report/live-stalls.js";
import { createProgress, progressLine } from "../../src/report/progress.js";
import { makeRecord } from "../helpers/records.js";

const record = (o: { seq: number; total: number }) =>
  makeRecord({ seq: o.seq, phasesMs: { ttfb: o.total, total: o.total } });

describe("live stall counter", () => {
  test("counts a slow first request against the floor, then uses 5 × p25 of the series", () => {
    const c = createLiveStallCounter({ stallFactor: 5, stallFloorMs: 250 });
    expect(c.add(record({ seq: 0, total: 300 }))).toBe(true); // no quartile yet: 300 > 250
    for (let i = 1; i <= MIN_SAMPLES_FOR_QUARTILE; i++)
      expect(c.add(record({ seq: i, total: 100 }))).toBe(false);
    // p25 = 100 → threshold max(250, 500) = 500
    expect(c.add(record({ seq: 9, total: 400 }))).toBe(false);
    expect(c.add(record({ seq: 10, total: 600 }))).toBe(true);
    expect(c.stalls).toBe(2);
  });

  test("deadline failures count; keep-warm pings and other series' quartiles do not", () => {
    const c = createLiveStallCounter({ stallFactor: 5, stallFloorMs: 250 });
    const timeout = {
      ...record({ seq: 0, total: 20 }),
      ok: false,
      error: { code: "headers-timeout" as const, phase: "ttfb" as const, message: "deadline" },
    };
    expect(c.add(timeout)).toBe(true);
    expect(c.add({ ...record({ seq: 1, total: 5000 }), tag: "keep-warm" })).toBe(false);
    expect(c.add({ ...record({ seq: 2, total: 300 }), endpoint: "/other" })).toBe(true);
    expect(c.stalls).toBe(2);
    expect(progressLine(3, 10, c.stalls, 1000, 80)).toContain("2 stalls");
  });
});

describe("progress bar on a terminal that reports 0 columns (a bare pty)", () => {
  test("draws at 80 columns instead of an empty line", () => {
    const out: string[] = [];
    const p = createProgress({
      stream: { isTTY: true, columns: 0, write: (s) => out.push(s) > 0 },
      total: 4,
      now: () => 0,
    });
    p.update(4, 3);
    expect(out.at(-1)).toContain("4/4 · 3 stalls");
  });
});
