/**
 * The verdict: the top cause of a diagnosis stated as a chain a person can
 * check — the phase the stalls lost their time in, the hop, the place
 * (target, AZ, address, route), the mechanism — with the evidence of every
 * source that agrees, and the alternatives that were ruled out.
 *
 * Evidence never outranks a cause: X-Ray breakdowns and causes whose stalls
 * all went to the top cause (a pattern that fits the same stalls) are folded
 * in as corroboration and raise the confidence by one step.
 */
import type { Confidence, Finding, Phase, Verdict, VerdictEvidence } from "../model.js";
import { keepRows } from "../record/columns.js";
import { excessMs } from "./physics.js";
import { findingSpec, type Hop } from "./registry.js";
import { median, type Stall } from "./stalls.js";
import type { Candidate, DetectorInput, RuledOut } from "./types.js";
import { fmtDuration, seriesConnKey } from "./util.js";

export interface VerdictInput {
  top: Finding;
  candidate: Candidate;
  /** The other causes with stalls of their own. */
  others: readonly Finding[];
  /** Causes whose stalls all went to the top cause: they describe the same stalls. */
  folded: ReadonlyArray<{ id: string; candidate: Candidate }>;
  /** Evidence findings (X-Ray). */
  evidence: readonly Finding[];
  ruledOut: readonly RuledOut[];
  stalls: readonly Stall[];
  input: DetectorInput;
}

const RAISE: Record<Confidence, Confidence> = { low: "medium", medium: "high", high: "high" };

/** The most common value. */
function mode<T>(values: readonly T[]): T | undefined {
  const counts = new Map<T, number>();
  let best: T | undefined;
  let bestN = 0;
  for (const v of values) {
    const n = (counts.get(v) ?? 0) + 1;
    counts.set(v, n);
    if (n > bestN) {
      best = v;
      bestN = n;
    }
  }
  return best;
}

const EVIDENCE_SOURCE: Record<string, VerdictEvidence["source"]> = {
  "target-unhealthy": "target-health",
  "slow-target": "x-ray",
  "client-lag": "host",
};

export function buildVerdict(v: VerdictInput): Verdict {
  const { top, candidate, input } = v;
  const spec = findingSpec(top.id);
  const mine = new Set(top.stalls);
  const stalls = v.stalls.filter((s) => mine.has(s.record.seq));
  // The finding's failed requests, materialized from their rows (a few; never every record).
  const failedSeqs = new Set(top.failures ?? []);
  const failedRecords =
    failedSeqs.size === 0
      ? []
      : Array.from(
          keepRows(input.rows, (i) => failedSeqs.has(input.columns.seq(i))),
          (i) => input.columns.record(i),
        );
  const phase: string =
    mode(stalls.map((s) => s.phase)) ?? mode(failedRecords.map((r) => r.error?.phase ?? "total")) ?? "total";

  const lines: VerdictEvidence[] = [];
  if (stalls.length > 0) {
    const ex = median(stalls.map((s) => excessMs(s, phase as Phase, input.typical)));
    const typicalMs = median(
      stalls.map((s) => input.typical.get(seriesConnKey(s.record))?.median[phase as Phase] ?? 0),
    );
    lines.push({
      source: "timing",
      text: `${stalls.length} of ${v.stalls.length} stalls lost their time in ${phase}: median +${fmtDuration(ex)} over the series' typical ${fmtDuration(Math.max(0, typicalMs))}`,
    });
  }
  if (failedRecords.length > 0) {
    const codes = mode(failedRecords.map((r) => r.error?.code ?? "?"));
    lines.push({ source: "timing", text: `${failedRecords.length} failed requests (mostly ${codes})` });
  }
  let confidence = top.confidence;
  let agreeing = 0;
  for (const f of v.folded) {
    // A fallback only restates the timing line.
    if (findingSpec(f.id)?.kind === "fallback") continue;
    lines.push({ source: EVIDENCE_SOURCE[f.id] ?? "pattern", text: `${f.id}: ${f.candidate.summary}` });
    agreeing++;
  }
  let xrayHop: Hop | undefined;
  let bestXray = 0;
  for (const e of v.evidence) {
    const shared = e.stalls.filter((seq) => mine.has(seq)).length;
    if (shared === 0) continue;
    lines.push({ source: "x-ray", text: `${shared} of ${top.stalls.length} stalls: ${e.summary}` });
    if (shared > bestXray) {
      bestXray = shared;
      xrayHop = findingSpec(e.id)?.hop;
    }
    if (shared >= 0.5 * top.stalls.length) agreeing++;
  }
  for (const c of candidate.corroboration ?? []) lines.push(c);
  if (agreeing > 0) confidence = RAISE[confidence];

  // A fallback says only that the time went after the request was sent; X-Ray says where.
  const hop: Hop =
    candidate.hop ?? (spec?.kind === "fallback" && xrayHop ? xrayHop : undefined) ?? spec?.hop ?? "path";
  return {
    cause: top.id,
    title: spec?.title ?? top.id,
    headline: top.summary,
    stalls: top.stalls.length,
    ofStalls: v.stalls.length,
    failures: top.failures?.length ?? 0,
    confidence,
    phase,
    hop,
    ...(candidate.where !== undefined ? { where: candidate.where } : {}),
    mechanism: candidate.mechanism ?? spec?.title ?? top.id,
    evidence: lines,
    nextStep: top.nextStep,
    alsoCauses: v.others.map((f) => ({
      cause: f.id,
      stalls: f.stalls.length,
      failures: f.failures?.length ?? 0,
    })),
    ruledOut: [...v.ruledOut],
  };
}
