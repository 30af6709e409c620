/**
 * CloudWatch metrics as an evidence source: after the run, GetMetricData on
 * AWS/ApiGateway (the config's apis[].apiGateway) and AWS/NetworkELB (target
 * groups with their load balancer, per AZ once the topology is known) in
 * windows around the stalls and the failed requests (a 429 or a reset proxy
 * connection is fast, never a stall, and CloudWatch counts it too). Shown in
 * the notes; throttling reads 4XXError, keepalive-mismatch the NLB's reset counters.
 */

import type { TargetGroupRef } from "../../aws/elbv2/describe.js";
import {
  buildEvidenceQueries,
  buildGetMetricDataInputs,
  type EvidenceMetricTargets,
  type EvidenceSeries,
  evidenceWindows,
  getEvidenceMetrics,
} from "../../aws/elbv2/metric-queries.js";
import type { LogFn } from "../../aws/metrics/spool.js";
import type { Config } from "../../config/schema.js";
import { summariseEvidenceSeries } from "../aws-evidence.js";
import { type EvidenceSource, type EvidenceStep, failureText, noEvidence } from "./source.js";

type CloudWatchLike = Parameters<typeof getEvidenceMetrics>[0];

export function cloudWatchEvidenceSource(
  client: () => Promise<CloudWatchLike>,
  config: Pick<Config, "apis">,
  groups: readonly TargetGroupRef[],
  opts: {
    log: LogFn;
    /** The AZs of a target group, once known (from the target-health source). */
    zonesOf?: (targetGroupArn: string) => string[] | undefined;
  },
): EvidenceSource {
  const log = opts.log;
  return {
    name: "cloudwatch-metrics",
    async after(run): Promise<EvidenceStep> {
      const out = noEvidence();
      const failedAt = run.records
        .filter((r) => !r.ok && r.tag !== "keep-warm" && r.aborted !== true)
        .map((r) => r.atMs);
      if (run.stalls.length === 0 && failedAt.length === 0) return out;
      const targets: EvidenceMetricTargets = {
        apiGateway: config.apis.flatMap((a) => (a.apiGateway ? [a.apiGateway] : [])),
        targetGroups: groups.flatMap((g) =>
          g.loadBalancerArn === undefined
            ? []
            : [
                {
                  targetGroupArn: g.arn,
                  loadBalancerArn: g.loadBalancerArn,
                  zones: opts.zonesOf?.(g.arn) ?? [],
                },
              ],
        ),
      };
      const queries = buildEvidenceQueries(targets);
      if (queries.length === 0) return out;
      try {
        const cw = await client();
        const series: EvidenceSeries[] = [];
        for (const w of evidenceWindows([...run.stalls.map((s) => s.record.atMs), ...failedAt])) {
          const res = await getEvidenceMetrics(cw, queries, buildGetMetricDataInputs(queries, w));
          series.push(...res.series);
          out.failures.push(...res.failures);
          for (const f of res.failures.slice(0, 2)) {
            out.notes.push(`CloudWatch: ${failureText(f)}`);
            log("warn", "CloudWatch evidence: AWS call failed", { ...f });
          }
        }
        out.evidence = { cloudwatchMetrics: { series } };
        out.notes.push(...summariseEvidenceSeries(series));
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        out.notes.push(`CloudWatch: ${msg}`);
        log("error", "CloudWatch evidence failed", { error: msg });
      }
      return out;
    },
  };
}
