/**
 * The real XRayClient against the lab's X-Ray endpoint (REST-JSON on
 * loopback): BatchGetTraces paging and UnprocessedTraceIds, traces that
 * arrive late, throttling and 5xx answers, and the stall breakdown end to end.
 */
import { BatchGetTracesCommand, GetTraceSummariesCommand, XRayClient } from "@aws-sdk/client-xray";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { breakdownStall } from "../../src/aws/xray/breakdown.js";
import { fetchTraces } from "../../src/aws/xray/fetch.js";
import { traceStalls } from "../../src/aws/xray/investigate.js";
import { newTraceRoot } from "../../src/aws/xray/trace-id.js";
import { xrayFindings } from "../../src/diagnose/detectors/xray.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import { labSegments, XrayStore, xrayHandler } from "../../src/lab/aws/xray.js";
import type { RequestRecord } from "../../src/model.js";

let lab: AwsLab;
let store: XrayStore;
let client: XRayClient;

function makeClient(maxAttempts = 3): XRayClient {
  return new XRayClient({
    endpoint: lab.url,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLAB", secretAccessKey: "lab-secret" },
    maxAttempts,
  });
}

let n = 0;
function traceId(): string {
  n++;
  return newTraceRoot(Date.now(), (b) => n.toString(16).padStart(b * 2, "0"));
}

/** A lab request whose integration took `integMs` of which the backend took `backendMs`. */
function labRequest(id: string, atMs: number, gwMs: number, integMs: number, backendMs: number) {
  const integStart = (gwMs - integMs) / 2;
  const backStart = integStart + (integMs - backendMs) - 1;
  return {
    atMs,
    method: "GET",
    path: "/prod/items",
    backendPath: "/items",
    requestId: `req-${id.slice(-6)}`,
    traceId: id,
    segmentId: "a1b2c3d4e5f60718",
    sampled: true,
    status: 200,
    integrationStatus: 200,
    hops: [
      { hop: "apigw", startMs: 0, endMs: gwMs },
      { hop: "integration", startMs: integStart, endMs: integStart + integMs },
      { hop: "target", startMs: backStart, endMs: backStart + backendMs },
    ],
  };
}

beforeEach(async () => {
  store = new XrayStore();
  lab = await startAwsLab({ handlers: [xrayHandler(store, { pageSize: 2 })] });
  client = makeClient();
});

afterEach(async () => {
  client.destroy();
  await lab.close();
});

