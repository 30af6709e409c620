/**
 * Evidence sources: what the pipeline (src/app/pipeline.ts) asks besides the
 * probe's own records before it diagnoses — NLB target health, X-Ray traces,
 * CloudWatch metrics. Each is one object with hooks around the run:
 *
 *   before()        once before the probe starts (a first snapshot)
 *   during()        polled while the probe runs (app/poll.ts), when the caller asks for it
 *   after(run)      once the records and stalls are known: the typed evidence for the diagnosis
 *   close()         releases what the source holds
 *
 * A hook never throws on AWS errors: they come back as `notes` (one line each,
 * for the report) and `failures`, and the diagnosis runs on whatever arrived.
 */

import { TARGET_HEALTH_EXTRA_KEY } from "../../aws/elbv2/detector.js";
import { CLOUDWATCH_EXTRA_KEY, type EvidenceSeries } from "../../aws/elbv2/metric-queries.js";
import type { TargetHealthEvidence } from "../../aws/elbv2/types.js";
import type { AwsFailure } from "../../aws/xray/aws-error.js";
import { XRAY_EXTRA_KEY, type XrayEvidence } from "../../aws/xray/detector.js";
import type { Stall } from "../../diagnose/stalls.js";
import type { DiagnoseContext } from "../../diagnose/types.js";
import type { RequestRecord } from "../../model.js";
import type { ProbeTarget } from "../../probe/types.js";

/** Key of the GetMetricData evidence in `DiagnoseContext.extra` (throttling reads 4XXError, keepalive-mismatch the NLB resets). */
export const CLOUDWATCH_EVIDENCE_EXTRA_KEY = CLOUDWATCH_EXTRA_KEY;

/** The evidence every source can add, typed per source. */
export interface Evidence {
  /** DescribeTargetHealth history and topology (ELBv2). */
  targetHealth?: TargetHealthEvidence;
  /** The stalls' X-Ray breakdowns. */
  xray?: XrayEvidence;
  /** GetMetricData series around the stalls (AWS/ApiGateway, AWS/NetworkELB). */
  cloudwatchMetrics?: { series: EvidenceSeries[] };
}

/** The finished probe run, as a source's after() sees it. */
export interface EvidenceRun {
  /** Measured records (a clean stop's aborted requests left out). */
  records: readonly RequestRecord[];
  /** Stalls over `records`, detected once by the pipeline. */
  stalls: readonly Stall[];
  /** Stops slow work (trace polling) early: shutdown. */
  signal?: AbortSignal;
}

/** What one hook found: lines for the report and logs, failed AWS calls, evidence. */
export interface EvidenceStep {
  notes: string[];
  failures: AwsFailure[];
  evidence?: Evidence;
}

export interface EvidenceSource {
  /** Short name for logs (`target-health`, `xray`, `cloudwatch-metrics`). */
  readonly name: string;
  /** What each request must carry for this source (X-Ray: the X-Amzn-Trace-Id); absent when nothing. */
  readonly traceHeaderFor?: (t: ProbeTarget) => string | undefined;
  before?(): Promise<EvidenceStep>;
  /** One poll while the probe runs. */
  during?(): Promise<void>;
  after?(run: EvidenceRun): Promise<EvidenceStep>;
  close?(): Promise<void>;
}

export const noEvidence = (): EvidenceStep => ({ notes: [], failures: [] });

/** One line about a failed AWS call. */
export const failureText = (f: AwsFailure): string =>
  `${f.operation} failed: ${f.code}${f.status ? ` (HTTP ${f.status})` : ""}: ${f.message}`;

/** The evidence as `DiagnoseContext.extra`, keyed as the detectors read it. */
export function extraOf(e: Evidence): NonNullable<DiagnoseContext["extra"]> {
  return {
    ...(e.targetHealth ? { [TARGET_HEALTH_EXTRA_KEY]: e.targetHealth } : {}),
    ...(e.xray ? { [XRAY_EXTRA_KEY]: e.xray } : {}),
    ...(e.cloudwatchMetrics ? { [CLOUDWATCH_EVIDENCE_EXTRA_KEY]: e.cloudwatchMetrics } : {}),
  };
}

/** Runs `step` over the sources in order (their notes in that order); one source's throw is a note, not the end. */
export async function eachSource(
  sources: readonly EvidenceSource[],
  step: (s: EvidenceSource) => Promise<EvidenceStep> | undefined,
): Promise<EvidenceStep> {
  const out: EvidenceStep = { notes: [], failures: [], evidence: {} };
  for (const s of sources) {
    let got: EvidenceStep | undefined;
    try {
      got = await step(s);
    } catch (e) {
      got = { notes: [`${s.name}: ${e instanceof Error ? e.message : String(e)}`], failures: [] };
    }
    if (!got) continue;
    out.notes.push(...got.notes);
    out.failures.push(...got.failures);
    Object.assign(out.evidence as Evidence, got.evidence ?? {});
  }
  return out;
}

/**
 * The part of the evidence about [fromMs, toMs] (a round's span): the target
 * health tracker's history covers the whole process, a round keeps only the
 * transitions and windows that touch its span.
 */
export function evidenceWithin(e: Evidence, fromMs: number, toMs: number): Evidence {
  if (!e.targetHealth) return e;
  const h = e.targetHealth.history;
  const touches = (w: { fromMs: number; toMs?: number }) => w.fromMs <= toMs && (w.toMs ?? toMs) >= fromMs;
  return {
    ...e,
    targetHealth: {
      ...e.targetHealth,
      history: {
        ...h,
        transitions: h.transitions.filter((t) => t.atMs >= fromMs && t.atMs <= toMs),
        degraded: h.degraded.filter(touches),
        zones: h.zones.filter(touches),
      },
    },
  };
}
