import {
  appendFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as hdr from "hdr-histogram-js";
import { afterEach, describe, expect, test } from "vitest";
import { storedDiagnosis } from "../../src/app/round.js";
import { diagnose } from "../../src/diagnose/index.js";
import { DEFAULT_STALL_RULE, detectStalls, stallCounter } from "../../src/diagnose/stalls.js";
import { encodeHistogram, histKeyId, statsOf } from "../../src/record/histograms.js";
import { readHistory } from "../../src/record/history.js";
import { decodeTag, encodeTag, hlogRoundBlockOf, parseHlogLine } from "../../src/record/hlog.js";
import { openStore, type RoundMeta } from "../../src/record/store.js";
import { DAY_MS, dayOf, histFile, recordsFile } from "../../src/record/store-layout.js";
import { Redactor } from "../../src/redact.js";
import { mergeHlogOracle, oracleRoundBlock } from "../helpers/hlog-oracle.js";
import { expectSameTimeline, fakeRecord, fakeRound } from "../helpers/store-records.js";

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "sw-store-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
const meta = (id: number, startedAtMs: number, kind: RoundMeta["kind"] = "probe"): RoundMeta => ({
  id,
  kind,
  scheduledAtMs: startedAtMs - 5,
  startedAtMs,
  endedAtMs: startedAtMs + 400,
  latenessMs: 5,
  skipped: 0,
});
const fixedClock = { now: () => performance.now(), wallMs: () => T0 };

describe("store round trip", () => {
  test("records, rounds, intervals and merged histograms come back as written", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock });
    const r1 = fakeRound(T0, 3, ["a", "b"]);
    r1.push(fakeRecord({ atMs: T0 + 9, seq: 6, endpoint: "a", totalMs: 3000 })); // a stall
    r1.push(fakeRecord({ atMs: T0 + 10, seq: 7, endpoint: "b", ok: false, totalMs: 15 }));
    await store.writeRound(meta(1, T0), r1);
    await store.writeRound(meta(2, T0 + 60_000), fakeRound(T0 + 60_000, 3, ["a", "b"], 100));
    const kw = [fakeRecord({ atMs: T0 + 90_000, seq: 0, endpoint: "a", tag: "keep-warm" })];
    await store.writeRound(meta(3, T0 + 90_000, "keep-warm"), kw);
    await store.close();

    const h = await readHistory(dir, { stalls: (r) => detectStalls(r) });
    expect(h.warnings).toEqual([]);
    expect(h.rounds.map((r) => [r.id, r.kind, r.records, r.writerId])).toEqual([
      [1, "probe", 8, store.writerId],
      [2, "probe", 6, store.writerId],
      [3, "keep-warm", 1, store.writerId],
    ]);
    expect(h.records).toHaveLength(15);
    // Read back as written, plus the writer of its round.
    expect(h.records[0]).toEqual({ ...r1[0], writer: store.writerId });
    expect(h.records.at(-1)?.tag).toBe("keep-warm");

    expect(h.intervals).toHaveLength(4); // 2 rounds × 2 series, probe only
    const a1 = h.intervals.find((i) => i.endpoint === "a" && i.startMs === T0);
    expect(a1).toMatchObject({
      count: 4,
      stalls: 1,
      failures: 0,
      maxMs: 3000,
      endMs: T0 + 400,
      tag: "probe",
    });
    const b1 = h.intervals.find((i) => i.endpoint === "b" && i.startMs === T0);
    expect(b1).toMatchObject({ count: 4, failures: 1, stalls: 0 });
    expect(h.keepWarmIntervals).toEqual([
      expect.objectContaining({ tag: "keep-warm", endpoint: "a", count: 1 }),
    ]);

    // Histograms from the .hlog equal histograms from the records.
    const fromHlog = await readHistory(dir, {
      histogramSource: "hlog",
      includeRecords: false,
      stallCounter: stallCounter(),
    });
    expect(fromHlog.records).toEqual([]);
    expect(fromHlog.rounds).toEqual(h.rounds);
    expectSameTimeline(fromHlog.intervals, h.intervals);
    expectSameTimeline(fromHlog.keepWarmIntervals, h.keepWarmIntervals);
    expect(fromHlog.histograms.size).toBe(h.histograms.size);
    for (const { key, phases } of h.histograms.series()) {
      for (const [phase, hist] of phases) {
        const other = fromHlog.histograms.get(key, phase);
        expect(other, `${key.endpoint}/${key.tag}/${phase}`).toBeDefined();
        if (!other) continue;
        const [x, y] = [statsOf(other), statsOf(hist)];
        // add() after decoding reports max as the top bucket's highest equivalent value: ≤0.1% apart.
        expect({ ...x, max: 0 }).toEqual({ ...y, max: 0 });
        expect(Math.abs(x.max - y.max)).toBeLessThanOrEqual(y.max * 0.001 + 0.001);
      }
    }
    const total = h.histograms.get({ ...key("a"), tag: "probe" }, "total");
    expect(total?.totalCount).toBe(7);
  });

  test("since/until select rounds by start time", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock });
    for (let i = 0; i < 5; i++) await store.writeRound(meta(i + 1, T0 + i * 60_000), fakeRound(T0, 1, ["a"]));
    await store.close();
    const h = await readHistory(dir, { sinceMs: T0 + 60_000, untilMs: T0 + 180_000 });
    expect(h.rounds.map((r) => r.id)).toEqual([2, 3, 4]);
    expect(await readHistory(join(dir, "missing"))).toMatchObject({ rounds: [], warnings: [] });
  });

  test("rounds go to the UTC day they started in", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock });
    const late = Date.UTC(2026, 10, 20, 23, 59, 59, 900);
    await store.writeRound(meta(1, late), fakeRound(late, 1, ["a"]));
    await store.writeRound(meta(2, late + 1000), fakeRound(late, 1, ["a"]));
    await store.close();
    expect(readdirSync(dir).sort()).toEqual(["2026-11-20", "2026-11-21"]);
    expect((await readHistory(dir)).rounds).toHaveLength(2);
  });
});

