/**
 * One round's numbers → neutral metric points (metric × dimensions ×
 * timestamp, with a distribution or a single value). Both output formats —
 * PutMetricData (put.ts) and EMF (emf.ts) — are built from these points, so
 * they always carry the same metrics.
 */
import {
  FAILURE_CLASS_NAMES,
  type FailureClass,
  PART_PHASES,
  type Phase,
  type SeriesKey,
} from "../../model.js";
import { type Histogram, type HistogramSet, newHistogram } from "../../record/histograms.js";
import { type Distribution, rebucket } from "./rebucket.js";
import { METRICS, type MetricDef, PROBER_DIMENSIONS, type ProberDimension } from "./registry.js";

/** Per-series counts of one round (connection modes summed). */
export interface SeriesCounts extends SeriesKey {
  /** Probe requests sent (ok + failed). */
  requests: number;
  ok: number;
  stalls: number;
  /** Failures per class; absent classes are 0. */
  failures: Partial<Record<FailureClass, number>>;
}

/** What a round hands to the publisher. */
export interface RoundMetrics {
  /** µs histograms (src/record/histograms.ts). `probe` → Latency/PhaseLatency, `keep-warm` → KeepWarmLatency, `idle-sweep` not published. */
  histograms: HistogramSet;
  counts: readonly SeriesCounts[];
  /** Wall-clock timestamp of the round, epoch ms (the datum Timestamp). */
  timestampMs: number;
}

/** Where and how metrics are published (from config.cloudwatch). */
export interface MetricContext {
  namespace: string;
  storageResolutionS: 1 | 60;
  /** Prober / Region / AZ dimension values, when configured. */
  dimensions?: Partial<Record<ProberDimension, string>>;
  /** The config's redactor (src/redact.ts), applied to every dimension value: CloudWatch is a sink like any other. */
  redact?: (text: string) => string;
}

/** One metric value set. Dimensions in registry order, prober dimensions last. */
export interface MetricPoint {
  def: MetricDef;
  dimensions: [string, string][];
  timestampMs: number;
  /** For distribution metrics. */
  distribution?: Distribution;
  /** For count / percent metrics. */
  value?: number;
}

function dims(
  key: SeriesKey,
  extra: [string, string][],
  prober: Partial<Record<ProberDimension, string>>,
): [string, string][] {
  const out: [string, string][] = [
    ["Api", key.api],
    ["Route", key.route],
    ["Endpoint", key.endpoint],
    ...extra,
  ];
  for (const d of PROBER_DIMENSIONS) {
    const v = prober[d];
    if (v !== undefined) out.push([d, v]);
  }
  return out;
}

/** Merges the connection modes of each series (CloudWatch cannot merge percentiles across dimensions later). */
function mergedHistograms(
  set: HistogramSet,
): Map<string, { key: SeriesKey; tag: string; phases: Map<Phase, Histogram> }> {
  const out = new Map<string, { key: SeriesKey; tag: string; phases: Map<Phase, Histogram> }>();
  for (const { key, phases } of set.series()) {
    if (key.tag === "idle-sweep") continue;
    const id = [key.api, key.route, key.endpoint, key.tag].join("\u0000");
    let e = out.get(id);
    if (!e) {
      e = {
        key: { api: key.api, route: key.route, endpoint: key.endpoint },
        tag: key.tag,
        phases: new Map(),
      };
      out.set(id, e);
    }
    for (const [phase, h] of phases) {
      if (h.totalCount === 0) continue;
      let m = e.phases.get(phase);
      if (!m) {
        m = newHistogram();
        e.phases.set(phase, m);
      }
      m.add(h);
    }
  }
  return out;
}

/** Builds every metric point of a round. Pure. */
export function buildMetricPoints(round: RoundMetrics, ctx: MetricContext): MetricPoint[] {
  const prober = ctx.dimensions ?? {};
  const ts = round.timestampMs;
  const points: MetricPoint[] = [];
  for (const { key, tag, phases } of mergedHistograms(round.histograms).values()) {
    const total = phases.get("total");
    if (tag === "keep-warm") {
      if (total) {
        const distribution = rebucket(total);
        points.push({
          def: METRICS.KeepWarmLatency,
          dimensions: dims(key, [], prober),
          timestampMs: ts,
          distribution,
        });
      }
      continue;
    }
    if (total) {
      const distribution = rebucket(total);
      points.push({ def: METRICS.Latency, dimensions: dims(key, [], prober), timestampMs: ts, distribution });
    }
    for (const phase of PART_PHASES) {
      const h = phases.get(phase);
      if (!h) continue;
      points.push({
        def: METRICS.PhaseLatency,
        dimensions: dims(key, [["Phase", phase]], prober),
        timestampMs: ts,
        distribution: rebucket(h),
      });
    }
  }
  for (const c of round.counts) {
    const d = dims(c, [], prober);
    const failed = FAILURE_CLASS_NAMES.reduce((s, f) => s + (c.failures[f] ?? 0), 0);
    points.push({ def: METRICS.Requests, dimensions: d, timestampMs: ts, value: c.requests });
    points.push({ def: METRICS.Stalls, dimensions: d, timestampMs: ts, value: c.stalls });
    points.push({ def: METRICS.Failures, dimensions: d, timestampMs: ts, value: failed });
    for (const f of FAILURE_CLASS_NAMES) {
      const n = c.failures[f] ?? 0;
      if (n > 0) {
        points.push({
          def: METRICS.FailuresByClass,
          dimensions: dims(c, [["FailureClass", f]], prober),
          timestampMs: ts,
          value: n,
        });
      }
    }
    if (c.requests > 0) {
      const pct = Math.min(100, Math.max(0, (100 * c.ok) / c.requests));
      points.push({
        def: METRICS.SuccessPercent,
        dimensions: d,
        timestampMs: ts,
        value: Number(pct.toFixed(4)),
      });
    }
  }
  const redact = ctx.redact;
  if (redact) for (const p of points) p.dimensions = p.dimensions.map(([n, v]) => [n, redact(v)]);
  return points;
}
