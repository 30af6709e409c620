/**
 * A long run's store writes its sealed chunks to a scratch file and reads columns back on demand: every
 * accessor must answer exactly what an in-memory store answers, in any read order, with a cache far smaller
 * than the data, while writes are still in flight, and when the disk refuses.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PHASES, type ProbeTimestamps, type RequestRecord } from "../../src/model.js";
import { RecordStore } from "../../src/record/columns.js";
import { makeRecord } from "../helpers/records.js";

const dir = mkdtempSync(join(tmpdir(), "sw-spill-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** 50,000 rows (three chunks and a part) that use every kind of column, some only in some chunks. */
const ROWS = 50_000;
function row(i: number): [RequestRecord, ProbeTimestamps | undefined] {
  const fresh = i % 3 === 0;
  const failed = i % 97 === 0;
  const start = 1000 + i * 0.731;
  const t: ProbeTimestamps | undefined =
    i % 11 === 0
      ? undefined
      : {
          start,
          ...(fresh ? { dnsStart: start + 0.01, dnsEnd: start + 0.2, connectStart: start + 0.21 } : {}),
          ...(fresh ? { connectEnd: start + 1.5 + (i % 7) } : {}),
          sent: start + 2,
          firstByte: start + 20 + (i % 13) / 3,
          ...(failed ? {} : { headers: start + 20.5, end: start + 21 + i / 1e5 }),
        };
  const r = makeRecord({
    atMs: 1_765_000_000_000 + i * 0.731,
    seq: i,
    seriesSeq: i >> 2,
    endpoint: ["/", "/header", "/foo/1", "/foo/2"][i % 4]!,
    connection: fresh ? "fresh" : "reuse",
    reused: !fresh,
    phasesMs: failed
      ? { ttfb: 1 + i / 1e4 }
      : {
          ...(fresh ? { dns: 0.19, connect: 1.29 + (i % 7) } : {}),
          ttfb: 18 + (i % 13) / 3,
          total: 21 + i / 7,
        },
    bytes: failed ? 0 : 100 + (i % 5),
    status: failed ? 503 : 200,
    ok: !failed,
    remoteAddress: i % 2 === 0 ? "127.0.0.1" : "127.0.0.2",
    remotePort: 8080,
    remoteFamily: "IPv4",
    localPort: 30_000 + (i % 20_000),
    ...(i % 5 === 0 ? { socketIdleMs: i / 3 } : {}),
    ...(i % 17 === 0 ? { idleGapMs: i * 2.5 } : {}),
    ...(i % 4 === 1 ? { loopLagMs: (i % 50) / 10 } : {}),
    // ~200 bytes of per-request strings a row (10 MB in all): the arenas' 1 MiB chunks are written out too.
    hopHeaders: {
      "x-amz-cf-id": `cf-${i}-${"Zq~".repeat(65)}`,
      ...(i > 20_000 && i % 9 === 0 ? { "x-amzn-requestid": `req-${i}` } : {}),
    },
    ...(i > 20_000 && i % 9 === 0 ? { requestId: `req-${i}` } : {}),
    ...(i % 13 === 0 ? { requestId: `own-${i}-${"q".repeat(300)}` } : {}),
    ...(i > 40_000 ? { traceId: `1-5759e988-${i.toString(16).padStart(24, "0")}` } : {}),
    ...(failed ? { error: { code: "http-5xx", phase: "ttfb", message: "HTTP 503" } } : {}),
    ...(fresh ? { resolvedAddresses: ["127.0.0.1"], connectAttempts: ["127.0.0.1"] } : {}),
    inFlightAtSend: i % 8,
  });
  return [r, t];
}

function fill(store: RecordStore): RecordStore {
  for (let i = 0; i < ROWS; i++) store.add(...row(i));
  return store;
}

/** Every accessor of row i, as one comparable value. */
function view(s: RecordStore, i: number): unknown[] {
  return [
    s.atMs(i),
    ...PHASES.map((p) => s.phase(i, p)),
    s.total(i),
    s.bytes(i),
    s.socketIdleMs(i),
    s.idleGapMs(i),
    s.loopLagMs(i),
    s.seq(i),
    s.seriesSeq(i),
    s.seriesId(i),
    s.url(i),
    s.remoteAddress(i),
    s.status(i),
    s.ok(i),
    s.reused(i),
    s.aborted(i),
    s.tag(i),
    s.connection(i),
    s.failureCode(i),
    s.error(i),
    s.hopHeader(i, "x-amzn-requestid"),
    s.hopHeader(i, "x-amz-cf-id"),
    s.writer(i),
    s.resolvedAddresses(i),
    s.connectAttempts(i),
    s.inFlightAtSend(i),
    s.timestamps(i),
  ];
}

