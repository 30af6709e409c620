/**
 * HdrHistograms per (api, route, endpoint, connection, tag) × phase.
 *
 * Values are recorded in MICROSECONDS (hdr-histogram-js truncates to
 * integers), trackable from 1 µs to 600 s at 3 significant digits, so a
 * 1-in-300 stall shows at p99.9 with ≤0.1% value error. Histograms are the
 * exchange format between runs and processes: they encode to compressed
 * base64 (`HISTFAAAA…`, compatible with HdrHistogram's other
 * implementations) and merge by addition.
 */
import * as hdr from "hdr-histogram-js";
import type { ConnectionMode, Phase, PhaseStats, RecordTag, RequestRecord } from "../model.js";
import { countable, PHASES } from "../model.js";

export type Histogram = hdr.Histogram;

/** Highest trackable value: 600 s in µs. Larger values are clamped (and counted in `clamped`). */
export const HIGHEST_TRACKABLE_US = 600_000_000;
export const SIGNIFICANT_DIGITS = 3;

export function newHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
    bitBucketSize: 32,
    autoResize: false,
    useWebAssembly: false,
  });
}

/** Milliseconds (fractional) → integer microseconds within the trackable range. */
export function msToUs(ms: number): number {
  const us = Math.round(ms * 1000);
  if (us < 1) return 1;
  return Math.min(us, HIGHEST_TRACKABLE_US);
}

/** Identity of one histogram family. */
export interface HistKey {
  api: string;
  route: string;
  endpoint: string;
  connection: ConnectionMode;
  tag: RecordTag;
}

export function histKeyId(k: HistKey): string {
  return [k.api, k.route, k.endpoint, k.connection, k.tag].join("\u0000");
}

export function histKeyOf(r: RequestRecord): HistKey {
  return { api: r.api, route: r.route, endpoint: r.endpoint, connection: r.connection, tag: r.tag };
}

/** One serialisable histogram: key, phase and the compressed base64 encoding (values in µs). */
export interface EncodedHistogram extends HistKey {
  phase: Phase;
  hist: string;
}

interface Entry {
  key: HistKey;
  phases: Map<Phase, Histogram>;
}

/** A set of histograms, one per key × phase. */
export class HistogramSet {
  private readonly entries = new Map<string, Entry>();
  /** Values that exceeded the trackable range and were clamped to it. */
  clamped = 0;

  /** Records every phase present in the record. A phase that did not happen is not recorded (absent, not zero). */
  recordRecord(r: RequestRecord): void {
    if (!countable(r)) return; // aborted by a clean stop: its durations say nothing about the API
    const entry = this.entry(histKeyOf(r));
    for (const phase of PHASES) {
      const ms = r.phasesMs[phase];
      if (ms === undefined || !Number.isFinite(ms) || ms < 0) continue;
      if (ms * 1000 > HIGHEST_TRACKABLE_US) this.clamped++;
      this.histogram(entry, phase).recordValue(msToUs(ms));
    }
  }

  /** Records a single value (ms) for a key and phase. */
  recordValue(key: HistKey, phase: Phase, ms: number): void {
    this.histogram(this.entry(key), phase).recordValue(msToUs(ms));
  }

  get(key: HistKey, phase: Phase): Histogram | undefined {
    return this.entries.get(histKeyId(key))?.phases.get(phase);
  }

  /** Every key with its phase histograms, in insertion order. */
  *series(): IterableIterator<{ key: HistKey; phases: ReadonlyMap<Phase, Histogram> }> {
    for (const e of this.entries.values()) yield { key: e.key, phases: e.phases };
  }

  get size(): number {
    return this.entries.size;
  }

  /** Adds another set into this one (merging runs or intervals). */
  add(other: HistogramSet): void {
    for (const { key, phases } of other.series()) {
      const entry = this.entry(key);
      for (const [phase, h] of phases) this.histogram(entry, phase).add(h);
    }
    this.clamped += other.clamped;
  }

  /** Adds one decoded histogram. */
  addEncoded(e: EncodedHistogram): void {
    const { phase, hist, ...key } = e;
    this.histogram(this.entry(key), phase).add(decodeHistogram(hist));
  }

  encode(): EncodedHistogram[] {
    const out: EncodedHistogram[] = [];
    for (const { key, phases } of this.series()) {
      for (const phase of PHASES) {
        const h = phases.get(phase);
        if (h && h.totalCount > 0) out.push({ ...key, phase, hist: hdr.encodeIntoCompressedBase64(h) });
      }
    }
    return out;
  }

  static decode(list: readonly EncodedHistogram[]): HistogramSet {
    const set = new HistogramSet();
    for (const e of list) set.addEncoded(e);
    return set;
  }

  private entry(key: HistKey): Entry {
    const id = histKeyId(key);
    let e = this.entries.get(id);
    if (!e) {
      e = { key: { ...key }, phases: new Map() };
      this.entries.set(id, e);
    }
    return e;
  }

  private histogram(entry: Entry, phase: Phase): Histogram {
    let h = entry.phases.get(phase);
    if (!h) {
      h = newHistogram();
      entry.phases.set(phase, h);
    }
    return h;
  }
}

export function decodeHistogram(b64: string): Histogram {
  const decoded = hdr.decodeFromCompressedBase64(b64);
  // Decoded histograms carry the writer's range; re-home into our standard shape so `add` never overflows.
  const h = newHistogram();
  h.add(decoded);
  return h;
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

const usToMs = (us: number): number => Math.round(us) / 1000;

/** Percentiles of a µs histogram, in ms. */
export function statsOf(h: Histogram): PhaseStats {
  return {
    count: h.totalCount,
    p50: usToMs(h.getValueAtPercentile(50)),
    p90: usToMs(h.getValueAtPercentile(90)),
    p99: usToMs(h.getValueAtPercentile(99)),
    p999: usToMs(h.getValueAtPercentile(99.9)),
    // maxValue is the highest *equivalent* value of the top bucket; the summary's max is the recorded bucket's value.
    max: usToMs(h.summary.max),
    mean: Math.round(h.mean) / 1000,
  };
}

/**
 * A copy corrected for coordinated omission: when requests were meant to go
 * out every `expectedIntervalMs` but a slow one held the sender back, the
 * samples that should have been taken meanwhile are back-filled.
 */
export function correctedForCoordinatedOmission(h: Histogram, expectedIntervalMs: number): Histogram {
  const corrected = newHistogram();
  corrected.add(h.copyCorrectedForCoordinatedOmission(msToUs(expectedIntervalMs)));
  return corrected;
}
