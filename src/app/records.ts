/**
 * The one seam through which the pipeline holds a run's records: each record
 * is added once as it completes; the histograms are fed from the same call.
 * How records are kept (today an array sorted by `seq` at the end) is this
 * file's business only.
 */
import type { RequestRecord } from "../model.js";
import { HistogramSet } from "../record/histograms.js";

export interface RecordCollector {
  /** Called once per record, in completion order. */
  add(r: RequestRecord): void;
  /** The records in send order (`seq`). */
  records(): RequestRecord[];
  /** Every countable record's phases (a clean stop's aborted requests left out). */
  readonly histograms: HistogramSet;
}

export function collectRecords(): RecordCollector {
  const all: RequestRecord[] = [];
  const histograms = new HistogramSet();
  let sorted = true;
  return {
    add(r) {
      if (all.length > 0 && (all[all.length - 1]?.seq ?? 0) > r.seq) sorted = false;
      all.push(r);
      histograms.recordRecord(r);
    },
    records() {
      if (!sorted) {
        all.sort((a, b) => a.seq - b.seq);
        sorted = true;
      }
      return all;
    },
    histograms,
  };
}
