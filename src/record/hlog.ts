/**
 * HdrHistogram interval logs (`.hlog`), the format HdrHistogram's own tools
 * (HistogramLogProcessor, HistogramLogAnalyzer) read. Values are µs; the max
 * column is written with maxValueUnitRatio 1000, so it reads in ms.
 *
 * Each round appends one block: one interval line per series × phase, tagged
 * `Tag=api=…;route=…;endpoint=…;conn=…;tag=…;phase=…` (each value
 * percent-encoded, so a tag never holds ',' or whitespace), then the round's
 * failures comment (see {@link failuresComment}), then a comment
 * `#[Round <id> committed: <n> intervals]`. Interval lines not followed by
 * their commit comment belong to a round that was in flight at a crash.
 * Requests a clean stop aborted are no measurement: they are in no line.
 */
import * as hdr from "hdr-histogram-js";
import {
  CONNECTION_MODES,
  type ConnectionMode,
  countable,
  PHASES,
  type Phase,
  RECORD_TAGS,
  type RecordTag,
  type RequestRecord,
} from "../model.js";
import { type HistKey, histKeyId, histKeyOf, msToUs, newHistogram } from "./histograms.js";

/** The series and phase an interval line belongs to. */
export interface IntervalTag extends HistKey {
  phase: Phase;
}

export function encodeTag(t: IntervalTag): string {
  return `${keyTag(t)};phase=${encodeURIComponent(t.phase)}`;
}

/** Parses a tag written by {@link encodeTag}; undefined when it is not one of ours. */
export function decodeTag(s: string): IntervalTag | undefined {
  const fields = new Map<string, string>();
  for (const part of s.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return undefined;
    try {
      fields.set(part.slice(0, eq), decodeURIComponent(part.slice(eq + 1)));
    } catch {
      return undefined;
    }
  }
  const api = fields.get("api");
  const route = fields.get("route");
  const endpoint = fields.get("endpoint");
  const connection = fields.get("conn") as ConnectionMode | undefined;
  const tag = fields.get("tag") as RecordTag | undefined;
  const phase = fields.get("phase") as Phase | undefined;
  if (api === undefined || route === undefined || endpoint === undefined) return undefined;
  if (!connection || !CONNECTION_MODES.includes(connection)) return undefined;
  if (!tag || !RECORD_TAGS.includes(tag) || !phase || !PHASES.includes(phase)) return undefined;
  return { api, route, endpoint, connection, tag, phase };
}

/** File header: format version, start time, base time (so interval timestamps are relative), legend. */
export function hlogHeader(startMs: number): string {
  let out = "";
  const w = new hdr.HistogramLogWriter((s) => {
    out += s;
  });
  w.outputLogFormatVersion();
  w.outputStartTime(startMs);
  // HdrHistogram's Java writer emits BaseTime the same way; hdr-histogram-js has no method for it.
  w.outputComment(`[BaseTime: ${(startMs / 1000).toFixed(3)} (seconds since epoch)]`);
  w.outputLegend();
  return out;
}

/** One series × phase of a block: its tag ({@link encodeTag}) and its values in µs. */
export interface TaggedValues {
  tag: string;
  values: number[];
}

/** What one round puts in the histograms: its series × phase values, and its measured requests by series. */
export interface RoundValues {
  /** Series in the order first met, phases in PHASES order; none empty. */
  series: TaggedValues[];
  /** The round's measured (not aborted) requests, by series: what the failures comment reads. */
  groups: readonly (readonly RequestRecord[])[];
}

