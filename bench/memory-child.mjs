// One memory measurement in a process of its own (run with --expose-gc);
// prints one JSON line. RSS in MiB.
//
//   node --expose-gc bench/memory-child.mjs runner-real     <url> <count>
//       runProbes (reuse, concurrency 8) against the bench server: what
//       `stallwatch report --count N` holds, since the runner keeps every record.
//   node --expose-gc bench/memory-child.mjs runner-synthetic <url> <count>
//       runProbes with a prober that answers from memory with a copy of one
//       real record (fresh objects, shared strings): the runner's record
//       retention alone, at 1M without the network's time.
//   node --expose-gc bench/memory-child.mjs runner-stream-real      <url> <count>
//   node --expose-gc bench/memory-child.mjs runner-stream-synthetic <url> <count>
//       runProbes (reuse, concurrency 8) with retainRecords:false and a
//       HistogramSet fed from onRecord: the constant-memory path a long
//       report or the daemon uses. -real against the bench server,
//       -synthetic with the from-memory prober above. RSS sampled at
//       25/50/75/100 %; after the run, process.memoryUsage() after a full GC
//       split into heap used / external / array buffers.
//   node --expose-gc bench/memory-child.mjs stream-real     <url> <count>
//       NOT a stallwatch mode: the bench's own loop of prober.probe() into a
//       HistogramSet, records dropped: shows the prober + histograms path is
//       constant-memory (RSS sampled at 25/50/75/100 %).
//   node --expose-gc bench/memory-child.mjs hist-synthetic  <url> <count>
//       HistogramSet.recordRecord alone for count copies of one real record.
//   node --expose-gc bench/memory-child.mjs report-store-synthetic    <url> <count>
//   node --expose-gc bench/memory-child.mjs report-retained-synthetic <url> <count>
//       What `stallwatch report` holds from probe to finished Report, with the
//       from-memory prober: -store is today's path (each record streamed once
//       into a RecordCollector: histograms + columnar store; stall rule,
//       diagnosis and buildReport read the store); -retained is the path
//       before it (the runner keeps every record object; the same steps read
//       the array). Peak RSS is process.resourceUsage().maxRSS.
//   node --expose-gc bench/memory-child.mjs autocannon      <url> <count>
//       autocannon, 8 connections, amount = count.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DIST, target } from "./lib.mjs";

const [mode, url, countArg] = process.argv.slice(2);
const count = Number(countArg);
const MiB = 2 ** 20;

const rss = () => process.memoryUsage().rss / MiB;
const maxRss = () => process.resourceUsage().maxRSS / 1024;
/** Linux only: RSS split into anonymous memory (heaps, malloc) and file-backed pages (the node binary, shared). */
function rssSplit() {
  try {
    const status = readFileSync("/proc/self/status", "utf8");
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) / 1024;
    return { rssAnonMB: kb("RssAnon"), rssFileMB: kb("RssFile") };
  } catch {
    return {};
  }
}
function settled() {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return {
    ...rssSplit(),
    rssMB: m.rss / MiB,
    heapUsedMB: m.heapUsed / MiB,
    heapTotalMB: m.heapTotal / MiB,
    externalMB: m.external / MiB,
    arrayBuffersMB: m.arrayBuffers / MiB,
  };
}

// Each mode loads only what it uses, so "RSS at start" is its own baseline.
const cannon = mode === "autocannon";
const { createProber } = cannon ? {} : await import(join(DIST, "probe/prober.js"));
const { runProbes } = cannon ? {} : await import(join(DIST, "probe/runner.js"));
const { createLagMonitor } = cannon ? {} : await import(join(DIST, "probe/lag.js"));
const { systemClock } = cannon ? {} : await import(join(DIST, "clock.js"));
const { HistogramSet } = cannon ? {} : await import(join(DIST, "record/histograms.js"));
const { default: autocannon } = cannon ? await import("autocannon") : {};

const t = target(url);
const newProber = (lag) =>
  createProber({ maxBodyBytes: 1 << 20, insecureTls: false, userAgent: "stallwatch-bench", lagMonitor: lag });

/**
 * A prober answering from memory, building each record with the real
 * prober's own `toOutcome` and `judge` (dist/probe/result.js) from facts shaped
 * like a real exchange's (timestamps, connection, status, response headers):
 * the same objects, shapes and sharing as a real record, without the
 * network's time. (An object spread of a template record was ~4× larger in
 * memory than a real record, and overstated the retained path.)
 */
async function syntheticProber() {
  const { judge, toOutcome } = await import(join(DIST, "probe/result.js"));
  const conn = {
    remoteAddress: "127.0.0.1",
    remotePort: Number(new URL(url).port),
    remoteFamily: "IPv4",
    localAddress: "127.0.0.1",
    localPort: 40000,
  };
  const ro = { connection: "reuse" };
  let i = 0;
  return {
    probe: async () => {
      const start = 1_000 + i;
      const total = 0.3 * (1 + (i % 1000) / 100);
      i++;
      const ctx = {
        t: {
          start,
          sent: start + 0.01,
          firstByte: start + total * 0.8,
          headers: start + total * 0.85,
          end: start + total,
        },
        conn,
        reused: true,
        socketIdleMs: 0.05 + (i % 7) / 100,
      };
      const state = {
        status: 200,
        headers: {
          "content-type": "application/json",
          "content-length": "15",
          date: "x",
          connection: "keep-alive",
        },
        bytes: 15,
        bodyDone: true,
        tooLarge: false,
      };
      return toOutcome(t, ctx, state, 1_700_000_000_000 + i, ro, judge(undefined, state), 0.2);
    },
    close: async () => undefined,
  };
}

