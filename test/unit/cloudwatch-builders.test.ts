/**
 * Pure CloudWatch builders against the PutMetricData limits (150 values,
 * 1000 metrics, 1 MB, 30 dimensions) and re-bucketing accuracy.
 */
import { describe, expect, it } from "vitest";
import { buildMetricPoints, type MetricContext, type MetricPoint } from "../../src/aws/metrics/points.js";
import {
  buildPutMetricDataInputs,
  MAX_REQUEST_BYTES,
  MetricLimitError,
  packPutMetricData,
  toMetricData,
  wireJson,
} from "../../src/aws/metrics/put.js";
import {
  chunkDistribution,
  countOf,
  MAX_RELATIVE_ERROR,
  percentileOf,
  rebucket,
} from "../../src/aws/metrics/rebucket.js";
import { METRICS } from "../../src/aws/metrics/registry.js";
import { type HistKey, HistogramSet, newHistogram } from "../../src/record/histograms.js";
import { Redactor } from "../../src/redact.js";

const ctx: MetricContext = { namespace: "Sw", storageResolutionS: 60 };
const key: HistKey = { api: "a", route: "r", endpoint: "/e", connection: "fresh", tag: "probe" };

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s + 0.5) / 2 ** 31;
  };
}

/** Distributions a prober sees: tight, wide log-normal, bimodal with stalls, and uniform over 1 µs–600 s in log space. */
const SHAPES: Record<string, (r: () => number) => number> = {
  tight: (r) => 20 + r() * 2,
  lognormal: (r) =>
    Math.exp(Math.log(50) + 1.2 * Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r())),
  stalls: (r) => (r() < 0.01 ? 5000 + r() * 3000 : 30 + r() * 20),
  logUniform: (r) => 10 ** (-3 + r() * 8.7),
};

describe("re-bucketing", () => {
  // Every 0.1 from 0.1 to 100, plus the far tail.
  const PCTS = [...Array.from({ length: 1000 }, (_, k) => (k + 1) / 10), 99.99, 99.999];
  for (const [name, gen] of Object.entries(SHAPES)) {
    it(`keeps every percentile within 1% of the histogram's (${name})`, () => {
      const h = newHistogram();
      const r = rng(name.length * 977);
      for (let i = 0; i < 50_000; i++) h.recordValue(Math.max(1, Math.round(gen(r) * 1000)));
      const d = rebucket(h);
      expect(countOf(d)).toBe(h.totalCount);
      expect(d.valuesMs.every((v) => v > 0)).toBe(true);
      expect(d.counts.every((c) => c > 0 && Number.isInteger(c))).toBe(true);
      const parts = chunkDistribution(d);
      expect(parts.every((p) => p.valuesMs.length <= 150)).toBe(true);
      let worst = 0;
      for (const p of PCTS) {
        const want = h.getValueAtPercentile(p) / 1000;
        const got = percentileOf(parts, p)!;
        worst = Math.max(worst, Math.abs(got - want) / want);
      }
      expect(worst).toBeLessThanOrEqual(0.01);
      expect(worst).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
    });
  }

  it("spreads more than 150 buckets over several datums with the same metric, dimensions and timestamp", () => {
    const set = new HistogramSet();
    const r = rng(3);
    for (let i = 0; i < 20_000; i++) set.recordValue(key, "total", SHAPES.logUniform!(r));
    const data = toMetricData(
      buildMetricPoints({ histograms: set, counts: [], timestampMs: 1_700_000_000_000 }, ctx),
      ctx,
    );
    const latency = data.filter((d) => d.MetricName === "Latency");
    expect(latency.length).toBeGreaterThan(2);
    for (const d of latency) {
      expect(d.Values!.length).toBeLessThanOrEqual(150);
      expect(d.Counts!.length).toBe(d.Values!.length);
      expect(d.Timestamp).toEqual(latency[0]!.Timestamp);
      expect(d.Dimensions).toEqual(latency[0]!.Dimensions);
      expect(d.Unit).toBe("Milliseconds");
    }
    expect(latency.reduce((s, d) => s + d.Counts!.reduce((a, b) => a + b, 0), 0)).toBe(20_000);
  });
});

