/**
 * The daemon against the real node-cron and a real store, with a RoundRunner
 * that sends real requests to a loopback server (the prober is injected, so
 * the scheduler is tested on its own).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RecordTag, RequestRecord } from "../../src/model.js";
import { readHistory } from "../../src/record/history.js";
import { openStore, type Store } from "../../src/record/store.js";
import { type Daemon, startDaemon } from "../../src/schedule/daemon.js";
import { createLogger } from "../../src/schedule/logger.js";
import type { RoundRunner } from "../../src/schedule/round.js";
import { fakeRecord } from "../helpers/store-records.js";

let server: Server;
let base: string;
const open = new Set<ServerResponse>();
beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const delayMs = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delayMs") ?? 0);
    if (delayMs < 0) {
      open.add(res); // never answers
      res.on("close", () => open.delete(res));
      return;
    }
    setTimeout(() => res.end("ok"), delayMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return () =>
    new Promise<void>((r) => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
});

const dirs: string[] = [];
const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop({ graceMs: 0 })));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A runner that requests `?delayMs=` on the loopback server and returns one record per request. */
function runner(
  delayMs: number,
  tagFor: (kind: string) => RecordTag = (k) => (k === "keep-warm" ? "keep-warm" : "probe"),
): RoundRunner {
  let seq = 0;
  return async ({ kind, signal }) => {
    const t0 = performance.now();
    const atMs = Date.now();
    let ok = true;
    try {
      const res = await fetch(`${base}/?delayMs=${delayMs}`, { signal });
      await res.text();
    } catch {
      ok = false;
    }
    const rec: RequestRecord = fakeRecord({
      atMs,
      seq: seq++,
      tag: tagFor(kind),
      totalMs: performance.now() - t0,
      ok,
    });
    return [rec];
  };
}

async function setup(run: RoundRunner, cronExpr: string, keepWarm = { enabled: false, cron: "*/5 * * * *" }) {
  const dir = mkdtempSync(join(tmpdir(), "sw-sched-"));
  dirs.push(dir);
  const store: Store = await openStore({ dir });
  const lines: string[] = [];
  const logger = createLogger({ stream: { write: (s: string) => lines.push(s) }, format: "json" });
  const daemon = startDaemon({
    schedule: { cron: cronExpr, jitterMs: 0 },
    keepWarm,
    runRound: run,
    store,
    logger,
    abortSettleMs: 300,
  });
  daemons.push(daemon);
  return { dir, daemon, lines };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("daemon", () => {
  test("a seconds-level schedule over ~3 s records ~3 rounds, with lateness", async () => {
    const { dir, daemon, lines } = await setup(runner(10), "*/1 * * * * *");
    await sleep(3200);
    await daemon.stop({ graceMs: 2000 });
    const h = await readHistory(dir);
    expect(h.rounds.length).toBeGreaterThanOrEqual(2);
    expect(h.rounds.length).toBeLessThanOrEqual(4);
    for (const r of h.rounds) {
      expect(r.kind).toBe("probe");
      expect(r.latenessMs).toBeGreaterThanOrEqual(0);
      expect(r.latenessMs).toBeLessThan(1000);
      expect(r.scheduledAtMs % 1000).toBe(0); // the cron date, on the second
      expect(r.records).toBe(1);
    }
    expect(h.records.every((r) => r.ok)).toBe(true);
    const roundLines = lines.map((l) => JSON.parse(l)).filter((l) => l.event === "round");
    expect(roundLines).toHaveLength(h.rounds.length);
    expect(roundLines[0]).toMatchObject({ level: "info", kind: "probe", requests: 1, stored: true });
    expect(daemon.stats().rounds.probe).toBe(h.rounds.length);
  });

  test("a 2.5 s round on a 1 s schedule makes the next triggers skip, counted and logged", async () => {
    const { dir, daemon, lines } = await setup(runner(2500), "*/1 * * * * *");
    await sleep(4300);
    await daemon.stop({ graceMs: 3000 });
    const st = daemon.stats();
    expect(st.skipped.probe).toBeGreaterThanOrEqual(2);
    const h = await readHistory(dir);
    expect(h.rounds.length).toBeGreaterThanOrEqual(1);
    expect(h.rounds.length).toBeLessThanOrEqual(2);
    expect(h.rounds.reduce((n, r) => n + r.skipped, 0)).toBe(st.skipped.probe);
    // never overlapping: each round starts after the previous one ended
    for (let i = 1; i < h.rounds.length; i++) {
      expect(h.rounds[i]?.startedAtMs).toBeGreaterThanOrEqual(h.rounds[i - 1]?.endedAtMs ?? 0);
    }
    const skips = lines.map((l) => JSON.parse(l)).filter((l) => l.event === "skip");
    expect(skips).toHaveLength(st.skipped.probe);
    expect(skips[0]).toMatchObject({ level: "warn", kind: "probe" });
  });

  test("keep-warm pings are recorded with their tag and kept out of the probe intervals", async () => {
    const { dir, daemon } = await setup(runner(5), "0 0 1 1 *", { enabled: true, cron: "*/1 * * * * *" });
    await sleep(2300);
    await daemon.stop({ graceMs: 2000 });
    const h = await readHistory(dir);
    expect(h.rounds.length).toBeGreaterThanOrEqual(1);
    expect(h.rounds.every((r) => r.kind === "keep-warm")).toBe(true);
    expect(h.records.length).toBeGreaterThanOrEqual(1);
    expect(h.records.every((r) => r.tag === "keep-warm")).toBe(true);
    expect(h.intervals).toEqual([]);
    expect(h.keepWarmIntervals.length).toBe(h.rounds.length);
    expect(
      h.histograms.get(
        { api: "shop", route: "execute-api", endpoint: "health", connection: "fresh", tag: "keep-warm" },
        "total",
      )?.totalCount,
    ).toBe(h.records.length);
    expect(daemon.stats().rounds["keep-warm"]).toBe(h.rounds.length);
  });

  test("stop() aborts a never-ending round after graceMs and still records it", async () => {
    const { dir, daemon } = await setup(runner(-1), "*/1 * * * * *");
    while (daemon.stats().running.length === 0) await sleep(50);
    const t0 = performance.now();
    await daemon.stop({ graceMs: 400 });
    const tookMs = performance.now() - t0;
    expect(tookMs).toBeGreaterThanOrEqual(380);
    expect(tookMs).toBeLessThan(400 + 1500);
    const h = await readHistory(dir);
    expect(h.rounds).toHaveLength(1);
    expect(h.rounds[0]).toMatchObject({ aborted: true });
    expect(h.records[0]?.ok).toBe(false);
  });

  test("stop() is bounded even when the runner ignores the abort", async () => {
    const { dir, daemon } = await setup(() => new Promise<RequestRecord[]>(() => undefined), "*/1 * * * * *");
    while (daemon.stats().running.length === 0) await sleep(50);
    const t0 = performance.now();
    await daemon.stop({ graceMs: 200 });
    expect(performance.now() - t0).toBeLessThan(200 + 300 + 1500);
    const h = await readHistory(dir);
    expect(h.rounds).toHaveLength(1);
    expect(h.rounds[0]).toMatchObject({ aborted: true, records: 0 });
    expect(h.rounds[0]?.error).toMatch(/did not return/);
  });
});
