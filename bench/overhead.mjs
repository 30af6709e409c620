// Benchmark 2, overhead: stallwatch's prober (runProbes, as `report` runs it)
// against a bare undici.request loop, same server, same concurrency, same
// request count, reuse and fresh connections. Every run is a process of its
// own (bench/load-child.mjs); the server is another. Runs alternate
// (bare, stallwatch, then stallwatch, bare, ...) over several rounds; the
// ratio is of mean throughputs, the p50 difference the median of per-round
// differences.
import {
  fmt,
  fmtRatio,
  fmtSigned,
  LOAD_CHILD,
  mdTable,
  mean,
  median,
  nodeJson,
  QUICK,
  startServerProcess,
  warmServer,
} from "./lib.mjs";

// `stream`: the runner keeps no records (retainRecords: false, each record
// to onRecord, as the daemon and the memory benchmark's streamed rows run it);
// the other cases keep every record, as `stallwatch report` does today.
export const OVERHEAD_CASES = [
  { mode: "reuse", concurrency: 1 },
  { mode: "reuse", concurrency: 8 },
  { mode: "reuse", concurrency: 8, stream: true },
  { mode: "fresh", concurrency: 1 },
  { mode: "fresh", concurrency: 8 },
];

/** How a case is named in tables: its connection mode, and whether records were streamed. */
export const caseLabel = (c) => (c.stream ? `${c.mode}, records streamed` : c.mode);

export async function benchOverhead(log) {
  // Many short rounds rather than a few long ones: the two runs of a pair sit
  // close in time, so the shared machine's drift (throughput moved ±30% over
  // minutes here) falls on both alike and the paired ratio cancels it.
  const rounds = QUICK ? 3 : 8;
  const counts = QUICK ? { reuse: 3000, fresh: 600 } : { reuse: 6000, fresh: 1200 };
  const server = await startServerProcess();
  const url = `${server.origin}/`;
  await warmServer(url);
  const results = OVERHEAD_CASES.map((c) => ({ ...c, count: counts[c.mode], bare: [], sw: [] }));
  try {
    for (let round = 0; round < rounds; round++) {
      for (const r of results) {
        const args = [url, r.mode, String(r.concurrency), String(r.count)];
        const order = round % 2 === 0 ? ["bare", "stallwatch"] : ["stallwatch", "bare"];
        for (const tool of order) {
          const extra = tool === "stallwatch" && r.stream ? ["stream"] : [];
          const out = await nodeJson(LOAD_CHILD, [tool, ...args, ...extra]);
          if (out.ok !== r.count)
            throw new Error(`${tool} ${args.join(" ")}: only ${out.ok} of ${r.count} ok`);
          (tool === "bare" ? r.bare : r.sw).push(out);
        }
      }
      log(`  overhead: round ${round + 1} of ${rounds}`);
    }
  } finally {
    await server.stop();
  }
  const rows = [];
  const figures = [];
  for (const r of results) {
    const bareRps = mean(r.bare.map((x) => x.rps));
    const swRps = mean(r.sw.map((x) => x.rps));
    const perRound = r.sw.map((x, i) => x.rps / r.bare[i].rps);
    const p50DiffUs = median(r.sw.map((x, i) => (x.p50Ms - r.bare[i].p50Ms) * 1000));
    const f = {
      label: caseLabel(r),
      mode: r.mode,
      stream: r.stream === true,
      concurrency: r.concurrency,
      count: r.count,
      rounds,
      bareRps,
      swRps,
      // The goal is judged on the median of the per-round (paired) ratios; the
      // ratio of mean throughputs is shown beside it.
      ratio: median(perRound),
      meanRatio: swRps / bareRps,
      ratioMin: Math.min(...perRound),
      ratioMax: Math.max(...perRound),
      bareCpuUs: median(r.bare.map((x) => x.cpuUsPerReq)),
      swCpuUs: median(r.sw.map((x) => x.cpuUsPerReq)),
      bareP50Us: median(r.bare.map((x) => x.p50Ms * 1000)),
      swP50Us: median(r.sw.map((x) => x.p50Ms * 1000)),
      p50DiffUs,
    };
    figures.push(f);
    rows.push([
      f.label,
      r.concurrency,
      `${r.count} × ${rounds}`,
      fmt(bareRps, 0),
      fmt(swRps, 0),
      fmtRatio(f.ratio),
      fmtRatio(f.meanRatio),
      `${fmt(f.ratioMin)}–${fmt(f.ratioMax)}`,
      `${fmt(f.bareCpuUs, 0)} / ${fmt(f.swCpuUs, 0)}`,
      fmt(f.bareP50Us, 0),
      fmt(f.swP50Us, 0),
      fmtSigned(p50DiffUs, 0),
      f.ratio >= 0.9 ? "met" : "NOT met",
    ]);
  }
  const table = mdTable(
    [
      "connections",
      "concurrency",
      "requests × rounds",
      "bare undici req/s",
      "stallwatch req/s",
      "throughput ratio (median of paired rounds)",
      "ratio of mean req/s",
      "per-round ratios",
      "CPU µs/request bare / stallwatch",
      "bare p50 µs",
      "stallwatch p50 µs",
      "p50 diff µs",
      "goal ≥ 0.9×",
    ],
    rows,
  );
  return { table, figures };
}
