/**
 * X-Ray findings: where a stall's time went, from its trace breakdown.
 *
 *   integration-latency  API Gateway → backend (VPC link, NLB, connection set-up) dominated
 *   backend-latency      the backend's own segment dominated
 *   gateway-latency      time inside API Gateway itself dominated
 *   outside-gateway      time before/after API Gateway (edge, network) dominated
 *
 * A stall counts for a part when that part is its dominant one and holds at
 * least half of the client's total. Fed through the diagnosis context
 * (`context.xray`, filled by src/aws/xray/investigate.ts) or called directly
 * with {@link xrayFindings}. Their registry entries (src/diagnose/registry.ts)
 * make them evidence, never a cause.
 */
import {
  BREAKDOWN_PART_LABELS,
  type BreakdownPart,
  type Confidence,
  type Finding,
  type Stall,
  type StallBreakdown,
} from "../../model.js";
import { median } from "../stalls.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtDuration } from "../util.js";

export const XRAY_FINDING_IDS = [
  "integration-latency",
  "backend-latency",
  "gateway-latency",
  "outside-gateway",
] as const;
export type XrayFindingId = (typeof XRAY_FINDING_IDS)[number];

const PART_OF: Record<XrayFindingId, readonly BreakdownPart[]> = {
  "integration-latency": ["gatewayToBackend", "integration"],
  "backend-latency": ["backend"],
  "gateway-latency": ["insideGateway"],
  "outside-gateway": ["outsideGateway"],
};

const NEXT_STEP: Record<XrayFindingId, string> = {
  "integration-latency":
    "The time went between API Gateway and the backend: check the NLB's target health and HealthyHostCount per AZ around the stalls, TCP_Target_Reset_Count, the targets' accept backlog, and whether cross-zone load balancing is off with an AZ short of healthy targets.",
  "backend-latency":
    "The backend itself was slow: look at the backend segment's subsegments in the trace (database, downstream calls), its logs at the stall times, and its CPU/GC.",
  "gateway-latency":
    "The time went inside API Gateway: check authorizers (Lambda authorizer cold starts, caching), request/response mapping templates, and usage-plan throttling.",
  "outside-gateway":
    "The time went outside API Gateway: compare the client's DNS/connect/TLS phases, the custom domain (CloudFront) against the execute-api route, and the network between the prober and the region.",
};

function confidenceOf(n: number, medianShare: number, instrumented: boolean): Confidence {
  if (n >= 3 && medianShare >= 0.7 && instrumented) return "high";
  if (n >= 1 && medianShare >= 0.6) return "medium";
  return "low";
}

/** One candidate per finding id that the breakdowns support. */
export function xrayCandidates(
  stallSeqs: ReadonlySet<number>,
  breakdowns: readonly StallBreakdown[],
): Map<XrayFindingId, Candidate> {
  const out = new Map<XrayFindingId, Candidate>();
  const ofStalls = breakdowns.filter((b) => stallSeqs.has(b.seq));
  for (const id of XRAY_FINDING_IDS) {
    const parts = PART_OF[id];
    const matched = ofStalls.filter((b) => {
      const v = b.partsMs[b.dominant];
      return (
        parts.includes(b.dominant) && v !== undefined && b.clientTotalMs > 0 && v >= 0.5 * b.clientTotalMs
      );
    });
    if (matched.length === 0) continue;
    const partMs = matched.map((b) => b.partsMs[b.dominant] ?? 0);
    const shares = matched.map((b) => (b.partsMs[b.dominant] ?? 0) / b.clientTotalMs);
    const uninstrumented = matched.filter((b) => b.dominant === "integration").length;
    const detailBySeq = new Map<number, string>();
    for (const b of matched) {
      detailBySeq.set(
        b.seq,
        `X-Ray: ${fmtDuration(b.partsMs[b.dominant] ?? 0)} of ${fmtDuration(b.clientTotalMs)} ${BREAKDOWN_PART_LABELS[b.dominant]}`,
      );
    }
    const label = BREAKDOWN_PART_LABELS[parts[0] ?? "integration"];
    out.set(id, {
      summary: `${matched.length} stall${matched.length === 1 ? "" : "s"} spent most of their time ${label} per X-Ray (median ${fmtDuration(median(partMs))} of the stall)`,
      stalls: matched.map((b) => b.seq),
      confidence: confidenceOf(matched.length, median(shares), uninstrumented === 0),
      evidence: {
        tracedStalls: ofStalls.length,
        matchedStalls: matched.length,
        medianPartMs: Math.round(median(partMs)),
        maxPartMs: Math.round(Math.max(...partMs)),
        medianShareOfTotal: Math.round(median(shares) * 100) / 100,
        backendNotInstrumented: uninstrumented,
        gateways: [...new Set(matched.map((b) => b.gateway.name))],
        examples: matched
          .slice(0, 5)
          .map((b) => ({ seq: b.seq, traceId: b.traceId, totalMs: b.clientTotalMs, partsMs: b.partsMs })),
      },
      nextStep:
        uninstrumented > 0 && id === "integration-latency"
          ? `${NEXT_STEP[id]} Instrument the backend with X-Ray to separate the VPC link/NLB from the application.`
          : NEXT_STEP[id],
      detailBySeq,
    });
  }
  return out;
}

function detectorFor(id: XrayFindingId): Detector {
  return {
    id,
    detect(input: DetectorInput): DetectorResult {
      const ev = input.context.xray;
      if (!ev) return {};
      const candidate = xrayCandidates(input.stallSeqs, ev.breakdowns).get(id);
      return candidate ? { candidate } : {};
    },
  };
}

/** Detectors for the diagnosis engine's detector list (one per X-Ray finding id). */
export const xrayDetectors: readonly Detector[] = XRAY_FINDING_IDS.map(detectorFor);

/** The same findings without the engine (no attribution across other findings). */
export function xrayFindings(stalls: readonly Stall[], breakdowns: readonly StallBreakdown[]): Finding[] {
  const seqs = new Set(stalls.map((s) => s.record.seq));
  return [...xrayCandidates(seqs, breakdowns)].map(([id, c]) => ({
    id,
    summary: c.summary,
    stalls: c.stalls,
    confidence: c.confidence,
    evidence: c.evidence,
    nextStep: c.nextStep,
  }));
}