describe("RecordStore spilling sealed chunks to a scratch file", () => {
  const memory = fill(new RecordStore({ spill: false }));
  /** The rows of the last, open chunk alone: its columns are what a spilling store cannot write out. */
  const openChunk = new RecordStore({ spill: false });
  for (let i = 3 * 16_384; i < ROWS; i++) openChunk.add(...row(i));

  it("answers every accessor and every record exactly as the in-memory store, in any order, from a small cache", async () => {
    const errors: string[] = [];
    // A 4 MiB cache holds about two chunks' columns of the three written out: each order below goes back to the file.
    const s = fill(
      new RecordStore({
        spill: { dir, afterRows: 0, cacheBytes: 4 * 2 ** 20, onError: (m) => errors.push(m) },
      }),
    );
    // Before the writes are done, the chunks are read from memory.
    for (let i = 0; i < ROWS; i += 997) expect(view(s, i)).toStrictEqual(view(memory, i));
    await s.spillSettled();
    expect(errors).toEqual([]);
    const stats = s.spillStats();
    // Three sealed chunks were written out (the fourth, still open, never is).
    expect(stats.bytes).toBeGreaterThan(0);
    expect(stats.error).toBeUndefined();
    expect(s.columnBytes()).toBeLessThan(memory.columnBytes() / 2);
    // The per-request strings: 12 MiB in memory without spilling; here only each arena's open 1 MiB chunk.
    expect(memory.stringBytes()).toBeGreaterThan(10 * 2 ** 20);
    expect(s.stringBytes()).toBe(2 * 2 ** 20);

    for (let i = 0; i < ROWS; i++) expect(view(s, i)).toStrictEqual(view(memory, i));
    for (let i = ROWS - 1; i >= 0; i -= 3) expect(view(s, i)).toStrictEqual(view(memory, i));
    let x = 12_345;
    for (let k = 0; k < 5_000; k++) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      const i = x % ROWS;
      expect(s.record(i)).toStrictEqual(memory.record(i));
    }
    expect(Array.from(s.bySeq())).toEqual(Array.from(memory.bySeq()));
    // In memory: the open chunk (all the bytes not written out) and the cache, within its budget plus the column just read.
    expect(s.columnBytes()).toBeLessThanOrEqual(openChunk.columnBytes() + 4 * 2 ** 20 + 131_072);
    expect(s.columnBytes()).toBeGreaterThan(openChunk.columnBytes() + 2 ** 20);
    // Strings: each arena's open chunk and at most four read back.
    expect(s.stringBytes()).toBeLessThanOrEqual(10 * 2 ** 20);
    s.close();
  });

  it("reads exactly through a cache smaller than one column (each read evicts the one before)", async () => {
    const s = fill(new RecordStore({ spill: { dir, afterRows: 0, cacheBytes: 65_536 } }));
    await s.spillSettled();
    let x = 777;
    for (let k = 0; k < 1_500; k++) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      const i = x % ROWS;
      expect(view(s, i)).toStrictEqual(view(memory, i));
      expect(s.record(i)).toStrictEqual(memory.record(i));
    }
    // In memory: the open chunk and the one column just read back (128 KiB at most).
    expect(s.columnBytes()).toBeLessThanOrEqual(openChunk.columnBytes() + 131_072);
    s.close();
  });

  it("keeps the first afterRows rows' chunks in memory and writes nothing for a small store", async () => {
    const small = new RecordStore({ spill: { dir, afterRows: 40_000 } });
    for (let i = 0; i < 30_000; i++) small.add(...row(i));
    await small.spillSettled();
    expect(small.spillStats().bytes).toBe(0);
    for (let i = 30_000; i < ROWS; i++) small.add(...row(i));
    await small.spillSettled();
    // Past 40,000 rows, the sealed chunks before it go out too.
    expect(small.spillStats().bytes).toBeGreaterThan(0);
    for (let i = 0; i < ROWS; i += 7) expect(view(small, i)).toStrictEqual(view(memory, i));
    small.close();
  });

  it("leaves no file behind and holds one descriptor until closed", async () => {
    const fds = () => readdirSync("/proc/self/fd").length;
    const before = fds();
    const s = fill(new RecordStore({ spill: { dir, afterRows: 0 } }));
    await s.spillSettled();
    expect(readdirSync(dir).filter((n) => n.startsWith("stallwatch-records-"))).toEqual([]);
    expect(fds()).toBe(before + 1);
    s.close();
    expect(fds()).toBe(before);
    expect(() => s.atMs(0)).toThrow(/after close/);
  });

  it("keeps everything in memory, exact, when the scratch file cannot be created, and says why once", async () => {
    const errors: string[] = [];
    const s = fill(
      new RecordStore({ spill: { dir: join(dir, "missing"), afterRows: 0, onError: (m) => errors.push(m) } }),
    );
    await s.spillSettled();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /cannot create the record store's scratch file in .*missing: ENOENT.*keeping every record in memory/,
    );
    expect(s.spillStats()).toEqual({ bytes: 0, error: errors[0] });
    expect(s.columnBytes()).toBe(memory.columnBytes());
    for (let i = 0; i < ROWS; i += 3) expect(view(s, i)).toStrictEqual(view(memory, i));
  });
});
