import { describe, expect, it } from "vitest";
import { fmtDuration } from "../../src/duration.js";

describe("fmtDuration: one rule for durations in every output", () => {
  it("whole milliseconds below 1 s", () => {
    expect(fmtDuration(0)).toBe("0 ms");
    expect(fmtDuration(0.4)).toBe("0 ms");
    expect(fmtDuration(5.2)).toBe("5 ms");
    expect(fmtDuration(249.5)).toBe("250 ms");
    expect(fmtDuration(999.4)).toBe("999 ms");
  });

  it("seconds with one decimal from 1 s to 10 s, whole seconds to 1 min", () => {
    expect(fmtDuration(1000)).toBe("1.0 s");
    expect(fmtDuration(2004)).toBe("2.0 s");
    expect(fmtDuration(4200)).toBe("4.2 s");
    expect(fmtDuration(9949)).toBe("9.9 s");
    expect(fmtDuration(10_000)).toBe("10 s");
    expect(fmtDuration(12_345)).toBe("12 s");
    expect(fmtDuration(59_499)).toBe("59 s");
  });

  it("minutes and seconds, hours and minutes, days and hours", () => {
    expect(fmtDuration(60_000)).toBe("1 min 0 s");
    expect(fmtDuration(127_000)).toBe("2 min 7 s");
    expect(fmtDuration(303_000)).toBe("5 min 3 s");
    expect(fmtDuration(3_600_000)).toBe("1 h 0 min");
    expect(fmtDuration(2 * 3_600_000 + 3 * 60_000)).toBe("2 h 3 min");
    expect(fmtDuration(76 * 3_600_000)).toBe("3 d 4 h");
  });

  it("chooses the form from the rounded value: no 1000 ms, 10.0 s or 60 s", () => {
    expect(fmtDuration(999.6)).toBe("1.0 s");
    expect(fmtDuration(9960)).toBe("10 s");
    expect(fmtDuration(59_600)).toBe("1 min 0 s");
    expect(fmtDuration(119_600)).toBe("2 min 0 s");
    expect(fmtDuration(3_599_600)).toBe("1 h 0 min");
    expect(fmtDuration(48 * 3_600_000 - 20_000)).toBe("2 d 0 h");
  });

  it("keeps the sign, and says '-' for no number", () => {
    expect(fmtDuration(-5)).toBe("-5 ms");
    expect(fmtDuration(-1500)).toBe("-1.5 s");
    expect(fmtDuration(Number.NaN)).toBe("-");
    expect(fmtDuration(Number.POSITIVE_INFINITY)).toBe("-");
  });
});
