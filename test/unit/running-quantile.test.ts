import { describe, expect, it } from "vitest";
import { RunningQuantile } from "../../src/diagnose/running-quantile.js";
import { quantile } from "../../src/diagnose/stalls.js";

/** A seeded generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("RunningQuantile", () => {
  it("is NaN before the first value", () => {
    expect(new RunningQuantile(0.25).value()).toBeNaN();
  });

  it("rejects a quantile outside (0, 1]", () => {
    expect(() => new RunningQuantile(0)).toThrow(RangeError);
    expect(() => new RunningQuantile(1.5)).toThrow(RangeError);
  });

  for (const p of [0.01, 0.25, 0.5, 0.9, 1]) {
    it(`agrees with the sorting quantile (p=${p}) after every value, on ties, runs and outliers`, () => {
      const rnd = lcg(Math.round(p * 1000) + 7);
      const q = new RunningQuantile(p);
      const seen: number[] = [];
      for (let i = 0; i < 1500; i++) {
        const u = rnd();
        // Mixed shapes: many ties, a rising run, rare large stalls.
        const v = u < 0.3 ? 5 : u < 0.6 ? i * 0.01 : u < 0.98 ? 3 + rnd() * 4 : 2000 + rnd() * 8000;
        q.add(v);
        seen.push(v);
        expect(q.value(), `after ${i + 1} values`).toBe(quantile(seen, p));
      }
      expect(q.count).toBe(1500);
    });
  }
});
