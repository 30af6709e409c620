/**
 * Crash safety and concurrent writers, with real processes writing through
 * the built store (dist/, rebuilt by the global setup when stale).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { readHistory } from "../../src/record/history.js";

const CHILD = join(import.meta.dirname, "../helpers/store-writer-child.mjs");
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface ChildRun {
  writerId: string | undefined;
  acked: number;
  exit: Promise<void>;
  /** Resolves when the child has opened the store and starts writing (node start-up excluded from the kill delay). */
  ready: Promise<void>;
  child: ChildProcess;
}

function writer(dir: string, rounds: number): ChildRun {
  const child = spawn(process.execPath, [CHILD, dir, String(rounds), "8", "3"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let onReady: () => void = () => undefined;
  const run: ChildRun = {
    writerId: undefined,
    acked: 0,
    child,
    exit: Promise.resolve(),
    ready: new Promise<void>((r) => {
      onReady = r;
    }),
  };
  let buf = "";
  child.stdout?.on("data", (d: Buffer) => {
    buf += d.toString();
    let nl = buf.indexOf("\n");
    while (nl !== -1) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith("writer ")) {
        run.writerId = line.slice(7);
        onReady();
      } else if (line.startsWith("ack ")) run.acked = Number(line.slice(4));
      nl = buf.indexOf("\n");
    }
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  run.exit = new Promise((resolve, reject) => {
    child.on("exit", (code, signal) => {
      if (code === 0 || signal === "SIGKILL") resolve();
      else reject(new Error(`child exited ${code} ${signal}: ${stderr}`));
    });
  });
  return run;
}

describe("store under kill -9 and concurrency", () => {
  test("two writers at once: both complete, nothing corrupt", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-conc-"));
    dirs.push(dir);
    const a = writer(dir, 60);
    const b = writer(dir, 60);
    await Promise.all([a.exit, b.exit]);
    const h = await readHistory(dir);
    expect(h.warnings).toEqual([]);
    expect(a.writerId).not.toBe(b.writerId);
    for (const w of [a, b]) {
      const ids = h.rounds.filter((r) => r.writerId === w.writerId).map((r) => r.id);
      expect(ids.sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    }
    expect(h.records).toHaveLength(2 * 60 * 24);
    expect(h.intervals).toHaveLength(2 * 60 * 8);
  });

  test("kill -9 at random moments, 30 times: every acknowledged round reads back, at most one more", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-kill-"));
    dirs.push(dir);
    const runs: ChildRun[] = [];
    for (let i = 0; i < 30; i++) {
      const w = writer(dir, 100_000);
      await Promise.race([w.ready, w.exit]);
      const delayMs = 20 + Math.floor(Math.random() * 380);
      await new Promise((r) => setTimeout(r, delayMs));
      w.child.kill("SIGKILL");
      await w.exit;
      runs.push(w);
      // The reader must cope with the store as the crash left it, after every crash.
      const h = await readHistory(dir, { includeRecords: false });
      expect(h.rounds.length).toBeGreaterThanOrEqual(runs.reduce((n, r) => n + r.acked, 0));
    }
    const h = await readHistory(dir, { histogramSource: "hlog" });
    let acked = 0;
    for (const w of runs) {
      acked += w.acked;
      if (!w.writerId) {
        expect(w.acked).toBe(0);
        continue;
      }
      const ids = h.rounds.filter((r) => r.writerId === w.writerId).map((r) => r.id);
      // Rounds are written in order: the committed ones are 1..n with n = acked or acked + 1 (written, not yet acked).
      expect(ids).toEqual(Array.from({ length: ids.length }, (_, i) => i + 1));
      expect(ids.length === w.acked || ids.length === w.acked + 1).toBe(true);
    }
    // The test exercised real writes, and some kills landed mid-write.
    expect(acked).toBeGreaterThan(30);
    // Every committed round is whole: 24 records, 8 intervals, and the hlog agrees with the records.
    for (const r of h.rounds) expect(r.records).toBe(24);
    expect(h.records).toHaveLength(h.rounds.length * 24);
    expect(h.intervals).toHaveLength(h.rounds.length * 8);
    let histCount = 0;
    for (const { phases } of h.histograms.series()) histCount += phases.get("total")?.totalCount ?? 0;
    expect(histCount).toBe(h.records.length);
    // Only crash leftovers are warned about, never anything else.
    for (const w of h.warnings)
      expect(w).toMatch(/torn last line|has no footer|after the last committed round/);
  }, 60_000);
});
