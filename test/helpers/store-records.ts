/** Builds plausible RequestRecords for store tests and benchmarks (no network). */
import { expect } from "vitest";
import type { RecordTag, RequestRecord } from "../../src/model.js";

export interface FakeRecordOptions {
  atMs: number;
  seq: number;
  api?: string;
  route?: string;
  endpoint?: string;
  tag?: RecordTag;
  totalMs?: number;
  ok?: boolean;
}

export function fakeRecord(o: FakeRecordOptions): RequestRecord {
  const total = o.totalMs ?? 20 + (o.seq % 7);
  const ok = o.ok ?? true;
  return {
    atMs: o.atMs,
    seq: o.seq,
    seriesSeq: o.seq,
    api: o.api ?? "shop",
    route: o.route ?? "execute-api",
    endpoint: o.endpoint ?? "health",
    method: "GET",
    url: `https://example.invalid/${o.endpoint ?? "health"}`,
    tag: o.tag ?? "probe",
    connection: "fresh",
    phasesMs: {
      dns: 1.5,
      connect: 2.25,
      tls: 5,
      ttfb: total - 10,
      transfer: 1.25,
      total,
    },
    ...(ok ? { status: 200 } : { status: 503 }),
    bytes: 42,
    remoteAddress: "127.0.0.1",
    reused: false,
    assertions: [{ name: "status", ok, expected: 200, actual: ok ? 200 : 503 }],
    hopHeaders: { "x-amzn-requestid": `req-${o.seq}` },
    requestId: `req-${o.seq}`,
    ok,
    ...(ok ? {} : { error: { code: "http-5xx", phase: "assert", message: "HTTP 503" } }),
  };
}

/** `n` records for each of `series` endpoints, starting at `atMs`. */
export function fakeRound(atMs: number, n: number, series: readonly string[], firstSeq = 0): RequestRecord[] {
  const out: RequestRecord[] = [];
  let seq = firstSeq;
  for (const endpoint of series) {
    for (let i = 0; i < n; i++) out.push(fakeRecord({ atMs: atMs + i, seq: seq++, endpoint }));
  }
  return out;
}

type Timeline = ReadonlyArray<{ p50Ms: number; p99Ms: number; maxMs: number }>;

/**
 * Intervals read from the `.hlog` against the same intervals read from the records: the same series,
 * times, counts, failures and stalls, in the same order; p50, p99 and max are their histogram bucket's
 * highest equivalent value (src/record/history-intervals.ts), so never below the exact value and within
 * 0.1% (plus the µs rounding) above it.
 */
export function expectSameTimeline(fromHlog: Timeline, fromRecords: Timeline): void {
  const exact = (t: Timeline) => t.map(({ p50Ms: _a, p99Ms: _b, maxMs: _c, ...rest }) => rest);
  expect(exact(fromHlog)).toEqual(exact(fromRecords));
  fromHlog.forEach((got, i) => {
    const want = fromRecords[i]!;
    for (const k of ["p50Ms", "p99Ms", "maxMs"] as const) {
      expect(got[k], `interval ${i} ${k}`).toBeGreaterThanOrEqual(want[k] - 0.0005);
      expect(got[k], `interval ${i} ${k}`).toBeLessThanOrEqual(want[k] * 1.001 + 0.001);
    }
  });
}
