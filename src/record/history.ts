/**
 * Reads the local store back: every committed round in a time range, its
 * records, its stored diagnosis (rounds diagnosed when they ran), merged
 * histograms and one interval summary per round × series (the SmokePing
 * view). The one way history is read. Streams each file line by line; never throws on a
 * torn or corrupt line, it skips it and says so in `warnings`.
 */

import {
  countable,
  type IntervalSummary,
  type RecordTag,
  type RequestRecord,
  type StallDetector,
} from "../model.js";
import { HistogramSet, histKeyId, histKeyOf } from "./histograms.js";
import { type HlogTags, mergeHlogFile } from "./history-hlog.js";
import { type CommittedRound, readRecordsFile } from "./history-records.js";
import { dirSource, type HistorySource } from "./source.js";
import type { RoundDiagnosis, RoundFooterLine } from "./store.js";

export interface ReadHistoryOptions {
  /** Rounds that started at or after this epoch ms. */
  sinceMs?: number;
  /** Rounds that started at or before this epoch ms. */
  untilMs?: number;
  /**
   * Return the full records (default true). False keeps only what interval
   * summaries and stall counting need, for reading long ranges in less memory.
   */
  includeRecords?: boolean;
  /**
   * Where merged histograms come from: the records (default; exact and fast)
   * or the `.hlog` interval logs (what HdrHistogram's tools see).
   */
  histogramSource?: "records" | "hlog";
  /**
   * How the per-interval stall counts are found: `(records) => detectStalls(records, rule)` from
   * src/diagnose/stalls.ts (the stall rule is the diagnosis', passed in). Without it intervals count no stalls.
   */
  stalls?: StallDetector;
}

/** An interval summary that says which record tag it covers. */
export interface TaggedIntervalSummary extends IntervalSummary {
  tag: RecordTag;
  /** The writer (prober) whose round this interval is. */
  writer: string;
}

/** One committed round as recorded (its footer line), with the diagnosis stored with it (diagnosed rounds). */
export type RecordedRound = Omit<RoundFooterLine, "type" | "v"> & { diagnosis?: RoundDiagnosis };

export interface History {
  /** Records of the committed rounds in range, rounds ordered by start time (empty when includeRecords is false). */
  records: RequestRecord[];
  rounds: RecordedRound[];
  /** Merged histograms of every series × phase (all tags; keep-warm has its own keys). */
  histograms: HistogramSet;
  /** Probe intervals: one per round × series (api, route, endpoint, connection). */
  intervals: TaggedIntervalSummary[];
  /** Keep-warm (and any other non-probe) intervals, kept apart from the probe view. */
  keepWarmIntervals: TaggedIntervalSummary[];
  /** Torn lines, uncommitted rounds, corrupt lines: skipped, each said once here. */
  warnings: string[];
}

/** Nearest-rank percentile of ascending values (HdrHistogram's definition). */
function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}
const roundUs = (ms: number): number => Math.round(ms * 1000) / 1000;

/** What stall detection needs of a record, when full records are not kept. */
function slim(r: RequestRecord): RequestRecord {
  const s = {
    api: r.api,
    route: r.route,
    endpoint: r.endpoint,
    connection: r.connection,
    tag: r.tag,
    ok: r.ok,
    phasesMs: r.phasesMs.total === undefined ? {} : { total: r.phasesMs.total },
    ...(r.error ? { error: r.error } : {}),
    ...(r.writer !== undefined ? { writer: r.writer } : {}),
    ...(r.aborted ? { aborted: r.aborted } : {}),
  };
  return s as RequestRecord; // detectStalls and the interval grouping read only these fields
}