describe("lab X-Ray endpoint with the real XRayClient", () => {
  it("answers BatchGetTraces with parsed-able documents, pages by NextToken, and omits unknown ids", async () => {
    const ids = [traceId(), traceId(), traceId()];
    for (const id of ids) store.putSegments(id, labSegments(labRequest(id, Date.now(), 100, 80, 60)));
    const unknown = traceId();
    const first = await client.send(new BatchGetTracesCommand({ TraceIds: [...ids, unknown] }));
    expect(first.Traces?.map((t) => t.Id)).toEqual(ids.slice(0, 2));
    expect(first.NextToken).toBe("2");
    const doc = JSON.parse(first.Traces?.[0]?.Segments?.[0]?.Document ?? "{}");
    expect(doc.origin).toBe("AWS::ApiGateway::Stage");
    const second = await client.send(
      new BatchGetTracesCommand({ TraceIds: [...ids, unknown], NextToken: "2" }),
    );
    expect(second.Traces?.map((t) => t.Id)).toEqual([ids[2]]);
    expect(second.NextToken).toBeUndefined();
    expect(first.Traces?.[0]?.Duration).toBeCloseTo(0.1, 2);
  });

  it("rejects more than 5 ids with InvalidRequestException, as the model's 1-5 limit says", async () => {
    const ids = Array.from({ length: 6 }, traceId);
    await expect(client.send(new BatchGetTracesCommand({ TraceIds: ids }))).rejects.toMatchObject({
      name: "InvalidRequestException",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it("parses ThrottledException (429) and 5xx the way the SDK classifies them, and the SDK retries them", async () => {
    const one = makeClient(1);
    lab.faults.throttle(1, "xray");
    await expect(one.send(new BatchGetTracesCommand({ TraceIds: [traceId()] }))).rejects.toMatchObject({
      name: "ThrottledException",
      $metadata: { httpStatusCode: 429 },
    });
    lab.faults.fail5xx(1, "xray");
    await expect(one.send(new BatchGetTracesCommand({ TraceIds: [traceId()] }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 500 },
    });
    one.destroy();
    // The default client retries both: a throttle then a 500, then success.
    lab.faults.throttle(1, "xray");
    lab.faults.fail5xx(1, "xray");
    const before = lab.faults.calls.get("xray") ?? 0;
    const out = await client.send(new BatchGetTracesCommand({ TraceIds: [traceId()] }));
    expect(out.Traces).toEqual([]);
    expect((lab.faults.calls.get("xray") ?? 0) - before).toBe(3);
  });

  it("GetTraceSummaries filters by time window and responsetime", async () => {
    const now = Date.now();
    const slow = traceId();
    const fast = traceId();
    store.putSegments(slow, labSegments(labRequest(slow, now, 3000, 2900, 100)));
    store.putSegments(fast, labSegments(labRequest(fast, now, 50, 40, 30)));
    const out = await client.send(
      new GetTraceSummariesCommand({
        StartTime: new Date(now - 60_000),
        EndTime: new Date(now + 60_000),
        FilterExpression: "responsetime > 1",
      }),
    );
    expect(out.TraceSummaries?.map((s) => s.Id)).toEqual([slow]);
    expect(out.TraceSummaries?.[0]?.ResponseTime).toBeCloseTo(3, 1);
    expect(out.TraceSummaries?.[0]?.StartTime).toBeInstanceOf(Date);
    await expect(
      client.send(
        new GetTraceSummariesCommand({
          StartTime: new Date(now),
          EndTime: new Date(now),
          FilterExpression: "foo ~ 1",
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidRequestException" });
  });
});

describe("fetchTraces over HTTP", () => {
  it("polls until a late trace arrives, retries UnprocessedTraceIds, and breaks the stall down", async () => {
    const late = traceId();
    const unproc = traceId();
    const at = Date.now();
    store.putSegments(late, labSegments(labRequest(late, at, 3000, 2950, 150)), { delayMs: 400 });
    store.putSegments(unproc, labSegments(labRequest(unproc, at, 100, 80, 70)));
    store.markUnprocessed(unproc, 1);
    const res = await fetchTraces(client, [late, unproc], { pollTimeoutMs: 10_000, initialDelayMs: 100 });
    expect(res.missing).toEqual([]);
    expect(res.incomplete).toEqual([]);
    expect(res.fatal).toBeUndefined();
    expect(res.attempts).toBeGreaterThanOrEqual(2);
    expect(res.traces.size).toBe(2);
    const record = {
      seq: 7,
      traceId: late,
      requestId: `req-${late.slice(-6)}`,
      phasesMs: { total: 3100, ttfb: 3050 },
    };
    const b = breakdownStall(record as unknown as RequestRecord, res.traces.get(late)!);
    expect(b.ok).toBe(true);
    if (!b.ok) return;
    expect(b.breakdown.dominant).toBe("gatewayToBackend");
    expect(b.breakdown.partsMs.gatewayToBackend).toBeGreaterThan(2700);
    expect(b.breakdown.partsMs.backend).toBeCloseTo(150, -1);
    expect(b.breakdown.partsMs.outsideGateway).toBeCloseTo(100, -1);
  });

  it("gives up at the deadline with the trace reported missing, and reports a fatal 4xx without retrying", async () => {
    const never = traceId();
    const res = await fetchTraces(client, [never], { pollTimeoutMs: 300, initialDelayMs: 50 });
    expect(res.missing).toEqual([never]);
    expect(res.attempts).toBeGreaterThanOrEqual(2);
    expect(res.elapsedMs).toBeLessThan(3000);

    const denied = await startAwsLab({
      handlers: [
        {
          ...xrayHandler(store),
          handle: async (req) =>
            xrayHandler(store).renderError(req, {
              status: 403,
              code: "AccessDeniedException",
              message: "no",
              type: "Sender",
            }),
        },
      ],
    });
    const c = new XRayClient({
      endpoint: denied.url,
      region: "us-east-1",
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
    });
    try {
      const r = await fetchTraces(c, [never], { pollTimeoutMs: 5000, initialDelayMs: 50 });
      expect(r.fatal?.kind).toBe("access-denied");
      expect(r.attempts).toBe(1);
      expect(r.missing).toEqual([never]);
    } finally {
      c.destroy();
      await denied.close();
    }
  });

  it("keeps polling through an endpoint outage (connection refused) and finds the trace when it is back", async () => {
    const id = traceId();
    store.putSegments(id, labSegments(labRequest(id, Date.now(), 100, 80, 60)));
    await lab.faults.down("refuse");
    const c = makeClient(1);
    const pending = fetchTraces(c, [id], { pollTimeoutMs: 8000, initialDelayMs: 100, maxDelayMs: 200 });
    await new Promise((r) => setTimeout(r, 400));
    await lab.faults.up();
    const res = await pending;
    c.destroy();
    expect(res.traces.has(id)).toBe(true);
    expect(res.failures.some((f) => f.kind === "network")).toBe(true);
    expect(res.fatal).toBeUndefined();
  });
});

describe("traceStalls: stalls → traces → breakdowns → findings", () => {
  it("explains backend stalls from their traces and reports untraced ones", async () => {
    const at = Date.now();
    const records: RequestRecord[] = [];
    for (let i = 0; i < 24; i++) {
      const stalled = i % 8 === 3;
      const id = traceId();
      const totalMs = stalled ? 2100 : 20;
      // Backend-dominated stalls: gateway 2050 ms, integration 2030, backend 2000.
      store.putSegments(
        id,
        labSegments(
          labRequest(id, at + i * 100, stalled ? 2050 : 15, stalled ? 2030 : 12, stalled ? 2000 : 10),
        ),
      );
      records.push({
        atMs: at + i * 100,
        seq: i,
        seriesSeq: i,
        api: "a",
        route: "r",
        endpoint: "/",
        method: "GET",
        url: "u",
        tag: "probe",
        connection: "reuse",
        phasesMs: { ttfb: totalMs - 1, transfer: 1, total: totalMs },
        bytes: 1,
        reused: true,
        assertions: [],
        hopHeaders: {},
        ok: true,
        requestId: `req-${id.slice(-6)}`,
        ...(i === 19 ? {} : { traceId: id }),
      });
    }
    records[19]!.phasesMs = { ttfb: 2099, transfer: 1, total: 2100 };
    const stalls = detectStalls(records);
    expect(stalls.map((s) => s.record.seq)).toEqual([3, 11, 19]);
    const res = await traceStalls(client, stalls, { pollTimeoutMs: 5000, initialDelayMs: 50 });
    expect(res.untraced).toBe(1);
    expect(res.evidence.breakdowns.map((b) => [b.seq, b.dominant])).toEqual([
      [3, "backend"],
      [11, "backend"],
    ]);
    expect(res.evidence.missingTraces).toEqual([]);
    const findings = xrayFindings(stalls, res.evidence.breakdowns);
    expect(findings.map((f) => [f.id, f.stalls])).toEqual([["backend-latency", [3, 11]]]);
  });
});
