/** Builds plausible RequestRecords for store tests and benchmarks (no network). */
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
