import { describe, expect, it } from "vitest";
import { breakdownStall, breakdownStalls } from "../../src/aws/xray/breakdown.js";
import { isTraceComplete, parseTrace } from "../../src/aws/xray/segments.js";
import {
  XRAY_FINDING_IDS,
  xrayCandidates,
  xrayDetectors,
  xrayFindings,
} from "../../src/diagnose/detectors/xray.js";
import { CLASSIC_LINUX } from "../../src/diagnose/physics.js";
import { FINDINGS } from "../../src/diagnose/registry.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { DetectorInput } from "../../src/diagnose/types.js";
import type { RequestRecord, StallBreakdown } from "../../src/model.js";
import { arrayColumns } from "../../src/record/columns.js";

const T0 = 1_750_000_000;
const ROOT = "1-6853c280-0123456789abcdef01234567";

/** A real-shaped API Gateway segment (fields as in the API Gateway X-Ray docs) with an HTTP integration subsegment. */
function gatewayDoc(gwMs: number, integMs: number, opts: { inProgress?: boolean; requestId?: string } = {}) {
  const start = T0 + 0.01;
  const integStart = start + (gwMs - integMs) / 2000;
  return JSON.stringify({
    id: "70de5b6f19ff9a0a",
    name: "orders-api/prod",
    origin: "AWS::ApiGateway::Stage",
    trace_id: ROOT,
    start_time: start,
    ...(opts.inProgress ? { in_progress: true } : { end_time: start + gwMs / 1000 }),
    http: {
      request: {
        url: "https://abc.execute-api.us-east-1.amazonaws.com/prod/orders",
        method: "GET",
        client_ip: "192.0.2.1",
      },
      response: { status: 200, content_length: 0 },
    },
    aws: {
      xray: { sampling_rule_name: "stallwatch" },
      api_gateway: {
        account_id: "123456789012",
        rest_api_id: "abc",
        stage: "prod",
        request_id: opts.requestId ?? "req-1",
      },
    },
    annotations: { "aws:api_id": "abc", "aws:api_stage": "prod" },
    subsegments: [
      {
        id: "5ff1a2b3c4d5e6f7",
        name: "abc.internal/orders",
        namespace: "remote",
        start_time: integStart,
        end_time: integStart + integMs / 1000,
        http: { request: { url: "http://nlb.internal/orders", method: "GET" }, response: { status: 200 } },
      },
    ],
  });
}

function backendDoc(startOffsetS: number, ms: number) {
  return JSON.stringify({
    id: "1234abcd1234abcd",
    trace_id: ROOT,
    parent_id: "5ff1a2b3c4d5e6f7",
    name: "orders-svc",
    origin: "AWS::ECS::Container",
    start_time: T0 + startOffsetS,
    end_time: T0 + startOffsetS + ms / 1000,
  });
}

function record(seq: number, totalMs: number, extra: Partial<RequestRecord> = {}): RequestRecord {
  return {
    atMs: T0 * 1000 + seq * 1000,
    seq,
    seriesSeq: seq,
    api: "a",
    route: "r",
    endpoint: "/orders",
    method: "GET",
    url: "https://x/orders",
    tag: "probe",
    connection: "reuse",
    phasesMs: { ttfb: totalMs - 2, transfer: 2, total: totalMs },
    bytes: 10,
    reused: true,
    assertions: [],
    hopHeaders: {},
    ok: true,
    traceId: ROOT,
    requestId: "req-1",
    ...extra,
  };
}

describe("segment parsing", () => {
  it("parses documents, counts broken ones, and knows when the trace is complete", () => {
    const t = parseTrace({
      Id: ROOT,
      Duration: 3.1,
      Segments: [
        { Id: "a", Document: gatewayDoc(3000, 2950) },
        { Id: "b", Document: "{not json" },
      ],
    });
    expect(t?.segments).toHaveLength(1);
    expect(t?.badDocuments).toBe(1);
    expect(t?.segments[0]).toMatchObject({
      name: "orders-api/prod",
      apiGatewayRequestId: "req-1",
      http: { status: 200 },
    });
    expect(isTraceComplete(t!)).toBe(true);
    const p = parseTrace({
      Id: ROOT,
      Segments: [{ Id: "a", Document: gatewayDoc(3000, 2950, { inProgress: true }) }],
    });
    expect(isTraceComplete(p!)).toBe(false);
  });
});

