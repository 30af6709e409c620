/**
 * Breaking one stall down with its X-Ray trace. From the client's record and
 * the trace's segments:
 *
 *   outsideGateway   = client total − API Gateway segment   (edge, network, DNS/TCP/TLS to the edge)
 *   insideGateway    = API Gateway segment − integration     (authorizers, mapping, throttling)
 *   gatewayToBackend = integration − backend segment         (VPC link, NLB, connection set-up)
 *   backend          = backend segment                       (the application)
 *
 * When the backend is not instrumented there is no backend segment, and
 * `integration` (VPC link + NLB + backend together) takes the place of the
 * last two. Clock skew between the client and AWS does not matter: only
 * durations are compared, never timestamps across machines.
 */
import { BREAKDOWN_PARTS, type BreakdownPart, type RequestRecord, type StallBreakdown } from "../../model.js";
import { isApiGatewaySegment, segmentMs, type XraySegment, type XrayTrace } from "./segments.js";

export type BreakdownResult =
  | { ok: true; breakdown: StallBreakdown }
  | {
      ok: false;
      seq: number;
      reason: "no-trace-id" | "no-total" | "no-gateway-segment" | "gateway-in-progress";
    };

/** The API Gateway segment for this record: matched by request id when there are several. */
export function findGatewaySegment(trace: XrayTrace, requestId?: string): XraySegment | undefined {
  const gws = trace.segments.filter(isApiGatewaySegment);
  return (
    (requestId !== undefined ? gws.find((s) => s.apiGatewayRequestId === requestId) : undefined) ?? gws[0]
  );
}

/** Every subsegment, depth first. */
function* walk(segs: readonly XraySegment[]): Generator<XraySegment> {
  for (const s of segs) {
    yield s;
    yield* walk(s.subsegments);
  }
}

/**
 * The integration subsegment: the longest finished subsegment that is a remote
 * call (`namespace: remote`, has `http`, or is named `Lambda`); otherwise the
 * longest finished subsegment.
 */
export function findIntegrationSubsegment(gateway: XraySegment): XraySegment | undefined {
  const subs = [...walk(gateway.subsegments)].filter((s) => segmentMs(s) !== undefined);
  const remote = subs.filter((s) => s.namespace === "remote" || s.http !== undefined || s.name === "Lambda");
  const pick = (list: XraySegment[]): XraySegment | undefined =>
    list.reduce<XraySegment | undefined>(
      (a, b) => (a && (segmentMs(a) ?? 0) >= (segmentMs(b) ?? 0) ? a : b),
      undefined,
    );
  return pick(remote) ?? pick(subs);
}

/**
 * The backend's segment: a finished, non-inferred, non-API-Gateway segment
 * whose parent is the gateway segment or one of its subsegments; otherwise
 * the earliest such segment that starts inside the integration.
 */
export function findBackendSegment(
  trace: XrayTrace,
  gateway: XraySegment,
  integration: XraySegment | undefined,
): XraySegment | undefined {
  const gwIds = new Set([gateway.id, ...[...walk(gateway.subsegments)].map((s) => s.id)]);
  const candidates = trace.segments.filter(
    (s) => s !== gateway && !isApiGatewaySegment(s) && !s.inferred && segmentMs(s) !== undefined,
  );
  const byParent = candidates.find((s) => s.parentId !== undefined && gwIds.has(s.parentId));
  if (byParent) return byParent;
  if (!integration || integration.endS === undefined) return undefined;
  const endS = integration.endS;
  return candidates.find((s) => s.startS >= integration.startS - 0.001 && s.startS <= endS);
}

const clamp = (v: number): number => Math.max(0, v);
const round = (v: number): number => Math.round(v * 10) / 10;

/** Breaks down one stall (or any request) with its trace. */
export function breakdownStall(record: RequestRecord, trace: XrayTrace): BreakdownResult {
  const seq = record.seq;
  if (record.traceId === undefined) return { ok: false, seq, reason: "no-trace-id" };
  const total = record.phasesMs.total;
  if (total === undefined) return { ok: false, seq, reason: "no-total" };
  const gw = findGatewaySegment(trace, record.requestId);
  if (!gw) return { ok: false, seq, reason: "no-gateway-segment" };
  const gwMs = segmentMs(gw);
  if (gwMs === undefined) return { ok: false, seq, reason: "gateway-in-progress" };
  const notes: string[] = [];
  const integ = findIntegrationSubsegment(gw);
  const integMs = integ ? segmentMs(integ) : undefined;
  const backend = findBackendSegment(trace, gw, integ);
  const backendMs = backend ? segmentMs(backend) : undefined;

  const partsMs: Partial<Record<BreakdownPart, number>> = {};
  partsMs.outsideGateway = round(clamp(total - gwMs));
  if (total < gwMs - 50)
    notes.push(
      `API Gateway segment (${round(gwMs)} ms) is longer than the client's total (${round(total)} ms)`,
    );
  if (integMs === undefined) {
    notes.push("no integration subsegment: API Gateway time is not split");
    partsMs.insideGateway = round(gwMs);
  } else {
    partsMs.insideGateway = round(clamp(gwMs - integMs));
    if (backendMs === undefined) {
      notes.push("no backend segment (backend not instrumented): integration includes the backend");
      partsMs.integration = round(integMs);
    } else {
      partsMs.gatewayToBackend = round(clamp(integMs - backendMs));
      partsMs.backend = round(backendMs);
    }
  }
  let dominant: BreakdownPart = "outsideGateway";
  for (const p of BREAKDOWN_PARTS) if ((partsMs[p] ?? -1) > (partsMs[dominant] ?? -1)) dominant = p;

  const breakdown: StallBreakdown = {
    seq,
    traceId: record.traceId,
    clientTotalMs: round(total),
    clientPhasesMs: { ...record.phasesMs },
    gateway: {
      name: gw.name,
      durationMs: round(gwMs),
      ...(gw.apiGatewayRequestId !== undefined ? { requestId: gw.apiGatewayRequestId } : {}),
      ...(gw.http?.status !== undefined ? { status: gw.http.status } : {}),
    },
    partsMs,
    dominant,
    notes,
  };
  if (integ && integMs !== undefined) {
    breakdown.integration = {
      name: integ.name,
      durationMs: round(integMs),
      ...(integ.http?.status !== undefined ? { status: integ.http.status } : {}),
    };
  }
  if (backend && backendMs !== undefined) {
    breakdown.backend = {
      name: backend.name,
      durationMs: round(backendMs),
      ...(backend.origin !== undefined ? { origin: backend.origin } : {}),
      ...(backend.host !== undefined ? { host: backend.host } : {}),
      ...(backend.availabilityZone !== undefined ? { availabilityZone: backend.availabilityZone } : {}),
    };
  }
  return { ok: true, breakdown };
}

/** Breaks down every record that has a fetched trace. */
export function breakdownStalls(
  records: readonly RequestRecord[],
  traces: ReadonlyMap<string, XrayTrace>,
): { breakdowns: StallBreakdown[]; failed: Array<Extract<BreakdownResult, { ok: false }>> } {
  const breakdowns: StallBreakdown[] = [];
  const failed: Array<Extract<BreakdownResult, { ok: false }>> = [];
  for (const r of records) {
    const trace = r.traceId === undefined ? undefined : traces.get(r.traceId);
    if (!trace) continue;
    const res = breakdownStall(r, trace);
    if (res.ok) breakdowns.push(res.breakdown);
    else failed.push(res);
  }
  return { breakdowns, failed };
}
