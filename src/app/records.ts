/**
 * The one seam through which a run's records go: each record is taken once,
 * as it completes, and appended to the columnar store (src/record/columns.ts)
 * in send order; no list of record objects is kept. What reads the run
 * afterwards (stall rule, diagnosis, report, HTML timeline, CSV, JUnit) reads
 * the store's columns.
 *
 * The histograms are either streamed (each record recorded as it is added:
 * the report, or a round that publishes metrics, needs them anyway) or built
 * once from the store the first time they are asked for (a round that
 * publishes no metrics never builds them: hundreds of series × 8 phases of
 * HdrHistograms cost more than the round's own requests).
 *
 * The store's rows are in send order (seq): records completing out of order
 * (concurrency) wait in a small buffer until the ones sent before them arrive.
 * `records()` materializes the rows as objects, for the readers that still
 * need them (a round written to the history store, AWS evidence sources, the
 * metrics sink): it costs an object per request again, so the report path
 * without AWS never calls it.
 */
import type { ProbeTimestamps, RequestRecord } from "../model.js";
import { RecordStore } from "../record/columns.js";
import { HistogramSet } from "../record/histograms.js";

/** Records waiting for an earlier seq before they are flushed in order regardless (a gap never filled). */
const MAX_PENDING = 65_536;

export interface CollectOptions {
  /** Record each record into the histograms as it is added (default false: built from the store when asked). */
  streamHistograms?: boolean;
}

export class RecordCollector {
  readonly store = new RecordStore();
  private hist: HistogramSet | undefined;
  private readonly streaming: boolean;
  private readonly pending = new Map<number, [RequestRecord, ProbeTimestamps | undefined]>();
  /** The next seq the store takes: a run numbers its requests 0, 1, 2, … in send order. */
  private next = 0;
  private materialized: RequestRecord[] | undefined;

  constructor(opts: CollectOptions = {}) {
    this.streaming = opts.streamHistograms === true;
    if (this.streaming) this.hist = new HistogramSet();
  }

  /** Takes one record (and its raw timestamps), in completion order: into the store in seq order. */
  add(r: RequestRecord, timestamps?: ProbeTimestamps): void {
    if (!this.streaming && this.hist)
      throw new Error("RecordCollector: a record added after the histograms were built");
    this.materialized = undefined;
    if (this.streaming) this.hist?.recordRecord(r);
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

  /** The store, every record in it (the ones still waiting flushed in seq order). Call once the run is over. */
  finish(): RecordStore {
    this.flushAll();
    return this.store;
  }

  /**
   * ADAPTER: every record as an object, in send order, built once (until the next add). An object per request:
   * only for readers that cannot read the columns yet.
   */
  records(): RequestRecord[] {
    const store = this.finish();
    this.materialized ??= Array.from(store.bySeq(), (i) => store.record(i));
    return this.materialized;
  }

  /** Every countable record's phases (a clean stop's aborted requests left out); built once. */
  histograms(): HistogramSet {
    if (!this.hist) {
      const hist = new HistogramSet();
      const store = this.finish();
      // One row at a time: each materialized object is garbage at once.
      for (let i = 0; i < store.length; i++) if (!store.aborted(i)) hist.recordRecord(store.record(i));
      this.hist = hist;
    }
    return this.hist;
  }

  private flushAll(): void {
    if (this.pending.size === 0) return;
    const rest = [...this.pending.entries()].sort((a, b) => a[0] - b[0]);
    this.pending.clear();
    for (const [, [r, t]] of rest) this.store.add(r, t);
    const last = rest[rest.length - 1];
    if (last) this.next = last[0] + 1;
  }
}

export function collectRecords(opts: CollectOptions = {}): RecordCollector {
  return new RecordCollector(opts);
}