/** A round's values, as its `.hlog` block and a rollup of it hold them. Requests a clean stop aborted are in none. */
export function roundValues(records: readonly RequestRecord[]): RoundValues {
  const groups = new Map<string, RequestRecord[]>();
  for (const r of records) {
    if (!countable(r)) continue;
    const id = histKeyId(histKeyOf(r));
    const g = groups.get(id);
    if (g) g.push(r);
    else groups.set(id, [r]);
  }
  const series: TaggedValues[] = [];
  for (const group of groups.values()) {
    const key = histKeyOf(group[0]!);
    for (const phase of PHASES) {
      const values: number[] = [];
      for (const r of group) {
        const ms = r.phasesMs[phase];
        if (ms === undefined || !Number.isFinite(ms) || ms < 0) continue;
        values.push(msToUs(ms));
      }
      if (values.length > 0) series.push({ tag: encodeTag({ ...key, phase }), values });
    }
  }
  return { series, groups: [...groups.values()] };
}

/**
 * Interval lines, one per series × phase, each over [startMs, endMs] (relative to the file's base
 * time), then the closing comments; built with ONE scratch histogram reused for every line. A full
 * histogram (1 µs – 600 s, 3 digits) takes 86 KB: a round of 1,000 endpoints × 3 routes × 2
 * connection modes has ~30,000 series × phase, which as a HistogramSet peaked at 1.6–2 GB of RSS.
 * This stays at one.
 */
function intervalBlock(
  series: readonly TaggedValues[],
  startMs: number,
  endMs: number,
  baseMs: number,
  closing: (lines: number) => string[],
): string {
  let out = "";
  const w = new hdr.HistogramLogWriter((s) => {
    out += s;
  });
  const startSec = (startMs - baseMs) / 1000;
  const endSec = Math.max(endMs, startMs) / 1000 - baseMs / 1000;
  const h = newHistogram();
  for (const { tag, values } of series) {
    h.reset();
    for (const us of values) h.recordValue(us);
    h.tag = tag;
    w.outputIntervalHistogram(h, startSec, endSec, 1000);
  }
  for (const c of closing(series.length)) w.outputComment(c);
  return out;
}

/**
 * The lines of one round (one interval per series × phase, then the failures and commit
 * comments): the block a HistogramSet of `records` would write (test/helpers/hlog-oracle.ts holds
 * that straightforward version; the tests hold the two equal byte for byte).
 */
export function hlogRoundBlockOf(
  records: readonly RequestRecord[],
  roundId: number,
  startMs: number,
  endMs: number,
  baseMs: number,
): string {
  return hlogRoundBlock(roundValues(records), roundId, startMs, endMs, baseMs);
}

/** {@link hlogRoundBlockOf} of a round's values. */
export function hlogRoundBlock(
  round: RoundValues,
  roundId: number,
  startMs: number,
  endMs: number,
  baseMs: number,
): string {
  return intervalBlock(round.series, startMs, endMs, baseMs, (n) => [
    failuresComment(roundId, round.groups),
    `[Round ${roundId} committed: ${n} intervals]`,
  ]);
}

/** Values a rollup holds at most (8 bytes each): past this it gives up its span, and readers read the rounds. */
export const ROLLUP_MAX_VALUES = 2_000_000;

/**
 * Several rounds of one writer merged: one interval line per series × phase over all of them, then
 * `#[Rollup committed: {"rounds":[<id>,…],"intervals":<n>}]`. The store appends one block an hour
 * to `rollup-<writer>.hlog` beside the round-by-round `.hlog` (itself an interval log HdrHistogram's
 * tools read, hour by hour). A reader that wants every round of a block takes the block's merged
 * histograms instead of decoding each round's lines. Each series × phase holds exactly the values
 * its rounds' lines hold (the same µs values recorded into the same histogram shape), so the merge
 * is the same either way.
 */
export class HlogRollup {
  private readonly byTag = new Map<string, number[]>();
  private held = 0;
  private overflow = false;
  private startMs = Number.POSITIVE_INFINITY;
  private endMs = Number.NEGATIVE_INFINITY;
  readonly rounds: number[] = [];

