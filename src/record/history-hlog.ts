/**
 * Merges the interval histograms of one `.hlog` file into a HistogramSet,
 * only for the rounds the records file committed (so histograms and records
 * always describe the same requests). Interval lines not followed by their
 * round's commit comment are the round in flight at a crash: skipped.
 *
 * A line is only split and held until its round's commit comment; its
 * histogram is decoded only when that round is one of `wantedRounds` (rounds
 * outside the time range cost no inflate). Each distinct tag is parsed once
 * per read ({@link HlogTags}), and its merged histogram looked up once.
 *
 * With `onRound`, each wanted round is also handed on as what the timeline
 * needs of it: its series' total-phase counts (sparse) and its failures
 * comment (undefined for a round written before rounds had one).
 *
 * The same reads a rollup file (see HlogRollup): a rollup block whose rounds
 * are all wanted, and none already covered, is merged in their place, and its
 * rounds are added to `covered`. Read the rollup file first: the `.hlog`'s
 * blocks of covered rounds then only feed the timeline (their total lines),
 * so most of their lines are never inflated.
 */
import type { Phase } from "../model.js";
import {
  addEncodedBytesInto,
  type HistKey,
  type Histogram,
  type HistogramSet,
  type SparseCounts,
} from "./histograms.js";
import { decodeTag, type HlogFailure, newIntervalSpan, parseFailures, scanHlogLine } from "./hlog.js";
import type { LineSource } from "./line-reader.js";

/** A parsed tag (series key and phase) and, once a wanted round used it, the merged histogram its lines add into. */
interface TagEntry {
  key: HistKey;
  phase: Phase;
  hist?: Histogram;
}

/** One committed round of a `.hlog` file, as the timeline reads it. */
export interface HlogRound {
  roundId: number;
  /** Each series' total-phase histogram, in the block's order: entries [from, to) of the reader's pool. */
  totals: Array<{ key: HistKey; from: number; to: number }>;
  /** The round's failed requests (undefined: its block has no failures comment, or an unreadable one). */
  failures: HlogFailure[] | undefined;
}

/** Tag text → its entry (undefined: not one of ours), for one HistogramSet: share it across that set's files. */
export type HlogTags = Map<string, TagEntry | undefined>;

/** When a committed round ran, epoch ms (its records file's footer). */
export interface RoundTimes {
  startedAtMs: number;
  endedAtMs: number;
}

/** Timestamps at or past this (1973) are absolute epoch seconds; below it, relative to the file's BaseTime. */
const ABSOLUTE_SEC = 1e8;
/** How far a rollup's interval may lie from its rounds' times: the log's 3 decimals, twice. */
const ROLLUP_TIME_SLACK_MS = 2;

