import { describe, expect, it } from "vitest";
import { buildReport } from "../../src/report/build.js";
import { createProgress, progressLine } from "../../src/report/progress.js";
import { stripAnsi } from "../../src/report/style.js";
import { renderTerminal, shouldUseColor } from "../../src/report/terminal.js";
import { renderTimeline } from "../../src/report/timeline.js";
import { fixtureInput, fixtureIntervals, rec, T0 } from "./report-fixture.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI escapes
const ANSI = /\u001b\[/;

function healthyReport() {
  const records = Array.from({ length: 40 }, (_, i) =>
    rec({
      seq: i,
      seriesSeq: i,
      atMs: T0 + i * 100,
      phasesMs: { dns: 0.4, connect: 0.2, ttfb: 1 + (i % 5) / 10, transfer: 0.1, total: 1.7 + (i % 5) / 10 },
    }),
  );
  return buildReport({
    records,
    stalls: [],
    diagnosis: { findings: [], causeBySeq: new Map(), healthy: true, notes: [] },
    lag: { p50: 0.02, p99: 0.1, max: 1.2, utilization: 0.01, affectedRequests: 0 },
    source: { kind: "live" },
    options: {},
    now: () => T0,
  });
}

describe("renderTerminal", () => {
  it("renders the full report (colour off, width 100)", () => {
    const report = buildReport(fixtureInput({ timeline: fixtureIntervals() }));
    expect(renderTerminal(report, { color: false, width: 100 })).toMatchSnapshot();
  });

  it("opens with the verdict, then the other causes, before any table", () => {
    const out = renderTerminal(buildReport(fixtureInput()), { color: false, width: 100 });
    const lines = out.split("\n");
    expect(lines[0]).toMatch(
      /^stallwatch report · lab bad-target · 125 requests \(122 ok, 3 failed, 4 stalls\)/,
    );
    expect(lines[2]).toMatch(/^Verdict · tcp-syn-retransmit · high confidence · explains 2 of 4 stalls/);
    expect(out).toContain("chain: phase connect → hop client → where 10.0.2.17 → lost SYNs");
    expect(out).toContain("[timing] 2 of 3 stalls lost their time in connect");
    expect(out).toContain("other causes: timeout (1 stall, 1 failure)");
    expect(out).toContain("ruled out: address-skew");
    // The verdict's own finding is not repeated: the other causes follow it.
    expect(out).not.toContain(" 1. tcp-syn-retransmit");
    expect(out.indexOf(" 2. timeout")).toBeGreaterThan(out.indexOf("Other causes"));
    expect(out.indexOf("Other causes")).toBeLessThan(out.indexOf("Latency (ms)"));
    expect(out).toContain("next step: Check the NLB target");
    expect(out).toContain("evidence: headersTimeout=1");
    expect(out).toContain("1 stall unexplained."); // the keep-warm stall is not-diagnosed, not unexplained
  });

  it("says 'No findings: healthy.' for a healthy run, and renders a healthy report compactly", () => {
    const out = renderTerminal(healthyReport(), { color: false, width: 80 });
    expect(out).toContain("No findings: healthy.");
    expect(out).not.toContain("Stalls (");
    expect(out).not.toContain("Failures (");
    expect(out).toMatchSnapshot();
  });

  it("does not call a run with unexplained stalls healthy when there are no findings", () => {
    const input = fixtureInput();
    const out = renderTerminal(buildReport({ ...input, diagnosis: undefined }), { color: false });
    expect(out).not.toContain("healthy.");
    expect(out).toContain("No findings: 4 stalls and 3 failures are unexplained");
  });

  it("uses ANSI colour only when asked", () => {
    const report = buildReport(fixtureInput({ timeline: fixtureIntervals() }));
    const plain = renderTerminal(report, { color: false, width: 100 });
    const colored = renderTerminal(report, { color: true, width: 100 });
    expect(ANSI.test(plain)).toBe(false);
    expect(ANSI.test(colored)).toBe(true);
    expect(colored).toContain("\u001b[31m"); // stalls in red
    // Same text underneath (tables pad by visible width).
    expect(stripAnsi(colored)).toBe(plain);
  });

  it("caps the stall list with '+N more'", () => {
    const records = Array.from({ length: 100 }, (_, i) =>
      rec({ seq: i, atMs: T0 + i, phasesMs: { ttfb: i % 2 ? 2000 : 5, total: i % 2 ? 2000 : 5 } }),
    );
    const report = buildReport({
      records,
      stalls: records
        .filter((r) => (r.phasesMs.total ?? 0) > 1000)
        .map((record, index) => ({ index, record, phase: "ttfb" as const, totalMs: 2000, thresholdMs: 250 })),
      lag: { p50: 0, p99: 0, max: 0, utilization: 0, affectedRequests: 0 },
      source: { kind: "live" },
      options: {},
      now: () => T0,
    });
    const out = renderTerminal(report, { color: false, maxStalls: 30 });
    const stallRows = out.split("\n").filter((l) => /^12:00:00\.\d{3} /.test(l));
    expect(stallRows).toHaveLength(30);
    expect(out).toContain("+20 more (all of them are in --json)");
  });

  it("names the prober's own lag beside the stalls it may have caused", () => {
    const report = { ...buildReport(fixtureInput()) };
    report.eventLoopLagMs = {
      p50: 0.1,
      p99: 80,
      max: 1200,
      utilization: 0.6,
      affectedRequests: 7,
      thresholdMs: 50,
    };
    const out = renderTerminal(report, { color: false });
    expect(out).toContain(
      "event loop: p50 0.1 ms, p99 80 ms, max 1,200 ms, utilisation 60%: 7 requests in flight during lag > 50 ms (their latencies include stallwatch's own pause)",
    );
  });
});

describe("shouldUseColor", () => {
  const tty = { isTTY: true };
  const pipe = { isTTY: false };
  it.each([
    [tty, {}, true],
    [pipe, {}, false],
    [tty, { NO_COLOR: "1" }, false],
    [tty, { NO_COLOR: "" }, true],
    [tty, { TERM: "dumb" }, false],
    [pipe, { FORCE_COLOR: "1" }, true],
    [pipe, { FORCE_COLOR: "" }, true],
    [tty, { FORCE_COLOR: "0" }, false],
    [tty, { FORCE_COLOR: "false" }, false],
    [pipe, { FORCE_COLOR: "1", NO_COLOR: "1" }, false],
  ])("%o with %o → %s", (stream, env, expected) => {
    expect(shouldUseColor(stream, env)).toBe(expected);
  });
});

describe("renderTimeline", () => {
  it("shows one row per interval with stalls marked", () => {
    const out = renderTimeline(fixtureIntervals(), { color: false, width: 100 });
    expect(out).toMatchSnapshot();
    const stallRow = out.split("\n").find((l) => l.includes("12:15"))!;
    expect(stallRow).toContain("5,012");
    expect(stallRow).toContain("! 1 stall");
    expect(out.split("\n").find((l) => l.includes("12:10"))).not.toContain("!");
  });

  it("compresses many intervals into sparklines per series, stalls marked", () => {
    // A day of five-minute intervals; stalls in three of them, failures in one.
    const intervals = fixtureIntervals(288).map((iv, i) => ({
      ...iv,
      maxMs: [40, 41, 200].includes(i) ? 5012 : 60 + (i % 9),
      stalls: [40, 41, 200].includes(i) ? 1 : 0,
      failures: i === 120 ? 2 : 0,
    }));
    const out = renderTimeline(intervals, { color: false, width: 80 });
    expect(out).toMatchSnapshot();
    const lines = out.split("\n");
    expect(lines.some((l) => l.startsWith("  p99   "))).toBe(true);
    expect(lines.filter((l) => l.startsWith("  max   "))[0]!.length).toBeLessThanOrEqual(80);
    const marks = lines.find((l) => l.includes("(! stall, x failure)"))!;
    // 6 intervals per column: intervals 40 and 41 share column 6, interval 200 is in column 33.
    const columns = [...marks.slice(8, 8 + 48)];
    expect(columns.flatMap((c, i) => (c === "!" ? [i] : []))).toEqual([6, 33]);
    expect(columns.indexOf("x")).toBe(20);
    const colored = renderTimeline(intervals, { color: true, width: 80 });
    expect(ANSI.test(colored)).toBe(true);
    expect(stripAnsi(colored)).toBe(out);
  });

  it("says so when there is nothing recorded", () => {
    expect(renderTimeline([], { color: false })).toBe("no recorded intervals\n");
  });
});

describe("progress", () => {
  function fakeTty(isTTY: boolean) {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, columns: 60, write: (c: string) => chunks.push(c) > 0 } };
  }

  it("draws at most 10 times a second, always the last update, and clears its line", () => {
    const { chunks, stream } = fakeTty(true);
    let t = 0;
    const p = createProgress({ stream, total: 100, now: () => t });
    for (let done = 1; done <= 100; done++) {
      t += 5; // 200 updates/s
      p.update(done, done > 50 ? 1 : 0);
    }
    // 500 ms of updates → one draw per 100 ms (+ the first) + the final one.
    expect(p.draws).toBeGreaterThanOrEqual(5);
    expect(p.draws).toBeLessThanOrEqual(7);
    expect(chunks.at(-1)).toContain("100/100 · 1 stall · 500 ms");
    p.finish();
    expect(chunks.at(-1)).toBe("\r\u001b[2K");
    p.update(100, 1);
    expect(chunks.at(-1)).toBe("\r\u001b[2K");
  });

  it("writes nothing when stderr is not a TTY", () => {
    const { chunks, stream } = fakeTty(false);
    const p = createProgress({ stream, total: 10, now: () => 0 });
    for (let i = 1; i <= 10; i++) p.update(i, 0);
    p.finish();
    expect(chunks).toEqual([]);
  });

  it("fits its line to the terminal width", () => {
    expect(progressLine(30, 120, 2, 4200, 80)).toBe(
      "[████████░░░░░░░░░░░░░░░░░░░░░░] 30/120 · 2 stalls · 4.2 s",
    );
    expect(progressLine(30, 120, 2, 4200, 30).length).toBeLessThanOrEqual(30);
  });
});
