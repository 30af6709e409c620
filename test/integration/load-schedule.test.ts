/**
 * Load (issue 7's fault suite): a daemon probing 100 endpoints × 2 routes keeps
 * its schedule on this machine. The production cadence is one round a minute;
 * here the same 200 targets, on both connection modes (400 requests a round),
 * run every 3 s, twenty times denser, against a real loopback server, through
 * the real round runner, scheduler and store. Functional assertions only: no
 * round skipped or failed, every round complete; the lateness is recorded and
 * printed, not asserted (shared machines are noisy).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRoundRunner } from "../../src/app/round.js";
import { parseConfig } from "../../src/config/load.js";
import { readHistory } from "../../src/record/history.js";
import { openStore } from "../../src/record/store.js";
import { startDaemon } from "../../src/schedule/daemon.js";
import { silentLogger } from "../../src/schedule/logger.js";

const ENDPOINTS = 100;
let server: Server;
let port: number;
let dir: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const body = JSON.stringify({ path: req.url });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  dir = mkdtempSync(join(tmpdir(), "sw-load-"));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

describe("load", () => {
  it("100 endpoints × 2 routes × fresh and reused connections every 3 s: no round skipped, every round complete", async () => {
    const loaded = parseConfig({
      apis: [
        {
          name: "load",
          routes: [
            { name: "route-a", baseUrl: `http://127.0.0.1:${port}/a` },
            { name: "route-b", baseUrl: `http://localhost:${port}/b` },
          ],
          endpoints: Array.from({ length: ENDPOINTS }, (_, i) => ({ path: `/e${i}` })),
        },
      ],
      probe: { concurrency: 8, connection: "both", timeoutMs: 5000 },
      schedule: { cron: "*/3 * * * * *", samplesPerRound: 1 },
    });
    expect(loaded.targets).toHaveLength(200);
    const store = await openStore({ dir });
    const daemon = startDaemon({
      schedule: loaded.config.schedule,
      keepWarm: { enabled: false, cron: "*/5 * * * *" },
      runRound: createRoundRunner(loaded),
      store,
      logger: silentLogger,
    });
    await new Promise((r) => setTimeout(r, 10_500));
    await daemon.stop({ graceMs: 5000 });
    const stats = daemon.stats();

    expect(stats.rounds.probe).toBeGreaterThanOrEqual(3);
    expect(stats.skipped.probe).toBe(0);
    expect(stats.failedRounds).toBe(0);
    expect(stats.failures).toBe(0);

    const history = await readHistory(dir);
    expect(history.warnings).toEqual([]);
    const probeRounds = history.rounds.filter((r) => r.kind === "probe");
    expect(probeRounds.length).toBe(stats.rounds.probe);
    for (const round of probeRounds) expect(round.latenessMs).toBeGreaterThanOrEqual(0);
    expect(history.records.length).toBe(probeRounds.length * 400);
    const durations = probeRounds.map((r) => r.endedAtMs - r.startedAtMs);
    console.log(
      `load: ${probeRounds.length} rounds of 400 requests; round duration ${durations.map((d) => d.toFixed(0)).join(", ")} ms; ` +
        `scheduler lateness ${probeRounds.map((r) => r.latenessMs.toFixed(0)).join(", ")} ms (max ${stats.maxLatenessMs.toFixed(0)} ms)`,
    );
  }, 40_000);
});
