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
import { unzlibSync } from "fflate";
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

  /** Adds one encoded histogram (decoded straight into this set's histogram: see {@link addEncodedInto}). */
  addEncoded(e: EncodedHistogram): void {
    const { phase, hist, ...key } = e;
    addEncodedInto(this.histogram(this.entry(key), phase), hist);
  }

  /** The histogram of a key and phase, created empty when the set has none yet. */
  histogramOf(key: HistKey, phase: Phase): Histogram {
    return this.histogram(this.entry(key), phase);
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
  const h = newHistogram();
  addEncodedInto(h, b64);
  return h;
}

/** The parts of hdr-histogram-js's JsHistogram the direct decode writes through (public in its JS, not its types). */
interface CountsAccess {
  countsArrayLength: number;
  maxValue: number;
  minNonZeroValue: number;
  addToCountAtIndex(index: number, count: number): void;
  setTotalCount(n: number): void;
  valueFromIndex(index: number): number;
  highestEquivalentValue(value: number): number;
  updatedMaxValue(value: number): void;
  updateMinNonZeroValue(value: number): void;
}

const V2_COMPRESSED_COOKIE_BASE = 0x1c849304;
const V2_COOKIE_BASE = 0x1c849303;
const V2_HEADER_BYTES = 40;

/**
 * Reused by every decode (one thread, no await inside): the base64 bytes, the inflated payload and the
 * decoded non-zero counts. Decoding a line allocates nothing; each grows when a larger histogram comes.
 */
const scratch = {
  raw: Buffer.alloc(1024),
  out: new Uint8Array(16 * 1024),
  indexes: new Float64Array(1024),
  counts: new Float64Array(1024),
};
/** No payload in our shape is larger (every index of the 1 µs – 600 s range at 9 bytes is ~200 KB). */
const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/**
 * Adds a compressed base64 histogram (`HISTFAAAA…`) into `into`, decoding its
 * counts straight into `into`'s counts array: the base64 into a reused
 * buffer, one inflate (fflate, in JS: Node's zlib costs ~8 µs a call in
 * setting up a native stream, for a payload of ~40 bytes) into another, one
 * pass over the non-zero counts. No per-line allocation. The zlib stream's
 * Adler-32 is checked, as zlib does: a corrupt payload throws, never adds.
 * The result is the same as `into.add(decodeHistogram(b64))` was (counts,
 * total, min and max); any histogram not written in our shape (other lowest
 * value, precision or range) takes hdr-histogram-js's path. With `keep`, the
 * decoded counts are also handed back, sparse (one decode for both).
 */
export function addEncodedInto(into: Histogram, b64: string, keep?: SparseCounts): void {
  addDecoded(into, decodeCounts(b64), keep, () => b64);
}

/**
 * {@link addEncodedInto} from the encoded histogram's bytes (`buf[at, end)`, e.g. a field of an hlog line
 * still in the reader's buffer): base64 decoded from the bytes, no string made of them. Without `into`,
 * the counts go to `keep` only (or nowhere: a check that the bytes decode).
 */
export function addEncodedBytesInto(
  into: Histogram | undefined,
  buf: Uint8Array,
  at: number,
  end: number,
  keep?: SparseCounts,
): void {
  const b64 = (): string => Buffer.from(buf.buffer, buf.byteOffset + at, end - at).toString("latin1");
  const room = Math.ceil(((end - at) * 3) / 4);
  if (scratch.raw.length < room) scratch.raw = Buffer.alloc(room);
  const rawLength = base64Into(buf, at, end, scratch.raw);
  addDecoded(into, rawLength >= 0 ? countsOfRaw(rawLength) : decodeCounts(b64()), keep, b64);
}

