// Benchmark (not a test): a week of one-minute rounds for 8 series
// (10,080 rounds × 8 series × SAMPLES records) written through the built store,
// then read back into intervals and merged histograms. Prints time and peak RSS.
// Intervals count stalls with the stall rule `report --from` uses (the default rule; detectStalls over records,
// stallCounter over histograms). Mode `hlog` is the first pass of a user's `report --from DIR --since 7d`: the
// .hlog alone, no record parsed; `slim` is the same read from the records (what that pass did before).
// Usage: npm run build && node bench/store-week.mjs [samplesPerSeries=3] [mode=all|slim|hlog]
// STORE_WEEK_DIR=DIR keeps the generated week in DIR and reuses it when DIR already holds one (time each mode
// in its own process without writing the week again). STORE_WEEK_CRON=1 writes each round from a writer of its
// own, as `stallwatch run` from cron does (one records file and one .hlog a round, no rollup);
// STORE_WEEK_ROUNDS=N writes N rounds instead of a week's 10,080.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_STALL_RULE, detectStalls, stallCounter } from "../dist/diagnose/stalls.js";
import { PHASES } from "../dist/model.js";
import { readHistory } from "../dist/record/history.js";
import { openStore } from "../dist/record/store.js";

const samples = Number(process.argv[2] ?? 3);
const modes = process.argv[3] ? [process.argv[3]] : ["all", "slim", "hlog"];
const ROUNDS = Number(process.env.STORE_WEEK_ROUNDS ?? 7 * 24 * 60);
const cron = process.env.STORE_WEEK_CRON === "1";
const SERIES = Array.from({ length: 8 }, (_, i) => `endpoint-${i}`);
const keepDir = process.env.STORE_WEEK_DIR;
if (keepDir) mkdirSync(keepDir, { recursive: true });
const dir = keepDir ?? mkdtempSync(join(tmpdir(), "sw-week-"));
const reuse = keepDir !== undefined && existsSync(keepDir) && readdirSync(keepDir).length > 0;
let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
const timer = setInterval(sample, 20);

const start = Date.UTC(2026, 10, 1);
let seq = 0;
const t0 = performance.now();
if (reuse) console.log(`reusing the week in ${dir}`);
else await generate();
async function generate() {
  const open = (writerId) =>
    openStore({
      dir,
      fsync: false,
      clock: { now: () => performance.now(), wallMs: () => start },
      ...(writerId ? { writerId } : {}),
    });
  let store = cron ? undefined : await open();
  for (let id = 1; id <= ROUNDS; id++) {
    if (cron) store = await open(`cron-${id}`);
    const at = start + (id - 1) * 60_000;
    const recs = [];
    for (const endpoint of SERIES) {
      for (let i = 0; i < samples; i++) {
        const stall = seq % 997 === 0;
        const total = stall ? 3000 + (seq % 100) : 20 + (seq % 17);
        recs.push({
          atMs: at + i * 50,
          seq,
          seriesSeq: i,
          api: "shop",
          route: "execute-api",
          endpoint,
          method: "GET",
          url: `https://api.example.invalid/${endpoint}`,
          tag: "probe",
          connection: i === 0 ? "fresh" : "reuse",
          phasesMs: {
            dns: 1.2,
            connect: stall ? 3001 : 2.1,
            tls: 6.3,
            ttfb: total - 10,
            transfer: 0.4,
            total,
          },
          status: 200,
          bytes: 512,
          remoteAddress: "10.0.1.17",
          remotePort: 443,
          reused: i > 0,
          assertions: [{ name: "status", ok: true, expected: 200, actual: 200 }],
          hopHeaders: { "x-amzn-requestid": `r-${seq}`, "x-amz-apigw-id": `a${seq}` },
          requestId: `r-${seq}`,
          ok: true,
        });
        seq++;
      }
    }
    await store.writeRound(
      {
        id,
        kind: "probe",
        scheduledAtMs: at,
        startedAtMs: at,
        endedAtMs: at + 700,
        latenessMs: 2,
        skipped: 0,
      },
      recs,
    );
    if (cron) await store.close();
  }
  if (!cron) await store.close();
  const writeS = (performance.now() - t0) / 1000;
  const { execSync } = await import("node:child_process");
  const size = execSync(`du -sh ${dir}`).toString().split("\t")[0];
  console.log(
    `generated ${ROUNDS} rounds × ${SERIES.length} series × ${samples} samples = ${seq} records in ${writeS.toFixed(1)} s (no fsync); on disk ${size}`,
  );
}

/**
 * What the modes must agree on: every merged series × phase (count, min, p50, p99, p99.9), and every interval's
 * series, count, failures and stalls (`timelineDigest`). Not the max: an encoded histogram keeps the max's bucket,
 * so `.hlog` histograms hold the top of that bucket where the records path holds the value itself (`maxDigest`
 * tells the two .hlog builds apart). Nor the intervals' percentiles: the `.hlog` timeline takes them from the
 * histograms (the bucket's highest equivalent value, ≤0.1% above); their sum is printed to compare.
 */
function digest(h) {
  const parts = [];
  for (const { key, phases } of h.histograms.series()) {
    for (const phase of PHASES) {
      const x = phases.get(phase);
      if (x)
        parts.push(
          `${key.endpoint}/${key.connection}/${phase}:${x.totalCount},${x.minNonZeroValue},${x.getValueAtPercentile(50)},${x.getValueAtPercentile(99)},${x.getValueAtPercentile(99.9)}`,
        );
    }
  }
  return hash(parts);
}

function timelineDigest(h) {
  return hash(
    h.intervals.map(
      (iv) => `${iv.endpoint}/${iv.connection}@${iv.startMs}:${iv.count},${iv.failures},${iv.stalls}`,
    ),
  );
}

function maxDigest(h) {
  const parts = [];
  for (const { phases } of h.histograms.series())
    for (const x of phases.values()) parts.push(String(x.maxValue));
  return hash(parts);
}

function hash(parts) {
  let x = 0;
  for (const c of parts.join("\n")) x = (Math.imul(x, 31) + c.charCodeAt(0)) | 0;
  return (x >>> 0).toString(16);
}

for (const mode of modes) {
  global.gc?.();
  peakRss = process.memoryUsage().rss;
  const before = peakRss;
  const t1 = performance.now();
  const h = await readHistory(dir, {
    includeRecords: mode === "all",
    histogramSource: mode === "hlog" ? "hlog" : "records",
    stalls: (records) => detectStalls(records, DEFAULT_STALL_RULE),
    stallCounter: stallCounter(DEFAULT_STALL_RULE),
  });
  sample();
  const readS = (performance.now() - t1) / 1000;
  const stalls = h.intervals.reduce((n, iv) => n + iv.stalls, 0);
  const stalled = h.intervals.filter((iv) => iv.stalls > 0).length;
  const p99Sum = h.intervals.reduce((n, iv) => n + iv.p99Ms, 0);
  console.log(
    `read [${mode}]: ${h.rounds.length} rounds, ${h.records.length} records kept, ${h.intervals.length} intervals ` +
      `(${stalls} stalls in ${stalled} intervals; timeline from ${h.timelineFrom}, digest ${timelineDigest(h)}, ` +
      `p99 sum ${p99Sum.toFixed(1)} ms), histograms digest ${digest(h)} (max ${maxDigest(h)}), ` +
      `${h.histograms.size} merged series, ${h.warnings.length} warnings in ${readS.toFixed(1)} s; ` +
      `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB (before ${(before / 2 ** 20).toFixed(0)} MiB)`,
  );
}
clearInterval(timer);
if (!keepDir) rmSync(dir, { recursive: true, force: true });
