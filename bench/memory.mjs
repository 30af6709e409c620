// Benchmark 4, memory. Each measurement is a process of its own
// (bench/memory-child.mjs, --expose-gc), RSS read after a full GC while the
// run's result is still held. See memory-child.mjs for what each mode is.
// The goal row is `runner-stream-real`: one million real requests through
// runProbes with retainRecords:false into a HistogramSet (the path a long
// report or the daemon takes); the retained path is kept beside it.
import { join } from "node:path";
import { fmt, mdTable, nodeJson, QUICK, ROOT, startServerProcess } from "./lib.mjs";

const CHILD = join(ROOT, "bench/memory-child.mjs");
const GOAL_MB = 150;

export async function benchMemory(log) {
  const big = QUICK ? 100_000 : 1_000_000;
  const real = QUICK ? 5_000 : 20_000;
  const server = await startServerProcess();
  const url = `${server.origin}/`;
  const cases = [
    {
      mode: "hist-synthetic",
      count: big,
      what: "HistogramSet.recordRecord alone (the constant-memory part), no network",
    },
    {
      mode: "runner-synthetic",
      count: big,
      what: "RETAINED: runProbes keeping every record (prober answers from memory)",
    },
    {
      mode: "runner-stream-synthetic",
      count: big,
      what: "STREAMED: runProbes retainRecords:false → onRecord → HistogramSet (prober answers from memory)",
    },
    {
      mode: "report-retained-synthetic",
      count: big,
      what: "BEFORE: report's path keeping every record object → stalls → diagnosis → Report (prober answers from memory)",
    },
    {
      mode: "report-store-synthetic",
      count: big,
      what: "report's path today: RecordCollector (histograms + columnar store) → stalls → diagnosis → Report (prober answers from memory)",
    },
    {
      mode: "runner-stream-real",
      count: big,
      what: "STREAMED: runProbes retainRecords:false → onRecord → HistogramSet, real requests, reuse, concurrency 8",
      timeoutMs: 1_200_000,
    },
    {
      key: "runner-stream-real-semi1",
      mode: "runner-stream-real",
      count: real,
      what: "as above with node --max-semi-space-size=1 (V8 young generation capped: what of RSS is V8 sizing)",
      nodeArgs: ["--max-semi-space-size=1"],
    },
    {
      mode: "runner-real",
      count: real,
      what: "RETAINED: runProbes, real requests, reuse, concurrency 8 (= `report --count N`)",
    },
    {
      mode: "stream-real",
      count: real,
      what: "prober → HistogramSet, records dropped (bench loop, NOT a stallwatch mode)",
    },
    { mode: "autocannon", count: real, what: "autocannon, 8 connections, same requests" },
  ];
  const results = [];
  try {
    for (const c of cases) {
      const out = await nodeJson(CHILD, [c.mode, url, String(c.count)], {
        nodeArgs: ["--expose-gc", "--max-old-space-size=6144", ...(c.nodeArgs ?? [])],
        timeoutMs: c.timeoutMs ?? 400_000,
      });
      results.push({ ...c, ...out, key: c.key ?? c.mode });
      log(`  memory: ${c.key ?? c.mode} ${c.count}: ${fmt(out.rssMB, 0)} MB RSS`);
    }
  } finally {
    await server.stop();
  }
  const rows = results.map((r) => [
    r.key,
    r.count.toLocaleString("en-US"),
    r.what,
    fmt(r.baselineRssMB, 0),
    fmt(r.rssMB, 0),
    fmt(r.maxRssMB, 0),
    fmt(r.heapUsedMB, 0),
    fmt(r.heapTotalMB, 0),
    fmt(r.externalMB, 0),
    r.heapBytesPerRecord !== undefined ? fmt(r.heapBytesPerRecord, 0) : "–",
    r.rssCheckpointsMB ? r.rssCheckpointsMB.map((x) => fmt(x, 0)).join(" → ") : "–",
  ]);
  const table = mdTable(
    [
      "mode",
      "requests",
      "what",
      "RSS at start MB",
      "RSS after MB",
      "peak RSS MB",
      "heap used MB",
      "heap total MB",
      "external MB",
      "heap bytes/record",
      "RSS at 25/50/75/100 %",
    ],
    rows,
  );
  const byMode = Object.fromEntries(results.map((r) => [r.key, r]));
  const perRecord = byMode["runner-real"]?.heapBytesPerRecord ?? Number.NaN;
  const goal = byMode["runner-stream-real"];
  return {
    table,
    figures: byMode,
    goalMB: GOAL_MB,
    big,
    real,
    projected1MMB: (perRecord * 1e6) / 2 ** 20,
    // The constant-memory path at `big` real requests against the goal.
    goalRssMB: goal?.rssMB,
    goalMet: goal ? goal.rssMB < GOAL_MB && goal.maxRssMB < GOAL_MB : undefined,
  };
}
