/**
 * Hand-made, deterministic request records for the report tests: two routes ×
 * two endpoints, fresh and reused connections, a few stalls and failures,
 * keep-warm pings, and a diagnosis-shaped object. No clock, no randomness
 * (a fixed linear congruential sequence).
 */
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { IntervalSummary, LagStats, Phase, RequestRecord } from "../../src/model.js";
import type { BuildReportInput, DiagnosisLike } from "../../src/report/build.js";

export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0); // 2024-05-01T12:00:00Z

export function rec(over: Partial<RequestRecord>): RequestRecord {
  return {
    atMs: T0,
    seq: 0,
    seriesSeq: 0,
    api: "flaskapp",
    route: "custom-domain",
    endpoint: "/",
    method: "GET",
    url: "https://flaskapp-api.example.com/",
    tag: "probe",
    connection: "fresh",
    phasesMs: {},
    bytes: 15,
    reused: false,
    assertions: [],
    hopHeaders: {},
    ok: true,
    ...over,
  };
}

/** Deterministic jitter in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const fresh = (j: number, extra: Partial<Record<Phase, number>> = {}): Partial<Record<Phase, number>> => {
  const p = { dns: 1 + j, connect: 2 + j, tls: 6 + 2 * j, ttfb: 14 + 4 * j, transfer: 0.3, ...extra };
  return { ...p, total: p.dns + p.connect + p.tls + p.ttfb + p.transfer };
};

/**
 * 4 endpoints × 25 rounds (fresh), plus 25 reused requests to execute-api /,
 * plus 5 keep-warm pings. Stalls: seq 13 (connect 1 s), seq 42 (connect 3 s),
 * seq 77 (ttfb 5 s); failures: a reset, a 502 and a headers timeout.
 */
export function fixtureRecords(): RequestRecord[] {
  const jitter = lcg(7);
  const targets = [
    ["custom-domain", "/"],
    ["custom-domain", "/header"],
    ["execute-api", "/"],
    ["execute-api", "/header"],
  ] as const;
  const out: RequestRecord[] = [];
  let seq = 0;
  for (let round = 0; round < 25; round++) {
    for (const [route, endpoint] of targets) {
      const j = jitter() * 2;
      const extra: Partial<Record<Phase, number>> =
        seq === 13 ? { connect: 1003 } : seq === 42 ? { connect: 3004 } : seq === 77 ? { ttfb: 5012 } : {};
      const r = rec({
        seq,
        seriesSeq: round,
        atMs: T0 + seq * 250,
        route,
        endpoint,
        url: `https://${route}.example.com${endpoint}`,
        phasesMs: fresh(j, extra),
        status: 200,
        remoteAddress: `10.0.${(seq % 3) + 1}.17`,
        requestId: `req-${String(seq).padStart(4, "0")}`,
        traceId: `Root=1-6632-${String(seq).padStart(4, "0")}`,
      });
      if (seq === 21) {
        r.ok = false;
        r.error = { code: "reset", phase: "ttfb", message: "socket hang up", cause: "ECONNRESET" };
        r.phasesMs = { dns: 1, connect: 2, tls: 7, total: 12 };
        delete r.status;
      }
      if (seq === 58) {
        r.ok = false;
        r.status = 502;
        r.error = { code: "http-5xx", phase: "assert", message: "HTTP 502 Bad Gateway" };
      }
      if (seq === 90) {
        r.ok = false;
        r.error = { code: "headers-timeout", phase: "ttfb", message: "no response headers within 10000 ms" };
        r.phasesMs = { dns: 1, connect: 2, tls: 7, ttfb: 9990, total: 10000 };
        delete r.status;
      }
      out.push(r);
      seq++;
    }
    // A reused-connection series for execute-api / (no dns/connect/tls).
    const j = jitter();
    out.push(
      rec({
        seq,
        seriesSeq: round,
        atMs: T0 + seq * 250,
        route: "execute-api",
        endpoint: "/",
        connection: "reuse",
        reused: round > 0,
        phasesMs: round > 0 ? { ttfb: 12 + j, transfer: 0.2, total: 12.2 + j } : fresh(j),
        status: 200,
        remoteAddress: "10.0.1.17",
        requestId: `req-${String(seq).padStart(4, "0")}`,
      }),
    );
    seq++;
  }
  for (let k = 0; k < 5; k++) {
    out.push(
      rec({
        seq: seq++,
        seriesSeq: k,
        atMs: T0 + 60_000 * (k + 1),
        tag: "keep-warm",
        phasesMs: fresh(0.5, k === 4 ? { ttfb: 2500 } : {}),
        status: 200,
      }),
    );
  }
  return out;
}

