/**
 * The diagnosis engine: runs every detector over the records and stalls,
 * attributes each stall to at most one cause (the most specific finding that
 * explains it, by the registry's precedence), ranks the findings and says
 * whether the target looks healthy. Pure: no I/O, no clock.
 */
import type { Confidence, Finding, RequestRecord } from "../model.js";
import { columnsOf, keepRows } from "../record/columns.js";
import { DEFAULT_DETECTORS } from "./detectors/index.js";
import { CLASSIC_LINUX, typicalPhases } from "./physics.js";
import { findingSpec, roleOf, UNEXPLAINED } from "./registry.js";
import type {
  Candidate,
  Detector,
  DetectorInput,
  DiagnoseInput,
  Diagnosis,
  RuledOut,
  StallExplanation,
} from "./types.js";
import { fmtDuration } from "./util.js";
import { buildVerdict } from "./verdict.js";

export const DEFAULT_RESOLVER_TIMEOUT_MS = 5000;
export const DEFAULT_ALPHA = 0.01;

const CONFIDENCE_WEIGHT: Record<Confidence, number> = { high: 3, medium: 2, low: 1 };

const precedenceOf = (id: string): number => findingSpec(id)?.precedence ?? 1000;

const toFinding = (
  id: string,
  c: Candidate,
  stalls: number[],
  evidence: Record<string, unknown>,
  failures: readonly number[] = c.failures ?? [],
): Finding => ({
  id,
  summary: c.summary,
  stalls,
  ...(failures.length > 0 ? { failures: [...failures].sort((a, b) => a - b) } : {}),
  confidence: c.confidence,
  evidence,
  nextStep: c.nextStep,
});

