/**
 * The straightforward way to write one round's .hlog block: record every
 * record into a HistogramSet and write each series × phase histogram. The
 * store writes the same bytes with one scratch histogram
 * (src/record/hlog.ts hlogRoundBlockOf); the tests hold the two equal.
 */
import * as hdr from "hdr-histogram-js";
import { PHASES } from "../../src/model.js";
import type { HistogramSet } from "../../src/record/histograms.js";
import { encodeTag } from "../../src/record/hlog.js";

/** The lines of one round: one interval per series × phase, then the commit comment. */
export function hlogRoundBlock(
  set: HistogramSet,
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
  for (const { key, phases } of set.series()) {
    for (const phase of PHASES) {
      const h = phases.get(phase);
      if (!h || h.totalCount === 0) continue;
      h.tag = encodeTag({ ...key, phase });
      w.outputIntervalHistogram(h, startSec, endSec, 1000);
      n++;
    }
  }
  w.outputComment(`[Round ${roundId} committed: ${n} intervals]`);
  return out;
}
