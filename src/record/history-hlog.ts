/**
 * Merges the interval histograms of one `.hlog` file into a HistogramSet,
 * only for the rounds the records file committed (so histograms and records
 * always describe the same requests). Interval lines not followed by their
 * round's commit comment are the round in flight at a crash: skipped.
 */
import type { HistogramSet } from "./histograms.js";
import { decodeTag, type IntervalTag, parseHlogLine } from "./hlog.js";
import type { LineSource } from "./line-reader.js";

export async function mergeHlogFile(
  source: LineSource,
  wantedRounds: ReadonlySet<number>,
  into: HistogramSet,
  warnings: string[],
): Promise<void> {
  const path = source.label;
  let pending: { tag: IntervalTag; hist: string }[] = [];
  let bad = 0;
  const { tornBytes, unreadable } = await source.forEach(({ text, lineNo }) => {
    const line = parseHlogLine(text);
    if (line.kind === "interval") {
      const tag = line.tag === undefined ? undefined : decodeTag(line.tag);
      if (tag) pending.push({ tag, hist: line.hist });
      else bad++;
    } else if (line.kind === "commit") {
      if (pending.length !== line.intervals) {
        warnings.push(
          `${path}:${lineNo}: round ${line.roundId} commits ${line.intervals} interval(s), found ${pending.length}; skipped`,
        );
      } else if (wantedRounds.has(line.roundId)) {
        for (const { tag, hist } of pending) {
          try {
            into.addEncoded({ ...tag, hist });
          } catch {
            bad++;
          }
        }
      }
      pending = [];
    } else if (line.kind === "bad") {
      bad++;
    }
  });
  if (unreadable !== undefined) warnings.push(`${path}: skipped, ${unreadable}`);
  if (bad > 0) warnings.push(`${path}: ${bad} malformed interval line(s) skipped`);
  if (tornBytes > 0) warnings.push(`${path}: torn last line (${tornBytes} bytes, no newline) skipped`);
  if (pending.length > 0) {
    warnings.push(`${path}: ${pending.length} interval line(s) after the last committed round skipped`);
  }
}