export function diagnose(
  input: DiagnoseInput,
  detectors: readonly Detector[] = DEFAULT_DETECTORS,
): Diagnosis {
  const context = input.context ?? {};
  const skip = context.skip ?? {};
  const active = detectors.filter((d) => skip[d.id] === undefined);
  // Family-wise significance: the level is shared by the statistical findings (Bonferroni).
  const statistical = active.filter((d) => findingSpec(d.id)?.kind === "statistical").length;
  const alpha = (context.alpha ?? DEFAULT_ALPHA) / Math.max(1, statistical);
  // Keep-warm pings are kept out of every count alike: no statistics, no stalls, no attribution.
  const columns = columnsOf(input.records);
  const rows = keepRows(columns.bySeq(), (i) => columns.tag(i) !== "keep-warm");
  const stalls = input.stalls.filter((s) => s.record.tag !== "keep-warm");
  const stallSeqs = new Set(stalls.map((s) => s.record.seq));
  let materialized: RequestRecord[] | undefined;
  const detectorInput: DetectorInput = {
    columns,
    rows,
    get records(): readonly RequestRecord[] {
      materialized ??= Array.from(rows, (i) => columns.record(i));
      return materialized;
    },
    stalls,
    stallSeqs,
    lag: input.lag,
    settings: {
      resolverTimeoutMs: context.resolverTimeoutMs ?? DEFAULT_RESOLVER_TIMEOUT_MS,
      alpha,
      timeoutMs: context.timeoutMs,
      synSchedule: context.synSchedule ?? CLASSIC_LINUX,
    },
    context,
    typical: typicalPhases(columns, rows, stallSeqs),
  };

  const notes: string[] = [];
  for (const [id, why] of Object.entries(skip)) if (stalls.length > 0) notes.push(`${id} not tested: ${why}`);
  const causes = new Map<string, Candidate>();
  const evidence = new Map<string, Candidate>();
  const ruledOut: RuledOut[] = [];
  for (const d of active) {
    try {
      const res = d.detect(detectorInput);
      // Without stalls there is nothing to test: skipped-test notes would be noise.
      if (res.notes && stalls.length > 0) notes.push(...res.notes);
      if (res.ruledOut) ruledOut.push({ cause: d.id, reason: res.ruledOut });
      if (res.candidate) (roleOf(d.id) === "evidence" ? evidence : causes).set(d.id, res.candidate);
    } catch (err) {
      notes.push(`detector ${d.id} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // Attribution: each stall to exactly one cause, the most specific that explains it (lowest precedence).
  const ordered = [...causes.entries()].sort((a, b) => precedenceOf(a[0]) - precedenceOf(b[0]));
  const stallSets = new Map(ordered.map(([id, c]) => [id, new Set(c.stalls)]));
  const causeBySeq = new Map<number, string>();
  const explanations = new Map<number, StallExplanation>();
  for (const s of stalls) {
    const seq = s.record.seq;
    const matching = ordered.filter(([id]) => stallSets.get(id)?.has(seq));
    const first = matching[0];
    const cause = first ? first[0] : UNEXPLAINED;
    causeBySeq.set(seq, cause);
    const phaseMs = s.record.phasesMs[s.phase];
    explanations.set(seq, {
      seq,
      cause,
      title: first ? (findingSpec(cause)?.title ?? cause) : UNEXPLAINED,
      detail:
        first?.[1].detailBySeq?.get(seq) ??
        `${s.phase} ${phaseMs === undefined ? "?" : fmtDuration(phaseMs)} of ${fmtDuration(s.totalMs)}${s.record.error ? ` (${s.record.error.code})` : ""}`,
      alsoMatched: matching.slice(1).map(([id]) => id),
    });
  }

  // Failed requests likewise: each to the most specific cause that explains it (a 5xx from a reset pooled
  // connection is keepalive-mismatch's, not also stale-connection's).
  const failureCause = new Map<number, string>();
  for (const [id, c] of ordered)
    for (const seq of c.failures ?? []) if (!failureCause.has(seq)) failureCause.set(seq, id);

  const scored: Array<{ finding: Finding; candidate: Candidate; score: number; precedence: number }> = [];
  const unattributed: Array<[string, Candidate]> = [];
  for (const [id, c] of ordered) {
    const attributed = c.stalls.filter((seq) => causeBySeq.get(seq) === id).sort((a, b) => a - b);
    const myFailures = (c.failures ?? []).filter((seq) => failureCause.get(seq) === id);
    const failures = myFailures.length;
    if (attributed.length === 0 && failures === 0) {
      if (c.stalls.length > 0 || (c.failures?.length ?? 0) > 0) unattributed.push([id, c]);
      continue;
    }
    const ev: Record<string, unknown> = { ...c.evidence };
    if (c.stalls.length > attributed.length) ev.alsoFits = c.stalls.length - attributed.length;
    const otherFailures = (c.failures?.length ?? 0) - failures;
    if (otherFailures > 0) ev.alsoFitsFailures = otherFailures;
    scored.push({
      finding: toFinding(id, c, attributed, ev, myFailures),
      candidate: c,
      score: (attributed.length + 0.5 * failures) * CONFIDENCE_WEIGHT[c.confidence],
      precedence: precedenceOf(id),
    });
  }
  scored.sort((a, b) => b.score - a.score || a.precedence - b.precedence);
  const findings = scored.map((s) => s.finding);
  const evidenceFindings = [...evidence].map(([id, c]) =>
    toFinding(
      id,
      c,
      [...c.stalls].sort((a, b) => a - b),
      { ...c.evidence },
    ),
  );
  // A cause left without stalls either describes the top cause's stalls (folded into the verdict) or lost
  // them to more specific causes (ruled out, saying to which).
  const top = scored[0];
  const folded: Array<{ id: string; candidate: Candidate }> = [];
  for (const [id, c] of unattributed) {
    if (c.stalls.length === 0) {
      const others = [...new Set((c.failures ?? []).map((seq) => failureCause.get(seq)))].join(", ");
      ruledOut.push({
        cause: id,
        reason: `fits ${c.failures?.length ?? 0} failed request(s), each with a more specific cause (${others}): ${c.summary}`,
      });
      continue;
    }
    const takenBy = c.stalls.map((seq) => causeBySeq.get(seq));
    const toTop = top ? takenBy.filter((x) => x === top.finding.id).length : 0;
    if (toTop >= 0.5 * c.stalls.length) {
      folded.push({ id, candidate: c });
      continue;
    }
    const others = [...new Set(takenBy)].join(", ");
    ruledOut.push({
      cause: id,
      reason: `fits ${c.stalls.length} stall${c.stalls.length === 1 ? "" : "s"}, each with a more specific cause (${others}): ${c.summary}`,
    });
  }

  const unexplained = [...causeBySeq.values()].filter((c) => c === UNEXPLAINED).length;
  if (unexplained > 0) notes.push(`${unexplained} of ${stalls.length} stalls unexplained`);
  let failed = 0;
  for (const i of rows) if (!columns.ok(i)) failed++;
  const verdict = top
    ? buildVerdict({
        top: top.finding,
        candidate: top.candidate,
        others: findings.slice(1),
        folded,
        evidence: evidenceFindings,
        ruledOut,
        stalls,
        input: detectorInput,
      })
    : undefined;
  return {
    findings,
    evidence: evidenceFindings,
    ruledOut,
    ...(verdict ? { verdict } : {}),
    causeBySeq,
    explanations,
    healthy: stalls.length === 0 && failed === 0 && findings.length === 0,
    notes: [...new Set(notes)],
  };
}

/** The cause of one stall for the report (`unexplained` when no finding explains it or the seq is unknown). */
export function explainStall(diagnosis: Diagnosis, seq: number): StallExplanation {
  return (
    diagnosis.explanations.get(seq) ?? {
      seq,
      cause: UNEXPLAINED,
      title: UNEXPLAINED,
      detail: "",
      alsoMatched: [],
    }
  );
}
