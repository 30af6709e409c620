import { describe, expect, it } from "vitest";
import { requestIdOf, traceIdOf } from "../../src/model.js";
import { RecordStore } from "../../src/record/columns.js";
import { HopHeaderStore, PER_REQUEST_AFTER, StringArena } from "../../src/record/per-request-strings.js";
import { makeRecord } from "../helpers/records.js";

/** The headers a REST API behind CloudFront sends: ids unique per request, the rest repeating. */
function apiHeaders(n: number): Record<string, string> {
  const hex = (v: number, w: number) => (v >>> 0).toString(16).padStart(w, "0");
  return {
    "x-amzn-requestid": `${hex(n * 2654435761, 8)}-${hex(n, 4)}-4abc-8def-${hex(n * 40503, 12)}`,
    "x-amz-apigw-id": `${hex(n * 2246822519, 6)}FdHcEF${hex(n, 4)}=`,
    "x-amzn-trace-id": `Root=1-${hex(1_700_000_000 + n, 8)}-${hex(n * 3266489917, 24)}`,
    via: `1.1 ${hex(n % 3, 32)}.cloudfront.net (CloudFront)`,
    "x-cache": n % 10 === 0 ? "Error from cloudfront" : "Miss from cloudfront",
    "x-amz-cf-pop": "FRA56-P5",
    "x-amz-cf-id": `${hex(n * 668265263, 20)}Aq1bLQ7cXz-${hex(n, 8)}ü==`,
  };
}

describe("StringArena", () => {
  it("gives back every string of every group exactly: UTF-8, empty, long (length varint > 1 byte), across chunks", () => {
    const a = new StringArena();
    const groups: string[][] = [
      [""],
      ["ü€😀", "", "x".repeat(200)],
      ["y".repeat(300_000)],
      ...Array.from({ length: 20_000 }, (_, k) => [`id-${k}-ünïcode`, `${k}`.repeat(k % 50)]),
    ];
    const handles = groups.map((g) => a.add(g));
    expect(a.length).toBe(groups.length);
    handles.forEach((h, k) => {
      groups[k]!.forEach((v, j) => {
        expect(a.get(h, j)).toBe(v);
      });
    });
    expect(() => a.get(2 ** 31, 0)).toThrow(RangeError);
  });
});

describe("StringArena packed forms", () => {
  const forms: Array<[string, string]> = [
    ["UUID", "c0a8f4e2-1b3d-4f5e-9a7b-2c4d6e8f0a1b"],
    ["UUID in capitals (not canonical: kept as text)", "C0A8F4E2-1B3D-4F5E-9A7B-2C4D6E8F0A1B"],
    ["UUID without a dash (plain hex)", "c0a8f4e21b3d4f5e9a7b2c4d6e8f0a1b"],
    ["X-Ray root", "Root=1-69355f2c-0a1b2c3d4e5f60718293a4b5"],
    [
      "X-Ray header with Parent and Sampled (text)",
      "Root=1-69355f2c-0a1b2c3d4e5f60718293a4b5;Parent=53995c3f42cd8ad8;Sampled=1",
    ],
    ["odd hex (text)", "0a1b2c3d4"],
    ["base64 with padding", "KTY5uIbpCdWWVbQUvB1AvSSQr2yyT2Udo+Rq3SYqvRL2YS4QaJsHhA=="],
    ["base64url with padding", "lSs6X3ed5Kfq3D5jNF-3rbf4uzFtFdJvyUSnQH7FGjJnAqQf-HI0YA=="],
    ["base64 whose last character carries stray bits (not canonical: text)", "QUJDRA=="],
    ["base64 with stray bits", "QUJDRB=="],
    ["apigw id", "Kq3SYFdHcEFw1A="],
    ["digits", "1234567890123456"],
    ["short", "ab"],
    ["empty", ""],
    ["non-ASCII", "ünïcödé-ïd-0001"],
  ];
  it.each(forms)("gives back %s exactly", (_name, v) => {
    const a = new StringArena();
    const h = a.add(["before", v, "after"]);
    expect([a.get(h, 0), a.get(h, 1), a.get(h, 2)]).toEqual(["before", v, "after"]);
  });

  it("holds API Gateway's ids in fewer bytes than their text", () => {
    const a = new StringArena();
    const ids = [
      "c0a8f4e2-1b3d-4f5e-9a7b-2c4d6e8f0a1b",
      "Root=1-69355f2c-0a1b2c3d4e5f60718293a4b5",
      "lSs6X3ed5Kfq3D5jNF-3rbf4uzFtFdJvyUSnQH7FGjJnAqQf-HI0YA==",
    ];
    const first = a.add(ids);
    const next = a.add(ids);
    const text = ids.reduce((n, v) => n + v.length + 1, 0);
    expect(next - first).toBe(2 + 16 + 2 + 16 + 2 + 40); // a 2-byte header (length × 8 + form) and the bytes
    expect(next - first).toBeLessThan(text * 0.6);
  });

  it("random strings of every alphabet come back exactly", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabets = [
      "0123456789abcdef",
      "0123456789abcdef-",
      "ABCDEFabcdef0123456789+/=",
      "A-Za_z09=",
      "Root=1-0a",
    ];
    const a = new StringArena();
    const want: string[] = [];
    const handles: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const abc = alphabets[i % alphabets.length]!;
      let v = "";
      for (let n = rand(60); n > 0; n--) v += abc[rand(abc.length)];
      want.push(v);
      handles.push(a.add([v]));
    }
    handles.forEach((h, i) => {
      expect(a.get(h, 0)).toBe(want[i]);
    });
  });
});

