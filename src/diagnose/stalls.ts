/**
 * The stall rule. A request is a stall when its total time is above the
 * series threshold: an absolute `stallMs` when configured, otherwise
 * max(stallFloorMs, stallFactor × the series' typical total), where the
 * typical total is the lower quartile (p25) of the series' successful requests.
 *
 * Why p25 and not the median: a series can be slow most of the time, e.g. a
 * reused connection pinned to the one bad target behind an NLB, or an
 * endpoint where 2 of 3 requests hit it. Its median is then the stall itself
 * and would hide every stall (seen in the lab's bad-target run: 13 of 20
 * requests at 2 s, median 2 s, no stall reported). The lower quartile stays
 * the fast path as long as a quarter of the requests take it.
 *
 * With the defaults (factor 5, floor 250 ms) a 1 s connect stall on an
 * endpoint whose median is 5 ms is a stall; a 30 ms request on an endpoint
 * whose median is 25 ms is not.
 *
 * Requests that failed on their deadline are stalls too (they took at least
 * the deadline); other failures are not (a fast 500 is a failure, not a stall).
 */
import {
  PART_PHASES,
  type Phase,
  type RequestRecord,
  type Stall,
  type StallRule,
  seriesId,
} from "../model.js";

export type { Stall, StallRule };

export const DEFAULT_STALL_RULE: StallRule = { stallFactor: 5, stallFloorMs: 250 };

/** Failure classes of requests that hit their deadline: stalls whatever their measured total. */
export const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  "dns-timeout",
  "connect-timeout",
  "tls-timeout",
  "headers-timeout",
  "body-timeout",
]);

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The phase with the largest duration (ties: the earliest phase). */
export function dominantPhase(phasesMs: Partial<Record<Phase, number>>): Phase {
  let best: Phase = "total";
  let bestMs = -1;
  for (const p of PART_PHASES) {
    const v = phasesMs[p];
    if (v !== undefined && v > bestMs) {
      best = p;
      bestMs = v;
    }
  }
  return best;
}

/** The p-th quantile (0..1) by nearest rank; NaN for no values. */
export function quantile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1));
  return s[rank]!;
}

/** Threshold per series id, from the lower quartile of that series' successful requests. */
export function stallThresholds(records: readonly RequestRecord[], rule: StallRule): Map<string, number> {
  const totals = new Map<string, number[]>();
  for (const r of records) {
    if (r.tag !== "probe") continue;
    const id = seriesId(r);
    const t = r.phasesMs.total;
    if (t === undefined || !r.ok) continue;
    const list = totals.get(id);
    if (list) list.push(t);
    else totals.set(id, [t]);
  }
  const out = new Map<string, number>();
  for (const [id, list] of totals) {
    out.set(id, rule.stallMs ?? Math.max(rule.stallFloorMs, rule.stallFactor * quantile(list, 0.25)));
  }
  return out;
}

export function detectStalls(
  records: readonly RequestRecord[],
  rule: StallRule = DEFAULT_STALL_RULE,
): Stall[] {
  const thresholds = stallThresholds(records, rule);
  const stalls: Stall[] = [];
  records.forEach((r, index) => {
    const total = r.phasesMs.total;
    if (total === undefined) return;
    const timedOut = r.error !== undefined && TIMEOUT_CODES.has(r.error.code);
    const thresholdMs = thresholds.get(seriesId(r)) ?? rule.stallMs ?? rule.stallFloorMs;
    if (timedOut || total > thresholdMs) {
      stalls.push({ index, record: r, phase: dominantPhase(r.phasesMs), totalMs: total, thresholdMs });
    }
  });
  return stalls;
}
