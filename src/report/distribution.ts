/**
 * The coarse latency distribution behind the terminal's histogram picture:
 * `total` latencies counted into log-spaced buckets (1-2-5 steps from 0.1 ms
 * to 50 s), read straight from a microsecond HdrHistogram so it works the
 * same for one run and for merged history.
 */
import * as hdr from "hdr-histogram-js";
import type { LatencyDistribution } from "../model.js";
import type { Histogram } from "../record/histograms.js";

/** Lower edges of the buckets, ms. Three per decade: 0.1, 0.2, 0.5, 1, 2, 5 … 50 000. */
export const DISTRIBUTION_EDGES_MS: readonly number[] = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000,
];

/** Index of the bucket a latency (ms) falls in. */
export function bucketIndex(ms: number, edgesMs: readonly number[] = DISTRIBUTION_EDGES_MS): number {
  let i = 0;
  while (i + 1 < edgesMs.length && ms >= edgesMs[i + 1]!) i++;
  return i;
}

/**
 * Counts per bucket of a µs histogram. Undefined for histograms that cannot be
 * iterated (the WebAssembly implementation; stallwatch builds JS ones).
 */
export function distributionOf(h: Histogram): LatencyDistribution | undefined {
  if (!(h instanceof hdr.JsHistogram)) return undefined;
  const counts: number[] = DISTRIBUTION_EDGES_MS.map(() => 0);
  const it = h.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    // The top of the value's equivalence range (≤ 0.1 % above it), as HdrHistogram's percentiles report:
    // a value just under an edge may land in the bucket above, never below (a 10 s deadline counts as ≥ 10 s).
    const i = bucketIndex(h.highestEquivalentValue(v.valueIteratedTo) / 1000);
    counts[i] = (counts[i] ?? 0) + v.countAtValueIteratedTo;
  }
  return { edgesMs: [...DISTRIBUTION_EDGES_MS], counts };
}
