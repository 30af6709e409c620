/**
 * Histogram (µs, 3 significant digits) → CloudWatch `Values`/`Counts` in ms.
 *
 * CloudWatch takes at most 150 distinct values per datum; a histogram of a
 * few thousand samples has hundreds of buckets. We re-bucket on a log scale
 * with ratio {@link BUCKET_RATIO}: every value in a bucket is represented by
 * the bucket's geometric midpoint, so the relative error of any value — and
 * of any percentile computed by nearest rank — is at most √1.018 − 1 ≈ 0.9%
 * (plus ≤0.005% from rounding to 5 significant digits), inside the 1% target.
 * "2 significant digits" would NOT do: 10.5 → 10 or 11 is a ~5% error.
 *
 * The mapping is monotonic, so ranks are preserved: the p-th percentile of
 * the re-bucketed distribution is the representative of the bucket holding
 * the histogram's own p-th percentile.
 */
import * as hdr from "hdr-histogram-js";
import { type Histogram, newHistogram } from "../../record/histograms.js";

/** Ratio between consecutive bucket bounds. */
export const BUCKET_RATIO = 1.018;
/** Max relative error of a represented value against the histogram's value. */
export const MAX_RELATIVE_ERROR = Math.sqrt(BUCKET_RATIO) - 1 + 5e-5;
/** CloudWatch's limit of distinct values per datum. */
export const MAX_VALUES_PER_DATUM = 150;

const LN_RATIO = Math.log(BUCKET_RATIO);

/** A distribution in ms: ascending distinct values with positive integer counts. */
export interface Distribution {
  valuesMs: number[];
  counts: number[];
}

function round5(x: number): number {
  return Number(x.toPrecision(5));
}

/** Representative value (ms) of the bucket that holds `us` microseconds. */
export function representativeMs(us: number): number {
  const v = Math.max(us, 1);
  const idx = Math.floor(Math.log(v) / LN_RATIO + 1e-12);
  return round5(BUCKET_RATIO ** (idx + 0.5) / 1000);
}

function asJs(h: Histogram): hdr.JsHistogram {
  if (h instanceof hdr.JsHistogram) return h;
  const copy = newHistogram();
  copy.add(h);
  return copy as hdr.JsHistogram;
}

/**
 * Re-buckets a µs histogram into a distribution in ms. Empty histogram →
 * empty distribution. Values are never negative or zero; counts never zero.
 */
export function rebucket(h: Histogram): Distribution {
  const byRep = new Map<number, number>();
  if (h.totalCount === 0) return { valuesMs: [], counts: [] };
  const it = asJs(h).recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const step = it.next();
    const n = step.countAtValueIteratedTo;
    if (n <= 0) continue;
    // valueIteratedTo is the bucket's highest equivalent value: the same value getValueAtPercentile returns.
    const rep = representativeMs(step.valueIteratedTo);
    byRep.set(rep, (byRep.get(rep) ?? 0) + n);
  }
  const valuesMs = [...byRep.keys()].sort((a, b) => a - b);
  return { valuesMs, counts: valuesMs.map((v) => byRep.get(v) ?? 0) };
}

/** Splits a distribution into chunks of at most `max` distinct values (several datums, same metric). */
export function chunkDistribution(d: Distribution, max = MAX_VALUES_PER_DATUM): Distribution[] {
  const out: Distribution[] = [];
  for (let i = 0; i < d.valuesMs.length; i += max) {
    out.push({ valuesMs: d.valuesMs.slice(i, i + max), counts: d.counts.slice(i, i + max) });
  }
  return out;
}

/**
 * Nearest-rank percentile of Values/Counts (possibly spread over several
 * datums), the way hdr-histogram defines it. Used by tests and the lab
 * endpoint's GetMetricData.
 */
export function percentileOf(parts: readonly Distribution[], p: number): number | undefined {
  const pairs: [number, number][] = [];
  for (const d of parts) {
    d.valuesMs.forEach((v, i) => {
      pairs.push([v, d.counts[i] ?? 0]);
    });
  }
  pairs.sort((a, b) => a[0] - b[0]);
  const total = pairs.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return undefined;
  const rank = rankAt(p, total);
  let seen = 0;
  for (const [v, c] of pairs) {
    seen += c;
    if (seen >= rank) return v;
  }
  return pairs[pairs.length - 1]?.[0];
}

/**
 * The 1-based rank of the p-th percentile among `total` samples, computed
 * exactly as hdr-histogram-js does (round up, but forgive a 1-ulp excess of
 * the floating-point product), so both sides pick the same sample.
 */
export function rankAt(p: number, total: number): number {
  const fp = (Math.min(p, 100) / 100) * total;
  const ulp = fp > 0 ? 2 ** (Math.floor(Math.log2(fp)) - 52) : 0;
  return Math.max(1, Math.ceil(fp - ulp));
}

/** Total sample count of a distribution. */
export function countOf(d: Distribution): number {
  return d.counts.reduce((s, c) => s + c, 0);
}
