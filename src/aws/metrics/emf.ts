/**
 * The same metric points as CloudWatch Embedded Metric Format JSON lines
 * (stdout → ECS awslogs / Lambda / the CloudWatch agent). Only
 * `logs:PutLogEvents` is needed; no PutMetricData, no spool (the log driver
 * buffers, and delivery is at-least-once).
 *
 * EMF has no `Counts`: a metric value is a number or an array of ≤100
 * numbers, each one sample. A distribution is therefore EXPANDED — each
 * re-bucketed value repeated `count` times — and split into lines of ≤100
 * samples per metric. Fidelity: exactly the re-bucketed distribution (≤1%
 * value error, see rebucket.ts), so percentiles match PutMetricData mode. The
 * cost is volume: N samples → ⌈N/100⌉ lines per series and phase. Above
 * `maxSamplesPerMetric` (default 10,000) counts are scaled down
 * proportionally (every non-empty bucket keeps ≥1 sample, so the tail and
 * max survive); percentiles stay close but SampleCount no longer equals the
 * request count — use the `Requests` metric for counts.
 */

import type { MetricContext, MetricPoint } from "./points.js";
import type { Distribution } from "./rebucket.js";

export const EMF_MAX_VALUES = 100;
export const EMF_MAX_METRICS = 100;

export interface EmfOptions {
  /** Cap on expanded samples per metric point; default 10,000. */
  maxSamplesPerMetric?: number;
}

/** Expands a distribution into samples, downsampling proportionally above `max`. */
export function expandDistribution(d: Distribution, max = 10_000): number[] {
  const total = d.counts.reduce((s, c) => s + c, 0);
  const k = total > max ? max / total : 1;
  const out: number[] = [];
  d.valuesMs.forEach((v, i) => {
    const c = d.counts[i] ?? 0;
    const n = k === 1 ? c : Math.max(1, Math.round(c * k));
    for (let j = 0; j < n; j++) out.push(v);
  });
  return out;
}

interface Group {
  timestampMs: number;
  dimensions: [string, string][];
  metrics: { name: string; unit: string; samples: number[] | number }[];
}

/** Builds EMF lines (each a JSON string without newline). Pure. */
export function buildEmfLines(
  points: readonly MetricPoint[],
  ctx: MetricContext,
  opts: EmfOptions = {},
): string[] {
  const groups = new Map<string, Group>();
  for (const p of points) {
    const key = `${p.timestampMs}\u0001${p.dimensions.map(([k, v]) => `${k}=${v}`).join("\u0000")}`;
    let g = groups.get(key);
    if (!g) {
      g = { timestampMs: p.timestampMs, dimensions: p.dimensions, metrics: [] };
      groups.set(key, g);
    }
    const samples = p.distribution ? expandDistribution(p.distribution, opts.maxSamplesPerMetric) : p.value;
    if (samples === undefined || (Array.isArray(samples) && samples.length === 0)) continue;
    g.metrics.push({ name: p.def.name, unit: p.def.unit, samples });
  }
  const lines: string[] = [];
  for (const g of groups.values()) {
    for (let m = 0; m < g.metrics.length; m += EMF_MAX_METRICS) {
      const metrics = g.metrics.slice(m, m + EMF_MAX_METRICS);
      const nLines = Math.max(
        1,
        ...metrics.map((x) => (Array.isArray(x.samples) ? Math.ceil(x.samples.length / EMF_MAX_VALUES) : 1)),
      );
      for (let i = 0; i < nLines; i++) {
        const present = metrics.filter((x) =>
          Array.isArray(x.samples) ? x.samples.length > i * EMF_MAX_VALUES : i === 0,
        );
        if (present.length === 0) continue;
        const doc: Record<string, unknown> = {
          _aws: {
            Timestamp: g.timestampMs,
            CloudWatchMetrics: [
              {
                Namespace: ctx.namespace,
                Dimensions: [g.dimensions.map(([k]) => k)],
                Metrics: present.map((x) => ({
                  Name: x.name,
                  Unit: x.unit,
                  StorageResolution: ctx.storageResolutionS,
                })),
              },
            ],
          },
        };
        for (const [k, v] of g.dimensions) doc[k] = String(v);
        for (const x of present) {
          doc[x.name] = Array.isArray(x.samples)
            ? x.samples.slice(i * EMF_MAX_VALUES, (i + 1) * EMF_MAX_VALUES)
            : x.samples;
        }
        lines.push(JSON.stringify(doc));
      }
    }
  }
  return lines;
}
