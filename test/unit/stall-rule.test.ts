import { describe, expect, it } from "vitest";
import { detectStalls, median, quantile } from "../../src/diagnose/stalls.js";
import type { RequestRecord } from "../../src/model.js";
import { makeRecord } from "../helpers/records.js";

let seq = 0;
function rec(totalMs: number, over: Partial<RequestRecord> = {}): RequestRecord {
  return makeRecord({
    seq: seq++,
    phasesMs: { connect: 0.3, ttfb: totalMs - 0.5, transfer: 0.2, total: totalMs },
    bytes: 10,
    ...over,
  });
}
const rule = { stallFactor: 5, stallFloorMs: 250 };

describe("stall rule", () => {
  it("a 1 s connect stall on an endpoint whose median is a few ms is a stall", () => {
    const records = [
      ...Array.from({ length: 20 }, () => rec(4)),
      rec(1004, { phasesMs: { connect: 1000, ttfb: 3.5, total: 1004 } }),
    ];
    const stalls = detectStalls(records, rule);
    expect(stalls).toHaveLength(1);
    expect(stalls[0]?.phase).toBe("connect");
  });

  it("a 30 ms request on an endpoint whose median is 25 ms is not", () => {
    const records = [...Array.from({ length: 20 }, (_, i) => rec(20 + (i % 10))), rec(30)];
    expect(detectStalls(records, rule)).toEqual([]);
  });

  it("a series slow most of the time (a connection pinned to the bad target) still shows its stalls", () => {
    // 7 fast, 13 at 2 s: the median is the stall itself; the lower quartile is the fast path.
    const records = [
      ...Array.from({ length: 7 }, () => rec(7)),
      ...Array.from({ length: 13 }, () => rec(2005)),
    ];
    const stalls = detectStalls(records, rule);
    expect(stalls).toHaveLength(13);
    expect(stalls[0]?.thresholdMs).toBe(250);
  });

  it("deadline failures are stalls; fast failures are not", () => {
    const records = [
      ...Array.from({ length: 10 }, () => rec(5)),
      rec(100, { ok: false, error: { code: "headers-timeout", phase: "ttfb", message: "deadline" } }),
      rec(3, { ok: false, status: 500, error: { code: "http-5xx", phase: "ttfb", message: "500" } }),
    ];
    expect(detectStalls(records, rule).map((s) => s.record.error?.code)).toEqual(["headers-timeout"]);
  });

  it("median: the middle value, the mean of the two middle ones for an even count", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([20, 1, 10, 2])).toBe(6);
    expect(median([7])).toBe(7);
    expect(Number.isNaN(median([]))).toBe(true);
  });

  it("quantile by nearest rank", () => {
    expect(quantile([5, 1, 3, 2, 4], 0.25)).toBe(2);
    expect(quantile([10], 0.25)).toBe(10);
    expect(Number.isNaN(quantile([], 0.5))).toBe(true);
  });
});