export async function mergeHlogFile(
  source: LineSource,
  wantedRounds: ReadonlyMap<number, RoundTimes>,
  into: HistogramSet,
  warnings: string[],
  tags: HlogTags = new Map(),
  timeline?: { pool: SparseCounts; onRound: (round: HlogRound) => void },
  covered: Set<number> = new Set(),
): Promise<void> {
  const path = source.label;
  // The round being read: its lines' tags, and their histograms' bytes copied out of the reader's buffer
  // (line i's are pendingBytes[pendingAt[i], pendingAt[i + 1])). Reused from round to round.
  const pendingTags: TagEntry[] = [];
  const pendingAt: number[] = [0];
  // Small at first (it grows): a cron writer's file holds one round of ~50 lines of ~60 bytes.
  let pendingBytes = Buffer.allocUnsafe(4096);
  // The tags of the round before, by position, as bytes: a writer writes its series in the same order every
  // round, so comparing with the tag at the same place settles most lines without making a string of the tag.
  const lastTags: Buffer[] = [];
  const lastEntries: TagEntry[] = [];
  // The failures comment of the round being read, if it had one.
  let pendingFailures: { roundId: number; json: string } | undefined;
  let bad = 0;
  let baseSec = 0;
  // The pending block's first interval: [start, start + length] in absolute seconds.
  let blockStartSec = 0;
  let blockLengthSec = 0;
  const entryOf = (buf: Buffer, tagAt: number, tagEnd: number, at: number): TagEntry | undefined => {
    const last = lastTags[at];
    if (last !== undefined && buf.compare(last, 0, last.length, tagAt, tagEnd) === 0) return lastEntries[at];
    const text = buf.toString("utf8", tagAt, tagEnd);
    let entry = tags.get(text);
    if (entry === undefined && !tags.has(text)) {
      const tag = decodeTag(text);
      if (tag) {
        const { phase, ...key } = tag;
        entry = { key, phase };
      }
      tags.set(text, entry);
    }
    if (entry) {
      lastTags[at] = Buffer.from(buf.subarray(tagAt, tagEnd));
      lastEntries[at] = entry;
    }
    return entry;
  };
  const span = newIntervalSpan();
  /** Line i of the pending block into its merged histogram (`merge`) and/or the timeline's pool; false when it would not decode. */
  const decode = (i: number, merge: boolean, pool: SparseCounts | undefined): boolean => {
    const entry = pendingTags[i]!;
    let hist: Histogram | undefined;
    if (merge) {
      entry.hist ??= into.histogramOf(entry.key, entry.phase);
      hist = entry.hist;
    }
    const from = pool?.length ?? 0;
    try {
      addEncodedBytesInto(hist, pendingBytes, pendingAt[i]!, pendingAt[i + 1]!, pool);
      return true;
    } catch {
      if (pool) pool.length = from; // a decode cut short keeps nothing of that line
      bad++;
      return false;
    }
  };
  const { tornBytes, unreadable } = await source.forEachRaw((buf, start, end, lineNo) => {
    const line = scanHlogLine(buf, start, end, span);
    if (line.kind === "interval-span") {
      const entry = span.tagAt === -1 ? undefined : entryOf(buf, span.tagAt, span.tagEnd, pendingTags.length);
      if (!entry) {
        bad++;
        return;
      }
      const from = pendingAt[pendingTags.length]!;
      const to = from + (span.histEnd - span.histAt);
      if (to > pendingBytes.length) {
        const grown = Buffer.alloc(Math.max(to, pendingBytes.length * 2));
        pendingBytes.copy(grown, 0, 0, from);
        pendingBytes = grown;
      }
      // A JS copy: Buffer#copy's own checks cost more than the ~60 bytes of a line's histogram.
      for (let i = span.histAt, o = from; i < span.histEnd; i++, o++) pendingBytes[o] = buf[i]!;
      if (pendingTags.length === 0) {
        blockStartSec = Number(buf.toString("latin1", span.startAt, span.startEnd));
        blockLengthSec = Number(buf.toString("latin1", span.lengthAt, span.lengthEnd));
        if (blockStartSec < ABSOLUTE_SEC) blockStartSec += baseSec;
      }
      pendingTags.push(entry);
      pendingAt[pendingTags.length] = to;
    } else if (line.kind === "commit") {
      if (pendingTags.length !== line.intervals) {
        warnings.push(
          `${path}:${lineNo}: round ${line.roundId} commits ${line.intervals} interval(s), found ${pendingTags.length}; skipped`,
        );
      } else if (wantedRounds.has(line.roundId)) {
        // A round a rollup merged: its lines feed the timeline only.
        const merge = !covered.has(line.roundId);
        const totals: HlogRound["totals"] = [];
        for (let i = 0; i < pendingTags.length; i++) {
          const entry = pendingTags[i]!;
          const pool = entry.phase === "total" ? timeline?.pool : undefined;
          if (!merge && pool === undefined) continue;
          const from = pool?.length ?? 0;
          if (decode(i, merge, pool) && pool) totals.push({ key: entry.key, from, to: pool.length });
        }
        if (timeline) {
          const json = pendingFailures?.roundId === line.roundId ? pendingFailures.json : undefined;
          const failures = json === undefined ? undefined : parseFailures(json);
          if (json !== undefined && failures === undefined) bad++;
          timeline.onRound({ roundId: line.roundId, totals, failures });
        }
      }
      pendingTags.length = 0;
      pendingFailures = undefined;
    } else if (line.kind === "rollup") {
      if (pendingTags.length !== line.intervals) {
        warnings.push(
          `${path}:${lineNo}: rollup of ${line.rounds.length} round(s) commits ${line.intervals} interval(s), found ${pendingTags.length}; skipped`,
        );
      } else if (!line.rounds.every((id) => wantedRounds.has(id) && !covered.has(id))) {
        // Not every one of its rounds is wanted (the range cuts its hour): its rounds are read one by one.
      } else if (!spansRounds(blockStartSec, blockLengthSec, line.rounds, wantedRounds)) {
        warnings.push(
          `${path}:${lineNo}: rollup of ${line.rounds.length} round(s) does not span their times; skipped (its rounds read one by one)`,
        );
      } else {
        // A rollup stands in for its rounds only whole: every line is decoded once to check it before any is merged.
        let ok = true;
        for (let i = 0; i < pendingTags.length && ok; i++) ok = decode(i, false, undefined);
        if (ok) {
          for (let i = 0; i < pendingTags.length; i++) decode(i, true, undefined);
          for (const id of line.rounds) covered.add(id);
        } else
          warnings.push(
            `${path}:${lineNo}: rollup of ${line.rounds.length} round(s) skipped: a line does not decode`,
          );
      }
      pendingTags.length = 0;
      pendingFailures = undefined;
    } else if (line.kind === "base") {
      baseSec = line.baseSec;
    } else if (line.kind === "failures") {
      pendingFailures = { roundId: line.roundId, json: line.json };
    } else if (line.kind === "bad") {
      bad++;
    }
  });
  if (unreadable !== undefined) warnings.push(`${path}: skipped, ${unreadable}`);
  if (bad > 0) warnings.push(`${path}: ${bad} malformed interval line(s) skipped`);
  if (tornBytes > 0) warnings.push(`${path}: torn last line (${tornBytes} bytes, no newline) skipped`);
  if (pendingTags.length > 0) {
    warnings.push(`${path}: ${pendingTags.length} interval line(s) after the last committed round skipped`);
  }
}

/** Whether a rollup's interval [startSec, startSec + lengthSec] is its rounds' (first start to last end). */
function spansRounds(
  startSec: number,
  lengthSec: number,
  rounds: readonly number[],
  times: ReadonlyMap<number, RoundTimes>,
): boolean {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const id of rounds) {
    const t = times.get(id)!;
    first = Math.min(first, t.startedAtMs);
    last = Math.max(last, t.endedAtMs, t.startedAtMs);
  }
  return (
    Math.abs(startSec * 1000 - first) <= ROLLUP_TIME_SLACK_MS &&
    Math.abs((startSec + lengthSec) * 1000 - last) <= ROLLUP_TIME_SLACK_MS
  );
}
