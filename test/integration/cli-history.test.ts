/**
 * `stallwatch report --from DIR`: a store written through the real store
 * writer (synthetic records: every 3rd request's connect takes ~1 s: one lost SYN) read back
 * by the built CLI: series, stalls, findings, timeline, keep-warm beside;
 * --since / --until parsing; the two-pass read over long ranges agrees with
 * a full read; torn lines are warnings, not errors.
 */

import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { historyReport } from "../../src/app/history.js";
import { parseTimeFlag } from "../../src/cli/report-history.js";
import { DEFAULT_STALL_RULE } from "../../src/diagnose/stalls.js";
import type { Report, RequestRecord } from "../../src/model.js";
import { openStore } from "../../src/record/store.js";
import { expectOneCount } from "../helpers/one-count.js";
import { expectSameTimeline, fakeRecord } from "../helpers/store-records.js";

const MAIN = join(import.meta.dirname, "../../dist/cli/main.js");
const MIN = 60_000;
const ROUNDS = 12;
const PER_ROUND = 9;

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
  });
}

/** A round of PER_ROUND requests; positions 2, 5, 8 stall in connect (~1 s: one lost SYN, a level on every Linux schedule). */
function round(atMs: number, tag: "probe" | "keep-warm" = "probe"): RequestRecord[] {
  const n = tag === "probe" ? PER_ROUND : 1;
  return Array.from({ length: n }, (_, seq) => {
    const r = fakeRecord({ atMs: atMs + seq * 100, seq, tag, totalMs: 20 + (seq % 4) });
    if (tag === "probe" && seq % 3 === 2) {
      r.phasesMs = { dns: 1.5, connect: 1003 + seq, tls: 5, ttfb: 9, transfer: 1.25, total: 1020 + seq };
    }
    return r;
  });
}

