/**
 * Publishing through an outage with the real SDK and the disk spool:
 * endpoint refusing connections for several rounds, then 503s, then
 * throttling, then recovery, with a process "restart" in the middle. Every
 * datum must arrive exactly once, and the SDK's own retry must absorb a
 * single 5xx within a round.
 */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudWatchClient, MetricDatum } from "@aws-sdk/client-cloudwatch";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCloudWatchClient } from "../../src/aws/clients.js";
import { buildMetricPoints, type RoundMetrics, type SeriesCounts } from "../../src/aws/metrics/points.js";
import { cloudWatchPut, MetricsPublisher, type PublishResult } from "../../src/aws/metrics/publisher.js";
import { toMetricData } from "../../src/aws/metrics/put.js";
import { type LogFn, MetricSpool } from "../../src/aws/metrics/spool.js";
import { type CloudWatchLab, createCloudWatchLab } from "../../src/lab/aws/cloudwatch.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import { HistogramSet } from "../../src/record/histograms.js";

const ctx = { namespace: "SwSpool", storageResolutionS: 60 as const };
let lab: AwsLab;
let cw: CloudWatchLab;
let dir: string;
const clients: CloudWatchClient[] = [];
const logs: { level: string; msg: string }[] = [];
const log: LogFn = (level, msg) => logs.push({ level, msg });

beforeEach(async () => {
  cw = createCloudWatchLab();
  lab = await startAwsLab({ handlers: [cw] });
  dir = await mkdtemp(join(tmpdir(), "sw-spool-"));
  logs.length = 0;
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await lab.close();
  await rm(dir, { recursive: true, force: true });
});

async function publisher(maxAttempts: number): Promise<MetricsPublisher> {
  const client = await createCloudWatchClient({
    endpoint: lab.url,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLAB", secretAccessKey: "x" },
    maxAttempts,
    connectionTimeoutMs: 1000,
    requestTimeoutMs: 3000,
  });
  clients.push(client);
  return new MetricsPublisher({
    mode: "api",
    ctx,
    log,
    spool: new MetricSpool(dir, 8 * 1024 * 1024, log),
    put: cloudWatchPut(client),
    callDeadlineMs: 10_000,
  });
}

function round(i: number): RoundMetrics {
  const histograms = new HistogramSet();
  const key = { api: "a", route: "r", endpoint: "/e", connection: "fresh" as const, tag: "probe" as const };
  for (let j = 0; j < 50; j++) histograms.recordValue(key, "total", 10 + j + i);
  const counts: SeriesCounts[] = [
    { api: "a", route: "r", endpoint: "/e", requests: 50, ok: 49, stalls: i % 2, failures: { reset: 1 } },
  ];
  // One round per minute, in the recent past: each round's datums are distinguishable by timestamp.
  return { histograms, counts, timestampMs: Date.now() - 3_600_000 + i * 60_000 };
}

/** A datum's identity: metric, dimensions, timestamp and payload. */
interface DatumLike {
  MetricName?: string | undefined;
  Dimensions?: { Name?: string | undefined; Value?: string | undefined }[] | undefined;
  Timestamp?: Date | number | undefined;
  Values?: number[] | undefined;
  Counts?: number[] | undefined;
  Value?: number | undefined;
}
function id(d: DatumLike): string {
  const ts = d.Timestamp instanceof Date ? d.Timestamp.getTime() : (d.Timestamp ?? 0);
  const dims = (d.Dimensions ?? [])
    .map((x) => `${x.Name}=${x.Value}`)
    .sort()
    .join(",");
  return `${d.MetricName}|${dims}|${Math.round(ts)}|${JSON.stringify(d.Values ?? d.Value)}|${JSON.stringify(d.Counts ?? null)}`;
}

describe("metric spool through an outage (real SDK, lab endpoint)", () => {
  it("delivers every datum exactly once: refused → 503 → throttled → restart → recovered", async () => {
    const expected: MetricDatum[] = [];
    let pub = await publisher(2);
    const results: PublishResult[] = [];
    let i = 0;
    const next = async (): Promise<void> => {
      const r = round(i++);
      expected.push(...toMetricData(buildMetricPoints(r, ctx), ctx));
      results.push(await pub.publishRound(r));
    };

    await lab.faults.down("refuse");
    for (let k = 0; k < 3; k++) await next();
    expect(results.map((r) => r.pendingBatches)).toEqual([1, 2, 3]);
    expect(cw.metrics.datums).toHaveLength(0);
    expect(logs.some((l) => l.level === "warn" && l.msg.includes("stay spooled"))).toBe(true);

    await lab.faults.up();
    await lab.faults.down("503", "cloudwatch");
    await next();
    expect(results.at(-1)?.pendingBatches).toBe(4);
    expect(results.at(-1)?.error?.name).toBeDefined();
    await lab.faults.up();

    // Two throttles, two attempts per call: this round's first batch fails after the SDK's own retry.
    lab.faults.throttle(2, "cloudwatch");
    await next();
    expect(results.at(-1)?.error?.name).toBe("Throttling");
    expect(results.at(-1)?.pendingBatches).toBe(5);
    expect(cw.metrics.datums).toHaveLength(0);

    // Restart: a new publisher over the same spool directory sends the backlog, oldest first.
    pub = await publisher(2);
    const flushed = await pub.flush();
    expect(flushed.sentBatches).toBe(5);
    expect(flushed.pendingBatches).toBe(0);
    await next();
    expect(results.at(-1)?.sentBatches).toBe(1);

    const got = new Map<string, number>();
    for (const d of cw.metrics.datums) {
      const key = id({
        MetricName: d.metricName,
        Dimensions: d.dimensions,
        Timestamp: d.timestampMs,
        ...(d.counts.length === 1 && !expected.some((e) => e.MetricName === d.metricName && e.Values)
          ? { Value: d.values[0] }
          : { Values: d.values, Counts: d.counts }),
      });
      got.set(key, (got.get(key) ?? 0) + 1);
    }
    const want = new Map<string, number>();
    for (const d of expected) want.set(id(d), (want.get(id(d)) ?? 0) + 1);
    expect(want.size).toBeGreaterThan(20);
    expect(got).toEqual(want);
    // Oldest first: stored timestamps never go backwards.
    const ts = cw.metrics.datums.map((d) => d.timestampMs);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
    expect((await readdir(dir)).filter((f) => f.endsWith(".json"))).toEqual([]);
  });

  it("lets the SDK retry a single 5xx inside one round (two attempts reach the endpoint)", async () => {
    const pub = await publisher(3);
    lab.faults.fail5xx(1, "cloudwatch");
    const before = lab.faults.calls.get("cloudwatch") ?? 0;
    const r = await pub.publishRound(round(0));
    expect(r.sentBatches).toBe(1);
    expect(r.pendingBatches).toBe(0);
    expect((lab.faults.calls.get("cloudwatch") ?? 0) - before).toBe(2);
  });

  it("sets aside a batch CloudWatch rejects as invalid instead of resending it forever", async () => {
    const pub = await publisher(1);
    const r = await pub.publishRound({ ...round(0), timestampMs: Date.now() + 5 * 3_600_000 });
    expect(r.rejectedBatches).toBe(1);
    expect(r.pendingBatches).toBe(0);
    expect(await readdir(join(dir, "rejected"))).toHaveLength(1);
    expect(logs.some((l) => l.level === "error" && l.msg.includes("rejected"))).toBe(true);
  });
});
