/**
 * The timeline of recorded history: one interval summary per round × series
 * (api, route, endpoint, connection, tag), with its count, failures, p50,
 * p99, max and stalls. Built either from a round's records (exact), or from
 * its `.hlog` block alone: the total-phase histograms give the count and the
 * percentiles, the block's failures comment the failures, and stalls are
 * counted with the stall rule over the histograms (see
 * {@link hlogIntervals}), so a long range is read without parsing a record.
 */
import {
  type IntervalSummary,
  nearestRank,
  type RecordTag,
  type RequestRecord,
  type StallCounter,
  seriesId,
} from "../model.js";
import { bucketValueUs, type HistKey, histKeyId, histKeyOf, type SparseCounts } from "./histograms.js";
import type { HlogRound } from "./history-hlog.js";
import type { HlogFailure } from "./hlog.js";

/** An interval summary that says which record tag it covers. */
export interface TaggedIntervalSummary extends IntervalSummary {
  tag: RecordTag;
  /** The writer (prober) whose round this interval is. */
  writer: string;
}

/** A round's place in time: what its intervals say beside their numbers. */
export interface RoundSpan {
  writer: string;
  startMs: number;
  endMs: number;
}

/** Nearest-rank percentile (p: 0..100) of ascending values; 0 for none. */
function pct(sorted: readonly number[], p: number): number {
  return sorted[nearestRank(p / 100, sorted.length) - 1] ?? 0;
}
const roundUs = (ms: number): number => Math.round(ms * 1000) / 1000;

function emptyInterval(
  k: Pick<RequestRecord, "api" | "route" | "endpoint" | "connection" | "tag">,
  span: RoundSpan,
): TaggedIntervalSummary {
  return {
    api: k.api,
    route: k.route,
    endpoint: k.endpoint,
    connection: k.connection,
    tag: k.tag,
    writer: span.writer,
    startMs: span.startMs,
    endMs: span.endMs,
    count: 0,
    p50Ms: 0,
    p99Ms: 0,
    maxMs: 0,
    stalls: 0,
    failures: 0,
  };
}

/**
 * The intervals of one round from its measured records, in the order their series first appear,
 * appended to `into`; `indexOf` gets, per record, the index of its interval in `into` (stall counts
 * are added later, by record).
 */
export function recordIntervals(
  records: readonly RequestRecord[],
  span: RoundSpan,
  into: TaggedIntervalSummary[],
  indexOf: number[],
): void {
  const groups = new Map<string, { iv: TaggedIntervalSummary; totals: number[]; index: number }>();
  for (const r of records) {
    const id = histKeyId(histKeyOf(r));
    let g = groups.get(id);
    if (!g) {
      const iv = emptyInterval(r, span);
      g = { iv, totals: [], index: into.length };
      groups.set(id, g);
      into.push(iv);
    }
    g.iv.count++;
    if (!r.ok) g.iv.failures++;
    if (r.phasesMs.total !== undefined) g.totals.push(r.phasesMs.total);
    indexOf.push(g.index);
  }
  for (const { iv, totals } of groups.values()) {
    totals.sort((a, b) => a - b);
    iv.p50Ms = roundUs(pct(totals, 50));
    iv.p99Ms = roundUs(pct(totals, 99));
    iv.maxMs = roundUs(totals[totals.length - 1] ?? 0);
  }
}

/** One interval built from a `.hlog` block, with what its stall count needs. */
interface HlogInterval {
  iv: TaggedIntervalSummary;
  /** Its series' key: shared by all the intervals of a series read from one tag, so its id is made once. */
  key: HistKey;
  /** Its total-phase entries in the pool: [from, to). */
  from: number;
  to: number;
  failures: HlogFailure[];
}

/** The failures of the intervals that had none (shared: most intervals). */
const NO_FAILURES: HlogFailure[] = [];

/** The nearest-rank value of entries [from, to) of the pool at rank (1-based), in µs. */
function valueAtRank(pool: SparseCounts, from: number, to: number, rank: number): number {
  let seen = 0;
  for (let k = from; k < to; k++) {
    seen += pool.counts[k]!;
    if (seen >= rank) return pool.values[k]!;
  }
  return to > from ? pool.values[to - 1]! : 0;
}

/**
 * The intervals of rounds read from their `.hlog` blocks (each with its failures comment), in round
 * order, each round's series in block order (a series whose every request failed without a total,
 * hence in no histogram, comes after them). What the records would give, but for the histograms'
 * precision:
 * - count: the total-phase histogram's count, plus failures that have no total;
 * - p50, p99, max: nearest rank over the histogram, each its bucket's value as HdrHistogram reports
 *   one (the highest equivalent value: exact below 2.048 ms, at most 0.1% above the exact value);
 * - failures: the failures comment's;
 * - stalls (with a counter): each series' threshold comes from the quantile of its successful probe
 *   totals over all the rounds (the probe histograms less the failures' totals), a value counts when
 *   its bucket is above the threshold, and failures on a deadline count whatever their total, as the
 *   stall rule says. A total within 0.1% of a threshold may fall on the other side of it than it would
 *   in the records.
 */
