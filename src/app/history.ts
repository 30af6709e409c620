/**
 * A report over recorded history (`report --from DIR`): the store's rounds in
 * a time range → merged histograms for the series statistics, the records
 * for the stall list and the diagnosis, one interval per round × series for
 * the timeline (the SmokePing view).
 *
 * Memory: full records of a week of one-minute rounds for 8 series peak at
 * ~355 MiB. Over ranges longer than `fullRecordsMaxRangeMs` (24 h) the store
 * is read twice: first the `.hlog` alone (histograms, intervals, per-interval
 * stall counts over every round, to the histograms' precision; the records
 * files are only scanned for their rounds), then the full records of only
 * the rounds that had a stall or a failure, for the stall list and the
 * diagnosis.
 */

import { diagnose } from "../diagnose/index.js";
import { detectStalls, type StallRule, stallCounter } from "../diagnose/stalls.js";
import type { DiagnoseContext } from "../diagnose/types.js";
import {
  type IntervalSummary,
  type LagStats,
  loopLagFloorMs,
  nearestRank,
  type Report,
  type RequestRecord,
  seriesId,
} from "../model.js";
import {
  type History,
  type RoundRecords,
  readHistory,
  readRoundRecords,
  type TaggedIntervalSummary,
} from "../record/history.js";
import { dirSource, type HistorySource } from "../record/source.js";
import { buildReport } from "../report/build.js";
import { writerReports } from "../report/writers.js";

export const DAY_RANGE_MS = 86_400_000;

export interface HistoryReportOptions {
  /** A store directory (or give `source`). */
  dir?: string;
  /** Where to read: one or several stores, local or S3 (default: `dir`). */
  from?: HistorySource;
  /** Rounds that started in [sinceMs, untilMs], epoch ms. */
  sinceMs: number;
  untilMs: number;
  stallRule: StallRule;
  context: DiagnoseContext;
  /** The options the report states (stall rule, range). */
  options: Record<string, unknown>;
  source: Report["source"];
  includeHistograms?: boolean;
  /** Longer ranges diagnose only the rounds with stalls or failures (see above). Default 24 h. */
  fullRecordsMaxRangeMs?: number;
}

export interface HistoryReport {
  report: Report;
  /** Keep-warm intervals, reported beside the probe timeline. */
  keepWarmIntervals: IntervalSummary[];
  /** Torn lines, uncommitted rounds: for stderr. */
  warnings: string[];
  rounds: number;
  /** True when only the rounds with stalls or failures were read in full. */
  partial: boolean;
}

export async function historyReport(o: HistoryReportOptions): Promise<HistoryReport> {
  const partial = o.untilMs - o.sinceMs > (o.fullRecordsMaxRangeMs ?? DAY_RANGE_MS);
  const source = o.from ?? dirSource(o.dir ?? ".");
  // A long range is read first from the .hlog alone (no record parsed): histograms, the timeline and its stall
  // counts; the records of the rounds that matter are read afterwards.
  const history = await readHistory(source, {
    sinceMs: o.sinceMs,
    untilMs: o.untilMs,
    stalls: (r) => detectStalls(r, o.stallRule),
    stallCounter: stallCounter(o.stallRule),
    includeRecords: !partial,
    histogramSource: partial ? "hlog" : "records",
  });
  const warnings = [...history.warnings];
  let records = history.records;
  const notes: string[] = [];
  if (partial) {
    const wanted = roundsWithTrouble(history);
    const rounds = await readRoundRecords(source, {
      sinceMs: o.sinceMs,
      untilMs: o.untilMs,
      wanted: (f) => wanted.has(roundKey(f.startedAtMs, f.endedAtMs)),
    });
    renumberAt(rounds, positionsOf(history));
    const fromHlog =
      history.timelineFrom === "hlog"
        ? " (read from the .hlog: the timeline's percentiles and stall counts to the histograms' 3 significant digits)"
        : "";
    records = rounds.flatMap((r) => r.records);
    notes.push(
      `range over ${Math.round((o.fullRecordsMaxRangeMs ?? DAY_RANGE_MS) / 3_600_000)} h: series statistics and ` +
        `the timeline cover all ${history.rounds.length} rounds${fromHlog}; the stall list and the diagnosis cover the ` +
        `${wanted.size} round(s) with a stall or a failure (their stall threshold is computed from those rounds)`,
    );
  }
  if (!partial) renumber(records);
  const lag = lagOf(records);
  // The diagnosis sees probe requests only; keep-warm stalls are listed (tagged) but explain nothing.
  const probes = records.filter((r) => r.tag !== "keep-warm");
  // Rounds picked for having stalls make periodic patterns of their own: the periodicity test is not run on them.
  const context = partial
    ? {
        ...o.context,
        skip: {
          ...o.context.skip,
          "periodic-stall":
            "the re-read rounds were picked for having stalls, which makes periods of its own; check periodicity with --since 24h or less",
        },
      }
    : o.context;
  const stalls = detectStalls(probes, o.stallRule);
  const diagnosis = diagnose({ records: probes, stalls, lag, context });
  const keepWarmStalls = detectStalls(records, o.stallRule).filter((s) => s.record.tag === "keep-warm");
  const report = buildReport({
    records,
    stalls: [...stalls, ...keepWarmStalls],
    diagnosis,
    lag,
    source: o.source,
    options: { ...o.options, rounds: history.rounds.length },
    histograms: history.histograms,
    includeHistograms: o.includeHistograms,
    timeline: history.intervals.map(untagged),
    // The records are those of the troubled rounds only: the series count every round from its intervals.
    ...(partial ? { countsFrom: { probe: history.intervals, keepWarm: history.keepWarmIntervals } } : {}),
    notesAfter: notes,
    writers: writerReports(history.intervals),
  });
  return {
    report,
    keepWarmIntervals: history.keepWarmIntervals.map(untagged),
    warnings,
    rounds: history.rounds.length,
    partial,
  };
}

