/**
 * Where the HTML report's latency-over-time chart gets its intervals.
 * History reports carry `report.timeline` (from the store's interval
 * histograms). A live run has its records instead: {@link timelineFromRecords}
 * bins them into the same {@link IntervalSummary} shape (pure, exact
 * percentiles per bin, any number of records). A report with neither falls
 * back to {@link timelineFromSeries}: one interval per series over the run's
 * span from its overall percentiles, on which the stalls are still marked at
 * their own times.
 */
import { type IntervalSummary, nearestRank, type Report, type RequestRecord, type Stall } from "../model.js";
import { columnsOf, type RecordColumns } from "../record/columns.js";

export interface TimelineFromRecordsOptions {
  /** Most intervals per series. Default 120. */
  maxIntervals?: number;
  /** Fewest requests per interval a series should average (bins are widened to reach it). Default 3. */
  minPerInterval?: number;
}

/** Interval widths the bins snap to, ms (round wall-clock steps). */
const BIN_STEPS_MS = [
  100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 21_600_000, 86_400_000,
];

/** Nearest-rank percentile of ascending values. */
function rank(sorted: readonly number[], q: number): number {
  return sorted[nearestRank(q, sorted.length) - 1] ?? 0;
}

/**
 * Bins the probe records (keep-warm and idle-sweep requests are left out, as
 * in the probe statistics) into intervals of one round width shared by every
 * series, so the charts line up. Failed requests count as failures and, when
 * timed, in the latencies (as the histograms record them).
 */
export function timelineFromRecords(
  records: readonly RequestRecord[] | RecordColumns,
  stalls: readonly Pick<Stall, "record">[],
  options: TimelineFromRecordsOptions = {},
): IntervalSummary[] {
  const c = columnsOf(records);
  // Rows of the probe requests, in row order, grouped by series × connection (no record objects).
  const bySeries = new Map<string, number[]>();
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < c.length; i++) {
    if (c.tag(i) !== "probe") continue;
    const id = [c.api(i), c.route(i), c.endpoint(i), c.connection(i)].join("\u0000");
    const list = bySeries.get(id);
    if (list) list.push(i);
    else bySeries.set(id, [i]);
    start = Math.min(start, c.atMs(i));
    end = Math.max(end, c.atMs(i));
  }
  if (bySeries.size === 0) return [];
  end += 1;
  const stallSeqs = new Set(stalls.map((s) => s.record.seq));
  const perSeries = [...bySeries.values()].reduce((m, l) => Math.min(m, l.length), Number.POSITIVE_INFINITY);
  const bins = Math.max(
    1,
    Math.min(options.maxIntervals ?? 120, Math.floor(perSeries / (options.minPerInterval ?? 3))),
  );
  const want = (end - start) / bins;
  const step = BIN_STEPS_MS.find((s) => s >= want) ?? Math.ceil(want);
  // Intervals start at the first request (not on the step grid): a short run is not cut into a stub and a remainder.
  const origin = start;

  const out: IntervalSummary[] = [];
  for (const list of bySeries.values()) {
    const first = list[0]!;
    const slots = new Map<number, number[]>();
    for (const r of list) {
      const i = Math.floor((c.atMs(r) - origin) / step);
      const slot = slots.get(i);
      if (slot) slot.push(r);
      else slots.set(i, [r]);
    }
    const last = Math.floor((end - 1 - origin) / step);
    for (let i = 0; i <= last; i++) {
      const slot = slots.get(i) ?? [];
      const totals = slot
        .map((r) => c.total(r))
        .filter((v): v is number => v !== undefined && Number.isFinite(v))
        .sort((a, b) => a - b);
      out.push({
        api: c.api(first),
        route: c.route(first),
        endpoint: c.endpoint(first),
        connection: c.connection(first),
        startMs: origin + i * step,
        endMs: origin + (i + 1) * step,
        count: totals.length,
        p50Ms: rank(totals, 0.5),
        p99Ms: rank(totals, 0.99),
        maxMs: totals[totals.length - 1] ?? 0,
        stalls: slot.filter((r) => stallSeqs.has(c.seq(r))).length,
        failures: slot.filter((r) => !c.ok(r)).length,
      });
    }
  }
  return out;
}

/**
 * One interval per probe series over the report's span, from the series'
 * overall `total` percentiles: the flat band the stalls are marked on when a
 * report has neither a timeline nor records.
 */
export function timelineFromSeries(report: Report): IntervalSummary[] {
  const times = report.stalls
    .map((s) => Date.parse(s.at))
    .concat(report.failures.map((f) => Date.parse(f.at)));
  const startMs = report.span
    ? Date.parse(report.span.startedAt)
    : times.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const endMs = report.span
    ? Date.parse(report.span.endedAt)
    : times.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  if (!Number.isFinite(startMs) || !Number.isFinite(endMs)) return [];
  return report.series.map((s) => {
    const total = s.latencyMs.total;
    return {
      api: s.api,
      route: s.route,
      endpoint: s.endpoint,
      connection: s.connection,
      startMs,
      endMs: Math.max(endMs, startMs + 1),
      count: total?.count ?? 0,
      p50Ms: total?.p50 ?? 0,
      p99Ms: total?.p99 ?? 0,
      maxMs: total?.max ?? 0,
      stalls: s.stalls,
      failures: s.failed,
    };
  });
}
