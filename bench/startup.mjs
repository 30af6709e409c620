// Benchmark 5, start-up: wall time of `node dist/cli/main.js --help` beside
// `node -e 0` (Node's own start-up) and `curl --version`, run round-robin
// (30 each, 3 warm-ups discarded), timed around spawnSync with
// performance.now(). hyperfine is used instead when it is installed.
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, fmt, fmtRatio, has, mdTable, median, QUICK, quantile } from "./lib.mjs";

const COMMANDS = [
  { name: "stallwatch --help", cmd: process.execPath, args: [CLI, "--help"] },
  { name: "node -e 0", cmd: process.execPath, args: ["-e", "0"] },
  { name: "curl --version", cmd: "curl", args: ["--version"] },
];

function withHyperfine(runs) {
  const out = join(tmpdir(), `sw-bench-hyperfine-${process.pid}.json`);
  const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  execFileSync(
    "hyperfine",
    [
      "-N",
      "--warmup",
      "3",
      "--runs",
      String(runs),
      "--export-json",
      out,
      ...COMMANDS.map((c) => [c.cmd, ...c.args].map(quote).join(" ")),
    ],
    { stdio: "ignore" },
  );
  const results = JSON.parse(readFileSync(out, "utf8")).results;
  rmSync(out, { force: true });
  return COMMANDS.map((c, i) => ({ name: c.name, ms: results[i].times.map((s) => s * 1000) }));
}

function withSpawn(runs) {
  const ms = COMMANDS.map(() => []);
  for (let i = -3; i < runs; i++) {
    COMMANDS.forEach((c, k) => {
      const t0 = performance.now();
      const r = spawnSync(c.cmd, c.args, { stdio: "ignore" });
      const dt = performance.now() - t0;
      if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}`);
      if (i >= 0) ms[k].push(dt);
    });
  }
  return COMMANDS.map((c, k) => ({ name: c.name, ms: ms[k] }));
}

export async function benchStartup(log) {
  const runs = QUICK ? 10 : 30;
  const tool = has("hyperfine") ? "hyperfine -N" : "spawnSync, round-robin";
  const results = has("hyperfine") ? withHyperfine(runs) : withSpawn(runs);
  const base = median(results[1].ms);
  const rows = results.map((r) => [
    r.name,
    r.ms.length,
    fmt(median(r.ms), 1),
    fmt(quantile(r.ms, 0.9), 1),
    fmt(Math.min(...r.ms), 1),
    fmtRatio(median(r.ms) / base),
  ]);
  log(`  start-up: ${runs} runs each (${tool})`);
  const figures = Object.fromEntries(
    results.map((r) => [r.name, { medianMs: median(r.ms), p90Ms: quantile(r.ms, 0.9) }]),
  );
  return {
    table: mdTable(["command", "runs", "median ms", "p90 ms", "min ms", "median ÷ node -e 0"], rows),
    figures,
    tool,
  };
}