export const LAG: LagStats = {
  p50: 0.05,
  p99: 0.41,
  max: 12.3,
  utilization: 0.031,
  affectedRequests: 0,
  thresholdMs: 50,
  samplePeriodMs: 10,
};

export function fixtureDiagnosis(): DiagnosisLike {
  return {
    findings: [
      {
        id: "tcp-syn-retransmit",
        summary: "Connect-phase stalls near 1 s and 3 s: SYNs were lost and retransmitted.",
        stalls: [13, 42],
        confidence: "high",
        evidence: {
          n: 125,
          nearOneS: 1,
          nearThreeS: 1,
          addresses: ["10.0.2.17", "10.0.1.17"],
          pValue: 0.00012,
        },
        nextStep:
          "Check the NLB target in the AZ behind 10.0.2.17; cross-zone load balancing is off by default.",
      },
      {
        id: "timeout",
        summary: "1 request hit its 10 s deadline waiting for response headers.",
        stalls: [90],
        failures: [90],
        confidence: "medium",
        evidence: { headersTimeout: 1 },
        nextStep: "Look up x-amzn-RequestId in the API Gateway access logs for the integration latency.",
      },
    ],
    verdict: {
      cause: "tcp-syn-retransmit",
      title: "Lost SYNs (TCP retransmission)",
      headline: "Connect-phase stalls near 1 s and 3 s: SYNs were lost and retransmitted.",
      stalls: 2,
      ofStalls: 4,
      failures: 0,
      confidence: "high",
      phase: "connect",
      hop: "client",
      where: "10.0.2.17",
      mechanism: "lost SYNs on the prober's own hop (1× 1 SYN lost, 1× 3 SYNs lost)",
      evidence: [{ source: "timing", text: "2 of 3 stalls lost their time in connect: median +1.0 s" }],
      nextStep:
        "Check the NLB target in the AZ behind 10.0.2.17; cross-zone load balancing is off by default.",
      alsoCauses: [{ cause: "timeout", stalls: 1, failures: 1 }],
      ruledOut: [{ cause: "address-skew", reason: "fits 2 stalls, each with a more specific cause" }],
    },
    evidence: [
      {
        id: "integration-latency",
        summary: "1 stall spent most of its time between API Gateway and the backend per X-Ray.",
        stalls: [42],
        confidence: "medium",
        evidence: { tracedStalls: 1 },
        nextStep: "Check the NLB's target health.",
      },
    ],
    causeBySeq: new Map([
      [13, "tcp-syn-retransmit"],
      [42, "tcp-syn-retransmit"],
      [90, "timeout"],
    ]),
    explanations: new Map([[13, { detail: "connect 1003 ms ≈ 1 s (1st SYN retransmission)" }]]),
    healthy: false,
    notes: ["too few samples for the periodicity test: n=25 < 30 per series"],
  };
}

/** A build input whose records are objects (as history and these tests hold them). */
export type FixtureInput = BuildReportInput & { records: readonly RequestRecord[] };

/** A complete build input; `now` fixed. */
export function fixtureInput(over: Partial<FixtureInput> = {}): FixtureInput {
  const records = fixtureRecords();
  return {
    records,
    stalls: detectStalls(records),
    diagnosis: fixtureDiagnosis(),
    lag: LAG,
    source: { kind: "lab", scenario: "bad-target" },
    options: { count: 25, concurrency: 1, connection: "both", timeoutMs: 10_000 },
    now: () => T0 + 3_600_000,
    ...over,
  };
}

/** Six five-minute intervals of one series with a stall in the fourth. */
export function fixtureIntervals(n = 6): IntervalSummary[] {
  return Array.from({ length: n }, (_, i) => ({
    api: "flaskapp",
    route: "custom-domain",
    endpoint: "/",
    connection: "fresh" as const,
    startMs: T0 + i * 300_000,
    endMs: T0 + (i + 1) * 300_000,
    count: 60,
    p50Ms: 24 + (i % 3),
    p99Ms: 40 + 2 * (i % 4),
    maxMs: i % 7 === 3 ? 5012 : 60 + i,
    stalls: i % 7 === 3 ? 1 : 0,
    failures: i % 11 === 5 ? 2 : 0,
  }));
}
