/**
 * Reads the local store back: every committed round in a time range, its
 * records, its stored diagnosis (rounds diagnosed when they ran), merged
 * histograms and one interval summary per round × series (the SmokePing
 * view). The one way history is read. Streams each file line by line; never throws on a
 * torn or corrupt line, it skips it and says so in `warnings`.
 */

import { countable, type RequestRecord, type StallCounter, type StallDetector } from "../model.js";
import { HistogramSet, SparseCounts } from "./histograms.js";
import { type HlogRound, type HlogTags, mergeHlogFile } from "./history-hlog.js";
import { hlogIntervals, recordIntervals, type TaggedIntervalSummary } from "./history-intervals.js";
import { type CommittedRound, readRecordsFile } from "./history-records.js";
import { dirSource, type HistorySource, type SourceUnit } from "./source.js";
import type { RoundDiagnosis, RoundFooterLine } from "./store.js";

export type { TaggedIntervalSummary };

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
   * Where merged histograms come from: the records (default; exact) or the
   * `.hlog` interval logs (what HdrHistogram's tools see). With `hlog` and
   * `includeRecords: false` no record is parsed: the timeline and its stall
   * counts come from the `.hlog` too (see history-intervals.ts for what that
   * changes: percentiles and the threshold to the histograms' 3 significant
   * digits), and the records files are only scanned for their rounds. A
   * range with a round whose `.hlog` block cannot say its failures (written
   * before blocks had a failures comment, or damaged) is read from the
   * records instead, with a warning.
   */
  histogramSource?: "records" | "hlog";
  /**
   * How the per-interval stall counts are found from records: `(records) => detectStalls(records, rule)`
   * from src/diagnose/stalls.ts (the stall rule is the diagnosis', passed in). Without it (and without
   * `stallCounter` on the `.hlog` path) intervals count no stalls.
   */
  stalls?: StallDetector;
  /** The same rule for counting from histograms (`stallCounter(rule)` from src/diagnose/stalls.ts). */
  stallCounter?: StallCounter;
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
  /** Where the intervals were counted from: the records (exact), or the `.hlog` alone (see histogramSource). */
  timelineFrom: "records" | "hlog";
}

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
  // The .hlog timeline: each committed round's block, and the pool its total-phase counts are in.
  const timeline =
    fromHlog && !includeRecords
      ? { pool: new SparseCounts(), of: new Map<CommittedRound, HlogRound>() }
      : undefined;
  let unknownFailures = 0;
  // One unit ahead: its files are opened and their first bytes read while this one is walked (a store written
  // from cron has a unit, two small files, per round: waiting on each open, read and close in turn was most of
  // its read).
  const prefetch = (u: SourceUnit): void => {
    u.records.prefetch?.();
    if (fromHlog) u.hlog?.prefetch?.();
  };
  const cancel = (u: SourceUnit): void => {
    u.records.cancel?.();
    u.hlog?.cancel?.();
  };
  const units = source.units(sinceMs, untilMs)[Symbol.asyncIterator]();
  let next = await units.next();
  if (!next.done) prefetch(next.value);
  try {
    while (!next.done) {
      const unit = next.value;
      next = await units.next();
      if (!next.done) prefetch(next.value);
      unknownFailures += await readUnit(unit);
    }
  } finally {
    if (!next.done) cancel(next.value);
  }
  /** One unit into `committed`, the histograms and the timeline; how many of its rounds say no failures. */
  async function readUnit(unit: SourceUnit): Promise<number> {
    const keep = timeline
      ? null
      : (r: RequestRecord): RequestRecord => {
          if (!fromHlog) histograms.recordRecord(r);
          return includeRecords ? r : slim(r);
        };
    const rounds = await readRecordsFile(unit.records, inRange, warnings, keep);
    for (const round of rounds) for (const r of round.records) r.writer = round.footer.writerId;
    committed.push(...rounds);
    if (fromHlog && rounds.length > 0 && unit.hlog) {
      const byId = new Map(rounds.map((r) => [r.footer.id, r]));
      const wanted = new Map(rounds.map((r) => [r.footer.id, r.footer]));
      // Rounds the writer's hourly rollups merged (read first): their own blocks only feed the timeline. A unit
      // whose round ids repeat (a writer id reused) cannot say which rounds a rollup names: its rollups are not
      // read; nor are a unit's of one round (a rollup names two or more: a cron writer's unit has none to open).
      const covered = new Set<number>();
      if (unit.rollup && rounds.length >= 2 && byId.size === rounds.length) {
        await mergeHlogFile(unit.rollup, wanted, histograms, warnings, hlogTags, undefined, covered);
      }
      await mergeHlogFile(
        unit.hlog,
        wanted,
        histograms,
        warnings,
        hlogTags,
        timeline && {
          pool: timeline.pool,
          onRound: (block) => {
            const round = byId.get(block.roundId);
            if (round) timeline.of.set(round, block);
          },
        },
        covered,
      );
    } else unit.hlog?.cancel?.(); // prefetched, not walked
    let unknown = 0;
    if (timeline) for (const r of rounds) if (timeline.of.get(r)?.failures === undefined) unknown++;
    return unknown;
  }
  if (timeline && unknownFailures > 0) {
    const { warnings: more, ...rest } = await readHistory(source, { ...opts, histogramSource: "records" });
    return {
      ...rest,
      warnings: [
        `${unknownFailures} round(s) in range have no .hlog block saying their failures (written before blocks ` +
          "had one, or damaged): read from the records instead",
        ...more,
      ],
    };
  }
  if (duplicates > 0)
    warnings.push(`${duplicates} round(s) found in more than one source; each counted once`);
  committed.sort(
    (a, b) =>
      a.footer.startedAtMs - b.footer.startedAtMs ||
      a.footer.writerId.localeCompare(b.footer.writerId) ||
      a.footer.id - b.footer.id,
  );
  const rounds: RecordedRound[] = committed.map(({ footer: { type: _t, v: _v, ...meta }, diagnosis }) =>
    diagnosis ? { ...meta, diagnosis } : meta,
  );
  const spanOf = ({ footer: f }: CommittedRound) => ({
    writer: f.writerId,
    startMs: f.startedAtMs,
    endMs: f.endedAtMs,
  });

  /** The history, its intervals split into the probe view and the rest (keep-warm). */
  const history = (
    records: RequestRecord[],
    intervals: TaggedIntervalSummary[],
    timelineFrom: History["timelineFrom"],
  ): History => ({
    records,
    rounds,
    histograms,
    intervals: intervals.filter((iv) => iv.tag === "probe"),
    keepWarmIntervals: intervals.filter((iv) => iv.tag !== "probe"),
    warnings,
    timelineFrom,
  });

  if (timeline) {
    const blocks = committed.map((c) => ({ round: timeline.of.get(c)!, span: spanOf(c) }));
    return history([], hlogIntervals(blocks, timeline.pool, opts.stallCounter), "hlog");
  }

  const all: RequestRecord[] = [];
  const allIntervals: TaggedIntervalSummary[] = [];
  const intervalOfRecord: number[] = [];
  for (const round of committed) {
    // Requests a clean stop aborted are no measurement: no failure, stall or interval count.
    const measured = round.records.filter(countable);
    recordIntervals(measured, spanOf(round), allIntervals, intervalOfRecord);
    for (const r of measured) all.push(r);
  }
  for (const s of opts.stalls?.(all) ?? []) {
    const iv = allIntervals[intervalOfRecord[s.index] ?? -1];
    if (iv) iv.stalls++;
  }
  return history(includeRecords ? all : [], allIntervals, "records");
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
