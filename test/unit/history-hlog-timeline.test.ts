/**
 * The timeline of a long range read from the `.hlog` alone (no record parsed) against the same
 * timeline read from the records: counts, failures and stall counts equal; percentiles within the
 * histograms' precision. Rounds with fast failures, failures on a deadline (above and below the
 * threshold), failures without a total, an aborted request, keep-warm pings, a series where every
 * request failed before any phase, and real stalls; the default rule and an absolute one.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import {
  DEFAULT_STALL_RULE,
  detectStalls,
  stallCounter,
  stallThresholds,
} from "../../src/diagnose/stalls.js";
import { createRng } from "../../src/lab/rng.js";
import type { RequestRecord, StallRule } from "../../src/model.js";
import { type History, readHistory } from "../../src/record/history.js";
import { openStore, type RoundMeta } from "../../src/record/store.js";
import { expectSameTimeline, fakeRecord } from "../helpers/store-records.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 20, 23, 0, 0); // the range crosses midnight: two day files
const ROUND_MS = 60_000;
const ROUNDS = 90;

function roundRecords(round: number, rand: () => number, firstSeq: number): RequestRecord[] {
  const out: RequestRecord[] = [];
  let seq = firstSeq;
  const at = T0 + round * ROUND_MS;
  const add = (r: RequestRecord): void => {
    out.push(r);
    seq++;
  };
  for (const endpoint of ["root", "header", "foo"]) {
    for (let i = 0; i < 6; i++) {
      // Log-normal-ish totals around 20 ms (a spread across many buckets); 1 in 40 a stall of 1–9 s.
      const base = 20 * Math.exp((rand() - 0.5) * 1.2);
      const total = rand() < 0.025 ? 1000 + rand() * 8000 : base;
      const r = fakeRecord({ atMs: at + i * 10, seq, endpoint, totalMs: Math.round(total * 1000) / 1000 });
      if (i % 2 === 1) r.connection = "reuse";
      add(r);
    }
  }
  // A slow series (~100 ms, threshold 5 × its lower quartile ≈ 400 ms, above the floor) with a 300 ms
  // request (no stall) and fast 503s, a third of its requests: the threshold must come from its
  // successful requests only, or the 503s pull it down to the floor and the 300 ms becomes a stall.
  for (let i = 0; i < 6; i++) {
    const total = i === 5 && round % 3 === 0 ? 300 : 100 * Math.exp((rand() - 0.5) * 0.4);
    add(fakeRecord({ atMs: at + 50 + i, seq, endpoint: "slow", totalMs: Math.round(total * 1000) / 1000 }));
    if (i % 2 === 0) add(fakeRecord({ atMs: at + 60 + i, seq, endpoint: "slow", ok: false, totalMs: 2 }));
  }
  // Failures: a fast 503, a deadline with its total above any threshold, one below (still a stall).
  if (round % 7 === 0) add(fakeRecord({ atMs: at + 100, seq, endpoint: "root", ok: false, totalMs: 4 }));
  if (round % 11 === 0) {
    const r = fakeRecord({ atMs: at + 110, seq, endpoint: "header", ok: false, totalMs: 10_000 });
    add({ ...r, error: { code: "headers-timeout", phase: "ttfb", message: "no headers in 10 s" } });
  }
  if (round % 13 === 0) {
    const r = fakeRecord({ atMs: at + 120, seq, endpoint: "foo", ok: false, totalMs: 30 });
    add({ ...r, error: { code: "connect-timeout", phase: "connect", message: "connect deadline" } });
  }
  // A failure with no phase at all, in a series of its own that never gets a total (every request failed).
  if (round % 5 === 0) {
    const r = fakeRecord({ atMs: at + 130, seq, endpoint: "nxdomain", ok: false });
    add({ ...r, phasesMs: {}, error: { code: "dns", phase: "dns", message: "ENOTFOUND" } });
  }
  // A request a clean stop aborted: no measurement.
  if (round % 17 === 0)
    add({ ...fakeRecord({ atMs: at + 140, seq, endpoint: "root", totalMs: 5000 }), aborted: true });
  return out;
}

async function writeRange(dir: string): Promise<RequestRecord[]> {
  const store = await openStore({
    dir,
    fsync: false,
    clock: { now: () => performance.now(), wallMs: () => T0 },
  });
  const seeded = createRng(20261207);
  const rand = () => seeded.next();
  const all: RequestRecord[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const at = T0 + round * ROUND_MS;
    const keepWarm = round % 10 === 9;
    const records = keepWarm
      ? [
          fakeRecord({
            atMs: at,
            seq: all.length,
            endpoint: "root",
            tag: "keep-warm",
            totalMs: round === 19 ? 2500 : 18,
          }),
        ]
      : roundRecords(round, rand, all.length);
    const meta: RoundMeta = {
      id: round + 1,
      kind: keepWarm ? "keep-warm" : "probe",
      scheduledAtMs: at,
      startedAtMs: at,
      endedAtMs: at + 500,
      latenessMs: 1,
      skipped: 0,
    };
    await store.writeRound(meta, records);
    all.push(...records);
  }
  await store.close();
  return all;
}

/** Intervals in one canonical order (a series with no histogram comes last in its round on the .hlog path). */
const canonical = (h: History) =>
  [...h.intervals, ...h.keepWarmIntervals].sort(
    (a, b) =>
      a.startMs - b.startMs ||
      `${a.endpoint}/${a.connection}/${a.tag}`.localeCompare(`${b.endpoint}/${b.connection}/${b.tag}`),
  );

