import { describe, expect, it } from "vitest";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { decodeHistogram, HistogramSet } from "../../src/record/histograms.js";
import { buildReport } from "../../src/report/build.js";
import { bucketIndex, DISTRIBUTION_EDGES_MS } from "../../src/report/distribution.js";
import { fixtureInput, LAG, rec, T0 } from "./report-fixture.js";

const base = { lag: LAG, source: { kind: "live" as const }, options: {}, now: () => T0 };

describe("buildReport", () => {
  it("computes percentiles from known records (1..100 ms → p50 50, p90 90, p99 99, max 100)", () => {
    const records = Array.from({ length: 100 }, (_, i) =>
      rec({ seq: i, seriesSeq: i, atMs: T0 + i * 10, phasesMs: { ttfb: i + 0.5, total: i + 1 } }),
    );
    const report = buildReport({ ...base, records, stalls: [] });
    expect(report.series).toHaveLength(1);
    const total = report.series[0]!.latencyMs.total!;
    expect(total.count).toBe(100);
    expect(total.p50).toBeCloseTo(50, 1);
    expect(total.p90).toBeCloseTo(90, 1);
    expect(total.p99).toBeCloseTo(99, 1);
    expect(total.max).toBeCloseTo(100, 1);
    expect(total.mean).toBeCloseTo(50.5, 1);
    expect(report.series[0]!.latencyMs.ttfb!.p50).toBeCloseTo(49.5, 1);
    expect(report.generatedAt).toBe("2024-05-01T12:00:00.000Z");
    expect(report.span).toEqual({
      startedAt: "2024-05-01T12:00:00.000Z",
      endedAt: new Date(T0 + 990 + 100).toISOString(),
      durationMs: 1090,
    });
    expect(report.healthy).toBe(true);
  });

  it("leaves phases that never happened absent, not zero", () => {
    const records = [0, 1, 2].map((i) =>
      rec({ seq: i, connection: "reuse", reused: true, phasesMs: { ttfb: 3, transfer: 0.2, total: 3.2 } }),
    );
    const s = buildReport({ ...base, records, stalls: [] }).series[0]!;
    expect(Object.keys(s.latencyMs)).toEqual(["ttfb", "transfer", "total"]);
    expect("dns" in s.latencyMs).toBe(false);
  });

  it("counts stalls and failures per series and in the totals, with causes from the diagnosis", () => {
    const report = buildReport(fixtureInput());
    expect(report.totals).toEqual({ requests: 125, ok: 122, failed: 3, stalls: 4 });
    expect(report.healthy).toBe(false);
    const by = (route: string, endpoint: string, connection = "fresh") =>
      report.series.find((s) => s.route === route && s.endpoint === endpoint && s.connection === connection)!;
    expect(by("execute-api", "/").stalls).toBe(2); // seq 42, 77
    expect(by("execute-api", "/header").stalls).toBe(1); // seq 13
    expect(by("execute-api", "/header").failed).toBe(1); // 502
    expect(by("custom-domain", "/").stalls).toBe(1); // the headers timeout, seq 90
    expect(by("custom-domain", "/").count).toBe(25);
    expect(report.stalls.map((s) => [s.seq, s.phase, s.cause])).toEqual([
      [13, "connect", "tcp-syn-retransmit"],
      [42, "connect", "tcp-syn-retransmit"],
      [77, "ttfb", "unexplained"],
      [90, "ttfb", "timeout"],
      [129, "ttfb", "not-diagnosed"], // a keep-warm ping: left out of the diagnosis
    ]);
    const s13 = report.stalls[0]!;
    expect(s13).toMatchObject({
      at: new Date(T0 + 13 * 250).toISOString(),
      route: "execute-api",
      endpoint: "/header",
      remoteAddress: "10.0.2.17",
      requestId: "req-0013",
      traceId: "Root=1-6632-0013",
      thresholdMs: 250,
      detail: "connect 1003 ms ≈ 1 s (1st SYN retransmission)",
    });
    expect(s13.phasesMs.connect).toBe(1003);
    expect(s13.totalMs).toBeGreaterThan(1003);
    expect(report.stalls[3]!.error).toBe("headers-timeout");
    expect(report.stalls[4]!.tag).toBe("keep-warm");
    expect(report.stalls[0]!.tag).toBeUndefined();
    expect(report.failures.map((f) => [f.seq, f.code, f.phase])).toEqual([
      [21, "reset", "ttfb"],
      [58, "http-5xx", "assert"],
      [90, "headers-timeout", "ttfb"],
    ]);
    expect(report.findings.map((f) => f.id)).toEqual(["tcp-syn-retransmit", "timeout"]);
    expect(report.notes).toEqual(["too few samples for the periodicity test: n=25 < 30 per series"]);
  });

  it("keeps keep-warm pings out of the probe series and reports them beside", () => {
    const report = buildReport(fixtureInput());
    expect(report.series.every((s) => s.count === 25)).toBe(true);
    expect(report.series.reduce((n, s) => n + s.count, 0)).toBe(125);
    expect(report.keepWarm).toHaveLength(1);
    expect(report.keepWarm![0]).toMatchObject({ route: "custom-domain", endpoint: "/", count: 5, stalls: 1 });
    // The 2.5 s keep-warm ping is not in the probe series' histogram.
    const probe = report.series.find((s) => s.route === "custom-domain" && s.endpoint === "/")!;
    expect(probe.distribution!.counts[bucketIndex(2525)]).toBe(0);
    expect(report.keepWarm![0]!.distribution!.counts[bucketIndex(2525)]).toBe(1);
    expect(report.keepWarm![0]!.latencyMs.ttfb!.max).toBeGreaterThan(2490);
  });

  it("orders series by api, route, endpoint, connection as first seen in send order", () => {
    const report = buildReport(fixtureInput());
    expect(report.series.map((s) => `${s.route} ${s.endpoint} ${s.connection}`)).toEqual([
      "custom-domain / fresh",
      "custom-domain /header fresh",
      "execute-api / fresh",
      "execute-api / reuse",
      "execute-api /header fresh",
    ]);
    // Same order whatever order the records arrive in.
    const shuffled = fixtureInput();
    const reversed = buildReport({ ...shuffled, records: [...shuffled.records].reverse() });
    expect(reversed.series.map((s) => s.endpoint + s.connection)).toEqual(
      report.series.map((s) => s.endpoint + s.connection),
    );
  });

  it("says why no CO correction applies when sending closed-loop", () => {
    const report = buildReport(fixtureInput());
    expect(report.coordinatedOmission.corrected).toBe(false);
    expect(report.coordinatedOmission.note).toMatch(/closed-loop/);
    expect(report.series.every((s) => s.correctedLatencyMs === undefined)).toBe(true);
  });

  it("corrects total for coordinated omission when sent at a fixed rate, and says so", () => {
    // 99 requests of 10 ms and one 1 s stall, meant to go out every 100 ms.
    const records = Array.from({ length: 100 }, (_, i) =>
      rec({
        seq: i,
        atMs: T0 + i * 100,
        phasesMs: { ttfb: i === 50 ? 1000 : 10, total: i === 50 ? 1000 : 10 },
      }),
    );
    const report = buildReport({ ...base, records, stalls: detectStalls(records), expectedIntervalMs: 100 });
    const s = report.series[0]!;
    expect(report.coordinatedOmission).toMatchObject({ corrected: true, expectedIntervalMs: 100 });
    expect(report.coordinatedOmission.note).toMatch(/correctedLatencyMs\.total/);
    expect(Object.keys(s.correctedLatencyMs!)).toEqual(["total"]);
    // The stall held back 9 requests (900, 800 … 100 ms): back-filled, 109 samples.
    expect(s.correctedLatencyMs!.total!.count).toBe(109);
    // Sorted corrected samples: 99 × 10 ms, 100, 200 … 900, 1000: p99 (rank 108) is 900 ms.
    expect(s.latencyMs.total!.p99).toBeCloseTo(10, 1);
    const p99 = s.correctedLatencyMs!.total!.p99;
    expect(p99).toBeGreaterThan(899);
    expect(p99).toBeLessThan(901); // HdrHistogram: within 0.1 % at 3 significant digits
    expect(s.correctedLatencyMs!.total!.max).toBeCloseTo(1000, 0);
  });

  it("includes decodable histograms only when asked, and a bucket distribution always", () => {
    const without = buildReport(fixtureInput());
    expect(without.series[0]!.histograms).toBeUndefined();
    const withH = buildReport(fixtureInput({ includeHistograms: true }));
    const encoded = withH.series[0]!.histograms!.total!;
    expect(encoded.startsWith("HISTFAAAA")).toBe(true);
    expect(decodeHistogram(encoded).totalCount).toBe(25);
    const d = withH.series[0]!.distribution!;
    expect(d.edgesMs).toEqual(DISTRIBUTION_EDGES_MS);
    expect(d.counts.reduce((a, b) => a + b, 0)).toBe(25);
    // The 10 s headers timeout lands in the 10–20 s bucket, the rest between 20 and 50 ms.
    expect(d.counts[bucketIndex(10_000)]).toBe(1);
    expect(d.counts[bucketIndex(30)]).toBe(24);
  });

  it("reads percentiles from given histograms (merged history) and keeps counts from records", () => {
    const input = fixtureInput();
    const hist = new HistogramSet();
    for (const r of input.records) hist.recordRecord(r);
    hist.recordValue(
      { api: "flaskapp", route: "custom-domain", endpoint: "/", connection: "fresh", tag: "probe" },
      "total",
      42_000,
    );
    const report = buildReport({ ...input, histograms: hist, timeline: [] });
    const s = report.series[0]!;
    expect(s.count).toBe(25);
    expect(s.latencyMs.total!.count).toBe(26);
    expect(s.latencyMs.total!.max).toBeGreaterThan(41_000);
    expect(report.timeline).toEqual([]);
  });

  it("builds series from histograms alone when there are no records", () => {
    const hist = new HistogramSet();
    const key = { api: "a", route: "r", endpoint: "/", connection: "fresh" as const, tag: "probe" as const };
    for (let i = 1; i <= 10; i++) hist.recordValue(key, "total", i);
    const report = buildReport({ ...base, records: [], stalls: [], histograms: hist });
    expect(report.series[0]).toMatchObject({ count: 10, ok: 10, failed: 0, stalls: 0 });
    expect(report.totals.requests).toBe(10);
    expect(report.span).toBeUndefined();
  });

  it("is unhealthy with a finding even without stalls or failures", () => {
    const records = [rec({ seq: 0, phasesMs: { total: 5 } })];
    const finding = {
      id: "address-skew",
      summary: "s",
      stalls: [],
      confidence: "low" as const,
      evidence: {},
      nextStep: "n",
    };
    const diagnosis = { findings: [finding], causeBySeq: new Map(), healthy: false, notes: [] };
    expect(buildReport({ ...base, records, stalls: [], diagnosis }).healthy).toBe(false);
    expect(buildReport({ ...base, records, stalls: [] }).healthy).toBe(true);
  });
});
