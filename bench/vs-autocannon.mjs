// Benchmark 3, against autocannon: the same number of connections (10), the
// same request count, the same server. autocannon is a load generator that
// keeps its connections open; the fair counterpart is stallwatch's reuse mode
// at concurrency 10 (one keep-alive pool, 10 requests in flight). Runs
// alternate over rounds, each in a process of its own (bench/load-child.mjs).
// Percentiles: stallwatch's from each record's `total` phase (µs resolution),
// autocannon's from its own histogram (whole milliseconds).
import {
  fmt,
  fmtRatio,
  LOAD_CHILD,
  mdTable,
  mean,
  median,
  nodeJson,
  QUICK,
  startServerProcess,
  warmServer,
} from "./lib.mjs";

export const CONNECTIONS = 10;

/** A latency ratio, unless autocannon's whole-millisecond value is too coarse (< 10 ms) for one to mean anything. */
function pctRatio(sw, ac) {
  return ac >= 10 ? fmtRatio(sw / ac) : "n/a (ms rounding)";
}

export async function benchAutocannon(log) {
  const rounds = QUICK ? 1 : 2;
  const count = QUICK ? 4000 : 15000;
  const server = await startServerProcess();
  const url = `${server.origin}/`;
  await warmServer(url);
  const ac = [];
  const sw = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const runs = [
        ["autocannon", url, String(CONNECTIONS), String(count)],
        ["stallwatch", url, "reuse", String(CONNECTIONS), String(count)],
      ];
      if (round % 2 === 1) runs.reverse();
      for (const args of runs) {
        const out = await nodeJson(LOAD_CHILD, args);
        (args[0] === "autocannon" ? ac : sw).push(out);
      }
      log(`  autocannon: round ${round + 1} of ${rounds}`);
    }
  } finally {
    await server.stop();
  }
  const agg = (runs) => ({
    rps: mean(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p90Ms: median(runs.map((r) => r.p90Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    maxMs: Math.max(...runs.map((r) => r.maxMs)),
    ok: runs.reduce((a, r) => a + r.ok, 0),
    count: runs.reduce((a, r) => a + r.count, 0),
  });
  const a = agg(ac);
  const s = agg(sw);
  const row = (name, x, d) => [
    name,
    `${x.ok}/${x.count}`,
    fmt(x.rps, 0),
    fmt(x.p50Ms, d),
    fmt(x.p90Ms, d),
    fmt(x.p99Ms, d),
    fmt(x.maxMs, d),
  ];
  const ratio = s.rps / a.rps;
  const table = mdTable(
    ["tool (10 connections)", "ok/requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"],
    [
      row("autocannon", a, 0),
      row("stallwatch reuse, concurrency 10", s, 2),
      [
        "stallwatch ÷ autocannon",
        "",
        fmtRatio(ratio),
        ...["p50Ms", "p90Ms", "p99Ms", "maxMs"].map((k) => pctRatio(s[k], a[k])),
      ],
    ],
  );
  return { table, figures: { autocannon: a, stallwatch: s, ratio, count, rounds } };
}
