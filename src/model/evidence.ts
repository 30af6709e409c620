/**
 * Evidence from outside the prober, as the diagnosis receives it: X-Ray
 * breakdowns of stalls, NLB target health (src/model/target-health.ts) and
 * CloudWatch metric series around the stalls. src/aws/ fetches it and fills
 * these shapes; src/diagnose/ reads them from its DiagnoseContext. Plain JSON.
 */
import type { Phase } from "./record.js";
import type { TargetHealthEvidence } from "./target-health.js";

/** The parts a stall is split into. */
export const BREAKDOWN_PARTS = [
  "outsideGateway",
  "insideGateway",
  "gatewayToBackend",
  "backend",
  "integration",
] as const;
export type BreakdownPart = (typeof BREAKDOWN_PARTS)[number];

/** What each part means, for reports. */
export const BREAKDOWN_PART_LABELS: Readonly<Record<BreakdownPart, string>> = {
  outsideGateway: "outside API Gateway (edge, network)",
  insideGateway: "inside API Gateway",
  gatewayToBackend: "API Gateway → backend (VPC link, NLB, connection set-up)",
  backend: "in the backend",
  integration: "integration (VPC link, NLB and backend; backend not instrumented)",
};

/** One stall, broken down. All durations in ms. */
export interface StallBreakdown {
  /** `RequestRecord.seq` of the stall. */
  seq: number;
  traceId: string;
  clientTotalMs: number;
  /** The client's phases, from the record. */
  clientPhasesMs: Partial<Record<Phase, number>>;
  gateway: {
    /** `<api>/<stage>`. */
    name: string;
    durationMs: number;
    requestId?: string;
    status?: number;
  };
  integration?: { name: string; durationMs: number; status?: number };
  /** `host`: the target that served the request, when its segment says (see XraySegment.host). */
  backend?: { name: string; origin?: string; durationMs: number; host?: string; availabilityZone?: string };
  /** The parts that could be computed. Negative differences (rounding, skew) are clamped to 0. */
  partsMs: Partial<Record<BreakdownPart, number>>;
  /** The largest part. */
  dominant: BreakdownPart;
  notes: string[];
}

/** What the diagnosis context carries for X-Ray. */
export interface XrayEvidence {
  breakdowns: readonly StallBreakdown[];
  /** Stall seqs whose trace was looked for but not found (shown as evidence). */
  missingTraces?: readonly number[];
}

/** One GetMetricData series (NLB, API Gateway metrics) around the stalls. */
export interface EvidenceSeries {
  id: string;
  namespace: string;
  metricName: string;
  stat: string;
  dimensions: Record<string, string>;
  /** Epoch ms, ascending. */
  timestampsMs: number[];
  values: number[];
  /** `Complete`, `PartialData`, … */
  status?: string;
}

/** CloudWatch metrics around the stalls and failed requests: shown as notes; throttling reads 4XXError, keepalive-mismatch the NLB reset counters. */
export interface CloudWatchEvidence {
  series: readonly EvidenceSeries[];
}

/** Every kind of outside evidence, each present when its source was asked and answered. */
export interface AwsEvidence {
  /** NLB target health history and topology (DescribeTargetHealth and friends). */
  targetHealth?: TargetHealthEvidence;
  /** X-Ray breakdowns of the stalls. */
  xray?: XrayEvidence;
  /** GetMetricData series around the stalls. */
  cloudwatchMetrics?: CloudWatchEvidence;
}
