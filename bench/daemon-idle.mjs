// Benchmark (not a test): RSS and CPU of an idle daemon (schedule far away,
// nothing to do) over DURATION_S seconds. Usage: npm run build && node bench/daemon-idle.mjs [seconds=20]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../dist/record/store.js";
import { startDaemon } from "../dist/schedule/daemon.js";
import { silentLogger } from "../dist/schedule/logger.js";

const seconds = Number(process.argv[2] ?? 20);
const dir = mkdtempSync(join(tmpdir(), "sw-idle-"));
const store = await openStore({ dir });
const daemon = startDaemon({
  schedule: { cron: "0 0 1 1 *", jitterMs: 0 },
  keepWarm: { enabled: true, cron: "0 0 1 1 *" },
  runRound: async () => [],
  store,
  logger: silentLogger,
});
global.gc?.();
const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let peak = rss0;
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 250);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(timer);
const cpu = process.cpuUsage(cpu0);
const wallMs = performance.now() - t0;
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  `idle daemon over ${(wallMs / 1000).toFixed(1)} s: RSS ${(rss0 / 2 ** 20).toFixed(1)} MiB at start, peak ${(peak / 2 ** 20).toFixed(1)} MiB; ` +
    `CPU ${cpuMs.toFixed(0)} ms (${((cpuMs / wallMs) * 100).toFixed(2)} % of one core)`,
);
await daemon.stop({ graceMs: 0 });
rmSync(dir, { recursive: true, force: true });
