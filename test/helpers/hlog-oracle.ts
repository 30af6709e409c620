/**
 * The straightforward way to write one round's .hlog block: record every
 * record into a HistogramSet and write each series × phase histogram. The
 * store writes the same bytes with one scratch histogram
 * (src/record/hlog.ts hlogRoundBlockOf); the tests hold the two equal.
 * And the straightforward way to read them back (mergeHlogOracle).
 */
import * as hdr from "hdr-histogram-js";
import { PHASES, type RequestRecord } from "../../src/model.js";
import {
  type Histogram,
  HistogramSet,
  histKeyId,
  histKeyOf,
  newHistogram,
} from "../../src/record/histograms.js";
import { decodeTag, encodeTag } from "../../src/record/hlog.js";

/**
 * The lines of one round: one interval per series × phase of the measured (not aborted) records, the
 * failures comment (the failed records' series tags, totals in µs and failure codes, series in the
 * order the set lists them), then the commit comment.
 */
export function oracleRoundBlock(
  records: readonly RequestRecord[],
  roundId: number,
  startMs: number,
  endMs: number,
  baseMs: number,
): string {
  let out = "";
  let n = 0;
  const w = new hdr.HistogramLogWriter((s) => {
    out += s;
  });
  const startSec = (startMs - baseMs) / 1000;
  const endSec = Math.max(endMs, startMs) / 1000 - baseMs / 1000;
  const measured = records.filter((r) => r.aborted !== true);
  const set = new HistogramSet();
  for (const r of measured) set.recordRecord(r);
  const keys: string[] = [];
  const failed: unknown[] = [];
  for (const { key } of set.series()) {
    const bad = measured.filter((r) => !r.ok && histKeyId(histKeyOf(r)) === histKeyId(key));
    if (bad.length === 0) continue;
    keys.push(encodeTag({ ...key, phase: "total" }).replace(/;phase=total$/, ""));
    for (const r of bad) {
      const t = r.phasesMs.total;
      failed.push([keys.length - 1, t === undefined ? null : Math.round(t * 1000), r.error?.code ?? null]);
    }
  }
  for (const { key, phases } of set.series()) {
    for (const phase of PHASES) {
      const h = phases.get(phase);
      if (!h || h.totalCount === 0) continue;
      h.tag = encodeTag({ ...key, phase });
      w.outputIntervalHistogram(h, startSec, endSec, 1000);
      n++;
    }
  }
  w.outputComment(`[Round ${roundId} failures: ${JSON.stringify({ keys, failed })}]`);
  w.outputComment(`[Round ${roundId} committed: ${n} intervals]`);
  return out;
}

/**
 * The straightforward way to read .hlog files back: split each line into its fields, parse its tag,
 * decode its histogram with hdr-histogram-js (a histogram of the writer's range), re-home it into ours
 * and add it; only rounds whose commit comment follows their lines and that `wanted` picks. What
 * readHistory's `.hlog` path must equal. Keys: `histKeyId(key)` + "|" + phase.
 */
export function mergeHlogOracle(
  texts: readonly string[],
  wanted: ReadonlySet<number>,
): Map<string, Histogram> {
  const out = new Map<string, Histogram>();
  for (const text of texts) {
    let pending: { id: string; hist: string }[] = [];
    for (const line of text.split("\n")) {
      const commit = /^#\[Round (\d+) committed: (\d+) intervals\]$/.exec(line);
      if (commit) {
        if (pending.length === Number(commit[2]) && wanted.has(Number(commit[1]))) {
          for (const { id, hist } of pending) {
            let h: Histogram;
            try {
              h = newHistogram();
              h.add(hdr.decodeFromCompressedBase64(hist));
            } catch {
              continue;
            }
            const into = out.get(id) ?? newHistogram();
            into.add(h);
            out.set(id, into);
          }
        }
        pending = [];
        continue;
      }
      if (!line.startsWith("Tag=")) continue;
      const fields = line.split(",");
      const tag = decodeTag(fields[0]!.slice(4));
      if (!tag || fields.length !== 5) continue;
      const { phase, ...key } = tag;
      pending.push({ id: `${histKeyId(key)}|${phase}`, hist: fields[4]! });
    }
  }
  return out;
}