describe("the timeline of a range from the .hlog alone", () => {
  const rules: Array<[string, StallRule]> = [
    ["the default rule", DEFAULT_STALL_RULE],
    ["an absolute threshold", { ...DEFAULT_STALL_RULE, stallMs: 40 }],
  ];
  test.each(rules)(
    "equals the records' timeline under %s: counts, failures, stalls; percentiles to 0.1%%",
    async (_name, rule) => {
      const dir = mkdtempSync(join(tmpdir(), "sw-hlog-timeline-"));
      dirs.push(dir);
      const written = await writeRange(dir);
      const range = { sinceMs: T0, untilMs: T0 + ROUNDS * ROUND_MS };
      const byRecords = await readHistory(dir, {
        ...range,
        includeRecords: false,
        stalls: (r) => detectStalls(r, rule),
      });
      const byHlog = await readHistory(dir, {
        ...range,
        includeRecords: false,
        histogramSource: "hlog",
        stallCounter: stallCounter(rule),
      });
      expect(byHlog.warnings).toEqual([]);
      expect(byRecords.warnings).toEqual([]);
      expect(byHlog.rounds).toEqual(byRecords.rounds);

      // The data are what the test means: stalls, deadline failures and no total near a threshold (a total
      // within 0.1% of one may fall either side of it in a histogram; none does here, so counts are exact).
      const measured = written.filter((r) => r.aborted !== true);
      const thresholds = stallThresholds(measured, rule);
      for (const r of measured) {
        const t = r.phasesMs.total;
        const thr = thresholds.get(`${r.api}\u0000${r.route}\u0000${r.endpoint}`);
        if (t !== undefined && thr !== undefined) expect(Math.abs(t - thr) / thr).toBeGreaterThan(0.002);
      }
      const stalls = canonical(byRecords).reduce((n, iv) => n + iv.stalls, 0);
      expect(stalls).toBeGreaterThan(20);
      expect(canonical(byRecords).some((iv) => iv.endpoint === "nxdomain" && iv.failures === 1)).toBe(true);
      expect(canonical(byRecords).some((iv) => iv.tag === "keep-warm" && iv.stalls === 1)).toBe(true);

      expectSameTimeline(canonical(byHlog), canonical(byRecords));
      // The merged histograms hold the same values either way. (The records path also keeps an empty entry
      // for the series whose requests all failed before any phase; the .hlog has no line for it.)
      const totals = (h: History) =>
        [...h.histograms.series()]
          .flatMap(({ key, phases }) => {
            const t = phases.get("total");
            return t ? [`${key.endpoint}/${key.connection}/${key.tag}: ${t.totalCount} ${t.mean}`] : [];
          })
          .sort();
      expect(totals(byHlog)).toEqual(totals(byRecords));
      expect(totals(byHlog)).toHaveLength(8);
    },
  );

  test("a range with rounds written before blocks said their failures is read from the records, with a warning", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-hlog-timeline-"));
    dirs.push(dir);
    await writeRange(dir);
    const byRecords = await readHistory(dir, { includeRecords: false, stalls: (r) => detectStalls(r) });
    // An older writer: its blocks have no failures comment.
    let removed = 0;
    for (const day of readdirSync(dir)) {
      for (const f of readdirSync(join(dir, day)).filter((n) => n.endsWith(".hlog"))) {
        const path = join(dir, day, f);
        const lines = readFileSync(path, "utf8").split("\n");
        const kept = lines.filter((l) => !/^#\[Round \d+ failures: /.test(l));
        removed += lines.length - kept.length;
        writeFileSync(path, kept.join("\n"));
      }
    }
    expect(removed).toBe(ROUNDS);
    const h = await readHistory(dir, {
      includeRecords: false,
      histogramSource: "hlog",
      stalls: (r) => detectStalls(r),
      stallCounter: stallCounter(),
    });
    expect(h.warnings).toEqual([
      `${ROUNDS} round(s) in range have no .hlog block saying their failures (written before blocks had one, or damaged): read from the records instead`,
    ]);
    expect(h.intervals).toEqual(byRecords.intervals);
    expect(h.keepWarmIntervals).toEqual(byRecords.keepWarmIntervals);
  });
});
