// `npm run bench`: every benchmark side by side in one run, tables on stdout,
// BENCHMARKS.md rewritten with them, the machine's description and the
// command that reproduces them. Benchmarks print figures; they never assert
// speed. Runs against dist/ (the npm script builds first).
//
//   BENCH_QUICK=1  fewer samples (about a third of the time)
//   BENCH_ONLY=accuracy,overhead,autocannon,memory,startup,fleet  a subset
//   FLEET_ROUNDS=n  rounds of the 1,000-endpoint fleet benchmark (default 4, quick 3)
//   BENCH_OUT=path  where to write the Markdown (default BENCHMARKS.md;
//                   "-" for nowhere)
//   BENCH_DIST=dir  benchmark a private build instead of dist/ (e.g.
//                   `tsc -p tsconfig.build.json --outDir /tmp/sw/dist` with
//                   /tmp/sw/node_modules linked to ours)
import { existsSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { benchAccuracy } from "./accuracy.mjs";
import { benchFleet } from "./fleet.mjs";
import { CLI, machine, QUICK, ROOT } from "./lib.mjs";
import { benchMemory } from "./memory.mjs";
import { benchOverhead } from "./overhead.mjs";
import { renderMarkdown } from "./render.mjs";
import { benchStartup } from "./startup.mjs";
import { benchAutocannon } from "./vs-autocannon.mjs";

const SECTIONS = {
  accuracy: benchAccuracy,
  overhead: benchOverhead,
  autocannon: benchAutocannon,
  memory: benchMemory,
  startup: benchStartup,
  fleet: benchFleet,
};

if (!existsSync(CLI)) {
  console.error(`${CLI} is missing: run \`npm run build\` first (npm run bench does).`);
  process.exit(2);
}

const only = process.env.BENCH_ONLY?.split(",")
  .map((s) => s.trim())
  .filter(Boolean);
const chosen = Object.keys(SECTIONS).filter((k) => !only || only.includes(k));
const log = (s) => process.stderr.write(`${s}\n`);
const env = machine();
const startedAt = new Date();
const t0 = performance.now();
log(
  `stallwatch bench${QUICK ? " (quick)" : ""}: ${env.cpu}, ${env.cores} cores, Node ${env.node}, load ${env.loadavg}`,
);

const results = {};
let failed = 0;
for (const name of chosen) {
  log(`${name}…`);
  const s0 = performance.now();
  try {
    results[name] = await SECTIONS[name](log);
    results[name].seconds = (performance.now() - s0) / 1000;
    process.stdout.write(`\n## ${name}\n\n${results[name].table}\n`);
  } catch (err) {
    failed++;
    results[name] = { error: String(err?.stack ?? err) };
    log(`${name} FAILED: ${results[name].error}`);
  }
}

const command = [QUICK ? "BENCH_QUICK=1" : "", only ? `BENCH_ONLY=${only.join(",")}` : "", "npm run bench"]
  .filter(Boolean)
  .join(" ");
const meta = {
  env,
  loadEnd: loadavg()
    .map((l) => l.toFixed(2))
    .join(", "),
  startedAt: startedAt.toISOString(),
  seconds: (performance.now() - t0) / 1000,
  quick: QUICK,
  command,
  dist: process.env.BENCH_DIST,
};
const out = process.env.BENCH_OUT ?? join(ROOT, "BENCHMARKS.md");
if (out !== "-") {
  writeFileSync(out, renderMarkdown(results, meta));
  log(`\nwrote ${out} (${meta.seconds.toFixed(0)} s)`);
}
process.exit(failed > 0 ? 1 : 0);