const key = (endpoint: string) => ({
  api: "shop",
  route: "execute-api",
  endpoint,
  connection: "fresh" as const,
});

describe("crash leftovers", () => {
  test("a torn last line and an uncommitted round are skipped with warnings", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock });
    await store.writeRound(meta(1, T0), fakeRound(T0, 2, ["a"]));
    await store.writeRound(meta(2, T0 + 1000), fakeRound(T0, 2, ["a"]));
    await store.close();
    const day = dayOf(T0);
    const rec = recordsFile(dir, day, store.writerId);
    const hist = histFile(dir, day, store.writerId);
    // Round 3 was in flight: its header and one record made it, then a torn record.
    const full = readFileSync(rec, "utf8").split("\n");
    appendFileSync(
      rec,
      `${JSON.stringify({ type: "round-start", id: 3, kind: "probe", writerId: store.writerId, startedAtMs: T0 + 2000 })}\n`,
    );
    appendFileSync(rec, `${full[1]}\n${full[2]?.slice(0, 37)}`);
    appendFileSync(
      hist,
      readFileSync(hist, "utf8")
        .split("\n")
        .find((l) => l.startsWith("Tag="))
        ?.slice(0, 50) ?? "",
    );

    for (const source of ["records", "hlog"] as const) {
      const h = await readHistory(dir, { histogramSource: source });
      expect(h.rounds.map((r) => r.id)).toEqual([1, 2]);
      expect(h.records).toHaveLength(4);
      expect(h.histograms.get({ ...key("a"), tag: "probe" }, "total")?.totalCount).toBe(4);
      expect(h.warnings.some((w) => /torn last line/.test(w) && w.includes(rec))).toBe(true);
      expect(h.warnings.some((w) => /round 3 has no footer/.test(w))).toBe(true);
      if (source === "hlog") expect(h.warnings.some((w) => w.includes(hist) && /torn/.test(w))).toBe(true);
    }
  });

  test("a writer that reopens its own files (same writer id, same day) appends after a torn tail, on a fresh line", async () => {
    const dir = tmp();
    const first = await openStore({ dir, clock: fixedClock, writerId: "w1" });
    await first.writeRound(meta(1, T0), fakeRound(T0, 2, ["a"]));
    await first.close();
    const rec = recordsFile(dir, dayOf(T0), "w1");
    const hist = histFile(dir, dayOf(T0), "w1");
    appendFileSync(rec, '{"type":"round-start","id":2,"ki');
    appendFileSync(hist, "Tag=api=shop;rou");
    const again = await openStore({ dir, clock: fixedClock, writerId: "w1" });
    await again.writeRound(meta(3, T0 + 60_000), fakeRound(T0 + 60_000, 2, ["a"], 10));
    await again.close();
    for (const histogramSource of ["records", "hlog"] as const) {
      const h = await readHistory(dir, { histogramSource });
      expect(h.rounds.map((r) => r.id)).toEqual([1, 3]);
      expect(h.records).toHaveLength(4);
      expect(h.histograms.get(h.records[0]!, "total")?.totalCount).toBe(4);
      expect(h.warnings).toEqual([
        `${rec}:5: corrupt line skipped (not JSON)`,
        ...(histogramSource === "hlog" ? [`${hist}: 1 malformed interval line(s) skipped`] : []),
      ]);
    }
  });

  test("a directory where a records or hlog file is expected is skipped with a warning", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock, writerId: "good" });
    await store.writeRound(meta(1, T0), fakeRound(T0, 2, ["a"]));
    await store.close();
    const day = dayOf(T0);
    mkdirSync(recordsFile(dir, day, "dirwriter"), { recursive: true });
    // A writer whose records file is fine but whose hlog is a directory.
    const other = await openStore({ dir, clock: fixedClock, writerId: "badhist" });
    await other.writeRound(meta(1, T0 + 1), fakeRound(T0 + 1, 2, ["b"]));
    await other.close();
    rmSync(histFile(dir, day, "badhist"));
    mkdirSync(histFile(dir, day, "badhist"));
    for (const source of ["records", "hlog"] as const) {
      const h = await readHistory(dir, { histogramSource: source });
      expect(h.rounds.map((r) => r.writerId).sort()).toEqual(["badhist", "good"]);
      expect(h.records).toHaveLength(4);
      const rec = recordsFile(dir, day, "dirwriter");
      expect(h.warnings).toContain(`${rec}: skipped, a directory where a file is expected (EISDIR)`);
      if (source === "hlog") {
        const hist = histFile(dir, day, "badhist");
        expect(h.warnings).toContain(`${hist}: skipped, a directory where a file is expected (EISDIR)`);
      }
    }
  });

  test("never stores a URL's user:password@ nor a secret the redactor knows", async () => {
    const dir = tmp();
    const redactor = new Redactor({ secretValues: ["tok-0123456789"] });
    const store = await openStore({ dir, clock: fixedClock, writerId: "w", redactor });
    const rec = {
      ...fakeRecord({ atMs: T0, seq: 0, endpoint: "a" }),
      url: "http://user:pw-98765@127.0.0.1:1/a",
    };
    rec.assertions = [{ name: "json.key", ok: false, expected: "x", actual: "tok-0123456789" }];
    await store.writeRound({ ...meta(1, T0), error: "runner said tok-0123456789" }, [rec]);
    await store.close();
    const text = readFileSync(recordsFile(dir, dayOf(T0), "w"), "utf8");
    expect(text).not.toContain("pw-98765");
    expect(text).not.toContain("user:");
    expect(text).not.toContain("tok-0123456789");
    const h = await readHistory(dir);
    expect(h.records[0]?.url).toBe("http://127.0.0.1:1/a");
    expect(h.records[0]?.assertions[0]?.actual).toBe("[REDACTED]");
    expect(h.rounds[0]?.error).toBe("runner said [REDACTED]");
  });

  test("a round's diagnosis is stored with it (redacted) and read back with the round; undiagnosed rounds have none", async () => {
    const dir = tmp();
    const redactor = new Redactor({ secretValues: ["tok-0123456789"] });
    const store = await openStore({ dir, clock: fixedClock, writerId: "w", redactor });
    const records = fakeRound(T0, 40, ["a", "b"]);
    for (const seq of [5, 17, 29]) records[seq]!.phasesMs.total = 1500; // three stalls on series a
    const stalls = detectStalls(records, DEFAULT_STALL_RULE);
    expect(stalls).toHaveLength(3);
    const diagnosis = storedDiagnosis(diagnose({ records, stalls }), {}, [
      "target health: said tok-0123456789",
    ]);
    expect(diagnosis.causes.map(([seq]) => seq)).toEqual([5, 17, 29]);
    await store.writeRound(meta(1, T0), records, diagnosis);
    await store.writeRound(meta(2, T0 + 60_000), fakeRound(T0 + 60_000, 3, ["a"]));
    await store.close();
    expect(readFileSync(recordsFile(dir, dayOf(T0), "w"), "utf8")).not.toContain("tok-0123456789");

    const h = await readHistory(dir);
    expect(h.warnings).toEqual([]);
    expect(h.records).toHaveLength(83);
    const [first, second] = h.rounds;
    expect(first?.diagnosis).toEqual({ ...diagnosis, sourceNotes: ["target health: said [REDACTED]"] });
    expect(second?.diagnosis).toBeUndefined();
  });

  test("garbage in the middle of a file is skipped, later rounds still read", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock, writerId: "w1" });
    await store.writeRound(meta(1, T0), fakeRound(T0, 1, ["a"]));
    appendFileSync(recordsFile(dir, dayOf(T0), "w1"), "{not json\n\u0000\u0000\n42\n");
    await store.writeRound(meta(2, T0 + 1), fakeRound(T0, 1, ["a"]));
    await store.close();
    const h = await readHistory(dir);
    expect(h.rounds.map((r) => r.id)).toEqual([1, 2]);
    expect(h.warnings.length).toBeGreaterThanOrEqual(2);
  });
});