  add(roundId: number, startMs: number, endMs: number, round: RoundValues): void {
    this.rounds.push(roundId);
    this.startMs = Math.min(this.startMs, startMs);
    this.endMs = Math.max(this.endMs, endMs, startMs);
    if (this.overflow) return;
    for (const { tag, values } of round.series) {
      this.held += values.length;
      if (this.held > ROLLUP_MAX_VALUES) {
        this.overflow = true;
        this.byTag.clear();
        return;
      }
      const held = this.byTag.get(tag);
      if (held) for (const v of values) held.push(v);
      else this.byTag.set(tag, [...values]);
    }
  }

  /** Whether it holds a block worth writing: two rounds or more, and not past {@link ROLLUP_MAX_VALUES}. */
  get worthWriting(): boolean {
    return this.rounds.length >= 2 && !this.overflow;
  }

  /** The block to append, or undefined when there is nothing worth one (see {@link worthWriting}). */
  block(baseMs: number): string | undefined {
    if (!this.worthWriting) return undefined;
    const series = [...this.byTag].map(([tag, values]) => ({ tag, values }));
    const rounds = this.rounds;
    return intervalBlock(series, this.startMs, this.endMs, baseMs, (n) => [
      `[Rollup committed: ${JSON.stringify({ rounds, intervals: n })}]`,
    ]);
  }

  clear(): void {
    this.byTag.clear();
    this.held = 0;
    this.overflow = false;
    this.startMs = Number.POSITIVE_INFINITY;
    this.endMs = Number.NEGATIVE_INFINITY;
    this.rounds.length = 0;
  }
}

/**
 * What a histogram cannot say about a round: which requests failed. One comment per round,
 * `[Round <id> failures: {"keys":[…],"failed":[[k, totalUs|null, code|null], …]}]` (`keys`: the
 * tags, without phase, of the series that had failures; `k` indexes them; the total in µs as the
 * histograms hold it). Written for every round, `"failed":[]` when none failed: its presence says
 * the round's failures are known, so its interval summaries and stall counts can come from the
 * histograms alone. HdrHistogram's tools (and readers before it) ignore comments.
 */
export function failuresComment(roundId: number, groups: Iterable<readonly RequestRecord[]>): string {
  const keys: string[] = [];
  const failed: Array<[number, number | null, string | null]> = [];
  for (const group of groups) {
    let k = -1;
    for (const r of group) {
      if (r.ok) continue;
      if (k === -1) {
        k = keys.length;
        keys.push(keyTag(histKeyOf(r)));
      }
      const total = r.phasesMs.total;
      const us = total === undefined || !Number.isFinite(total) || total < 0 ? null : msToUs(total);
      failed.push([k, us, r.error?.code ?? null]);
    }
  }
  return `[Round ${roundId} failures: ${JSON.stringify({ keys, failed })}]`;
}

/** The tag of a series without its phase (the failures comment names series by it). */
function keyTag(k: HistKey): string {
  const e = encodeURIComponent;
  return `api=${e(k.api)};route=${e(k.route)};endpoint=${e(k.endpoint)};conn=${e(k.connection)};tag=${e(k.tag)}`;
}

/** One failed request of a round, as its failures comment says. */
export interface HlogFailure {
  key: HistKey;
  /** Its total in µs as the histograms hold it (undefined: it has none). */
  totalUs?: number;
  code?: string;
}

/** Parses a failures comment's JSON; undefined when it is not one of ours. */
export function parseFailures(json: string): HlogFailure[] | undefined {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return undefined;
  }
  const { keys, failed } = (o ?? {}) as { keys?: unknown; failed?: unknown };
  if (!Array.isArray(keys) || !Array.isArray(failed)) return undefined;
  const decoded: HistKey[] = [];
  for (const k of keys) {
    const t = typeof k === "string" ? decodeTag(`${k};phase=total`) : undefined;
    if (!t) return undefined;
    const { phase: _phase, ...key } = t;
    decoded.push(key);
  }
  const out: HlogFailure[] = [];
  for (const f of failed) {
    if (!Array.isArray(f) || f.length !== 3) return undefined;
    const [k, us, code] = f as unknown[];
    const key = typeof k === "number" ? decoded[k] : undefined;
    if (!key) return undefined;
    if (us !== null && (typeof us !== "number" || !Number.isFinite(us))) return undefined;
    if (code !== null && typeof code !== "string") return undefined;
    out.push({ key, ...(us === null ? {} : { totalUs: us }), ...(code === null ? {} : { code }) });
  }
  return out;
}

