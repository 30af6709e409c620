/**
 * slow-target: the stalls were served by one NLB target far more often than
 * its share of the targets explains. The target comes from the backend's
 * X-Ray segment (src/aws/xray/segments.ts `host`); the number of targets and
 * their health from DescribeTargetHealth when the config names the target
 * group. Binomial test of the traced stalls on the top target against
 * 1 / targets, Bonferroni over the targets. Untraced stalls of the same series
 * whose excess in the same phase is within 25 % of the traced ones' median are
 * the same fingerprint and are attributed with them.
 */
import type { VerdictEvidence } from "../../model.js";
import { excessMs } from "../physics.js";
import { median } from "../stalls.js";
import { binomialUpperTail, bonferroni, roundP } from "../stats.js";
import type { Detector, DetectorInput, DetectorResult } from "../types.js";
import { countBy, fmtDuration, seriesConnKey, statisticalConfidence, topCount } from "../util.js";

const MIN_TRACED = 3;
const MIN_SHARE = 0.8;

export const slowTarget: Detector = {
  id: "slow-target",
  detect(input: DetectorInput): DetectorResult {
    const xray = input.context.xray;
    const health = input.context.targetHealth;
    const traced = (xray?.breakdowns ?? []).filter((b) => input.stallSeqs.has(b.seq) && b.backend?.host);
    if (traced.length < MIN_TRACED) return {};
    const byTarget = countBy(traced, (b) => b.backend?.host);
    const top = topCount(byTarget);
    if (!top || top[1] / traced.length < MIN_SHARE) {
      return {
        notes: [
          `slow-target: ${traced.length} traced stalls spread over ${Object.keys(byTarget).length} targets`,
        ],
      };
    }
    const [target, onTarget] = top;
    const known = new Set(health?.history.transitions.map((t) => t.targetId) ?? []);
    for (const t of Object.keys(byTarget)) known.add(t);
    const targetsKnown = (health?.history.transitions.length ?? 0) > 0;
    const nTargets = Math.max(2, known.size);
    const p = bonferroni(binomialUpperTail(onTarget, traced.length, 1 / nTargets), nTargets);
    if (p >= input.settings.alpha) {
      return {
        notes: [
          `slow-target: ${onTarget} of ${traced.length} traced stalls on ${target}, p=${roundP(p)} against 1 in ${nTargets}`,
        ],
      };
    }
    const stallBySeq = new Map(input.stalls.map((s) => [s.record.seq, s]));
    const tracedSeqs = new Set(traced.map((b) => b.seq));
    const onSeqs = traced.filter((b) => b.backend?.host === target).map((b) => b.seq);
    const mine = onSeqs.map((seq) => stallBySeq.get(seq)).filter((s) => s !== undefined);
    const phase = mine[0]?.phase ?? "ttfb";
    const ex = mine.map((s) => excessMs(s, phase, input.typical));
    const medianEx = median(ex);
    const series = new Set(mine.map((s) => seriesConnKey(s.record)));
    const alike = input.stalls.filter(
      (s) =>
        !tracedSeqs.has(s.record.seq) &&
        s.phase === phase &&
        series.has(seriesConnKey(s.record)) &&
        Math.abs(excessMs(s, phase, input.typical) - medianEx) <= 0.25 * medianEx,
    );
    const az =
      traced.find((b) => b.backend?.host === target)?.backend?.availabilityZone ??
      health?.history.transitions.find((t) => t.targetId === target && t.az)?.az;
    const where = `${target}${az ? ` in ${az}` : ""}`;
    const degraded = (health?.history.degraded ?? []).filter((w) => w.targetId === target);
    const corroboration: VerdictEvidence[] = [];
    if (degraded.length > 0) {
      const reasons = [...new Set(degraded.map((w) => w.reason).filter((r) => r))].join(", ");
      corroboration.push({
        source: "target-health",
        text: `${target} was reported ${[...new Set(degraded.map((w) => w.state))].join("/")} ${degraded.length} time${degraded.length === 1 ? "" : "s"} during the run${reasons ? ` (${reasons})` : ""}; its stalls came whether it was reported healthy or not: it is slow, and its health checks see it too`,
      });
    } else if (targetsKnown) {
      corroboration.push({
        source: "target-health",
        text: `${target} stayed healthy in DescribeTargetHealth throughout: slow while healthy`,
      });
    }
    const detailBySeq = new Map<number, string>();
    for (const s of mine)
      detailBySeq.set(
        s.record.seq,
        `served by ${target} (X-Ray), +${fmtDuration(excessMs(s, phase, input.typical))} in ${phase}`,
      );
    for (const s of alike)
      detailBySeq.set(
        s.record.seq,
        `same fingerprint as ${target}'s stalls (+${fmtDuration(excessMs(s, phase, input.typical))} in ${phase}, untraced)`,
      );
    return {
      candidate: {
        summary: `Target ${where} is slow: ${onTarget} of ${traced.length} traced stalls were served by it (1 target of ${targetsKnown ? nTargets : `≥ ${nTargets}`}), +${fmtDuration(medianEx)} in ${phase}${alike.length > 0 ? `; ${alike.length} untraced stalls share the fingerprint` : ""}`,
        stalls: [...mine.map((s) => s.record.seq), ...alike.map((s) => s.record.seq)],
        confidence: targetsKnown ? statisticalConfidence(p, onTarget) : "medium",
        evidence: {
          test: "binomial, one-sided (traced stalls on one target vs 1/targets), Bonferroni over targets",
          target,
          ...(az ? { az } : {}),
          tracedStalls: traced.length,
          onTarget,
          targets: nTargets,
          targetsFrom: targetsKnown ? "DescribeTargetHealth" : "X-Ray only (add targetGroups for the count)",
          pAdjusted: roundP(p),
          byTarget,
          medianExcessMs: Math.round(medianEx),
          untracedAlike: alike.length,
        },
        nextStep: `Look at ${target} itself: its application logs and latency at the stall times, CPU/memory/GC, and what differs from the other targets (version, instance type, noisy neighbour); deregister it while you find out.${degraded.length > 0 ? " Its health checks fail intermittently too, so the NLB keeps routing to it between failures." : ""}`,
        detailBySeq,
        hop: "target",
        where,
        mechanism: `one target answers +${fmtDuration(medianEx)} late in ${phase}; the others are fast`,
        corroboration,
      },
    };
  },
};
