/**
 * The idle sweep's statistics on counts: exact intervals and power against values computed independently (SciPy:
 * beta.ppf, fisher_exact, binom), and the three conclusions on sweeps whose answer is known by construction.
 */
import { describe, expect, it } from "vitest";
import {
  analyseSweep,
  clopperPearson,
  detectableRate,
  gapPower,
  gapPValue,
  type SeriesCounts,
} from "../../src/app/idle-sweep-stats.js";

/** A series from [gapMs, n, hits] triples. */
function series(label: string, rows: [number, number, number][]): SeriesCounts {
  return { label, gaps: rows.map(([gapMs, n, hits]) => ({ gapMs, n, hits })) };
}

describe("clopperPearson", () => {
  it.each([
    // k, n, low, high — scipy.stats.beta.ppf(0.025, k, n-k+1), beta.ppf(0.975, k+1, n-k)
    [0, 10, 0, 0.3084971078187607],
    [5, 10, 0.18708602844739855, 0.8129139715526015],
    [3, 8, 0.08523341413725354, 0.7551367836334484],
    [1, 6, 0.00421074451448947, 0.6412345789976748],
    [6, 6, 0.5407418735600995, 1],
  ])("%i of %i", (k, n, low, high) => {
    const ci = clopperPearson(k, n);
    expect(ci.low).toBeCloseTo(low, 9);
    expect(ci.high).toBeCloseTo(high, 9);
  });

  it("is the whole range without data", () => {
    expect(clopperPearson(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe("gap test and power", () => {
  it("matches Fisher's exact test, one-sided", () => {
    // scipy.stats.fisher_exact([[6, 0], [0, 24]], alternative="greater").pvalue
    expect(gapPValue(6, 6, 0, 24)).toBeCloseTo(1.6841396151740978e-6, 15);
  });

  it("power and the detectable rate agree with a brute-force computation", () => {
    // brute force over every shorter-gap count with scipy (fisher_exact + binom): power(10, 30, p0=0.2, α=0.01)
    expect(gapPower(10, 30, 0.2, 0.01)(0.7)).toBeCloseTo(0.5861115165501252, 6);
    expect(detectableRate(10, 30, 0.2, 0.01)).toBeCloseTo(0.7977374536993557, 6);
    // 6 after the gap vs 24 quiet ones at α = 0.05/16: 4 of 6 are needed, so P(Bin(6, p) ≥ 4) = 0.8
    expect(detectableRate(6, 24, 0, 0.05 / 16)).toBeCloseTo(0.7313508457793305, 6);
  });

  it("has no detectable rate when no outcome could be significant", () => {
    // 2 vs 2: the most extreme table has p = 1/6
    expect(detectableRate(2, 2, 0, 0.05)).toBeUndefined();
  });
});

describe("analyseSweep", () => {
  it("finds where stalls begin in the series that goes cold, with a keep-warm-worthy answer", () => {
    const s = analyseSweep([
      series("first", [
        [0, 6, 0],
        [1000, 6, 0],
        [2000, 6, 0],
        [2500, 6, 0],
        [3500, 6, 6],
      ]),
      series("second", [
        [0, 6, 0],
        [1000, 6, 0],
        [2000, 6, 0],
        [2500, 6, 0],
        [3500, 6, 0],
      ]),
    ]);
    expect(s.tests).toBe(8);
    expect(s.conclusion).toEqual({
      kind: "onset",
      stallsBeginMs: 3500,
      lastQuietGapMs: 2500,
      series: ["first"],
    });
    const g = s.series[0]!.gaps.at(-1)!;
    expect(g.pValue).toBeCloseTo(gapPValue(6, 6, 0, 24), 15);
    expect(g.pAdjusted).toBeCloseTo(8 * gapPValue(6, 6, 0, 24), 15);
    expect(g.ci.low).toBeCloseTo(0.5407418735600995, 9);
  });

  it("takes the smallest significant gap, not the first gap with a stall", () => {
    const s = analyseSweep([
      series("a", [
        [0, 12, 1],
        [30_000, 12, 1],
        [60_000, 12, 12],
        [120_000, 12, 12],
      ]),
    ]);
    expect(s.conclusion).toMatchObject({ kind: "onset", stallsBeginMs: 60_000, lastQuietGapMs: 30_000 });
  });

  it("is inconclusive on the sweep that used to say 'would not avoid them' (3 repeats, 1 of 4 series stalls)", () => {
    // The old `idle-sweep --lab cold-start`: 0 % up to 2 s, then the first of four series stalled after 4 s and 6 s.
    const quiet: [number, number, number][] = [
      [0, 3, 0],
      [1000, 3, 0],
      [2000, 3, 0],
      [4000, 3, 0],
      [6000, 3, 0],
    ];
    const s = analyseSweep([
      series("first", [
        [0, 3, 0],
        [1000, 3, 0],
        [2000, 3, 0],
        [4000, 3, 3],
        [6000, 3, 3],
      ]),
      series("b", quiet),
      series("c", quiet),
      series("d", quiet),
    ]);
    expect(s.conclusion.kind).toBe("inconclusive");
    const need = s.conclusion.kind === "inconclusive" ? s.conclusion.repeatsNeeded : undefined;
    expect(need).toBeGreaterThan(3);
    // and that many repeats would indeed have the power the conclusion asks for
    const more = analyseSweep(
      ["first", "b", "c", "d"].map((label) =>
        series(
          label,
          quiet.map(([g]) => [g, need!, 0]),
        ),
      ),
    );
    expect(more.conclusion.kind).toBe("no-idle-effect");
  });

  it("says 'no idle effect' only with the power to see one, and reports what it could have seen", () => {
    const gaps = [0, 200, 500];
    const flat = (n: number, hits: number) =>
      series(
        "s",
        gaps.map((g) => [g, n, hits]),
      );
    expect(analyseSweep([flat(2, 0)]).conclusion.kind).toBe("inconclusive");
    // 12 per gap at a 25 % baseline could only see a rise to 77 %: not yet enough
    expect(analyseSweep([flat(12, 3)]).conclusion.kind).toBe("inconclusive");
    const s = analyseSweep([flat(20, 5)]);
    expect(s.conclusion.kind).toBe("no-idle-effect");
    if (s.conclusion.kind !== "no-idle-effect") return;
    expect(s.conclusion.baselineRate).toBeCloseTo(0.25, 12);
    expect(s.conclusion.detectableRate).toBeGreaterThan(0.25);
    expect(s.conclusion.detectableRate).toBeLessThanOrEqual(0.75);
    expect(s.conclusion.detectableRate).toBeCloseTo(detectableRate(20, 40, 0.25, 0.05 / 2)!, 12);
  });

  it("never says 'no idle effect' for an underpowered sweep (every small sweep, exhaustively)", () => {
    // 1 series × 3 gaps × n ≤ 4 requests: the reference rise (0 → 50 %) cannot be seen with 80 % power. The one
    // way to "no idle effect" is shorter gaps that already stall at least half the time (95 % interval).
    let regardless = 0;
    for (let n = 1; n <= 4; n++) {
      for (let a = 0; a <= n; a++) {
        for (let b = 0; b <= n; b++) {
          for (let c = 0; c <= n; c++) {
            const s = analyseSweep([
              series("s", [
                [0, n, a],
                [1, n, b],
                [2, n, c],
              ]),
            ]);
            if (s.conclusion.kind !== "no-idle-effect") continue;
            expect(s.series[0]!.detectableRate, `${n}: ${a} ${b} ${c}`).toBeUndefined();
            expect(clopperPearson(a + b, 2 * n).low, `${n}: ${a} ${b} ${c}`).toBeGreaterThanOrEqual(0.5);
            regardless++;
          }
        }
      }
    }
    // only 6 of 6 (n = 3, interval from 54 %) and 8 of 8 (n = 4, from 63 %) after the shorter gaps, whatever the
    // longest gap did: 4 + 5 sweeps (7 of 8 reaches down to 47 %)
    expect(regardless).toBe(9);
  });

  it("says 'no idle effect' when requests stall whatever the gap, without a rise to look for", () => {
    const s = analyseSweep([
      series("s", [
        [0, 10, 10],
        [60_000, 10, 9],
        [300_000, 10, 10],
      ]),
    ]);
    expect(s.series[0]!.stallsRegardless).toBe(true);
    expect(s.conclusion).toEqual({ kind: "no-idle-effect", baselineRate: 0.95, longestGapMs: 300_000 });
  });

  it("ignores gaps without requests (an aborted sweep)", () => {
    const s = analyseSweep([
      series("s", [
        [0, 10, 0],
        [1000, 10, 10],
        [2000, 0, 0],
      ]),
    ]);
    expect(s.tests).toBe(1);
    expect(s.series[0]!.gaps.map((g) => g.gapMs)).toEqual([0, 1000]);
    expect(s.conclusion).toMatchObject({ kind: "onset", stallsBeginMs: 1000, lastQuietGapMs: 0 });
  });
});
