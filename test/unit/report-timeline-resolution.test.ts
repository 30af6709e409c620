/** History times at the rounds' resolution: 5-second rounds print seconds, 5-minute rounds minutes. */
import { describe, expect, it } from "vitest";
import { needsSeconds, renderTimeline } from "../../src/report/timeline.js";
import { fixtureIntervals, T0 } from "./report-fixture.js";

const every = (stepMs: number, n: number) =>
  fixtureIntervals(n).map((iv, i) => ({
    ...iv,
    startMs: T0 + i * stepMs,
    endMs: T0 + i * stepMs + Math.min(stepMs, 2_000),
  }));

describe("timeline time resolution", () => {
  it("5-second rounds: every row has its own HH:MM:SS", () => {
    const list = every(5_000, 6);
    expect(needsSeconds(list)).toBe(true);
    const out = renderTimeline(list, { color: false, width: 100 });
    const starts = [...out.matchAll(/^\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?)\s/gm)].map((m) => m[1]);
    expect(starts).toHaveLength(6);
    expect(new Set(starts).size).toBe(6);
    expect(starts.every((s) => /:\d{2}:\d{2}$/.test(s ?? ""))).toBe(true);
  });

  it("5-minute rounds keep minutes", () => {
    const list = every(300_000, 6);
    expect(needsSeconds(list)).toBe(false);
    const out = renderTimeline(list, { color: false, width: 100 });
    const starts = [...out.matchAll(/^\s+(\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?)\s/gm)].map((m) => m[1]);
    expect(starts).toHaveLength(6);
    expect(starts.every((s) => /^\S+ \d{2}:\d{2}$/.test(s ?? ""))).toBe(true);
  });
});
