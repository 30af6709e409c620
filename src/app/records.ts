/**
 * The one seam through which the pipeline holds a run's records: each record
 * is added once as it completes, and the histograms are built once from what
 * was added, the first time they are asked for (a round that publishes no
 * metrics never builds them: hundreds of series × 8 phases of HdrHistograms
 * cost more than the round's own requests). How records are kept (today an
 * array sorted by `seq` at the end) is this file's business only.
 */
import type { RequestRecord } from "../model.js";
import { HistogramSet } from "../record/histograms.js";

export interface RecordCollector {
  /** Called once per record, in completion order. */
  add(r: RequestRecord): void;
  /** The records in send order (`seq`). */
  records(): RequestRecord[];
  /** Every countable record's phases (a clean stop's aborted requests left out); built once. */
  histograms(): HistogramSet;
}

export function collectRecords(): RecordCollector {
  const all: RequestRecord[] = [];
  let hist: HistogramSet | undefined;
  let sorted = true;
  const records = (): RequestRecord[] => {
    if (!sorted) {
      all.sort((a, b) => a.seq - b.seq);
      sorted = true;
    }
    return all;
  };
  return {
    add(r) {
      if (hist) throw new Error("collectRecords: a record added after the histograms were built");
      if (all.length > 0 && (all[all.length - 1]?.seq ?? 0) > r.seq) sorted = false;
      all.push(r);
    },
    records,
    histograms() {
      if (!hist) {
        hist = new HistogramSet();
        for (const r of records()) hist.recordRecord(r);
      }
      return hist;
    },
  };
}