describe("metric points", () => {
  it("pass every dimension value through the config's redactor", () => {
    const secret = "tok-0123456789";
    const set = new HistogramSet();
    set.recordValue({ ...key, endpoint: `/e?k=${secret}` }, "total", 10);
    const redactor = new Redactor({ secretValues: [secret] });
    const points = buildMetricPoints(
      {
        histograms: set,
        counts: [
          {
            api: "a",
            route: "r",
            endpoint: `/e?k=${secret}`,
            requests: 1,
            ok: 0,
            stalls: 0,
            failures: { reset: 1 },
          },
        ],
        timestampMs: 1_700_000_000_000,
      },
      { ...ctx, dimensions: { Prober: secret }, redact: (s) => redactor.redact(s) },
    );
    expect(points.length).toBeGreaterThan(3);
    expect(JSON.stringify(points)).not.toContain(secret);
    expect(
      points.every((p) => p.dimensions.some(([n, v]) => n === "Endpoint" && v === "/e?k=[REDACTED]")),
    ).toBe(true);
  });

  it("merges connection modes, keeps keep-warm apart, skips idle-sweep, counts failures by class", () => {
    const set = new HistogramSet();
    set.recordValue(key, "total", 10);
    set.recordValue({ ...key, connection: "reuse" }, "total", 20);
    set.recordValue(key, "dns", 1);
    set.recordValue({ ...key, tag: "keep-warm" }, "total", 30);
    set.recordValue({ ...key, tag: "idle-sweep" }, "total", 9999);
    const points = buildMetricPoints(
      {
        histograms: set,
        counts: [
          { api: "a", route: "r", endpoint: "/e", requests: 4, ok: 3, stalls: 0, failures: { reset: 1 } },
        ],
        timestampMs: 1_700_000_000_000,
      },
      { ...ctx, dimensions: { Prober: "p1", AZ: "use1-az1" } },
    );
    const by = (n: string): MetricPoint[] => points.filter((p) => p.def.name === n);
    expect(countOf(by("Latency")[0]!.distribution!)).toBe(2);
    expect(by("Latency")[0]!.distribution!.valuesMs.some((v) => v > 9000)).toBe(false);
    expect(by("KeepWarmLatency")).toHaveLength(1);
    expect(by("PhaseLatency").map((p) => p.dimensions.find(([k]) => k === "Phase")?.[1])).toEqual(["dns"]);
    expect(by("Failures")[0]!.value).toBe(1);
    expect(by("FailuresByClass").map((p) => p.dimensions.find(([k]) => k === "FailureClass")?.[1])).toEqual([
      "reset",
    ]);
    expect(by("Stalls")[0]!.value).toBe(0);
    expect(by("SuccessPercent")[0]!.value).toBe(75);
    expect(by("Requests")[0]!.dimensions.map(([k]) => k)).toEqual([
      "Api",
      "Route",
      "Endpoint",
      "Prober",
      "AZ",
    ]);
    for (const p of points) expect(p.def).toBe(Object.values(METRICS).find((m) => m.name === p.def.name));
  });

  it("publishes no SuccessPercent for a series without requests (no division by zero)", () => {
    const points = buildMetricPoints(
      {
        histograms: new HistogramSet(),
        counts: [{ api: "a", route: "r", endpoint: "/e", requests: 0, ok: 0, stalls: 0, failures: {} }],
        timestampMs: 0,
      },
      ctx,
    );
    expect(points.map((p) => p.def.name)).toEqual(["Requests", "Stalls", "Failures"]);
  });
});

describe("PutMetricData packing", () => {
  const datum = (i: number, values = 0) => ({
    MetricName: "M",
    Dimensions: [{ Name: "Api", Value: `api-${i}` }],
    Timestamp: new Date(1_700_000_000_000),
    ...(values > 0
      ? {
          Values: Array.from({ length: values }, (_, j) => 1000.123 + i + j / 7),
          Counts: Array.from({ length: values }, () => 12345),
        }
      : { Value: i }),
  });

  it("never puts more than 1000 metrics in one call", () => {
    const inputs = packPutMetricData(
      "Sw",
      Array.from({ length: 2500 }, (_, i) => datum(i)),
    );
    expect(inputs.map((i) => i.MetricData!.length)).toEqual([1000, 1000, 500]);
  });

  it("keeps every request body within 1 MB (measured on the serialised JSON)", () => {
    const data = Array.from({ length: 900 }, (_, i) => datum(i, 150));
    const inputs = packPutMetricData("Sw", data);
    expect(inputs.length).toBeGreaterThan(1);
    for (const input of inputs)
      expect(Buffer.byteLength(wireJson(input))).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(inputs.reduce((s, i) => s + i.MetricData!.length, 0)).toBe(900);
    // Greedy: every call but the last is nearly full.
    const first = Buffer.byteLength(wireJson(inputs[0]!));
    expect(first).toBeGreaterThan(MAX_REQUEST_BYTES * 0.98);
  });

  it("serialises Timestamp as epoch seconds, as the SDK's JSON codec does", () => {
    const json = JSON.parse(wireJson({ Namespace: "Sw", MetricData: [datum(1)] })) as {
      MetricData: { Timestamp: number }[];
    };
    expect(json.MetricData[0]!.Timestamp).toBe(1_700_000_000);
  });

  it("accepts 30 dimensions and refuses 31", () => {
    const point = (n: number): MetricPoint => ({
      def: METRICS.Requests,
      dimensions: Array.from({ length: n }, (_, i) => [`D${i}`, "v"] as [string, string]),
      timestampMs: 0,
      value: 1,
    });
    expect(buildPutMetricDataInputs([point(30)], ctx)[0]!.MetricData![0]!.Dimensions).toHaveLength(30);
    expect(() => buildPutMetricDataInputs([point(31)], ctx)).toThrow(MetricLimitError);
  });

  it("never sends a negative value, a zero count or an empty Values list", () => {
    const data = toMetricData(
      [
        { def: METRICS.Requests, dimensions: [], timestampMs: 0, value: -1 },
        { def: METRICS.Latency, dimensions: [], timestampMs: 0, distribution: { valuesMs: [], counts: [] } },
      ],
      ctx,
    );
    expect(data).toEqual([]);
  });
});