/** Adds the `n` counts a decode left in scratch into `into` (n < 0: a histogram of another shape, decoded by hdr-histogram-js). */
function addDecoded(
  into: Histogram | undefined,
  n: number,
  keep: SparseCounts | undefined,
  b64: () => string,
): void {
  if (n < 0) {
    const decoded = hdr.decodeFromCompressedBase64(b64());
    const h = newHistogram();
    h.add(decoded);
    into?.add(h);
    if (keep) keepSparse(h, keep);
    return;
  }
  const { counts, indexes } = scratch;
  if (n > 0 && indexes[n - 1]! >= reference().countsArrayLength) {
    throw new Error("The other histogram includes values that do not fit in this histogram's range.");
  }
  if (keep) for (let k = 0; k < n; k++) keep.push(bucketValueAt(indexes[k]!), counts[k]!);
  if (!into) return;
  const target = into as unknown as CountsAccess;
  let total = 0;
  let minIndex = -1;
  for (let k = 0; k < n; k++) {
    const idx = indexes[k]!;
    const c = counts[k]!;
    target.addToCountAtIndex(idx, c);
    total += c;
    if (minIndex === -1 && idx !== 0) minIndex = idx;
  }
  const maxIndex = n > 0 ? indexes[n - 1]! : -1;
  target.setTotalCount(into.totalCount + total);
  const otherMax = maxIndex >= 0 ? target.highestEquivalentValue(target.valueFromIndex(maxIndex)) : 0;
  target.updatedMaxValue(Math.max(target.maxValue, otherMax));
  const otherMin = minIndex >= 0 ? target.valueFromIndex(minIndex) : Number.MAX_VALUE;
  target.updateMinNonZeroValue(Math.min(target.minNonZeroValue, otherMin));
}

/** Base64 digit values (standard and URL-safe alphabets, as Node reads both); -1 for any other byte. */
const BASE64_DIGIT = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  t[0x2d] = 62; // '-'
  t[0x5f] = 63; // '_'
  return t;
})();

/**
 * Decodes base64 bytes `src[at, end)` into `out` (room for ceil(n × 3 / 4) bytes); returns the length
 * written, or -1 when the text holds anything but base64 digits and at most two closing '=' (whitespace,
 * a stray character): those go through Node's own decoder, so both paths read any text the same way.
 */
export function base64Into(src: Uint8Array, at: number, end: number, out: Uint8Array): number {
  let e = end;
  if (e > at && src[e - 1] === 0x3d) e--;
  if (e > at && src[e - 1] === 0x3d) e--;
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = at; i < e; i++) {
    const v = BASE64_DIGIT[src[i]!]!;
    if (v < 0) return -1;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o;
}

/**
 * Histograms' non-zero counts, sparse, appended one histogram after another (a histogram's entries are
 * ascending): `values[k]` is the value (µs) of a non-empty bucket as HdrHistogram reports values, the
 * highest value equivalent to those it holds (exact below 2,048 µs, at most 0.1% above the values it holds
 * above that), `counts[k]` how many values it holds. What a reader needs of many interval histograms
 * (counts, percentiles, the values above a threshold) without a full histogram's 86 KB each.
 */
export class SparseCounts {
  values = new Float64Array(1024);
  counts = new Float64Array(1024);
  length = 0;

  push(value: number, count: number): void {
    if (this.length === this.values.length) {
      const values = new Float64Array(this.length * 2);
      values.set(this.values);
      this.values = values;
      const counts = new Float64Array(this.length * 2);
      counts.set(this.counts);
      this.counts = counts;
    }
    this.values[this.length] = value;
    this.counts[this.length] = count;
    this.length++;
  }
}

/** The sparse counts of a histogram of our shape (the decode's fallback for other shapes). */
function keepSparse(h: Histogram, keep: SparseCounts): void {
  const access = h as unknown as CountsAccess & { getCountAtIndex(i: number): number };
  for (let i = 0; i < access.countsArrayLength; i++) {
    const c = access.getCountAtIndex(i);
    if (c > 0) keep.push(access.highestEquivalentValue(access.valueFromIndex(i)), c);
  }
}

/** The value a sparse reader files `us` under: its bucket's (see {@link SparseCounts}). */
export function bucketValueUs(us: number): number {
  return reference().highestEquivalentValue(us);
}

let referenceHist: CountsAccess | undefined;
const reference = (): CountsAccess => {
  referenceHist ??= newHistogram() as unknown as CountsAccess;
  return referenceHist;
};
/** Bucket values by counts index, filled as indexes are met (0: not yet). */
let bucketValues: Float64Array | undefined;

/** The value (µs) of the bucket at a counts index of our shape, as {@link SparseCounts} holds it. */
function bucketValueAt(index: number): number {
  const ref = reference();
  bucketValues ??= new Float64Array(ref.countsArrayLength);
  let v = bucketValues[index]!;
  if (v === 0) {
    v = ref.highestEquivalentValue(ref.valueFromIndex(index));
    bucketValues[index] = v;
  }
  return v;
}