const baseline = settled().rssMB;
const out = { mode, count, baselineRssMB: baseline };

if (mode === "runner-real" || mode === "runner-synthetic") {
  const lag = createLagMonitor({ clock: systemClock });
  const prober = mode === "runner-real" ? newProber(lag) : await syntheticProber();
  const run = await runProbes(
    [t],
    { count, concurrency: 8, connection: "reuse", tag: "probe" },
    { prober, clock: systemClock, lag },
  );
  await prober.close();
  out.records = run.records.length;
  out.ok = run.records.filter((r) => r.ok).length;
  out.durationMs = run.durationMs;
  Object.assign(out, settled(), { maxRssMB: maxRss() });
  run.records.length = 0;
  const dropped = settled();
  out.afterDropRssMB = dropped.rssMB;
  out.heapBytesPerRecord = ((out.heapUsedMB - dropped.heapUsedMB) * MiB) / Math.max(1, out.records);
} else if (mode === "runner-stream-real" || mode === "runner-stream-synthetic") {
  const lag = createLagMonitor({ clock: systemClock });
  const prober = mode === "runner-stream-real" ? newProber(lag) : await syntheticProber();
  const hist = new HistogramSet();
  const checkpoints = [];
  const every = Math.max(1, Math.floor(count / 4));
  let seen = 0;
  let ok = 0;
  const run = await runProbes(
    [t],
    { count, concurrency: 8, connection: "reuse", tag: "probe", retainRecords: false },
    {
      prober,
      clock: systemClock,
      lag,
      onRecord: (r) => {
        hist.recordRecord(r);
        if (r.ok) ok++;
        if (++seen % every === 0) checkpoints.push(Number(rss().toFixed(1)));
      },
    },
  );
  await prober.close();
  out.records = seen;
  out.retained = run.records.length;
  out.ok = ok;
  out.durationMs = run.durationMs;
  out.rssBeforeGcMB = rss();
  out.rssCheckpointsMB = checkpoints;
  Object.assign(out, settled(), { maxRssMB: maxRss() });
} else if (mode === "report-store-synthetic" || mode === "report-retained-synthetic") {
  const { RecordCollector } = await import(join(DIST, "app/records.js"));
  const { detectStalls } = await import(join(DIST, "diagnose/stalls.js"));
  const { diagnose } = await import(join(DIST, "diagnose/diagnose.js"));
  const { buildReport } = await import(join(DIST, "report/build.js"));
  const lag = createLagMonitor({ clock: systemClock });
  const prober = await syntheticProber();
  const streamed = mode === "report-store-synthetic";
  const collector = new RecordCollector({ streamHistograms: true });
  const run = await runProbes(
    [t],
    { count, concurrency: 8, connection: "reuse", tag: "probe", retainRecords: !streamed },
    { prober, clock: systemClock, lag, ...(streamed ? { onRecord: (r, ts) => collector.add(r, ts) } : {}) },
  );
  await prober.close();
  // Peak RSS so far at the end of each step (maxRSS never goes down).
  const peaks = { probedMB: maxRss() };
  const records = streamed ? collector.finish() : run.records;
  // As runPipeline does: the store's sealed chunks written out before the readers start.
  if (streamed) await records.spillSettled();
  const stalls = detectStalls(records);
  peaks.stallsMB = maxRss();
  const diagnosis = diagnose({ records, stalls, lag: run.lag });
  peaks.diagnosedMB = maxRss();
  const report = buildReport({
    records,
    stalls,
    diagnosis,
    lag: run.lag,
    source: { kind: "live" },
    options: {},
    ...(streamed ? { histograms: collector.histograms() } : {}),
  });
  out.records = records.length;
  out.requests = report.totals.requests;
  out.stalls = report.totals.stalls;
  out.durationMs = run.durationMs;
  if (streamed) out.materialized = records.materialized;
  peaks.reportMB = maxRss();
  out.peaks = peaks;
  Object.assign(out, settled(), { maxRssMB: maxRss() });
} else if (mode === "stream-real") {
  const lag = createLagMonitor({ clock: systemClock });
  lag.start();
  const prober = newProber(lag);
  const hist = new HistogramSet();
  const checkpoints = [];
  let next = 0;
  let ok = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const o = await prober.probe(t, { connection: "reuse" });
      if (o.ok) ok++;
      hist.recordRecord({ ...o, seq: i, seriesSeq: i, tag: "probe" });
      if ((i + 1) % Math.floor(count / 4) === 0) checkpoints.push(Number(rss().toFixed(1)));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  out.durationMs = performance.now() - t0;
  lag.stop();
  await prober.close();
  out.ok = ok;
  out.rssCheckpointsMB = checkpoints;
  Object.assign(out, settled(), { maxRssMB: maxRss() });
} else if (mode === "hist-synthetic") {
  const synthetic = await syntheticProber();
  const hist = new HistogramSet();
  const checkpoints = [];
  for (let i = 0; i < count; i++) {
    const r = await synthetic.probe();
    r.tag = "probe";
    hist.recordRecord(r);
    if ((i + 1) % Math.floor(count / 4) === 0) checkpoints.push(Number(rss().toFixed(1)));
  }
  out.rssCheckpointsMB = checkpoints;
  Object.assign(out, settled(), { maxRssMB: maxRss() });
} else if (mode === "autocannon") {
  const r = await new Promise((resolve, reject) =>
    autocannon({ url, connections: 8, amount: count, timeout: 10 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
  out.ok = r["2xx"];
  out.durationMs = r.duration * 1000;
  Object.assign(out, settled(), { maxRssMB: maxRss() });
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
