/**
 * The store's hourly rollups (src/record/hlog.ts HlogRollup): what the writer appends, and when a
 * reader may take a rollup's merged histograms in place of its rounds' own lines.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as hdr from "hdr-histogram-js";
import { afterEach, describe, expect, test } from "vitest";
import { DEFAULT_STALL_RULE, stallCounter } from "../../src/diagnose/stalls.js";
import { createRng } from "../../src/lab/rng.js";
import type { RequestRecord } from "../../src/model.js";
import { encodeHistogram, type HistogramSet, histKeyId } from "../../src/record/histograms.js";
import { type History, readHistory } from "../../src/record/history.js";
import { decodeTag, HlogRollup, hlogHeader, parseHlogLine, roundValues } from "../../src/record/hlog.js";
import { openStore, type RoundMeta } from "../../src/record/store.js";
import { dayOf, histFile, rollupFile } from "../../src/record/store-layout.js";
import { mergeHlogOracle } from "../helpers/hlog-oracle.js";
import { fakeRecord } from "../helpers/store-records.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const fixedClock = { now: () => performance.now(), wallMs: () => T0 };

const meta = (id: number, startedAtMs: number): RoundMeta => ({
  id,
  kind: id % 5 === 0 ? "keep-warm" : "probe",
  scheduledAtMs: startedAtMs,
  startedAtMs,
  endedAtMs: startedAtMs + 700,
  latenessMs: 0,
  skipped: 0,
});

/** A round of varied records: series, connection modes, missing phases, failures and an aborted request. */
function roundOf(id: number, at: number, rand: () => number, seq: { n: number }): RequestRecord[] {
  const out: RequestRecord[] = [];
  for (const endpoint of ["a", "b", "c"]) {
    for (let i = 0; i < 3; i++) {
      const r = fakeRecord({
        atMs: at + i,
        seq: seq.n++,
        endpoint,
        tag: id % 5 === 0 ? "keep-warm" : "probe",
        totalMs: 5 + rand() ** 4 * 4000,
        ok: rand() > 0.1,
      });
      r.phasesMs.connect = rand() * 50;
      if (rand() < 0.3) delete r.phasesMs.tls;
      if (rand() < 0.3) r.connection = "reuse";
      if (rand() < 0.03) r.aborted = true;
      out.push(r);
    }
  }
  return out;
}

/**
 * A store of one writer: rounds 1–5 in 10:00–10:04, round 6 alone in 11:00, rounds 7–9 in 12:10–12:12.
 * Returns the directory, the writer's .hlog and rollup paths, and every round's records.
 */
async function writeStore(): Promise<{ dir: string; hist: string; rollup: string; starts: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), "sw-rollup-"));
  dirs.push(dir);
  const store = await openStore({ dir, clock: fixedClock, writerId: "w1" });
  const rng = createRng(7);
  const rand = () => rng.next();
  const seq = { n: 0 };
  const starts = [0, 1, 2, 3, 4].map((m) => T0 + m * 60_000);
  starts.push(T0 + HOUR, T0 + 2 * HOUR + 600_000, T0 + 2 * HOUR + 660_000, T0 + 2 * HOUR + 720_000);
  for (const [i, at] of starts.entries())
    await store.writeRound(meta(i + 1, at), roundOf(i + 1, at, rand, seq));
  await store.close();
  const day = dayOf(T0);
  return { dir, hist: histFile(dir, day, "w1"), rollup: rollupFile(dir, day, "w1"), starts };
}

/** Every series × phase of a set: its id and its encoding (counts, range and all). */
function encoded(set: HistogramSet): Map<string, string> {
  const out = new Map<string, string>();
  for (const { key, phases } of set.series())
    for (const [phase, h] of phases)
      if (h.totalCount > 0) out.set(`${histKeyId(key)}|${phase}`, encodeHistogram(h));
  return out;
}

const readHlog = (dir: string, range: { sinceMs?: number; untilMs?: number } = {}): Promise<History> =>
  readHistory(dir, {
    ...range,
    includeRecords: false,
    histogramSource: "hlog",
    stallCounter: stallCounter(DEFAULT_STALL_RULE),
  });

