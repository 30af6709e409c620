import { describe, expect, it } from "vitest";
import { RecordCollector } from "../../src/app/records.js";
import type { ProbeTimestamps, RequestRecord } from "../../src/model.js";
import { BYTES_PER_ROW, keepRows, RecordStore } from "../../src/record/columns.js";
import { makeRecord } from "../helpers/records.js";

/** Every field of RequestRecord set: a field added to the type and not to the store fails to compile here. */
const full: Required<RequestRecord> = {
  atMs: 1_765_000_000_123.5,
  seq: 7,
  seriesSeq: 3,
  api: "shop",
  route: "execute-api",
  endpoint: "/orders",
  method: "POST",
  url: "https://api.example.invalid/orders",
  tag: "idle-sweep",
  connection: "reuse",
  phasesMs: { dns: 1.25, connect: 3012.125, tls: 6.5, ttfb: 20.0625, transfer: 0.3, total: 3040.2375 },
  status: 504,
  bytes: 1234,
  remoteAddress: "10.0.1.17",
  remotePort: 443,
  remoteFamily: "IPv4",
  localAddress: "10.0.0.5",
  localPort: 51234,
  reused: true,
  socketIdleMs: 1234.567,
  idleGapMs: 60_000.25,
  tls: { protocol: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", sessionReused: false, alpn: "http/1.1" },
  assertions: [{ name: "status", ok: false, expected: 200, actual: 504 }],
  hopHeaders: { "x-amzn-requestid": "r-1", "x-amzn-errortype": "IntegrationTimeout" },
  requestId: "r-1",
  traceId: "1-5759e988-bd862e3fe1be46a994272793",
  writer: "prober-a",
  loopLagMs: 12.5,
  ok: false,
  error: { code: "http-5xx", phase: "ttfb", message: "HTTP 504 (IntegrationTimeout)", cause: "504" },
  aborted: true,
  resolvedAddresses: ["::1", "127.0.0.1"],
  connectAttempts: ["::1", "127.0.0.1"],
  inFlightAtSend: 0,
};

const minimal = (seq: number, over: Partial<RequestRecord> = {}): RequestRecord =>
  makeRecord({
    atMs: 1000 + seq,
    seq,
    seriesSeq: seq,
    url: "http://127.0.0.1/",
    phasesMs: { total: 1 + seq / 7 },
    ...over,
  });

describe("RecordStore", () => {
  it("gives back every field of a record exactly, absent fields absent", () => {
    const s = RecordStore.of([full, minimal(8)]);
    expect(s.record(0)).toStrictEqual(full);
    expect(s.record(1)).toStrictEqual(minimal(8));
    expect(s.materialized).toBe(2);
  });

  it("answers the column accessors without materializing", () => {
    const s = RecordStore.of([full, minimal(8, { phasesMs: { connect: 2, total: 5 } })]);
    expect(s.phase(0, "connect")).toBe(3012.125);
    expect(s.phase(1, "dns")).toBeUndefined();
    expect(s.total(1)).toBe(5);
    expect(s.failureCode(0)).toBe("http-5xx");
    expect(s.failureCode(1)).toBeUndefined();
    expect(s.hopHeader(0, "x-amzn-errortype")).toBe("IntegrationTimeout");
    expect(s.hopHeader(1, "x-amzn-errortype")).toBeUndefined();
    expect([s.tag(0), s.connection(0), s.reused(0), s.ok(0), s.aborted(0)]).toEqual([
      "idle-sweep",
      "reuse",
      true,
      false,
      true,
    ]);
    expect([s.tag(1), s.connection(1), s.reused(1), s.ok(1), s.aborted(1)]).toEqual([
      "probe",
      "fresh",
      false,
      true,
      false,
    ]);
    expect(s.seriesId(0)).toBe("shop\u0000execute-api\u0000/orders");
    expect(s.remoteAddress(0)).toBe("10.0.1.17");
    expect(s.remoteAddress(1)).toBeUndefined();
    expect(s.idleGapMs(1)).toBeUndefined();
    expect(s.materialized).toBe(0);
    expect(() => s.atMs(2)).toThrow(RangeError);
  });

  it("keeps the raw timestamps (float32 offsets: within 1 µs at 10 s)", () => {
    const t: ProbeTimestamps = {
      start: 123_456.789,
      dnsStart: 123_456.8,
      dnsEnd: 123_457.9,
      connectStart: 123_458,
      connectEnd: 126_470.25,
      sent: 126_471,
      firstByte: 126_490.5,
      headers: 126_490.75,
      end: 133_456.789,
    };
    const s = new RecordStore();
    s.add(minimal(0), t);
    s.add(minimal(1));
    const back = s.timestamps(0)!;
    expect(Object.keys(back).sort()).toEqual(Object.keys(t).sort());
    expect(back.start).toBe(t.start);
    for (const k of Object.keys(t) as (keyof ProbeTimestamps)[]) {
      expect(Math.abs((back[k] ?? 0) - (t[k] ?? 0))).toBeLessThan(0.001);
    }
    expect(back.tlsEnd).toBeUndefined();
    expect(s.timestamps(1)).toBeUndefined();
  });

  it("grows across chunks and interns what repeats", () => {
    const n = 40_000; // > 2 chunks of 16,384
    const s = new RecordStore();
    for (let i = 0; i < n; i++) {
      s.add(
        minimal(i, {
          endpoint: `/e${i % 3}`,
          remoteAddress: `10.0.0.${i % 4}`,
          ...(i % 1000 === 0
            ? { ok: false, error: { code: "reset", phase: "ttfb", message: "socket hang up" } }
            : {}),
        }),
      );
    }
    expect(s.length).toBe(n);
    for (const i of [0, 16_383, 16_384, 32_768, n - 1]) {
      expect(s.seq(i)).toBe(i);
      expect(s.endpoint(i)).toBe(`/e${i % 3}`);
      expect(s.total(i)).toBe(1 + i / 7);
    }
    expect(s.internSizes()).toMatchObject({
      targets: 3,
      remotes: 4,
      errors: 1,
      // No assertions and no hop headers are row id 0, not a table entry.
      assertions: 0,
      hopHeaders: 0,
    });
    expect(BYTES_PER_ROW).toBeLessThan(200);
  });

  it("allocates a chunk's column only when a row uses it, and reads the default before that", () => {
    const s = new RecordStore();
    const n = 20_000; // two chunks: the first gets one failure late, the second none
    for (let i = 0; i < n; i++) {
      s.add(
        minimal(
          i,
          i === 9_000
            ? { ok: false, status: 502, error: { code: "reset", phase: "ttfb", message: "x" } }
            : {},
        ),
      );
    }
    for (const i of [0, 8_999, 9_001, 16_384, n - 1]) {
      expect(s.failureCode(i)).toBeUndefined();
      expect(s.error(i)).toBeUndefined();
      expect(s.status(i)).toBe(minimal(i).status);
      expect(s.record(i)).toEqual(minimal(i));
    }
    expect(s.failureCode(9_000)).toBe("reset");
    expect(s.status(9_000)).toBe(502);
    // Only the columns these rows use: well under the dense layout.
    const dense = 2 * 16_384 * BYTES_PER_ROW;
    expect(s.columnBytes()).toBeLessThan(0.75 * dense);
    expect(s.columnBytes()).toBeGreaterThan(0);
  });

  it("orders equal seqs by row, whether the seqs are dense (counting sort) or far apart (comparison sort)", () => {
    for (const base of [0, 2 ** 31]) {
      const seqs = [base + 3, base + 1, base + 3, base + 0, base + 1];
      const s = RecordStore.of(seqs.map((seq) => minimal(seq)));
      expect([...s.bySeq()]).toEqual([3, 1, 4, 0, 2]);
    }
  });

  it("keepRows keeps the rows that pass, in order, in an exact-size array", () => {
    const rows = Uint32Array.from([5, 2, 9, 4, 7]);
    const kept = keepRows(rows, (i) => i % 2 === 1);
    expect([...kept]).toEqual([5, 9, 7]);
    expect(kept.length).toBe(3);
    expect([...keepRows(rows, () => true)]).toEqual([5, 2, 9, 4, 7]);
    expect(keepRows(rows, () => false).length).toBe(0);
  });

  it("lists rows in send order whatever order they completed in", () => {
    const s = RecordStore.of([minimal(2), minimal(0), minimal(3), minimal(1)]);
    expect([...s.bySeq()].map((i) => s.seq(i))).toEqual([0, 1, 2, 3]);
    s.add(minimal(4));
    expect([...s.bySeq()].map((i) => s.seq(i))).toEqual([0, 1, 2, 3, 4]);
  });
});

describe("RecordCollector", () => {
  it("feeds every record to the histograms at once and to the store in send order", () => {
    const c = new RecordCollector({ streamHistograms: true });
    // Completion order of a run with concurrency: seq 0 slow, the rest out of order.
    for (const seq of [2, 1, 3, 5, 0, 4, 6]) c.add(minimal(seq));
    expect(
      c.histograms().get({ api: "a", route: "r", endpoint: "/", connection: "fresh", tag: "probe" }, "total")
        ?.totalCount,
    ).toBe(7);
    const store = c.finish();
    expect(Array.from({ length: store.length }, (_, i) => store.seq(i))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(store.record(4)).toStrictEqual(minimal(4));
  });

  it("flushes what still waits for a seq that never came when the run is over", () => {
    const c = new RecordCollector();
    for (const seq of [1, 3, 2]) c.add(minimal(seq));
    const store = c.finish();
    expect(Array.from({ length: store.length }, (_, i) => store.seq(i))).toEqual([1, 2, 3]);
  });

  it("without streaming, builds the histograms once from the store (aborted rows left out) and no add after", () => {
    const c = new RecordCollector();
    for (const seq of [1, 0, 2]) c.add(minimal(seq));
    c.add({ ...minimal(3), aborted: true });
    expect(
      c.histograms().get({ api: "a", route: "r", endpoint: "/", connection: "fresh", tag: "probe" }, "total")
        ?.totalCount,
    ).toBe(3);
    expect(() => c.add(minimal(4))).toThrow(/after the histograms/);
  });

  it("materializes the records as objects in send order only when asked (the adapter)", () => {
    const c = new RecordCollector();
    for (const seq of [2, 0, 1]) c.add(minimal(seq));
    expect(c.store.materialized).toBe(0);
    expect(c.records()).toStrictEqual([minimal(0), minimal(1), minimal(2)]);
    expect(c.store.materialized).toBe(3);
  });
});
