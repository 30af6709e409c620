import { describe, expect, it } from "vitest";
import { GapSamples, idleSplit } from "../../src/diagnose/split.js";
import { groupRows } from "../../src/diagnose/util.js";

describe("groupRows", () => {
  it("groups rows by key in row order, groups in order of first appearance, rows without a key left out", () => {
    const rows = [10, 11, 12, 13, 14, 15];
    const key = (i: number) => (i === 13 ? undefined : i % 2 === 0 ? "even" : "odd");
    const g = groupRows(rows, key);
    expect([...g.keys()]).toEqual(["even", "odd"]);
    expect([...g.get("even")!]).toEqual([10, 12, 14]);
    expect([...g.get("odd")!]).toEqual([11, 15]);
    expect(g.get("even")).toBeInstanceOf(Uint32Array);
  });

  it("gives an empty map for no rows", () => {
    expect(groupRows(new Uint32Array(0), () => "x").size).toBe(0);
  });
});

describe("idleSplit over GapSamples", () => {
  it("splits by gap with ties kept in push order, whether the samples came at once or grew past their capacity", () => {
    // 60 short gaps (1 stall), 30 long gaps (12 stalls), several equal gaps on both sides.
    const list = [];
    for (let k = 0; k < 90; k++) {
      const long = k >= 60;
      list.push({
        seq: k,
        gapMs: long ? 20_000 + (k % 3) * 1000 : 100 + (k % 5),
        stall: long ? k % 5 < 2 : k === 7,
      });
    }
    const fromObjects = idleSplit(GapSamples.of(list), 0.01, "t");
    const typed = new GapSamples(4); // grows past its capacity
    for (const x of list) typed.push(x.seq, x.gapMs, x.stall);
    const fromTyped = idleSplit(typed, 0.01, "t");
    expect(fromObjects.ok).toBe(true);
    expect(fromTyped).toEqual(fromObjects);
    if (!fromTyped.ok) return;
    expect(fromTyped.split.stallsAbove).toBe(12);
    expect(fromTyped.split.stallsBelow).toBe(1);
    expect(fromTyped.split.lastQuietGapMs).toBe(104);
    expect(fromTyped.split.firstAboveMs).toBe(20_000);
    // Explained: the stalls above, by gap then by push order.
    const expected = list
      .filter((x) => x.stall && x.gapMs >= 20_000)
      .sort((a, b) => a.gapMs - b.gapMs || a.seq - b.seq)
      .map((x) => x.seq);
    expect(fromTyped.split.explained).toEqual(expected);
  });
});