describe("hourly rollups", () => {
  test("the writer rolls each hour's committed rounds into one block that HdrHistogram's reader reads; a lone round gets none; close() writes the last hour", async () => {
    const { hist, rollup, starts } = await writeStore();
    const text = readFileSync(rollup, "utf8");
    const comments = text
      .split("\n")
      .map((l) => parseHlogLine(l))
      .filter((l) => l.kind === "rollup");
    expect(comments.map((c) => c.kind === "rollup" && c.rounds)).toEqual([
      [1, 2, 3, 4, 5],
      [7, 8, 9],
    ]);

    // Each block's series × phase holds exactly what its rounds' own lines hold, merged.
    const perRound = [
      mergeHlogOracle([readFileSync(hist, "utf8")], new Set([1, 2, 3, 4, 5])),
      mergeHlogOracle([readFileSync(hist, "utf8")], new Set([7, 8, 9])),
    ];
    const reader = new hdr.HistogramLogReader(text);
    const blocks = [new Map<string, string>(), new Map<string, string>()];
    const startsSeen: number[] = [];
    for (let h = reader.nextIntervalHistogram(); h; h = reader.nextIntervalHistogram()) {
      const block = h.startTimeStampMsec < T0 + HOUR ? 0 : 1;
      const tag = decodeTag(h.tag)!;
      const { phase, ...key } = tag;
      blocks[block]!.set(`${histKeyId(key)}|${phase}`, encodeHistogram(h));
      startsSeen.push(h.startTimeStampMsec, h.endTimeStampMsec);
    }
    for (const [i, want] of perRound.entries()) {
      expect(blocks[i]!.size).toBe(want.size);
      for (const [id, h] of want) expect(blocks[i]!.get(id), id).toBe(encodeHistogram(h));
    }
    // Each block spans its rounds: the first one's start to the last one's end.
    expect(Math.min(...startsSeen)).toBeCloseTo(starts[0]!, -1);
    expect(Math.max(...startsSeen)).toBeCloseTo(starts[8]! + 700, -1);
  });

  test("a writer of one round an hour writes no rollup file at all (a cron writer: one process a round)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-rollup-"));
    dirs.push(dir);
    const rng = createRng(8);
    for (const [i, at] of [T0, T0 + 60_000, T0 + HOUR].entries()) {
      const store = await openStore({ dir, clock: fixedClock, writerId: `cron-${i}` });
      await store.writeRound(
        meta(1, at),
        roundOf(1, at, () => rng.next(), { n: 0 }),
      );
      await store.close();
    }
    expect(readdirSync(join(dir, dayOf(T0))).filter((n) => n.startsWith("rollup-"))).toEqual([]);
    const h = await readHlog(dir);
    expect(h.rounds).toHaveLength(3);
    expect(h.warnings).toEqual([]);
  });

  test("a read of whole hours takes the rollup's histograms; a range that cuts an hour reads that hour's rounds", async () => {
    const { dir, hist, rollup, starts } = await writeStore();
    const clean = await readHlog(dir);
    expect(clean.warnings).toEqual([]);
    // Stand-in rollups with other values (their rounds and times kept): what a read takes from them shows.
    const standIn = (ids: number[]): string => {
      const r = new HlogRollup();
      const rng = createRng(99);
      for (const id of ids) {
        const at = starts[id - 1]!;
        r.add(id, at, at + 700, roundValues(roundOf(id, at, () => rng.next(), { n: 0 })));
      }
      return r.block(T0)!;
    };
    const early = standIn([1, 2, 3, 4, 5]);
    const late = standIn([7, 8, 9]);
    writeFileSync(rollup, `${hlogHeader(T0)}${early}${late}`);
    const own = (ids: number[]) => mergeHlogOracle([readFileSync(hist, "utf8")], new Set(ids));

    const whole = await readHlog(dir);
    expect(whole.warnings).toEqual([]);
    expect(encoded(whole.histograms)).toEqual(sum(blockOf(early), own([6]), blockOf(late)));
    expect(encoded(whole.histograms)).not.toEqual(encoded(clean.histograms));
    // The timeline is each round's own, whichever way the histograms came.
    expect(whole.intervals).toEqual(clean.intervals);
    expect(whole.keepWarmIntervals).toEqual(clean.keepWarmIntervals);

    // From 10:02: the first hour is cut, so its rollup is not taken; the last hour is whole.
    const cut = await readHlog(dir, { sinceMs: starts[2]! });
    expect(cut.warnings).toEqual([]);
    expect(encoded(cut.histograms)).toEqual(sum(own([3, 4, 5, 6]), blockOf(late)));
  });

  test("a rollup that cannot stand for its rounds is passed over: its rounds are read one by one, never counted twice or lost", async () => {
    const { dir, hist, rollup, starts } = await writeStore();
    const standIn = (ids: number[], shiftMs = 0): string => {
      const r = new HlogRollup();
      const rng = createRng(5);
      for (const id of ids) {
        const at = (starts[id - 1] ?? T0 + 3 * HOUR) + shiftMs;
        r.add(id, at, at + 700, roundValues(roundOf(id, at, () => rng.next(), { n: 0 })));
      }
      return r.block(T0)!;
    };
    const early = standIn([1, 2, 3, 4, 5]);
    const late = standIn([7, 8, 9]);
    const lines = late.split("\n");
    const intervals = lines.filter((l) => l.startsWith("Tag="));
    const own = (ids: number[]) => mergeHlogOracle([readFileSync(hist, "utf8")], new Set(ids));
    const passedOver = sum(blockOf(early), own([6, 7, 8, 9]));
    const cases: Array<{ name: string; late: string; warning?: RegExp; expected?: Map<string, string> }> = [
      {
        name: "torn (a crash mid-write): no commit comment",
        late: lines.slice(0, 3).join("\n") + lines[3]!.slice(0, 40),
        warning: /torn last line/,
      },
      { name: "names a round the store does not have", late: standIn([7, 8, 9, 10]) },
      {
        name: "spans other times (another writer's rounds under a reused id)",
        late: standIn([7, 8, 9], 5_000),
        warning: /does not span their times/,
      },
      {
        name: "a line that does not decode",
        late: late.replace(intervals[2]!, `${intervals[2]!.slice(0, -12)}AAAAAAAAAAA=`),
        warning: /a line does not decode/,
      },
      {
        name: "a line missing",
        late: late.replace(`${intervals[1]!}\n`, ""),
        warning: /commits \d+ interval\(s\), found \d+/,
      },
      {
        name: "twice: the second is passed over",
        late: late + late,
        expected: sum(blockOf(early), own([6]), blockOf(late)),
      },
    ];
    for (const c of cases) {
      writeFileSync(rollup, `${hlogHeader(T0)}${early}${c.late}`);
      const h = await readHlog(dir);
      expect(encoded(h.histograms), c.name).toEqual(c.expected ?? passedOver);
      if (c.warning)
        expect(
          h.warnings.some((w) => w.startsWith(rollup) && c.warning!.test(w)),
          c.name,
        ).toBe(true);
      else expect(h.warnings, c.name).toEqual([]);
    }
  });

  test("a reopened rollup file (a writer id reused) is written in absolute times and read the same", async () => {
    const { dir, rollup, starts } = await writeStore();
    const clean = encoded((await readHlog(dir)).histograms);
    const store = await openStore({ dir, clock: fixedClock, writerId: "w1" });
    const rng = createRng(3);
    const seq = { n: 10_000 };
    for (const [i, at] of [T0 + 3 * HOUR, T0 + 3 * HOUR + 60_000].entries())
      await store.writeRound(
        meta(20 + i, at),
        roundOf(20 + i, at, () => rng.next(), seq),
      );
    await store.close();
    const comments = readFileSync(rollup, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("#[Rollup"));
    expect(comments).toHaveLength(3);
    const h = await readHlog(dir);
    expect(h.warnings).toEqual([]);
    const later = await readHlog(dir, { sinceMs: T0 + 3 * HOUR });
    const before = await readHlog(dir, { untilMs: starts[8]! });
    expect(encoded(before.histograms)).toEqual(clean);
    expect(encoded(h.histograms)).toEqual(sum(decodedOf(before.histograms), decodedOf(later.histograms)));
    // Without the rollup file, the same.
    rmSync(rollup);
    expect(encoded((await readHlog(dir)).histograms)).toEqual(encoded(h.histograms));
  });
});

/** A set's histograms by id (for sum). */
function decodedOf(set: HistogramSet): Map<string, hdr.Histogram> {
  const out = new Map<string, hdr.Histogram>();
  for (const { key, phases } of set.series())
    for (const [phase, h] of phases) out.set(`${histKeyId(key)}|${phase}`, h);
  return out;
}

/** A rollup block's merged histograms, read the straightforward way (as one round). */
function blockOf(block: string): Map<string, hdr.Histogram> {
  const m = /^#\[Rollup committed: \{"rounds":\[(\d+)[^\]]*\],"intervals":(\d+)\}\]$/m.exec(block)!;
  const asRound = block.replace(m[0], `#[Round ${m[1]} committed: ${m[2]} intervals]`);
  return mergeHlogOracle([asRound], new Set([Number(m[1])]));
}

/** Histograms merged key by key, as encodings. */
function sum(...sets: Map<string, hdr.Histogram>[]): Map<string, string> {
  const acc = new Map<string, hdr.Histogram>();
  for (const set of sets) {
    for (const [id, h] of set) {
      const into = acc.get(id);
      if (into) into.add(h);
      else acc.set(id, h);
    }
  }
  return new Map([...acc].map(([id, h]) => [id, encodeHistogram(h)]));
}
