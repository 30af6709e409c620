/**
 * GetMetricData evidence around stalls (AWS/ApiGateway, AWS/NetworkELB) as
 * short lines for the report's notes: only what stands out (an AZ that lost
 * its healthy targets, unhealthy hosts, 5XX errors, resets) plus API
 * Gateway's own latency next to the client's.
 */
import type { EvidenceSeries } from "../aws/elbv2/metric-queries.js";
import { fmtDuration } from "../duration.js";
import type { TargetHealthEvidence } from "../model.js";

function where(s: EvidenceSeries): string {
  const d = s.dimensions;
  if (d.AvailabilityZone) return ` in ${d.AvailabilityZone}`;
  if (d.ApiName) return ` for ${d.ApiName}/${d.Stage ?? "?"}`;
  if (d.LoadBalancer) return ` on ${d.LoadBalancer}`;
  return "";
}

/** At most `max` lines; a line saying nothing stood out when nothing did. */
export function summariseEvidenceSeries(series: readonly EvidenceSeries[], max = 8): string[] {
  const withData = series.filter((s) => s.values.length > 0);
  if (series.length === 0) return [];
  if (withData.length === 0)
    return [`CloudWatch: no datapoints in ${series.length} series around the stalls`];
  const lines: string[] = [];
  for (const s of withData) {
    const lo = Math.min(...s.values);
    const hi = Math.max(...s.values);
    const n = s.values.length;
    const head = `CloudWatch ${s.namespace} ${s.metricName}`;
    switch (s.metricName) {
      case "HealthyHostCount":
        if (lo === 0 || lo < hi)
          lines.push(
            `${head} (${s.stat} per minute)${where(s)}: ${lo} in ${s.values.filter((v) => v === lo).length} of ${n} minutes${hi > lo ? `, up to ${hi} otherwise` : ""}`,
          );
        break;
      case "UnHealthyHostCount":
        if (hi > 0)
          lines.push(
            `${head}${where(s)}: up to ${hi}, ${s.values.filter((v) => v > 0).length} of ${n} minutes above 0`,
          );
        break;
      case "Latency":
      case "IntegrationLatency":
        if (s.stat === "p99") lines.push(`${head} p99${where(s)}: up to ${fmtDuration(hi)} (${n} minutes)`);
        break;
      default: {
        const sum = s.values.reduce((a, b) => a + b, 0);
        if (s.metricName !== "Count" && sum > 0) lines.push(`${head}${where(s)}: ${sum} in ${n} minutes`);
      }
    }
  }
  if (lines.length === 0) return [`CloudWatch: ${withData.length} series around the stalls, nothing unusual`];
  return lines.slice(0, max);
}

/**
 * What DescribeTargetHealth showed during [fromMs, toMs]: each target seen
 * degraded (state, reason, how often), each AZ left without a healthy target.
 */
export function summariseTargetHealth(
  ev: TargetHealthEvidence,
  fromMs: number,
  toMs: number,
  max = 4,
): string[] {
  const h = ev.history;
  if (h.snapshots === 0) return [];
  const inRange = (w: { fromMs: number; toMs?: number }) => w.fromMs <= toMs && (w.toMs ?? toMs) >= fromMs;
  const byTarget = new Map<string, { n: number; states: Set<string>; reasons: Set<string>; az?: string }>();
  for (const w of h.degraded.filter(inRange)) {
    const e = byTarget.get(w.targetId) ?? { n: 0, states: new Set(), reasons: new Set() };
    e.n++;
    e.states.add(w.state);
    if (w.reason) e.reasons.add(w.reason);
    if (w.az) e.az = w.az;
    byTarget.set(w.targetId, e);
  }
  const crossZoneOff = new Set(
    ev.topologies.filter((t) => t.crossZone === false).map((t) => t.targetGroupArn),
  );
  const zones = new Map<string, number>();
  for (const z of h.zones.filter(inRange)) zones.set(z.az, (zones.get(z.az) ?? 0) + 1);
  const lines: string[] = [];
  for (const [id, e] of byTarget) {
    lines.push(
      `NLB target ${id}${e.az ? ` (${e.az})` : ""} was ${[...e.states].join("/")} ${e.n === 1 ? "once" : `${e.n} times`}` +
        `${e.reasons.size ? ` (${[...e.reasons].join(", ")})` : ""} during the run`,
    );
  }
  for (const [az, n] of zones) {
    lines.push(
      `NLB AZ ${az} had no healthy target ${n === 1 ? "once" : `${n} times`}${crossZoneOff.size ? " (cross-zone load balancing off)" : ""}`,
    );
  }
  if (lines.length === 0)
    return [`NLB targets: all healthy in ${h.snapshots} DescribeTargetHealth snapshots`];
  return lines.slice(0, max);
}
