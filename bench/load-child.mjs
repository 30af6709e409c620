// One measured load run in a process of its own; prints one JSON line.
//
//   node bench/load-child.mjs bare       <url> <fresh|reuse> <concurrency> <count>
//   node bench/load-child.mjs stallwatch <url> <fresh|reuse> <concurrency> <count> [stream]
//   node bench/load-child.mjs autocannon <url> <connections> <count>
//
// bare:       undici.request on a Pool (reuse) or a throwaway Client per request
//             (fresh, `reset: true`), `concurrency` workers, body consumed.
// stallwatch: the built prober through runProbes (with its event-loop lag
//             monitor), exactly as `stallwatch report` runs it; with a 5th
//             argument `stream`, records are streamed (retainRecords: false).
// autocannon: autocannon's programmatic API, `amount` = count.
// Each first runs a warm-up the same way (not measured): 2,000 requests over
// reused connections, 500 over fresh ones (env WARMUP overrides both), enough
// for either tool's hot path to be optimised by V8 before the clock starts.
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Client, Pool } from "undici";
import { DIST, quantile, target } from "./lib.mjs";

const [tool, url, ...rest] = process.argv.slice(2);
const warmupFor = (mode) => Number(process.env.WARMUP ?? (mode === "fresh" ? 500 : 2000));

function mem() {
  const u = process.resourceUsage();
  return { rssMB: process.memoryUsage().rss / 2 ** 20, maxRssMB: u.maxRSS / 1024 };
}

/** CPU time (user + system, µs) this process spent since `since` (a process.cpuUsage() value), per request. */
function cpuPerRequest(since, count) {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / count;
}

function summary(latMs, count, ok, durationMs, cpuUsPerReq) {
  return {
    count,
    ok,
    durationMs,
    cpuUsPerReq,
    rps: (count / durationMs) * 1000,
    p50Ms: quantile(latMs, 0.5),
    p90Ms: quantile(latMs, 0.9),
    p99Ms: quantile(latMs, 0.99),
    maxMs: Math.max(...latMs),
    ...mem(),
  };
}

async function bare(mode, concurrency, count) {
  const u = new URL(url);
  const path = u.pathname + u.search;
  const pool = mode === "reuse" ? new Pool(u.origin, { connections: concurrency }) : undefined;
  const once = async () => {
    const client = pool ?? new Client(u.origin, { pipelining: 1 });
    const t0 = performance.now();
    const res = await client.request({ path, method: "GET", reset: mode === "fresh" });
    for await (const _ of res.body) {
      /* consume */
    }
    const ms = performance.now() - t0;
    if (!pool) client.destroy().catch(() => undefined);
    return { ms, ok: res.statusCode === 200 };
  };
  const loop = async (n) => {
    const lat = new Float64Array(n);
    let next = 0;
    let ok = 0;
    const worker = async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await once();
        lat[i] = r.ms;
        if (r.ok) ok++;
      }
    };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    const durationMs = performance.now() - t0;
    return { lat: Array.from(lat), ok, durationMs, cpu: cpuPerRequest(cpu0, n) };
  };
  await loop(warmupFor(mode));
  const r = await loop(count);
  await pool?.close();
  return summary(r.lat, count, r.ok, r.durationMs, r.cpu);
}

async function stallwatch(mode, concurrency, count, stream) {
  const { createProber } = await import(join(DIST, "probe/prober.js"));
  const { runProbes } = await import(join(DIST, "probe/runner.js"));
  const { createLagMonitor } = await import(join(DIST, "probe/lag.js"));
  const { systemClock } = await import(join(DIST, "clock.js"));
  const lag = createLagMonitor({ clock: systemClock });
  const prober = createProber({
    maxBodyBytes: 1 << 20,
    insecureTls: false,
    userAgent: "stallwatch-bench",
    lagMonitor: lag,
  });
  const t = target(url);
  // Streamed: records reach onRecord only (retainRecords: false); what the
  // summary needs is kept in a typed array, as a histogram would keep it.
  let lat;
  let ok = 0;
  let reused = 0;
  const onRecord = (r) => {
    if (!lat) return;
    lat[r.seq] = r.phasesMs.total ?? Number.NaN;
    if (r.ok) ok++;
    if (r.reused) reused++;
  };
  const go = (n) =>
    runProbes(
      [t],
      { count: n, concurrency, connection: mode, tag: "probe", retainRecords: !stream },
      { prober, clock: systemClock, lag, ...(stream ? { onRecord } : {}) },
    );
  await go(warmupFor(mode));
  if (stream) lat = new Float64Array(count);
  const cpu0 = process.cpuUsage();
  const run = await go(count);
  const cpu = cpuPerRequest(cpu0, count);
  await prober.close();
  if (!stream) {
    lat = run.records.map((r) => r.phasesMs.total ?? Number.NaN);
    ok = run.records.filter((r) => r.ok).length;
    reused = run.records.filter((r) => r.reused).length;
  }
  const out = summary(Array.from(lat), count, ok, run.durationMs, cpu);
  out.reused = reused;
  return out;
}

async function cannon(connections, count) {
  const { default: autocannon } = await import("autocannon");
  const go = (amount) =>
    new Promise((resolve, reject) =>
      autocannon({ url, connections, amount, timeout: 10 }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  await go(warmupFor("reuse"));
  const t0 = performance.now();
  const r = await go(count);
  const durationMs = performance.now() - t0;
  const l = r.latency;
  return {
    count: r.requests.total,
    ok: r["2xx"],
    durationMs,
    rps: (r.requests.total / durationMs) * 1000,
    // autocannon's histogram holds whole milliseconds.
    p50Ms: l.p50,
    p90Ms: l.p90,
    p99Ms: l.p99,
    maxMs: l.max,
    errors: r.errors + r.timeouts,
    ...mem(),
  };
}

let result;
if (tool === "bare") result = await bare(rest[0], Number(rest[1]), Number(rest[2]));
else if (tool === "stallwatch")
  result = await stallwatch(rest[0], Number(rest[1]), Number(rest[2]), rest[3] === "stream");
else if (tool === "autocannon") result = await cannon(Number(rest[0]), Number(rest[1]));
else throw new Error(`unknown tool ${tool}`);
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