/** One parsed line of an hlog file. */
export type HlogLine =
  | { kind: "start"; startSec: number }
  | { kind: "base"; baseSec: number }
  | { kind: "commit"; roundId: number; intervals: number }
  | { kind: "failures"; roundId: number; json: string }
  | { kind: "rollup"; rounds: number[]; intervals: number }
  | { kind: "interval"; tag: string | undefined; startSec: number; lengthSec: number; hist: string }
  | { kind: "ignore" }
  | { kind: "bad"; reason: string };

const COMMIT_RE = /^#\[Round (\d+) committed: (\d+) intervals\]$/;
const ROLLUP_PREFIX = "#[Rollup committed: ";
const FAILURES_PREFIX = /^#\[Round (\d+) failures: /;
const TIME_RE = /^#\[(StartTime|BaseTime): ([0-9.]+) /;

/**
 * Where an interval line's fields lie in its bytes, as {@link scanHlogLine} found them: offsets into the
 * buffer it was given, each field `[at, end)`.
 */
export interface IntervalSpan {
  /** The tag (after `Tag=`); tagAt = -1 when the line has no tag. */
  tagAt: number;
  tagEnd: number;
  startAt: number;
  startEnd: number;
  lengthAt: number;
  lengthEnd: number;
  /** The encoded histogram (`HISTF…`). */
  histAt: number;
  histEnd: number;
}

export function newIntervalSpan(): IntervalSpan {
  return { tagAt: -1, tagEnd: -1, startAt: 0, startEnd: 0, lengthAt: 0, lengthEnd: 0, histAt: 0, histEnd: 0 };
}

/** What {@link scanHlogLine} returns for an interval line (its fields are in the span). */
export const INTERVAL_SPAN = { kind: "interval-span" } as const;

const HASH = 0x23;
const QUOTE = 0x22;
const COMMA = 0x2c;
const TAG_PREFIX = Buffer.from("Tag=");
const HISTF = Buffer.from("HISTF");

/** Whether bytes [at, end) are a plain decimal number (what writers write): no string needed to know it is finite. */
function plainDecimal(buf: Buffer, at: number, end: number): boolean {
  let i = at;
  if (i < end && buf[i] === 0x2d) i++;
  let digits = 0;
  let dot = false;
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x30 && b <= 0x39) digits++;
    else if (b === 0x2e && !dot) dot = true;
    else return false;
  }
  return digits > 0;
}

/** Whether bytes [at, end) read as a finite number, as `Number()` reads them. */
function finiteAt(buf: Buffer, at: number, end: number): boolean {
  return plainDecimal(buf, at, end) || Number.isFinite(Number(buf.toString("latin1", at, end)));
}

const startsWithAt = (buf: Buffer, at: number, end: number, prefix: Buffer): boolean => {
  if (end - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[at + i] !== prefix[i]) return false;
  return true;
};

/**
 * Reads one line of an hlog file from its bytes (`buf[start, end)`, no newline): an interval line's
 * fields are found in place and put in `span` ({@link INTERVAL_SPAN} is returned), so a reader of
 * a million interval lines makes no string of them; any other line is parsed as text. The one
 * definition of the format's lines: {@link parseHlogLine} is this, over a string.
 */
