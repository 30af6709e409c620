/**
 * The diagnosis engine: runs every detector over the records and stalls,
 * attributes each stall to at most one cause (the most specific finding that
 * explains it, by the registry's precedence), ranks the findings and says
 * whether the target looks healthy. Pure: no I/O, no clock.
 */
import type { Confidence, Finding } from "../report/types.js";
import { DEFAULT_DETECTORS } from "./detectors/index.js";
import { findingSpec, UNEXPLAINED } from "./registry.js";
import type {
  Candidate,
  Detector,
  DetectorInput,
  DiagnoseInput,
  Diagnosis,
  StallExplanation,
} from "./types.js";
import { fmtMs } from "./util.js";

export const DEFAULT_RESOLVER_TIMEOUT_MS = 5000;
export const DEFAULT_ALPHA = 0.01;

const CONFIDENCE_WEIGHT: Record<Confidence, number> = { high: 3, medium: 2, low: 1 };

const precedenceOf = (id: string): number => findingSpec(id)?.precedence ?? 1000;

export function diagnose(
  input: DiagnoseInput,
  detectors: readonly Detector[] = DEFAULT_DETECTORS,
): Diagnosis {
  const context = input.context ?? {};
  // Keep-warm pings are kept out of the statistics; probe and idle-sweep samples are analysed.
  // Family-wise significance: the level is shared by the statistical findings (Bonferroni).
  const statistical = detectors.filter((d) => findingSpec(d.id)?.kind === "statistical").length;
  const alpha = (context.alpha ?? DEFAULT_ALPHA) / Math.max(1, statistical);
  const records = input.records.filter((r) => r.tag !== "keep-warm").sort((a, b) => a.seq - b.seq);
  const detectorInput: DetectorInput = {
    records,
    stalls: input.stalls,
    stallSeqs: new Set(input.stalls.map((s) => s.record.seq)),
    lag: input.lag,
    settings: {
      resolverTimeoutMs: context.resolverTimeoutMs ?? DEFAULT_RESOLVER_TIMEOUT_MS,
      alpha,
      timeoutMs: context.timeoutMs,
    },
    context,
  };

  const notes: string[] = [];
  const candidates = new Map<string, Candidate>();
  for (const d of detectors) {
    try {
      const res = d.detect(detectorInput);
      // Without stalls there is nothing to test: skipped-test notes would be noise.
      if (res.notes && input.stalls.length > 0) notes.push(...res.notes);
      if (res.candidate) candidates.set(d.id, res.candidate);
    } catch (err) {
      notes.push(`detector ${d.id} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  // Attribution: each stall to the matching finding with the lowest precedence.
  const ordered = [...candidates.entries()].sort((a, b) => precedenceOf(a[0]) - precedenceOf(b[0]));
  const stallSets = new Map(ordered.map(([id, c]) => [id, new Set(c.stalls)]));
  const causeBySeq = new Map<number, string>();
  const explanations = new Map<number, StallExplanation>();
  for (const s of input.stalls) {
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
        `${s.phase} ${phaseMs === undefined ? "?" : fmtMs(phaseMs)} of ${fmtMs(s.totalMs)}${s.record.error ? ` (${s.record.error.code})` : ""}`,
      alsoMatched: matching.slice(1).map(([id]) => id),
    });
  }

  const scored: Array<{ finding: Finding; score: number; precedence: number }> = [];
  for (const [id, c] of ordered) {
    const attributed = c.stalls.filter((seq) => causeBySeq.get(seq) === id).length;
    if (attributed === 0 && !c.corroborating) continue;
    const stalls = [...c.stalls].sort((a, b) => a - b);
    const finding: Finding = {
      id,
      summary: c.summary,
      stalls,
      confidence: c.confidence,
      evidence: { ...c.evidence, attributedStalls: attributed },
      nextStep: c.nextStep,
    };
    const explained = attributed + 0.25 * (stalls.length - attributed) + (stalls.length === 0 ? 0.5 : 0);
    scored.push({
      finding,
      score: explained * CONFIDENCE_WEIGHT[c.confidence],
      precedence: precedenceOf(id),
    });
  }
  scored.sort((a, b) => b.score - a.score || a.precedence - b.precedence);
  const findings = scored.map((s) => s.finding);

  const unexplained = [...causeBySeq.values()].filter((c) => c === UNEXPLAINED).length;
  if (unexplained > 0) notes.push(`${unexplained} of ${input.stalls.length} stalls unexplained`);
  const failed = records.filter((r) => !r.ok).length;
  return {
    findings,
    causeBySeq,
    explanations,
    healthy: input.stalls.length === 0 && failed === 0 && findings.length === 0,
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
