/**
 * stale-connection: resets, or stalls, on reused connections after the socket
 * sat idle — a keep-alive race with a server or NLB idle timeout.
 */
import type { ProbeFailure, RequestRecord } from "../../model.js";
import type { RecordColumns } from "../../record/columns.js";
import { GapSamples, idleSplit } from "../split.js";
import { fisherExact, roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { fmtGap, minOf, statisticalConfidence } from "../util.js";

const RESET_CAUSES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);

/**
 * A connection reset the client saw, or one API Gateway saw on its upstream: a 5xx the gateway generated
 * itself (it carries `x-amzn-ErrorType`) is how a VPC link → NLB connection reset by the NLB's idle timeout
 * reaches the client, whose own connection is fine.
 */
export function isReset(r: RequestRecord): boolean {
  return resetFailure(r.error, r.hopHeaders["x-amzn-errortype"]);
}

/** {@link isReset} of row `i` of the columns. */
export function isResetAt(c: RecordColumns, i: number): boolean {
  return resetFailure(c.error(i), c.hopHeader(i, "x-amzn-errortype"));
}

function resetFailure(error: ProbeFailure | undefined, errorType: string | undefined): boolean {
  if (!error) return false;
  if (error.code === "http-5xx" && errorType !== undefined) return true;
  return error.code === "reset" || (error.cause !== undefined && RESET_CAUSES.has(error.cause));
}

export const staleConnection: Detector = {
  id: "stale-connection",
  detect(input: DetectorInput): DetectorResult {
    const notes: string[] = [];
    const c = input.columns;
    // Resets are failures: few. Rows are read by column; only the resets are materialized.
    const resets: RequestRecord[] = [];
    let reusedCount = 0;
    const sampleGaps = input.stalls.length > 0;
    const reused = new GapSamples(sampleGaps ? input.rows.length : 1);
    for (const i of input.rows) {
      if (isResetAt(c, i)) resets.push(c.record(i));
      if (!c.reused(i)) continue;
      reusedCount++;
      // Without stalls the idle split cannot find any (and notes nothing): no sample object per reused request.
      const gapMs = sampleGaps ? c.socketIdleMs(i) : undefined;
      if (gapMs !== undefined) reused.push(c.seq(i), gapMs, input.stallSeqs.has(c.seq(i)));
    }
    const reusedResets = resets.filter((r) => r.reused);
    const split = idleSplit(reused, input.settings.alpha, "stale-connection stall");
    if (!split.ok && reused.length > 0 && input.stalls.length > 0) notes.push(split.reason);
    if (reusedResets.length === 0 && !split.ok) return { notes };

    const evidence: Record<string, unknown> = {
      reusedRequests: reusedCount,
      resets: resets.length,
      resetsOnReused: reusedResets.length,
      resetSeqs: reusedResets.map((r) => r.seq),
    };
    const idles = reusedResets.map((r) => r.socketIdleMs).filter((v): v is number => v !== undefined);
    if (idles.length > 0) evidence.resetSocketIdleMinMs = Math.round(minOf(idles));
    let confidence: Candidate["confidence"] =
      reusedResets.length >= 3 ? "high" : reusedResets.length === 2 ? "medium" : "low";
    // With enough requests, test reset rate on reused sockets against fresh ones.
    const freshCount = input.rows.length - reusedCount;
    if (reusedResets.length > 0 && freshCount >= 20 && reusedCount >= 20) {
      const freshResets = resets.length - reusedResets.length;
      const p = fisherExact({
        a: reusedResets.length,
        b: reusedCount - reusedResets.length,
        c: freshResets,
        d: freshCount - freshResets,
      }).greater;
      evidence.resetTest = { test: "Fisher exact, one-sided (reset rate reused > fresh)", pValue: roundP(p) };
      if (p >= input.settings.alpha && confidence === "high") confidence = "medium";
    }
    if (reusedResets.length > 0 && reusedResets.length < 0.5 * resets.length) confidence = "low";

    let stalls: number[] = [];
    const parts: string[] = [];
    if (reusedResets.length > 0) {
      const after = idles.length > 0 ? ` after ≥ ${fmtGap(minOf(idles))} idle` : "";
      parts.push(`${reusedResets.length} of ${resets.length} resets hit reused connections${after}`);
    }
    let idleFromMs = idles.length > 0 ? minOf(idles) : undefined;
    if (split.ok) {
      const s = split.split;
      stalls = s.explained;
      idleFromMs = Math.min(idleFromMs ?? s.stallsBeginMs, s.stallsBeginMs);
      parts.push(
        `${s.stallsAbove} of ${s.nAbove} requests on sockets idle ≥ ${fmtGap(s.firstAboveMs)} stalled against ${s.stallsBelow} of ${s.nBelow} fresher (Fisher p=${roundP(s.pAdjusted)})`,
      );
      evidence.stallTest = {
        test: "Fisher exact, one-sided (stall rate above the socket-idle boundary > below), Bonferroni over boundaries",
        n: reused.length,
        boundaryMs: s.boundaryMs,
        thresholdMs: s.stallsBeginMs,
        above: { n: s.nAbove, stalls: s.stallsAbove },
        below: { n: s.nBelow, stalls: s.stallsBelow },
        pAdjusted: roundP(s.pAdjusted),
      };
      const c = statisticalConfidence(s.pAdjusted, s.stallsAbove);
      if (reusedResets.length === 0 || c === "high") confidence = c;
    }
    const keepAlive = idleFromMs !== undefined ? `below ${fmtGap(idleFromMs)}` : "below the server's";
    const candidate: Candidate = {
      summary: `${parts.join("; ")}: keep-alive race with a server or NLB idle timeout`,
      stalls,
      confidence,
      evidence,
      nextStep: `Set the client's keep-alive timeout ${keepAlive} (undici keepAliveTimeout; nginx keepalive_timeout defaults to 75 s, the NLB idle timeout is 350 s) so it closes idle sockets first, and retry idempotent requests once on ECONNRESET.`,
      failures: reusedResets.map((r) => r.seq),
      hop: reusedResets.some((r) => r.hopHeaders["x-amzn-errortype"] !== undefined) ? "nlb" : "path",
      mechanism:
        idleFromMs !== undefined
          ? `a connection idle ≥ ${fmtGap(idleFromMs)} was closed by the far side and reused anyway`
          : "an idle keep-alive connection was closed by the far side and reused anyway",
    };
    return { candidate, notes };
  },
};