export function hlogIntervals(
  rounds: ReadonlyArray<{ round: HlogRound; span: RoundSpan }>,
  pool: SparseCounts,
  counter: StallCounter | undefined,
): TaggedIntervalSummary[] {
  const built: HlogInterval[] = [];
  for (const { round, span } of rounds) {
    const first = built.length;
    for (const t of round.totals) {
      const iv = emptyInterval(t.key, span);
      let n = 0;
      for (let k = t.from; k < t.to; k++) n += pool.counts[k]!;
      iv.count = n;
      if (n > 0) {
        iv.p50Ms = valueAtRank(pool, t.from, t.to, nearestRank(0.5, n)) / 1000;
        iv.p99Ms = valueAtRank(pool, t.from, t.to, nearestRank(0.99, n)) / 1000;
        iv.maxMs = pool.values[t.to - 1]! / 1000;
      }
      built.push({ iv, key: t.key, from: t.from, to: t.to, failures: NO_FAILURES });
    }
    const failures = round.failures ?? [];
    if (failures.length === 0) continue;
    const byKey = new Map<string, HlogInterval>();
    for (let i = first; i < built.length; i++) byKey.set(histKeyId(built[i]!.iv), built[i]!);
    for (const f of failures) {
      const id = histKeyId(f.key);
      let b = byKey.get(id);
      if (!b) {
        b = { iv: emptyInterval(f.key, span), key: f.key, from: 0, to: 0, failures: NO_FAILURES };
        byKey.set(id, b);
        built.push(b);
      }
      if (b.failures === NO_FAILURES) b.failures = [];
      b.iv.failures++;
      if (f.totalUs === undefined) b.iv.count++;
      b.failures.push(f);
    }
  }
  if (counter) countStalls(built, pool, counter);
  return built.map((b) => b.iv);
}

/** Stall counts of intervals read from histograms: see {@link hlogIntervals}. */
function countStalls(built: readonly HlogInterval[], pool: SparseCounts, counter: StallCounter): void {
  // Series ids (api, route, endpoint) by key object: one string per tag, not one per interval.
  const ids = new Map<HistKey, string>();
  const idOf = (key: HistKey): string => {
    let id = ids.get(key);
    if (id === undefined) {
      id = seriesId(key);
      ids.set(key, id);
    }
    return id;
  };
  // Successful probe totals per series: bucket value → count.
  const okTotals = new Map<string, Map<number, number>>();
  for (const b of built) {
    if (b.iv.tag !== "probe") continue;
    const id = idOf(b.key);
    let m = okTotals.get(id);
    if (!m) {
      m = new Map();
      okTotals.set(id, m);
    }
    for (let k = b.from; k < b.to; k++)
      m.set(pool.values[k]!, (m.get(pool.values[k]!) ?? 0) + pool.counts[k]!);
    for (const f of b.failures) {
      if (f.totalUs === undefined) continue;
      const v = bucketValueUs(f.totalUs);
      m.set(v, (m.get(v) ?? 0) - 1);
    }
  }
  const thresholdUs = new Map<string, number>();
  for (const [id, m] of okTotals) {
    const values = [...m.keys()].filter((v) => m.get(v)! > 0).sort((a, b) => a - b);
    let n = 0;
    for (const v of values) n += m.get(v)!;
    let typicalMs: number | undefined;
    if (n > 0) {
      const rank = nearestRank(counter.typicalQuantile, n);
      let seen = 0;
      for (const v of values) {
        seen += m.get(v)!;
        if (seen >= rank) {
          typicalMs = v / 1000;
          break;
        }
      }
    }
    thresholdUs.set(id, counter.thresholdMs(typicalMs) * 1000);
  }
  const otherwiseUs = counter.thresholdMs(undefined) * 1000;
  for (const b of built) {
    const thr = thresholdUs.get(idOf(b.key)) ?? otherwiseUs;
    let stalls = 0;
    for (let k = b.from; k < b.to; k++) if (pool.values[k]! > thr) stalls += pool.counts[k]!;
    // A failure on a deadline is a stall whatever its total: count those the histogram did not.
    for (const f of b.failures) {
      if (f.totalUs === undefined || !counter.timedOut(f.code)) continue;
      if (!(bucketValueUs(f.totalUs) > thr)) stalls++;
    }
    b.iv.stalls = stalls;
  }
}