export function scanHlogLine(
  buf: Buffer,
  start: number,
  end: number,
  span: IntervalSpan,
): HlogLine | typeof INTERVAL_SPAN {
  const first = buf[start];
  if (first === HASH) return parseComment(buf.toString("utf8", start, end));
  if (first === QUOTE) return { kind: "ignore" };
  // Only a line that begins with a space (or is empty, or begins past ASCII) can be blank.
  if (
    (first === undefined || first <= 0x20 || first >= 0x80) &&
    buf.toString("utf8", start, end).trim() === ""
  ) {
    return { kind: "ignore" };
  }
  // [Tag=…,]start,length,max,histogram: the commas found in place (a tag never holds one).
  let from = start;
  span.tagAt = -1;
  if (startsWithAt(buf, start, end, TAG_PREFIX)) {
    let c = start + TAG_PREFIX.length;
    while (c < end && buf[c] !== COMMA) c++;
    span.tagAt = start + TAG_PREFIX.length;
    span.tagEnd = c;
    from = c + 1;
  }
  let c1 = -1;
  let c2 = -1;
  let c3 = -1;
  let extra = false;
  for (let i = from; i < end; i++) {
    if (buf[i] !== COMMA) continue;
    if (c1 === -1) c1 = i;
    else if (c2 === -1) c2 = i;
    else if (c3 === -1) c3 = i;
    else {
      extra = true;
      break;
    }
  }
  if (c3 === -1 || extra) {
    let fields = 0;
    if (from <= end) {
      fields = 1;
      for (let i = from; i < end; i++) if (buf[i] === COMMA) fields++;
    }
    return { kind: "bad", reason: `expected 4 fields, found ${fields}` };
  }
  if (!finiteAt(buf, from, c1) || !finiteAt(buf, c1 + 1, c2) || !startsWithAt(buf, c3 + 1, end, HISTF)) {
    return { kind: "bad", reason: "malformed interval line" };
  }
  span.startAt = from;
  span.startEnd = c1;
  span.lengthAt = c1 + 1;
  span.lengthEnd = c2;
  span.histAt = c3 + 1;
  span.histEnd = end;
  return INTERVAL_SPAN;
}

export function parseHlogLine(line: string): HlogLine {
  const buf = Buffer.from(line, "utf8");
  const span = newIntervalSpan();
  const got = scanHlogLine(buf, 0, buf.length, span);
  if (got.kind !== "interval-span") return got;
  return {
    kind: "interval",
    tag: span.tagAt === -1 ? undefined : buf.toString("utf8", span.tagAt, span.tagEnd),
    startSec: Number(buf.toString("latin1", span.startAt, span.startEnd)),
    lengthSec: Number(buf.toString("latin1", span.lengthAt, span.lengthEnd)),
    hist: buf.toString("latin1", span.histAt, span.histEnd),
  };
}

/** A comment line (`#…`). */
function parseComment(line: string): HlogLine {
  const c = COMMIT_RE.exec(line);
  if (c) return { kind: "commit", roundId: Number(c[1]), intervals: Number(c[2]) };
  const f = FAILURES_PREFIX.exec(line);
  if (f && line.endsWith("]")) {
    return { kind: "failures", roundId: Number(f[1]), json: line.slice(f[0].length, -1) };
  }
  if (line.startsWith(ROLLUP_PREFIX) && line.endsWith("]"))
    return parseRollup(line.slice(ROLLUP_PREFIX.length, -1));
  const t = TIME_RE.exec(line);
  if (t) {
    const sec = Number(t[2]);
    return t[1] === "StartTime" ? { kind: "start", startSec: sec } : { kind: "base", baseSec: sec };
  }
  return { kind: "ignore" };
}

/** A rollup's commit comment's JSON: the rounds it merged (distinct integers) and its line count. */
function parseRollup(json: string): HlogLine {
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    return { kind: "bad", reason: "unreadable rollup comment" };
  }
  const { rounds, intervals } = (o ?? {}) as { rounds?: unknown; intervals?: unknown };
  if (
    !Array.isArray(rounds) ||
    !rounds.every((r) => Number.isSafeInteger(r)) ||
    new Set(rounds).size !== rounds.length ||
    !Number.isSafeInteger(intervals)
  ) {
    return { kind: "bad", reason: "unreadable rollup comment" };
  }
  return { kind: "rollup", rounds: rounds as number[], intervals: intervals as number };
}
