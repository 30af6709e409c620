/**
 * HdrHistogram interval logs (`.hlog`), the format HdrHistogram's own tools
 * (HistogramLogProcessor, HistogramLogAnalyzer) read. Values are µs; the max
 * column is written with maxValueUnitRatio 1000, so it reads in ms.
 *
 * Each round appends one block: one interval line per series × phase, tagged
 * `Tag=api=…;route=…;endpoint=…;conn=…;tag=…;phase=…` (each value
 * percent-encoded, so a tag never holds ',' or whitespace), then a comment
 * `#[Round <id> committed: <n> intervals]`. Interval lines not followed by
 * their commit comment belong to a round that was in flight at a crash.
 */
import * as hdr from "hdr-histogram-js";
import {
  CONNECTION_MODES,
  type ConnectionMode,
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
  const e = encodeURIComponent;
  return `api=${e(t.api)};route=${e(t.route)};endpoint=${e(t.endpoint)};conn=${e(t.connection)};tag=${e(t.tag)};phase=${e(t.phase)}`;
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

/**
 * The lines of one round (one interval per series × phase, then the commit
 * comment): the block a HistogramSet of `records` would write (test/helpers/
 * hlog-oracle.ts holds that straightforward version; the tests hold the two
 * equal byte for byte), built with ONE scratch histogram reused for every series ×
 * phase. A full histogram (1 µs – 600 s, 3 digits) takes 86 KB: a round of
 * 1,000 endpoints × 3 routes × 2 connection modes has ~30,000 series × phase,
 * which as a HistogramSet peaked at 1.6–2 GB of RSS. This stays at one.
 */
export function hlogRoundBlockOf(
  records: readonly RequestRecord[],
  roundId: number,
  startMs: number,
  endMs: number,
  baseMs: number,
): string {
  const groups = new Map<string, RequestRecord[]>();
  for (const r of records) {
    const id = histKeyId(histKeyOf(r));
    const g = groups.get(id);
    if (g) g.push(r);
    else groups.set(id, [r]);
  }
  let out = "";
  let n = 0;
  const w = new hdr.HistogramLogWriter((s) => {
    out += s;
  });
  const startSec = (startMs - baseMs) / 1000;
  const endSec = Math.max(endMs, startMs) / 1000 - baseMs / 1000;
  const h = newHistogram();
  for (const group of groups.values()) {
    const key = histKeyOf(group[0]!);
    for (const phase of PHASES) {
      h.reset();
      for (const r of group) {
        const ms = r.phasesMs[phase];
        if (ms === undefined || !Number.isFinite(ms) || ms < 0) continue;
        h.recordValue(msToUs(ms));
      }
      if (h.totalCount === 0) continue;
      h.tag = encodeTag({ ...key, phase });
      w.outputIntervalHistogram(h, startSec, endSec, 1000);
      n++;
    }
  }
  w.outputComment(`[Round ${roundId} committed: ${n} intervals]`);
  return out;
}

/** One parsed line of an hlog file. */
export type HlogLine =
  | { kind: "start"; startSec: number }
  | { kind: "base"; baseSec: number }
  | { kind: "commit"; roundId: number; intervals: number }
  | { kind: "interval"; tag: string | undefined; startSec: number; lengthSec: number; hist: string }
  | { kind: "ignore" }
  | { kind: "bad"; reason: string };

const COMMIT_RE = /^#\[Round (\d+) committed: (\d+) intervals\]$/;
const TIME_RE = /^#\[(StartTime|BaseTime): ([0-9.]+) /;

export function parseHlogLine(line: string): HlogLine {
  if (line.startsWith("#")) {
    const c = COMMIT_RE.exec(line);
    if (c) return { kind: "commit", roundId: Number(c[1]), intervals: Number(c[2]) };
    const t = TIME_RE.exec(line);
    if (t) {
      const sec = Number(t[2]);
      return t[1] === "StartTime" ? { kind: "start", startSec: sec } : { kind: "base", baseSec: sec };
    }
    return { kind: "ignore" };
  }
  if (line.startsWith('"') || line.trim() === "") return { kind: "ignore" };
  // [Tag=…,]start,length,max,histogram: commas found in place (a tag never holds one), no array of tokens.
  let from = 0;
  let tag: string | undefined;
  if (line.startsWith("Tag=")) {
    const c = line.indexOf(",");
    tag = line.slice(4, c === -1 ? line.length : c);
    from = c === -1 ? line.length + 1 : c + 1;
  }
  const c1 = line.indexOf(",", from);
  const c2 = c1 === -1 ? -1 : line.indexOf(",", c1 + 1);
  const c3 = c2 === -1 ? -1 : line.indexOf(",", c2 + 1);
  if (c3 === -1 || line.indexOf(",", c3 + 1) !== -1) {
    const fields = from > line.length ? 0 : line.slice(from).split(",").length;
    return { kind: "bad", reason: `expected 4 fields, found ${fields}` };
  }
  const startSec = Number(line.slice(from, c1));
  const lengthSec = Number(line.slice(c1 + 1, c2));
  if (!Number.isFinite(startSec) || !Number.isFinite(lengthSec) || !line.startsWith("HISTF", c3 + 1)) {
    return { kind: "bad", reason: "malformed interval line" };
  }
  return { kind: "interval", tag, startSec, lengthSec, hist: line.slice(c3 + 1) };
}
