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
  nearestRank,
  PART_PHASES,
  type Phase,
  type RequestRecord,
  type Stall,
  type StallCounter,
  type StallRule,
} from "../model.js";
import { columnsOf, type RecordColumns } from "../record/columns.js";

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

/**
 * The median: the middle of the sorted values, the mean of the two middle ones when their count is even
 * ([1, 2, 10, 20] → 6); NaN for none. The one median of the diagnosis: every "median" a finding states or
 * compares with is this one. Percentiles by nearest rank are {@link quantile}.
 */
export function median(values: readonly number[]): number {
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
  return s[nearestRank(p, s.length) - 1]!;
}

/** The typical total a threshold derives from: the lower quartile (see the header). */
const TYPICAL_QUANTILE = 0.25;

/** A series' threshold from its typical (lower-quartile) successful total; undefined: it had none. */
function thresholdOf(rule: StallRule, typicalMs: number | undefined): number {
  if (rule.stallMs !== undefined) return rule.stallMs;
  return typicalMs === undefined
    ? rule.stallFloorMs
    : Math.max(rule.stallFloorMs, rule.stallFactor * typicalMs);
}

/** The rule for readers that count stalls from histograms (record/history.ts's `.hlog` path). */
export function stallCounter(rule: StallRule = DEFAULT_STALL_RULE): StallCounter {
  return {
    typicalQuantile: TYPICAL_QUANTILE,
    thresholdMs: (typicalMs) => thresholdOf(rule, typicalMs),
    timedOut: (code) => code !== undefined && TIMEOUT_CODES.has(code),
  };
}

/** Threshold per series id, from the lower quartile of that series' successful requests. */
export function stallThresholds(
  records: readonly RequestRecord[] | RecordColumns,
  rule: StallRule,
): Map<string, number> {
  return new Map([...seriesLevels(columnsOf(records), rule)].map(([id, l]) => [id, l.thresholdMs]));
}

/** A series' typical (lower-quartile) successful total and the threshold it gives. */
interface SeriesLevel {
  typicalMs: number;
  thresholdMs: number;
}

function seriesLevels(cols: RecordColumns, rule: StallRule): Map<string, SeriesLevel> {
  // Totals per series in one Float64Array, series after series (two passes: count, then fill), sorted in
  // place per series: no number[] per series and no sorted copy (at 300,000 requests those were ~14 MB of
  // garbage at the report's peak).
  const counts = new Map<string, number>();
  const counted = (i: number): boolean =>
    cols.tag(i) === "probe" && cols.ok(i) && cols.total(i) !== undefined;
  for (let i = 0; i < cols.length; i++) {
    if (!counted(i)) continue;
    const id = cols.seriesId(i);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const start = new Map<string, number>();
  let offset = 0;
  for (const [id, n] of counts) {
    start.set(id, offset);
    offset += n;
  }
  const totals = new Float64Array(offset);
  const fill = new Map(start);
  for (let i = 0; i < cols.length; i++) {
    if (!counted(i)) continue;
    const id = cols.seriesId(i);
    const at = fill.get(id)!;
    totals[at] = cols.total(i)!;
    fill.set(id, at + 1);
  }
  const out = new Map<string, SeriesLevel>();
  for (const [id, n] of counts) {
    const from = start.get(id)!;
    const sorted = totals.subarray(from, from + n).sort();
    const typicalMs = sorted[nearestRank(TYPICAL_QUANTILE, n) - 1]!;
    out.set(id, { typicalMs, thresholdMs: thresholdOf(rule, typicalMs) });
  }
  return out;
}

/**
 * The stalls among `records` (an array, or a run's columnar store), in row
 * order. Only the stalls' rows are materialized as records.
 */
export function detectStalls(
  records: readonly RequestRecord[] | RecordColumns,
  rule: StallRule = DEFAULT_STALL_RULE,
): Stall[] {
  const cols = columnsOf(records);
  const levels = seriesLevels(cols, rule);
  const stalls: Stall[] = [];
  for (let index = 0; index < cols.length; index++) {
    const total = cols.total(index);
    if (total === undefined) continue;
    const code = cols.failureCode(index);
    const timedOut = code !== undefined && TIMEOUT_CODES.has(code);
    const level = levels.get(cols.seriesId(index));
    const thresholdMs = level?.thresholdMs ?? thresholdOf(rule, undefined);
    if (timedOut || total > thresholdMs) {
      const r = cols.record(index);
      const stall: Stall = {
        index,
        record: r,
        phase: dominantPhase(r.phasesMs),
        totalMs: total,
        thresholdMs,
      };
      if (level) stall.typicalMs = level.typicalMs;
      stalls.push(stall);
    }
  }
  return stalls;
}