function intervalsOf(round: CommittedRound, into: TaggedIntervalSummary[], indexOf: number[]): void {
  const groups = new Map<string, { iv: TaggedIntervalSummary; totals: number[]; index: number }>();
  for (const r of round.records) {
    const id = histKeyId(histKeyOf(r));
    let g = groups.get(id);
    if (!g) {
      const iv: TaggedIntervalSummary = {
        api: r.api,
        route: r.route,
        endpoint: r.endpoint,
        connection: r.connection,
        tag: r.tag,
        writer: round.footer.writerId,
        startMs: round.footer.startedAtMs,
        endMs: round.footer.endedAtMs,
        count: 0,
        p50Ms: 0,
        p99Ms: 0,
        maxMs: 0,
        stalls: 0,
        failures: 0,
      };
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

/** Identity of a committed round across sources (the same round read twice counts once). */
const roundIdentity = (f: RoundFooterLine): string =>
  `${f.writerId}\u0000${f.uid ?? ""}\u0000${f.id}\u0000${f.startedAtMs}\u0000${f.endedAtMs}\u0000${f.records}`;

/**
 * Reads every committed round in range from a store directory or any
 * history source (several stores, an S3 prefix). Each record gets `writer`,
 * the writer (prober) of its round. A round found twice (the same writer and
 * round uid; for rounds written without a uid, the same id, start, end and
 * record count) is counted once, with a warning.
 */
export async function readHistory(
  from: string | HistorySource,
  opts: ReadHistoryOptions = {},
): Promise<History> {
  const source = typeof from === "string" ? dirSource(from) : from;
  const sinceMs = opts.sinceMs ?? Number.NEGATIVE_INFINITY;
  const untilMs = opts.untilMs ?? Number.POSITIVE_INFINITY;
  const includeRecords = opts.includeRecords ?? true;
  const fromHlog = opts.histogramSource === "hlog";
  const warnings: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const inRange = (f: RoundFooterLine): boolean => {
    if (f.startedAtMs < sinceMs || f.startedAtMs > untilMs) return false;
    const id = roundIdentity(f);
    if (seen.has(id)) {
      duplicates++;
      return false;
    }
    seen.add(id);
    return true;
  };

  const histograms = new HistogramSet();
  const hlogTags: HlogTags = new Map();
  const committed: CommittedRound[] = [];
  for await (const unit of source.units(sinceMs, untilMs)) {
    const rounds = await readRecordsFile(unit.records, inRange, warnings, (r) => {
      if (!fromHlog) histograms.recordRecord(r);
      return includeRecords ? r : slim(r);
    });
    for (const round of rounds) for (const r of round.records) r.writer = round.footer.writerId;
    committed.push(...rounds);
    if (fromHlog && rounds.length > 0 && unit.hlog) {
      const wanted = new Set(rounds.map((r) => r.footer.id));
      await mergeHlogFile(unit.hlog, wanted, histograms, warnings, hlogTags);
    }
  }
  if (duplicates > 0)
    warnings.push(`${duplicates} round(s) found in more than one source; each counted once`);
  committed.sort(
    (a, b) =>
      a.footer.startedAtMs - b.footer.startedAtMs ||
      a.footer.writerId.localeCompare(b.footer.writerId) ||
      a.footer.id - b.footer.id,
  );

  const all: RequestRecord[] = [];
  const allIntervals: TaggedIntervalSummary[] = [];
  const intervalOfRecord: number[] = [];
  const rounds: RecordedRound[] = [];
  for (const round of committed) {
    const { type: _t, v: _v, ...meta } = round.footer;
    rounds.push(round.diagnosis ? { ...meta, diagnosis: round.diagnosis } : meta);
    // Requests a clean stop aborted are no measurement: no failure, stall or interval count.
    const measured = round.records.filter(countable);
    intervalsOf({ ...round, records: measured }, allIntervals, intervalOfRecord);
    for (const r of measured) all.push(r);
  }
  for (const s of opts.stalls?.(all) ?? []) {
    const iv = allIntervals[intervalOfRecord[s.index] ?? -1];
    if (iv) iv.stalls++;
  }
  return {
    records: includeRecords ? all : [],
    rounds,
    histograms,
    intervals: allIntervals.filter((iv) => iv.tag === "probe"),
    keepWarmIntervals: allIntervals.filter((iv) => iv.tag !== "probe"),
    warnings,
  };
}

/** One round read in full: its footer's facts, its records (each with `writer`) and its stored diagnosis. */
export type RoundRecords = Omit<RecordedRound, "records"> & { records: RequestRecord[] };

/**
 * The full records of only the rounds `wanted` picks (by footer) in range,
 * rounds in start order; each round once, however many sources hold it.
 * For a second pass over a long range, after a first {@link readHistory}
 * without records found which rounds matter.
 */
export async function readRoundRecords(
  from: string | HistorySource,
  opts: {
    sinceMs: number;
    untilMs: number;
    wanted: (footer: RoundFooterLine) => boolean;
    warnings?: string[];
  },
): Promise<RoundRecords[]> {
  const source = typeof from === "string" ? dirSource(from) : from;
  const rounds: RoundRecords[] = [];
  const seen = new Set<string>();
  for await (const unit of source.units(opts.sinceMs, opts.untilMs)) {
    const got = await readRecordsFile(
      unit.records,
      (f) => {
        if (f.startedAtMs < opts.sinceMs || f.startedAtMs > opts.untilMs) return false;
        if (!opts.wanted(f)) return false;
        const id = roundIdentity(f);
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      },
      opts.warnings ?? [],
      (r) => r,
    );
    for (const c of got) {
      for (const r of c.records) r.writer = c.footer.writerId;
      const { type: _t, v: _v, ...meta } = c.footer;
      rounds.push({ ...meta, records: c.records, ...(c.diagnosis ? { diagnosis: c.diagnosis } : {}) });
    }
  }
  rounds.sort((a, b) => a.startedAtMs - b.startedAtMs || a.writerId.localeCompare(b.writerId) || a.id - b.id);
  return rounds;
}