describe("breakdownStall", () => {
  it("splits a VPC-link/NLB stall: integration long, backend short", () => {
    // gateway 3000 ms, integration 2950 ms, backend 100 ms starting late in the integration; client saw 3080 ms.
    const t = parseTrace({
      Id: ROOT,
      Segments: [
        { Id: "a", Document: gatewayDoc(3000, 2950) },
        { Id: "b", Document: backendDoc(2.9, 100) },
      ],
    })!;
    const b = breakdownStall(record(1, 3080), t);
    expect(b.ok).toBe(true);
    if (!b.ok) return;
    expect(b.breakdown.partsMs).toEqual({
      outsideGateway: 80,
      insideGateway: 50,
      gatewayToBackend: 2850,
      backend: 100,
    });
    expect(b.breakdown.dominant).toBe("gatewayToBackend");
    expect(b.breakdown.backend).toMatchObject({
      name: "orders-svc",
      origin: "AWS::ECS::Container",
      durationMs: 100,
    });
    expect(b.breakdown.gateway).toMatchObject({
      name: "orders-api/prod",
      durationMs: 3000,
      requestId: "req-1",
      status: 200,
    });
  });

  it("names the backend when its own segment holds the time", () => {
    const t = parseTrace({
      Id: ROOT,
      Segments: [
        { Id: "a", Document: gatewayDoc(2000, 1980) },
        { Id: "b", Document: backendDoc(0.03, 1950) },
      ],
    })!;
    const b = breakdownStall(record(2, 2040), t);
    expect(b.ok && b.breakdown.dominant).toBe("backend");
  });

  it("puts the time outside API Gateway when the gateway was quick", () => {
    const t = parseTrace({
      Id: ROOT,
      Segments: [
        { Id: "a", Document: gatewayDoc(40, 30) },
        { Id: "b", Document: backendDoc(0.02, 20) },
      ],
    })!;
    const b = breakdownStall(record(3, 3040), t);
    expect(b.ok && b.breakdown.dominant).toBe("outsideGateway");
    expect(b.ok && b.breakdown.partsMs.outsideGateway).toBe(3000);
  });

  it("without a backend segment, reports the integration as a whole and says why", () => {
    const t = parseTrace({ Id: ROOT, Segments: [{ Id: "a", Document: gatewayDoc(3000, 2950) }] })!;
    const b = breakdownStall(record(4, 3080), t);
    expect(b.ok).toBe(true);
    if (!b.ok) return;
    expect(b.breakdown.dominant).toBe("integration");
    expect(b.breakdown.partsMs.gatewayToBackend).toBeUndefined();
    expect(b.breakdown.notes.join(" ")).toContain("not instrumented");
  });

  it("fails cleanly without a gateway segment, on one in progress, and without a trace id", () => {
    const none = parseTrace({ Id: ROOT, Segments: [{ Id: "b", Document: backendDoc(0, 10) }] })!;
    expect(breakdownStall(record(5, 100), none)).toEqual({ ok: false, seq: 5, reason: "no-gateway-segment" });
    const prog = parseTrace({
      Id: ROOT,
      Segments: [{ Id: "a", Document: gatewayDoc(100, 50, { inProgress: true }) }],
    })!;
    expect(breakdownStall(record(6, 100), prog)).toMatchObject({ ok: false, reason: "gateway-in-progress" });
    const { traceId: _omit, ...noTrace } = record(7, 100);
    expect(breakdownStall(noTrace as RequestRecord, prog)).toMatchObject({
      ok: false,
      reason: "no-trace-id",
    });
  });
});

describe("X-Ray findings", () => {
  const traces = new Map([
    [
      ROOT,
      parseTrace({
        Id: ROOT,
        Segments: [
          { Id: "a", Document: gatewayDoc(3000, 2950) },
          { Id: "b", Document: backendDoc(2.9, 100) },
        ],
      })!,
    ],
  ]);
  // 30 quick requests, 3 stalls whose traces show the VPC link/NLB path slow.
  const records = Array.from({ length: 33 }, (_, i) =>
    i % 11 === 5 ? record(i, 3080) : record(i, 20 + (i % 5), { traceId: undefined as unknown as string }),
  );
  const stalls = detectStalls(records);

  it("raises integration-latency with high confidence for three such stalls, and nothing else", () => {
    const { breakdowns } = breakdownStalls(records, traces);
    expect(breakdowns).toHaveLength(3);
    const f = xrayFindings(stalls, breakdowns);
    expect(f.map((x) => [x.id, x.confidence, x.stalls])).toEqual([
      ["integration-latency", "high", [5, 16, 27]],
    ]);
    expect(f[0]?.evidence).toMatchObject({ matchedStalls: 3, medianPartMs: 2850, backendNotInstrumented: 0 });
  });

  it("the detectors read context.xray and ignore breakdowns of non-stalls", () => {
    const { breakdowns } = breakdownStalls(records, traces);
    const input = {
      records,
      columns: arrayColumns(records),
      rows: arrayColumns(records).bySeq(),
      stalls,
      stallSeqs: new Set([5, 16]),
      lag: undefined,
      settings: { resolverTimeoutMs: 5000, alpha: 0.01, timeoutMs: undefined, synSchedule: CLASSIC_LINUX },
      typical: new Map(),
      context: { xray: { breakdowns } },
    } as DetectorInput;
    const got = xrayDetectors.map((d) => [d.id, d.detect(input).candidate?.stalls]);
    expect(got).toEqual([
      ["integration-latency", [5, 16]],
      ["backend-latency", undefined],
      ["gateway-latency", undefined],
      ["outside-gateway", undefined],
    ]);
    expect(xrayDetectors[0]!.detect({ ...input, context: {} }).candidate).toBeUndefined();
  });

  it("states the median of an even count as the mean of the two middle stalls, like every other finding", () => {
    const part = (seq: number, ms: number): StallBreakdown => ({
      seq,
      traceId: ROOT,
      clientTotalMs: ms + 100,
      clientPhasesMs: { ttfb: ms + 90 },
      gateway: { name: "orders-api/prod", durationMs: ms + 50 },
      partsMs: { integration: ms, insideGateway: 20, outsideGateway: 50 },
      dominant: "integration",
      notes: [],
    });
    const breakdowns = [part(1, 3400), part(2, 1000), part(3, 3000), part(4, 1200)];
    const c = xrayCandidates(new Set([1, 2, 3, 4]), breakdowns).get("integration-latency");
    expect(c?.summary).toMatch(/\(median 2\.1 s of the stall\)$/);
    expect(c?.evidence).toMatchObject({ matchedStalls: 4, medianPartMs: 2100 });
  });

  it("has one registry spec per detector, each evidence (never a cause)", () => {
    const ids: readonly string[] = XRAY_FINDING_IDS;
    const specs = FINDINGS.filter((s) => ids.includes(s.id));
    expect(specs.map((s) => s.id).sort()).toEqual(xrayDetectors.map((d) => d.id).sort());
    expect(specs.map((s) => ("role" in s ? s.role : "cause"))).toEqual(specs.map(() => "evidence"));
  });
});