function untagged({ tag: _tag, writer: _writer, ...iv }: TaggedIntervalSummary): IntervalSummary {
  return iv;
}

const roundKey = (startedAtMs: number, endedAtMs: number): string => `${startedAtMs}:${endedAtMs}`;

/** Rounds (by start and end time) whose intervals saw a stall or a failure. */
function roundsWithTrouble(h: History): Set<string> {
  const out = new Set<string>();
  for (const iv of [...h.intervals, ...h.keepWarmIntervals]) {
    if (iv.stalls > 0 || iv.failures > 0) out.add(roundKey(iv.startMs, iv.endMs));
  }
  return out;
}

/** Where each round sits in the whole range: its first seq, each series' first seriesSeq and last activity before it. */
interface RoundPosition {
  seq: number;
  seriesSeq: Map<string, number>;
  prevEndMs: Map<string, number>;
}

const seriesOf = (r: { api: string; route: string; endpoint: string }): string => seriesId(r);

/** From the first (record-less) pass: the position of every round in the full sequence, by round key. */
function positionsOf(h: History): Map<string, RoundPosition> {
  const perRound = new Map<string, Map<string, number>>();
  for (const iv of [...h.intervals, ...h.keepWarmIntervals]) {
    const key = roundKey(iv.startMs, iv.endMs);
    const m = perRound.get(key) ?? new Map<string, number>();
    m.set(seriesOf(iv), (m.get(seriesOf(iv)) ?? 0) + iv.count);
    perRound.set(key, m);
  }
  const out = new Map<string, RoundPosition>();
  let seq = 0;
  const seriesSeq = new Map<string, number>();
  const lastEnd = new Map<string, number>();
  for (const r of h.rounds) {
    const key = roundKey(r.startedAtMs, r.endedAtMs);
    if (!out.has(key)) out.set(key, { seq, seriesSeq: new Map(seriesSeq), prevEndMs: new Map(lastEnd) });
    seq += r.records;
    for (const [id, n] of perRound.get(key) ?? []) {
      seriesSeq.set(id, (seriesSeq.get(id) ?? 0) + n);
      lastEnd.set(id, r.endedAtMs);
    }
  }
  return out;
}

/**
 * Partial reads: number the re-read rounds' records by their place in the
 * whole range (so periodicity tests see true positions, not the gaps closed
 * up); a first request's idle gap is measured from the end of the previous
 * round that touched the series (a slight underestimate).
 */
function renumberAt(rounds: readonly RoundRecords[], positions: ReadonlyMap<string, RoundPosition>): void {
  for (const round of rounds) {
    const pos = positions.get(roundKey(round.startedAtMs, round.endedAtMs));
    if (!pos) continue;
    const next = new Map<string, number>();
    round.records.forEach((r, i) => {
      const id = seriesOf(r);
      const local = next.get(id) ?? 0;
      next.set(id, local + 1);
      r.seq = pos.seq + i;
      r.seriesSeq = (pos.seriesSeq.get(id) ?? 0) + local;
      const prevEnd = pos.prevEndMs.get(id);
      if (local === 0 && r.idleGapMs === undefined && prevEnd !== undefined && r.atMs >= prevEnd) {
        r.idleGapMs = r.atMs - prevEnd;
      }
    });
  }
}

/**
 * Records of many rounds renumbered as one run: `seq` across all of them,
 * `seriesSeq` per series, in round order (each round numbers from 0). The
 * first request of a series in a round gets `idleGapMs` from the previous
 * request to that series in an earlier round (keep-warm pings included:
 * the server saw them), so the cold-start test sees the gaps between rounds.
 */
export function renumber(records: RequestRecord[]): void {
  const seriesNext = new Map<string, number>();
  const lastEndMs = new Map<string, number>();
  records.forEach((r, i) => {
    const id = seriesOf(r);
    r.seq = i;
    r.seriesSeq = seriesNext.get(id) ?? 0;
    seriesNext.set(id, r.seriesSeq + 1);
    const prevEnd = lastEndMs.get(id);
    if (r.idleGapMs === undefined && prevEnd !== undefined && r.atMs >= prevEnd)
      r.idleGapMs = r.atMs - prevEnd;
    lastEndMs.set(id, Math.max(prevEnd ?? 0, r.atMs + (r.phasesMs.total ?? 0)));
  });
}

/**
 * Event-loop lag as recorded per request (the rounds' own lag monitors are not stored): percentiles of the
 * records' loopLagMs, and the requests whose lag is above client-lag's floor for these figures. The rounds'
 * sampler period is not stored either: the floor assumes the default period, which every round's monitor uses.
 */
function lagOf(records: readonly RequestRecord[]): LagStats {
  const lags = records.flatMap((r) => (r.loopLagMs === undefined ? [] : [r.loopLagMs])).sort((a, b) => a - b);
  const at = (p: number): number => lags[nearestRank(p, lags.length) - 1] ?? 0;
  const stats = { p50: at(0.5), p99: at(0.99), max: lags[lags.length - 1] ?? 0, utilization: 0 };
  const floorMs = loopLagFloorMs(stats);
  return { ...stats, affectedRequests: lags.filter((l) => l > floorMs).length, thresholdMs: floorMs };
}
