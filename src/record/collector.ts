/**
 * The one place a run's records go: each record is taken once, recorded into
 * the HdrHistograms and appended to the columnar store (src/record/columns.ts),
 * and then dropped. What reads the run afterwards (stall rule, diagnosis,
 * report, HTML timeline, CSV) reads the store; no list of record objects is
 * kept. The store's rows are in send order (seq), as a retained run's records
 * were: records completing out of order (concurrency) wait in a small buffer
 * until the ones sent before them arrive.
 */
import type { ProbeTimestamps, RequestRecord } from "../model.js";
import { RecordStore } from "./columns.js";
import { HistogramSet } from "./histograms.js";

/** Records waiting for an earlier seq before they are flushed in order regardless (a gap never filled). */
const MAX_PENDING = 65_536;

export class RecordCollector {
  readonly histograms = new HistogramSet();
  readonly store = new RecordStore();
  private readonly pending = new Map<number, [RequestRecord, ProbeTimestamps | undefined]>();
  /** The next seq the store takes: a run numbers its requests 0, 1, 2, … in send order. */
  private next = 0;

  /** Takes one record (and its raw timestamps): into the histograms now, into the store in seq order. */
  add(r: RequestRecord, timestamps?: ProbeTimestamps): void {
    this.histograms.recordRecord(r);
    if (r.seq !== this.next) {
      this.pending.set(r.seq, [r, timestamps]);
      if (this.pending.size > MAX_PENDING) this.flushAll();
      return;
    }
    this.store.add(r, timestamps);
    this.next = r.seq + 1;
    for (let p = this.pending.get(this.next); p; p = this.pending.get(this.next)) {
      this.pending.delete(this.next);
      this.store.add(p[0], p[1]);
      this.next++;
    }
  }

  /** Flushes the records still waiting (in seq order) and returns the store. Call once the run is over. */
  finish(): RecordStore {
    this.flushAll();
    return this.store;
  }

  private flushAll(): void {
    const rest = [...this.pending.entries()].sort((a, b) => a[0] - b[0]);
    this.pending.clear();
    for (const [, [r, t]] of rest) this.store.add(r, t);
    const last = rest[rest.length - 1];
    if (last) this.next = last[0] + 1;
  }
}