describe("reading histograms from the .hlog", () => {
  test("equals the straightforward decode (oracle) over two days, a time window, changing series, a corrupt line and a crash's leftovers; and the records path but for the max", async () => {
    const dir = tmp();
    const start = Date.UTC(2026, 10, 20, 23, 45); // the rounds cross midnight: two .hlog files
    const store = await openStore({ dir, clock: fixedClock, writerId: "w1" });
    let seed = 11;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let seq = 0;
    for (let id = 1; id <= 40; id++) {
      const at = start + (id - 1) * 60_000;
      const kind = id % 7 === 0 ? "keep-warm" : "probe";
      const records = [];
      // A different set of series each round, in a shuffled order: a line's series is not where it was before.
      for (const endpoint of ["a", "b", "c", "d"].filter((_, i) => (id + i) % 3 !== 0)) {
        for (let i = 0; i < 1 + (id % 3); i++) {
          const r = fakeRecord({
            atMs: at + i,
            seq: seq++,
            endpoint,
            tag: kind,
            totalMs: 5 + rand() ** 4 * 4000,
          });
          r.phasesMs.connect = rand() * 50;
          if (rand() < 0.3) delete r.phasesMs.tls;
          if (rand() < 0.2) r.connection = "reuse";
          records.push(r);
        }
      }
      records.sort(() => rand() - 0.5);
      await store.writeRound(meta(id, at, kind), records);
    }
    await store.close();
    const window = { sinceMs: start + 5 * 60_000, untilMs: start + 33 * 60_000 };
    const days = [dayOf(start), dayOf(start + DAY_MS)];
    const hlogs = days.map((d) => histFile(dir, d, "w1"));

    const byRecords = await readHistory(dir, { ...window, includeRecords: false });
    const clean = await readHistory(dir, { ...window, includeRecords: false, histogramSource: "hlog" });
    expect(clean.warnings).toEqual([]);
    expectSameTimeline(clean.intervals, byRecords.intervals);
    expect(clean.histograms.size).toBe(byRecords.histograms.size);
    for (const { key: k, phases } of byRecords.histograms.series()) {
      for (const [phase, h] of phases) {
        const other = clean.histograms.get(k, phase);
        expect(other?.totalCount, `${k.endpoint}/${k.connection}/${k.tag}/${phase}`).toBe(h.totalCount);
        if (other) expect({ ...statsOf(other), max: 0 }).toEqual({ ...statsOf(h), max: 0 });
      }
    }

    // A corrupt histogram in a round of the window; a crash's complete but uncommitted lines at the end.
    const first = readFileSync(hlogs[0]!, "utf8").split("\n");
    // round 8: in the window; its last interval line (before its failures and commit comments)
    const victim = first.findLastIndex(
      (l, i) => l.startsWith("Tag=") && i < first.findIndex((c) => c.startsWith("#[Round 8 committed")),
    );
    expect(victim).toBeGreaterThan(0);
    first[victim] = `${first[victim]!.slice(0, -12)}AAAAAAAAAAA=`;
    writeFileSync(hlogs[0]!, first.join("\n"));
    const leftovers = first.filter((l) => l.startsWith("Tag=")).slice(0, 3);
    appendFileSync(hlogs[1]!, `${leftovers.join("\n")}\n`);

    const h = await readHistory(dir, { ...window, includeRecords: false, histogramSource: "hlog" });
    const wanted = new Set(h.rounds.map((r) => r.id));
    expect(wanted.size).toBe(29);
    const oracle = mergeHlogOracle(
      hlogs.map((f) => readFileSync(f, "utf8")),
      wanted,
    );
    const got = new Map<string, ReturnType<typeof h.histograms.get>>();
    for (const { key: k, phases } of h.histograms.series()) {
      expect(Object.keys(k).sort()).toEqual(["api", "connection", "endpoint", "route", "tag"]);
      for (const [phase, x] of phases) got.set(`${histKeyId(k)}|${phase}`, x);
    }
    expect([...got.keys()].sort()).toEqual([...oracle.keys()].sort());
    for (const [id, want] of oracle) {
      const x = got.get(id)!;
      expect({
        id,
        n: x.totalCount,
        min: x.minNonZeroValue,
        max: x.maxValue,
        enc: encodeHistogram(x),
      }).toEqual({
        id,
        n: want.totalCount,
        min: want.minNonZeroValue,
        max: want.maxValue,
        enc: encodeHistogram(want),
      });
    }
    // The corrupt line is one histogram fewer than the clean read; said once, like the leftovers.
    let cleanCount = 0;
    let count = 0;
    for (const { phases } of clean.histograms.series())
      for (const x of phases.values()) cleanCount += x.totalCount;
    for (const x of got.values()) count += x?.totalCount ?? 0;
    expect(count).toBeLessThan(cleanCount);
    expect(h.warnings).toEqual([
      `${hlogs[0]}: 1 malformed interval line(s) skipped`,
      `${hlogs[1]}: 3 interval line(s) after the last committed round skipped`,
    ]);
  });
});