/** A big-endian signed 32-bit integer. */
const int32At = (d: Uint8Array, p: number): number =>
  (d[p]! << 24) | (d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!;

/** The zlib stream's own check (RFC 1950): Adler-32 of the inflated bytes. */
function adler32(data: Uint8Array, end: number): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < end; ) {
    const stop = Math.min(end, i + 3800); // no overflow of 2^31 before the modulo
    for (; i < stop; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Inflates a zlib stream into scratch.out (grown as needed); returns the payload length. */
function inflateToScratch(z: Uint8Array): number {
  if (z.length < 6) throw new Error("encoded histogram: zlib stream too short");
  for (;;) {
    const got = unzlibSync(z, { out: scratch.out });
    // fflate writes no further than the buffer it is given: a full buffer may be a cut payload.
    if (got.length < scratch.out.length) {
      const end = z.length;
      const want = int32At(z, end - 4) >>> 0;
      if (adler32(scratch.out, got.length) !== want)
        throw new Error("encoded histogram: zlib checksum mismatch");
      return got.length;
    }
    if (scratch.out.length >= MAX_PAYLOAD_BYTES) throw new Error("encoded histogram: payload too large");
    scratch.out = new Uint8Array(scratch.out.length * 4);
  }
}

/**
 * Decodes a V2 compressed histogram in our shape: its non-zero counts go into
 * scratch.indexes/counts; returns how many. -1 for a histogram of any other shape.
 */
function decodeCounts(b64: string): number {
  const s = b64.trim();
  const room = Math.ceil((s.length * 3) / 4);
  if (scratch.raw.length < room) scratch.raw = Buffer.alloc(room);
  return countsOfRaw(scratch.raw.write(s, "base64"));
}

/** {@link decodeCounts} of the histogram whose decoded base64 is the first `rawLength` bytes of scratch.raw. */
function countsOfRaw(rawLength: number): number {
  const raw = scratch.raw;
  if (rawLength < 8) throw new Error("not an encoded histogram: too short");
  if ((raw.readInt32BE(0) & ~0xf0) !== V2_COMPRESSED_COOKIE_BASE)
    throw new Error("Encoding not supported, only V2 is supported");
  const compressedLength = raw.readInt32BE(4);
  if (compressedLength < 0 || 8 + compressedLength > rawLength)
    throw new Error("encoded histogram: compressed payload is truncated");
  const length = inflateToScratch(raw.subarray(8, 8 + compressedLength));
  const data = scratch.out;
  if (length < V2_HEADER_BYTES) return -1;
  if ((int32At(data, 0) & ~0xf0) !== V2_COOKIE_BASE) return -1;
  const payloadLength = int32At(data, 4);
  const digits = int32At(data, 12);
  // lowest and highest are 64-bit: ours fit in the low word, the high word is 0.
  const lowest = int32At(data, 16) === 0 ? int32At(data, 20) : -1;
  const highest = int32At(data, 24) === 0 ? int32At(data, 28) : -1;
  if (digits !== SIGNIFICANT_DIGITS || lowest !== 1 || highest !== HIGHEST_TRACKABLE_US) return -1;
  const end = Math.min(length, V2_HEADER_BYTES + Math.max(0, payloadLength));
  let n = 0;
  let pos = V2_HEADER_BYTES;
  let index = 0;
  while (pos < end) {
    // ZigZag LEB128, HdrHistogram's 64-bit variant: at most 9 bytes, the 9th contributes all 8 bits.
    let value = 0;
    let scale = 1;
    let b = 0;
    let k = 0;
    do {
      if (pos >= length) throw new Error("encoded histogram payload is truncated");
      b = data[pos++]!;
      value += (k === 8 ? b : b & 0x7f) * scale;
      scale *= 128;
      k++;
    } while (k < 9 && b & 0x80);
    const decoded = value % 2 === 0 ? value / 2 : -(value + 1) / 2;
    if (decoded < 0) {
      index += -decoded; // a run of zero counts
    } else {
      if (decoded > 0) {
        if (n === scratch.indexes.length) {
          const indexes = new Float64Array(n * 2);
          indexes.set(scratch.indexes);
          scratch.indexes = indexes;
          const counts = new Float64Array(n * 2);
          counts.set(scratch.counts);
          scratch.counts = counts;
        }
        scratch.indexes[n] = index;
        scratch.counts[n] = decoded;
        n++;
      }
      index++;
    }
  }
  return n;
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