let dir: string;
let nowMs: number;
/** Start times of the recent probe rounds, oldest first. */
const starts: number[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sw-cli-history-"));
  nowMs = Date.now();
  const store = await openStore({ dir, fsync: false });
  let id = 1;
  const write = async (startMs: number, kind: "probe" | "keep-warm") => {
    const records = round(startMs, kind);
    await store.writeRound(
      {
        id: id++,
        kind,
        scheduledAtMs: startMs,
        startedAtMs: startMs,
        endedAtMs: startMs + 5000,
        latenessMs: 0,
        skipped: 0,
      },
      records,
    );
  };
  // One old round (30 h ago), then ROUNDS rounds 5, 15, …, 115 minutes ago, and a keep-warm ping.
  await write(nowMs - 30 * 60 * MIN, "probe");
  for (let i = ROUNDS - 1; i >= 0; i--) {
    starts.push(nowMs - (i * 10 + 5) * MIN);
    await write(nowMs - (i * 10 + 5) * MIN, "probe");
  }
  await write(nowMs - 3 * MIN, "keep-warm");
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("report --from", () => {
  test("--json: merged series, stalls renumbered across rounds, findings, timeline, keep-warm beside", async () => {
    const r = await cli(["report", "--from", dir, "--json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expectOneCount(report);
    expect(report.source).toMatchObject({ kind: "history", dir });
    expect(report.options).toMatchObject({ rounds: ROUNDS + 1 });
    expect(report.series).toHaveLength(1);
    expect(report.totals).toEqual({
      requests: ROUNDS * PER_ROUND,
      ok: ROUNDS * PER_ROUND,
      failed: 0,
      stalls: 36,
    });
    expect(report.stalls).toHaveLength(36);
    expect(new Set(report.stalls.map((s) => s.seq)).size).toBe(36);
    expect(report.stalls.every((s) => s.phase === "connect")).toBe(true);
    const ids = report.findings.map((f) => f.id);
    expect(ids).toEqual(["tcp-syn-retransmit"]);
    // The rotation pattern describes the same stalls: folded into the verdict, not a second cause.
    expect(report.verdict?.evidence.some((e) => e.text.startsWith("periodic-stall:"))).toBe(true);
    expect(report.stalls.every((s) => s.cause !== "unexplained")).toBe(true);
    expect(report.timeline).toHaveLength(ROUNDS);
    expect(report.timeline?.every((iv) => iv.stalls === 3 && iv.count === PER_ROUND)).toBe(true);
    expect(report.timeline?.map((iv) => iv.startMs)).toEqual(starts);
    expect(report.keepWarm).toHaveLength(1);
    expect(report.keepWarm?.[0]?.count).toBe(1);
    expect(report.healthy).toBe(false);
  });

  test("terminal output: the timeline after the tables, keep-warm pings beside", async () => {
    const r = await cli(["report", "--from", dir]);
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out.indexOf("Latency (ms) per series and phase")).toBeLessThan(
      out.indexOf("Latency over time (UTC)"),
    );
    expect(out).toContain("tcp-syn-retransmit");
    expect(out).toContain("3 stalls");
    expect(out).toContain("Keep-warm pings over time");
  });

  test("--since / --until select rounds by start time", async () => {
    const recent = JSON.parse(
      (await cli(["report", "--from", dir, "--since", "30m", "--json"])).stdout,
    ) as Report;
    expect(recent.timeline).toHaveLength(3);
    const until = new Date(starts[5]! + MIN).toISOString();
    const early = JSON.parse(
      (await cli(["report", "--from", dir, "--since", "3h", "--until", until, "--json"])).stdout,
    ) as Report;
    expect(early.timeline?.map((iv) => iv.startMs)).toEqual(starts.slice(0, 6));
    expect(early.source.until).toBe(until);
  });

  test("over more than 24 h: counts from every round, diagnosis from the rounds with stalls — same as a full read", async () => {
    const r = await cli(["report", "--from", dir, "--since", "3d", "--json"]);
    expect(r.code).toBe(0);
    const partial = JSON.parse(r.stdout) as Report;
    expectOneCount(partial);
    expect(partial.totals.requests).toBe((ROUNDS + 1) * PER_ROUND);
    expect(partial.notes?.some((n) => n.includes("the stall list and the diagnosis cover"))).toBe(true);
    const full = await historyReport({
      dir,
      sinceMs: nowMs - 3 * 24 * 60 * MIN,
      untilMs: Date.now(),
      stallRule: DEFAULT_STALL_RULE,
      context: {},
      options: {},
      source: { kind: "history" },
      fullRecordsMaxRangeMs: Number.POSITIVE_INFINITY,
    });
    expect(full.partial).toBe(false);
    expect(partial.totals).toEqual(full.report.totals);
    expect(partial.series.map((s) => [s.count, s.ok, s.failed, s.stalls])).toEqual(
      full.report.series.map((s) => [s.count, s.ok, s.failed, s.stalls]),
    );
    expect(partial.stalls.length).toBe(full.report.stalls.length);
    // Periodicity is not tested over rounds picked for their stalls (a note says so); the verdict is the same.
    expect(full.report.verdict?.evidence.some((e) => e.text.startsWith("periodic-stall:"))).toBe(true);
    expect(partial.verdict?.evidence.some((e) => e.text.startsWith("periodic-stall:"))).toBe(false);
    expect(partial.findings.map((f) => f.id)).toEqual(full.report.findings.map((f) => f.id));
    expect(partial.verdict?.stalls).toBe(full.report.verdict?.stalls);
    expect(partial.notes?.some((n) => n.startsWith("periodic-stall not tested"))).toBe(true);
    expect(partial.stalls.every((s) => s.cause === "tcp-syn-retransmit")).toBe(true);
    // The long range's timeline is read from the .hlog: the same counts, failures and stalls; percentiles to
    // the histograms' precision, as the note says.
    expectSameTimeline(partial.timeline ?? [], full.report.timeline ?? []);
    expect(partial.timeline?.length).toBe(full.report.timeline?.length);
    expect(partial.notes?.some((n) => n.includes("read from the .hlog"))).toBe(true);
  });

  test("bad --since / --until / --from are usage errors (exit 2) that say what is expected", async () => {
    const cases: [string[], string][] = [
      [["--since", "yesterday"], "--since: expected a duration before now"],
      [["--since", "10x"], "--since: expected"],
      [["--until", "2026-13-45T00:00:00Z"], "--until: expected"],
      [["--since", "1h", "--until", "2h"], "must be before --until"],
    ];
    // Independent processes: run them side by side (each pays node's start-up).
    const [missing, ...results] = await Promise.all([
      cli(["report", "--from", join(dir, "nope")]),
      ...cases.map(([args]) => cli(["report", "--from", dir, ...args])),
    ]);
    cases.forEach(([args, message], i) => {
      const r = results[i]!;
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stdout).toBe("");
    });
    expect(missing?.code).toBe(2);
    expect(missing.stderr).toContain("is not a directory");
  });

  test("parseTimeFlag: durations, now, ISO with and without a zone", () => {
    const now = Date.UTC(2026, 0, 2, 12, 0, 0);
    expect(parseTimeFlag("--since", "24h", now)).toBe(now - 24 * 3_600_000);
    expect(parseTimeFlag("--since", "30m", now)).toBe(now - 30 * MIN);
    expect(parseTimeFlag("--since", "1.5h", now)).toBe(now - 90 * MIN);
    expect(parseTimeFlag("--since", "7d", now)).toBe(now - 7 * 86_400_000);
    expect(parseTimeFlag("--until", "now", now)).toBe(now);
    expect(parseTimeFlag("--until", "2026-01-02T03:04:05Z", now)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseTimeFlag("--until", "2026-01-02T03:04:05", now)).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseTimeFlag("--until", "2026-01-02T03:04:05+02:00", now)).toBe(Date.UTC(2026, 0, 2, 1, 4, 5));
    expect(parseTimeFlag("--since", "2026-01-02", now)).toBe(Date.UTC(2026, 0, 2));
    expect(() => parseTimeFlag("--since", "-5m", now)).toThrow(/--since: expected/);
  });

  test("a torn last line is a warning on stderr; the report still reads every committed round", async () => {
    const day = readdirSync(dir).sort().at(-1)!;
    const file = readdirSync(join(dir, day)).find((f) => f.startsWith("records-"))!;
    appendFileSync(join(dir, day, file), '{"type":"round-start","id":99,"kind":"probe","wri');
    const r = await cli(["report", "--from", dir, "--json"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*(torn|no footer)/);
    expect((JSON.parse(r.stdout) as Report).timeline).toHaveLength(ROUNDS);
  });
});
