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

import type { AwsFailure } from "../../aws/errors.js";
import type { Stall } from "../../diagnose/stalls.js";
import type { AwsEvidence, RequestRecord } from "../../model.js";
import type { ProbeTarget } from "../../probe/types.js";

/** The evidence every source can add, typed per source: the DiagnoseContext's own fields (src/model/evidence.ts). */
export type Evidence = AwsEvidence;

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
