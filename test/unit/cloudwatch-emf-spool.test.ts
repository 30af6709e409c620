/**
 * EMF lines (limits, fidelity), the disk spool (order, expiry, bound, bad
 * files) and lazy loading of the AWS SDK.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildEmfLines, EMF_MAX_VALUES, expandDistribution } from "../../src/aws/metrics/emf.js";
import { buildMetricPoints, type MetricContext, type MetricPoint } from "../../src/aws/metrics/points.js";
import { MetricsPublisher } from "../../src/aws/metrics/publisher.js";
import { percentileOf, rebucket } from "../../src/aws/metrics/rebucket.js";
import { METRICS } from "../../src/aws/metrics/registry.js";
import { type LogFn, MAX_DATUM_AGE_MS, MetricSpool } from "../../src/aws/metrics/spool.js";
import { HistogramSet } from "../../src/record/histograms.js";

const ctx: MetricContext = { namespace: "Sw", storageResolutionS: 60, dimensions: { Prober: "p1" } };
const key = { api: "a", route: "r", endpoint: "/e", connection: "fresh" as const, tag: "probe" as const };

type EmfDoc = {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
  };
} & Record<string, unknown>;

describe("EMF", () => {
  it("expands Values by Counts into ≤100-sample arrays whose percentiles equal the re-bucketed ones", () => {
    const set = new HistogramSet();
    for (let i = 0; i < 1234; i++) set.recordValue(key, "total", 10 + (i % 300) * 1.7);
    const points = buildMetricPoints(
      {
        histograms: set,
        counts: [{ api: "a", route: "r", endpoint: "/e", requests: 1234, ok: 1234, stalls: 0, failures: {} }],
        timestampMs: 1_700_000_000_000,
      },
      ctx,
    );
    const lines = buildEmfLines(points, ctx).map((l) => JSON.parse(l) as EmfDoc);
    const latency = lines.filter((d) => Array.isArray(d.Latency)).flatMap((d) => d.Latency as number[]);
    expect(latency).toHaveLength(1234);
    for (const d of lines) {
      for (const v of Object.values(d))
        if (Array.isArray(v)) expect(v.length).toBeLessThanOrEqual(EMF_MAX_VALUES);
      const dir = d._aws.CloudWatchMetrics[0]!;
      expect(dir.Metrics.length).toBeLessThanOrEqual(100);
      expect(dir.Namespace).toBe("Sw");
      for (const dim of dir.Dimensions[0]!) expect(typeof d[dim]).toBe("string");
      for (const m of dir.Metrics) expect(d[m.Name]).toBeDefined();
    }
    const dist = rebucket(set.get(key, "total")!);
    const sorted = [...latency].sort((a, b) => a - b);
    for (const p of [50, 90, 99]) {
      expect(sorted[Math.ceil((p / 100) * sorted.length) - 1]).toBe(percentileOf([dist], p));
    }
    // Count metrics appear once, on the first line of their dimension set.
    expect(lines.filter((d) => d.Requests !== undefined).map((d) => d.Requests)).toEqual([1234]);
  });

  it("splits more than 100 metric definitions over several directives", () => {
    const points: MetricPoint[] = Array.from({ length: 150 }, (_, i) => ({
      def: { ...METRICS.Requests, name: `M${i}` },
      dimensions: [["Api", "a"]],
      timestampMs: 0,
      value: i,
    }));
    const lines = buildEmfLines(points, ctx).map((l) => JSON.parse(l) as EmfDoc);
    expect(lines.map((d) => d._aws.CloudWatchMetrics[0]!.Metrics.length)).toEqual([100, 50]);
  });

  it("downsamples above the cap but keeps every bucket (tail survives)", () => {
    const d = { valuesMs: [10, 20, 9000], counts: [50_000, 49_999, 1] };
    const s = expandDistribution(d, 1000);
    expect(s.length).toBeLessThanOrEqual(1001);
    expect(s).toContain(9000);
    expect(expandDistribution(d)).toHaveLength(10_001);
  });

  it("writes lines through the publisher in emf mode, without a CloudWatch client", async () => {
    const out: string[] = [];
    const set = new HistogramSet();
    set.recordValue(key, "total", 12);
    const pub = new MetricsPublisher({ mode: "emf", ctx, log: () => undefined, write: (l) => out.push(l) });
    const r = await pub.publishRound({ histograms: set, counts: [], timestampMs: 5 });
    expect(r.emfLines).toBe(1);
    const [v] = JSON.parse(out[0]!).Latency as number[];
    expect(Math.abs(v! - 12) / 12).toBeLessThanOrEqual(0.01);
  });
});

describe("metric spool", () => {
  let dir: string;
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const log: LogFn = (level, msg, fields) => logs.push({ level, msg, ...(fields ? { fields } : {}) });
  let now = 1_700_000_000_000;
  const input = (ts: number, n = 1) => ({
    Namespace: "Sw",
    MetricData: Array.from({ length: n }, (_, i) => ({ MetricName: "M", Value: i, Timestamp: new Date(ts) })),
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sw-spool-u-"));
    logs.length = 0;
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("returns batches oldest first, with Dates restored, to a new instance (restart)", async () => {
    const a = new MetricSpool(dir, 1e6, log, () => now);
    await a.put(input(now));
    now += 1000;
    await a.put(input(now, 2));
    const b = new MetricSpool(dir, 1e6, log, () => now);
    const list = await b.list();
    expect(list.map((x) => x.input.MetricData!.length)).toEqual([1, 2]);
    expect(list[0]!.input.MetricData![0]!.Timestamp).toBeInstanceOf(Date);
    await b.remove(list[0]!.file);
    expect(await b.list()).toHaveLength(1);
  });

  it("drops datums older than two weeks, logging how many", async () => {
    const s = new MetricSpool(dir, 1e6, log, () => now);
    await s.put({
      Namespace: "Sw",
      MetricData: [...input(now - MAX_DATUM_AGE_MS - 1).MetricData, ...input(now).MetricData],
    });
    await s.put(input(now - MAX_DATUM_AGE_MS - 1, 3));
    const list = await s.list();
    expect(list).toHaveLength(1);
    expect(list[0]!.input.MetricData).toHaveLength(1);
    expect(s.stats.expiredDatums).toBe(4);
    expect(logs.filter((l) => l.msg.includes("2-week")).map((l) => l.fields?.expiredDatums)).toEqual([1, 3]);
  });

  it("refuses a batch when full, loudly, and the publisher counts it lost when the direct send fails", async () => {
    const s = new MetricSpool(dir, 1024, log, () => now);
    expect(await s.put(input(now, 3))).toBeDefined();
    expect(await s.put(input(now, 30))).toBeUndefined();
    expect(s.stats.refusedBatches).toBe(1);
    expect(logs.some((l) => l.level === "error" && l.msg.includes("spool full"))).toBe(true);

    const pub = new MetricsPublisher({
      mode: "api",
      ctx,
      log,
      spool: s,
      put: () => Promise.reject(Object.assign(new Error("down"), { name: "Throttling" })),
    });
    const set = new HistogramSet();
    for (let i = 0; i < 200; i++) set.recordValue(key, "total", i + 1);
    const r = await pub.publishRound({ histograms: set, counts: [], timestampMs: now });
    expect(r.droppedDatums).toBeGreaterThan(0);
    expect(pub.droppedDatums).toBe(r.droppedDatums);
    expect(logs.some((l) => l.msg.includes("LOST"))).toBe(true);
  });

  it("sets an unreadable file aside as .bad instead of deleting it", async () => {
    const s = new MetricSpool(dir, 1e6, log, () => now);
    await writeFile(join(dir, "000001700000000-000000-0123456789abcdef.json"), "{not json");
    expect(await s.list()).toEqual([]);
    expect(s.stats.badFiles).toBe(1);
    expect(await readdir(dir)).toContain("000001700000000-000000-0123456789abcdef.json.bad");
  });
});

describe("lazy AWS SDK loading", () => {
  it("no source file imports an AWS SDK module at the top level except as `import type`", async () => {
    const files = await listTs(join(import.meta.dirname, "../../src"));
    const offenders: string[] = [];
    for (const f of files) {
      const text = await readFile(f, "utf8");
      for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+["'](@aws-sdk\/[^"']+)["']/gms)) {
        offenders.push(`${f}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

async function listTs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listTs(p)));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}
