/** The idle sweep's verdict in words, from statistics built on counts whose answer is known. */
import { describe, expect, it } from "vitest";
import { analyseSweep } from "../../src/app/idle-sweep-stats.js";
import { keepWarmInterval, sweepVerdict } from "../../src/app/idle-sweep-verdict.js";
import { fmtGap } from "../../src/duration.js";

const MIN = 60_000;

/** One series: no stalls before gap index `firstStalling`, every request stalls from there on. */
function onsetSweep(gapsMs: number[], firstStalling: number, n = 6) {
  const gaps = gapsMs.map((gapMs, i) => ({ gapMs, n, hits: i >= firstStalling ? n : 0 }));
  return analyseSweep([{ label: "s", gaps }]);
}

describe("sweepVerdict", () => {
  it("onset past five minutes: the default keep-warm interval is short enough", () => {
    const v = sweepVerdict(onsetSweep([0, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN], 3), 1);
    expect(v.text).toBe(
      "stalls begin after ~10 min idle (quiet up to 5 min): keep-warm pings every 5 min would avoid them; the 5-minute default is short enough",
    );
    expect(v.fiveMinuteKeepWarmHelps).toBe(true);
    expect(v.keepWarmIntervalMs).toBe(5 * MIN);
  });

  it("onset before five minutes: pings below the last quiet gap, and the default is too far apart", () => {
    const v = sweepVerdict(onsetSweep([0, 30_000, MIN, 2 * MIN, 5 * MIN], 2), 1);
    expect(v.text).toBe(
      "stalls begin after ~1 min idle (quiet up to 30 s): keep-warm pings every 30 s would avoid them; the 5-minute default is too far apart",
    );
    expect(v.fiveMinuteKeepWarmHelps).toBe(false);
  });

  it("five minutes between the last quiet gap and the onset: says it cannot tell", () => {
    const v = sweepVerdict(onsetSweep([0, MIN, 2 * MIN, 10 * MIN], 3), 1);
    expect(v.text).toMatch(
      /keep-warm pings every 2 min would avoid them; whether the 5-minute default is short enough this sweep cannot tell/,
    );
    expect(v.fiveMinuteKeepWarmHelps).toBeUndefined();
  });

  it("onset right after the shortest gap of 0 s: no interval to recommend, only an upper bound", () => {
    const v = sweepVerdict(onsetSweep([0, 2000, 4000], 1), 1);
    expect(v.text).toMatch(
      /^stalls begin after ~2 s idle \(quiet up to 0 s\): keep-warm pings would have to come more often than every 2 s/,
    );
    expect(v.keepWarmIntervalMs).toBeUndefined();
  });

  it("names the series that went cold when others did not", () => {
    const quiet = [0, 1000, 4000].map((gapMs) => ({ gapMs, n: 8, hits: 0 }));
    const cold = [0, 1000, 4000].map((gapMs) => ({ gapMs, n: 8, hits: gapMs >= 4000 ? 8 : 0 }));
    const v = sweepVerdict(
      analyseSweep([
        { label: "a / fresh", gaps: cold },
        { label: "a / reuse", gaps: quiet },
      ]),
      2,
    );
    expect(v.notes[0]).toMatch(/^Stalls began after idle in a \/ fresh only/);
  });
});

describe("keepWarmInterval and fmtGap", () => {
  it("rounds down to an interval a person would configure", () => {
    expect(keepWarmInterval(2500)).toBe(2000);
    expect(keepWarmInterval(7 * MIN)).toBe(5 * MIN);
    expect(keepWarmInterval(300)).toBe(300);
    expect(keepWarmInterval(0)).toBeUndefined();
    expect([0, 2500, 90_000, 7_200_000].map(fmtGap)).toEqual(["0 s", "2.5 s", "1.5 min", "2 h"]);
  });
});