describe("HopHeaderStore", () => {
  it("reads back every header object exactly, in order, while the ids move to the arena", () => {
    const h = new HopHeaderStore();
    const rows = Array.from({ length: 400 }, (_, n) => ({ headers: apiHeaders(n), ...h.add(apiHeaders(n)) }));
    for (const r of rows) {
      expect(h.object(r.shape, r.first)).toStrictEqual(r.headers);
      expect(Object.keys(h.object(r.shape, r.first))).toEqual(Object.keys(r.headers));
      for (const [name, value] of Object.entries(r.headers))
        expect(h.get(r.shape, r.first, name)).toBe(value);
      expect(h.get(r.shape, r.first, "x-not-there")).toBeUndefined();
    }
    // Per-request ids (4 headers, one group per row) go to the arena from the value that makes more than PER_REQUEST_AFTER
    // distinct ones (row PER_REQUEST_AFTER, 0-based); the repeating headers stay in a few shapes.
    expect(h.arena.length).toBe(400 - PER_REQUEST_AFTER);
    expect(h.shapeCount).toBeLessThan(PER_REQUEST_AFTER + 10);
  });

  it("keeps no headers as shape 0", () => {
    const h = new HopHeaderStore();
    expect(h.add({})).toEqual({ shape: 0, first: 0 });
    expect(h.object(0, 0)).toEqual({});
  });
});

describe("RecordStore with per-request ids", () => {
  it("stores request and trace ids once: derived from the hop headers when they match, kept apart when not", () => {
    const s = new RecordStore();
    const records = Array.from({ length: 300 }, (_, n) => {
      const hopHeaders = apiHeaders(n);
      return makeRecord({
        seq: n,
        seriesSeq: n,
        hopHeaders,
        requestId: n % 7 === 0 ? `own-${n}` : (requestIdOf(hopHeaders) ?? ""),
        // The prober's own trace id when it sends one; else the response's.
        traceId:
          n % 5 === 0
            ? `1-00000000-${n.toString(16).padStart(24, "0")}`
            : (traceIdOf(hopHeaders["x-amzn-trace-id"]) ?? ""),
      });
    });
    for (const r of records) s.add(r);
    records.forEach((r, i) => {
      expect(s.record(i)).toStrictEqual(r);
    });
    expect(s.hopHeader(5, "x-amzn-requestid")).toBe(records[5]!.hopHeaders["x-amzn-requestid"]);
    // Only the ids that differ from the headers are strings of their own: 43 request ids (n % 7 = 0) and 60
    // trace ids (n % 5 = 0).
    expect(s.internSizes().ids).toBe(43 + 60);
  });
});