describe("hlog format", () => {
  test("the round block built with one scratch histogram equals the one built from a HistogramSet, byte for byte", () => {
    const records = [
      ...fakeRound(T0, 3, ["a", "b", "c"], 20),
      fakeRecord({ atMs: T0 + 5, seq: 9, endpoint: "b", totalMs: 3000 }),
      fakeRecord({ atMs: T0 + 6, seq: 10, endpoint: "d", tag: "keep-warm" }),
      {
        ...fakeRecord({ atMs: T0 + 7, seq: 11, endpoint: "a" }),
        connection: "reuse" as const,
        phasesMs: { ttfb: 2, total: 2.5 },
      },
      {
        ...fakeRecord({ atMs: T0 + 8, seq: 12, endpoint: "c", totalMs: 5000 }),
        ok: false,
        error: { code: "headers-timeout" as const, phase: "ttfb" as const, message: "headers timed out" },
      },
      {
        ...fakeRecord({ atMs: T0 + 9, seq: 13, endpoint: "a" }),
        ok: false,
        phasesMs: {},
        error: { code: "dns" as const, phase: "dns" as const, message: "ENOTFOUND" },
      },
      { ...fakeRecord({ atMs: T0 + 10, seq: 14, endpoint: "e", totalMs: 900 }), aborted: true as const },
    ];
    const want = oracleRoundBlock(records, 4, T0, T0 + 400, T0 - 60_000);
    expect(hlogRoundBlockOf(records, 4, T0, T0 + 400, T0 - 60_000)).toBe(want);
    expect(want).toMatch(/#\[Round 4 committed: \d+ intervals\]\n$/);
    // The aborted request (endpoint e) is in no line; the two failures are in the failures comment.
    expect(want).not.toContain("endpoint=e;");
    const failures = /^#\[Round 4 failures: (.*)\]$/m.exec(want);
    expect(JSON.parse(failures![1]!)).toEqual({
      keys: [
        "api=shop;route=execute-api;endpoint=a;conn=fresh;tag=probe",
        "api=shop;route=execute-api;endpoint=c;conn=fresh;tag=probe",
      ],
      failed: [
        [0, null, "dns"],
        [1, 5_000_000, "headers-timeout"],
      ],
    });
  });

  test("interval lines parse into their fields; a wrong number of fields or a bad value is a bad line", () => {
    const h = "HISTFAAAACJ4nJNpmSzMwMDAzMDAwAilGaBsBuXDbgww/n0hJgBJCgNv";
    expect(parseHlogLine(`Tag=a=1;b=2,0.000,0.700,1.200,${h}`)).toEqual({
      kind: "interval",
      tag: "a=1;b=2",
      startSec: 0,
      lengthSec: 0.7,
      hist: h,
    });
    expect(parseHlogLine(`12.5,60,3.1,${h}`)).toEqual({
      kind: "interval",
      tag: undefined,
      startSec: 12.5,
      lengthSec: 60,
      hist: h,
    });
    const bad = (line: string) => parseHlogLine(line);
    expect(bad(`Tag=x,0,1,${h}`)).toEqual({ kind: "bad", reason: "expected 4 fields, found 3" });
    expect(bad(`Tag=x,0,1,2,3,${h}`)).toEqual({ kind: "bad", reason: "expected 4 fields, found 5" });
    expect(bad("Tag=x")).toEqual({ kind: "bad", reason: "expected 4 fields, found 0" });
    expect(bad("Tag=x,")).toEqual({ kind: "bad", reason: "expected 4 fields, found 1" });
    expect(bad(`0,1,${h}`)).toEqual({ kind: "bad", reason: "expected 4 fields, found 3" });
    expect(bad("Tag=x,0,1,2,NOTHIST")).toEqual({ kind: "bad", reason: "malformed interval line" });
    expect(bad(`Tag=x,zero,1,2,${h}`)).toEqual({ kind: "bad", reason: "malformed interval line" });
    expect(parseHlogLine("#[Round 12 committed: 30 intervals]")).toEqual({
      kind: "commit",
      roundId: 12,
      intervals: 30,
    });
    expect(parseHlogLine('"StartTimestamp","Interval_Length"')).toEqual({ kind: "ignore" });
  });

  test("tags survive any series name and never hold ',' or whitespace", () => {
    const t = {
      api: "a b,c",
      route: "r=1;x",
      endpoint: "/p?q=1&z=ü",
      connection: "reuse",
      tag: "keep-warm",
      phase: "tls",
    } as const;
    const s = encodeTag(t);
    expect(s).not.toMatch(/[,\s]/);
    expect(decodeTag(s)).toEqual(t);
    expect(decodeTag("api=x;phase=nope")).toBeUndefined();
  });

  test("HdrHistogram's own log reader reads our file: tags, intervals, values in µs, max column in ms", async () => {
    const dir = tmp();
    const store = await openStore({ dir, clock: fixedClock });
    await store.writeRound(meta(1, T0), [fakeRecord({ atMs: T0, seq: 0, endpoint: "a", totalMs: 1234.5 })]);
    await store.writeRound(meta(2, T0 + 60_000), [
      fakeRecord({ atMs: T0, seq: 1, endpoint: "a", totalMs: 20 }),
    ]);
    await store.close();
    const text = readFileSync(histFile(dir, dayOf(T0), store.writerId), "utf8");
    expect(text).toMatch(/^#\[Histogram log format version 1\.3\]/);
    expect(text).toContain("#[StartTime: ");
    const tags = hdr.listTags(text);
    expect(tags).toContain(encodeTag({ ...key("a"), tag: "probe", phase: "total" }));
    const reader = new hdr.HistogramLogReader(text);
    const totals: { startMs: number; max: number }[] = [];
    for (let h = reader.nextIntervalHistogram(); h; h = reader.nextIntervalHistogram()) {
      if (h.tag.endsWith("phase=total")) totals.push({ startMs: h.startTimeStampMsec, max: h.maxValue });
    }
    expect(totals).toHaveLength(2);
    expect(totals[0]?.startMs).toBeCloseTo(T0, -1);
    expect(totals[1]?.startMs).toBeCloseTo(T0 + 60_000, -1);
    expect(totals[0]?.max).toBeGreaterThan(1_233_000);
    expect(totals[0]?.max).toBeLessThan(1_236_000);
    const line = text.split("\n").find((l) => l.includes("phase=total"));
    expect(line?.split(",")[3]).toMatch(/^123[45]\.\d{3}$/); // Interval_Max in ms
  });
});

describe("retention", () => {
  test("whole day directories older than retentionDays are deleted at open, others kept", async () => {
    const dir = tmp();
    const now = Date.UTC(2026, 10, 20, 12);
    for (const d of [-10, -3, -2, -1, 0]) mkdirSync(join(dir, dayOf(now + d * DAY_MS)), { recursive: true });
    mkdirSync(join(dir, "not-a-day"));
    mkdirSync(join(dir, "2026-02-31"));
    const pruned: string[][] = [];
    const store = await openStore({
      dir,
      retentionDays: 2,
      clock: { ...fixedClock, wallMs: () => now },
      onPrune: (d) => pruned.push(d),
    });
    await store.close();
    expect(readdirSync(dir).sort()).toEqual([
      "2026-02-31",
      "2026-11-18",
      "2026-11-19",
      "2026-11-20",
      "not-a-day",
    ]);
    expect(pruned).toEqual([["2026-11-10", "2026-11-17"]]);
  });

  test("retention runs again when the writer rolls over to a new day", async () => {
    const dir = tmp();
    let now = Date.UTC(2026, 10, 20, 23, 59);
    const store = await openStore({ dir, retentionDays: 1, clock: { ...fixedClock, wallMs: () => now } });
    await store.writeRound(meta(1, now), fakeRound(now, 1, ["a"]));
    now += 2 * DAY_MS;
    await store.writeRound(meta(2, now), fakeRound(now, 1, ["a"]));
    await store.close();
    expect(readdirSync(dir)).toEqual([dayOf(now)]);
  });
});
