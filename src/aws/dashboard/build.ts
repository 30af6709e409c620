/**
 * The dashboard builder (pure): config + probe targets + the metric registry
 * → DashboardName and DashboardBody. Layout, top to bottom:
 *
 *   header (what this is, the stall rule, where it came from)
 *   overview: stalls per period, stall rate % (metric math), success %, requests
 *   one row per api × route × endpoint: latency p50/p90/p99/max, phases p99,
 *     stalls and failures, and keep-warm beside probes when keep-warm pings it
 *   Logs Insights: recent stalls and failures from the daemon's JSON lines
 *   AWS: API Gateway Latency vs IntegrationLatency, NLB healthy hosts per AZ
 *
 * The layout lives here in TypeScript; dashboards/stallwatch.example.json is
 * this builder's output for config.example.json, drift-tested.
 */

import type { Config } from "../../config/schema.js";
import { StallwatchError } from "../../errors.js";
import { PART_PHASES } from "../../model.js";
import { type StallRuleWords, stallRuleText } from "../../stall-rule-text.js";
import { arnSuffix } from "../elbv2/metric-queries.js";
import {
  chunks,
  type DashboardBody,
  Grid,
  MAX_METRICS_PER_WIDGET,
  MAX_WIDGETS,
  type MetricWidgetProperties,
} from "./body.js";
import { awsRow, dashboardMetricProblems, exprRow, type MetricScope, swRow } from "./rows.js";
import { type DashboardSeries, type SeriesTarget, seriesOf } from "./series.js";

/** Default CloudWatch Logs group the prober's JSON lines go to (deploy/stallwatch.cfn.yaml creates it). */
export const DEFAULT_LOG_GROUP = "/stallwatch";

export interface DashboardBuildInput {
  config: Pick<Config, "apis" | "cloudwatch" | "alarms" | "keepWarm" | "aws"> & {
    /** For the stall rule's words in the header; default: the schema's defaults. */
    probe?: StallRuleWords;
  };
  /** The probe targets (LoadedConfig.targets): one series per distinct api × route × endpoint. */
  targets: readonly SeriesTarget[];
  /** Region of the widgets (where the metrics are published). */
  region: string;
  /** Logs Insights source; default {@link DEFAULT_LOG_GROUP}. */
  logGroupName?: string;
  /** Default: the namespace with characters a dashboard name cannot hold replaced by '-'. */
  dashboardName?: string;
}

export interface BuiltDashboard {
  name: string;
  body: DashboardBody;
}

/** A dashboard name from the namespace: [A-Za-z0-9_-], 1–255 characters. */
export function dashboardNameFor(namespace: string): string {
  return namespace.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 255) || "stallwatch";
}

const label = (s: DashboardSeries): string => `${s.api} · ${s.route} · ${s.endpoint}`;

function metricWidget(
  p: Omit<MetricWidgetProperties, "view" | "stacked"> &
    Partial<Pick<MetricWidgetProperties, "view" | "stacked">>,
): MetricWidgetProperties {
  return { view: "timeSeries", stacked: false, ...p };
}

function overview(
  grid: Grid,
  series: DashboardSeries[],
  scope: MetricScope,
  region: string,
  input: DashboardBuildInput,
): void {
  const period = input.config.alarms.periodS;
  const a = input.config.alarms;
  grid.heading("## Overview — all series");
  // Stall rate needs 3 lines per series (stalls, requests, expression).
  const rateGroups = chunks(series, Math.floor(MAX_METRICS_PER_WIDGET / 3));
  const part = (i: number, n: number): string => (n > 1 ? ` (${i + 1}/${n})` : "");
  rateGroups.forEach((group, gi) => {
    grid.add({
      type: "metric",
      width: 12,
      height: 6,
      properties: metricWidget({
        title: `Stalls per period${part(gi, rateGroups.length)}`,
        region,
        period,
        stat: "Sum",
        metrics: group.map((s) => swRow("Stalls", s, scope, { stat: "Sum", label: label(s) })),
        annotations: { horizontal: [{ label: "stall alarm", value: a.stallsPerPeriod, color: "#d62728" }] },
        yAxis: { left: { min: 0, showUnits: false } },
      }),
    });
    grid.add({
      type: "metric",
      width: 12,
      height: 6,
      properties: metricWidget({
        title: `Stall rate %${part(gi, rateGroups.length)}`,
        region,
        period,
        stat: "Sum",
        metrics: group.flatMap((s, i) => [
          swRow("Stalls", s, scope, { stat: "Sum", id: `st${i}`, visible: false }),
          swRow("Requests", s, scope, { stat: "Sum", id: `rq${i}`, visible: false }),
          exprRow(`rate${i}`, `100 * st${i} / rq${i}`, { label: label(s) }),
        ]),
        yAxis: { left: { min: 0, label: "%", showUnits: false } },
      }),
    });
  });
  const wideGroups = chunks(series, MAX_METRICS_PER_WIDGET);
  wideGroups.forEach((group, gi) => {
    grid.add({
      type: "metric",
      width: 12,
      height: 6,
      properties: metricWidget({
        title: `Success %${part(gi, wideGroups.length)}`,
        region,
        period,
        stat: "Average",
        metrics: group.map((s) => swRow("SuccessPercent", s, scope, { stat: "Average", label: label(s) })),
        annotations: { horizontal: [{ label: "success floor", value: a.successPctFloor, color: "#d62728" }] },
        yAxis: { left: { min: 0, max: 100, showUnits: false } },
      }),
    });
    grid.add({
      type: "metric",
      width: 12,
      height: 6,
      properties: metricWidget({
        title: `Probe requests per period${part(gi, wideGroups.length)}`,
        region,
        period,
        stat: "Sum",
        metrics: group.map((s) => swRow("Requests", s, scope, { stat: "Sum", label: label(s) })),
        yAxis: { left: { min: 0, showUnits: false } },
      }),
    });
  });
}

function seriesRow(
  grid: Grid,
  s: DashboardSeries,
  scope: MetricScope,
  region: string,
  input: DashboardBuildInput,
): void {
  const period = input.config.alarms.periodS;
  const width = s.keepWarm ? 6 : 8;
  const ms = { left: { min: 0, label: "ms", showUnits: false } };
  grid.newRow();
  grid.add({
    type: "metric",
    width,
    height: 6,
    properties: metricWidget({
      title: `Latency ${label(s)}`,
      region,
      period,
      stat: "p99",
      metrics: (["p50", "p90", "p99", "Maximum"] as const).map((stat) =>
        swRow("Latency", s, scope, { stat, label: stat === "Maximum" ? "max" : stat }),
      ),
      annotations: {
        horizontal: [{ label: "p99 alarm", value: input.config.alarms.p99Ms, color: "#d62728" }],
      },
      yAxis: ms,
    }),
  });
  grid.add({
    type: "metric",
    width,
    height: 6,
    properties: metricWidget({
      title: `Phases p99 ${label(s)}`,
      region,
      period,
      stat: "p99",
      metrics: PART_PHASES.map((phase) =>
        swRow("PhaseLatency", s, scope, { stat: "p99", label: phase }, { Phase: phase }),
      ),
      yAxis: ms,
    }),
  });
  grid.add({
    type: "metric",
    width,
    height: 6,
    properties: metricWidget({
      title: `Stalls and failures ${label(s)}`,
      region,
      period,
      stat: "Sum",
      metrics: [
        swRow("Stalls", s, scope, { stat: "Sum", label: "stalls" }),
        swRow("Failures", s, scope, { stat: "Sum", label: "failures" }),
      ],
      yAxis: { left: { min: 0, showUnits: false } },
    }),
  });
  if (s.keepWarm) {
    grid.add({
      type: "metric",
      width,
      height: 6,
      properties: metricWidget({
        title: `Keep-warm beside probes ${label(s)}`,
        region,
        period,
        stat: "p99",
        metrics: [
          swRow("Latency", s, scope, { stat: "p50", label: "probe p50" }),
          swRow("Latency", s, scope, { stat: "p99", label: "probe p99" }),
          swRow("KeepWarmLatency", s, scope, { stat: "p50", label: "keep-warm p50" }),
          swRow("KeepWarmLatency", s, scope, { stat: "p99", label: "keep-warm p99" }),
        ],
        yAxis: ms,
      }),
    });
  }
}

/** Logs Insights: the daemon's `event: "stall"` / `event: "failure"` JSON lines (src/schedule/round.ts). */
function logs(grid: Grid, region: string, logGroup: string): void {
  grid.heading(`## Recent stalls and failures — Logs Insights on \`${logGroup}\``);
  const source = `SOURCE '${logGroup.replace(/'/g, "")}'`;
  grid.add({
    type: "log",
    width: 24,
    height: 6,
    properties: {
      title: "Recent stalls",
      region,
      view: "table",
      query: `${source} | fields @timestamp, api, route, endpoint, totalMs, phase, remoteAddress, requestId | filter event = "stall" | sort @timestamp desc | limit 50`,
    },
  });
  grid.add({
    type: "log",
    width: 24,
    height: 6,
    properties: {
      title: "Recent failures",
      region,
      view: "table",
      query: `${source} | fields @timestamp, api, route, endpoint, code, phase, status, remoteAddress, message | filter event = "failure" | sort @timestamp desc | limit 50`,
    },
  });
}

function awsSection(grid: Grid, input: DashboardBuildInput): void {
  const apis = input.config.apis;
  const gateways = apis.filter((a) => a.apiGateway !== undefined);
  const groups = apis.flatMap((a) => (a.targetGroups ?? []).map((tg) => ({ api: a.name, ...tg })));
  if (gateways.length === 0 && groups.length === 0) return;
  grid.heading("## AWS side — API Gateway and NLB");
  for (const a of gateways) {
    const gw = a.apiGateway!;
    const dims = { ApiName: gw.apiName, Stage: gw.stage };
    grid.add({
      type: "metric",
      width: 12,
      height: 6,
      properties: metricWidget({
        title: `API Gateway ${gw.apiName}/${gw.stage}: Latency vs IntegrationLatency`,
        region: gw.region ?? input.region,
        period: 60,
        stat: "p99",
        metrics: [
          awsRow("ApiGatewayLatency", dims, { stat: "p99", label: "Latency p99" }),
          awsRow("ApiGatewayIntegrationLatency", dims, { stat: "p99", label: "IntegrationLatency p99" }),
          awsRow("ApiGatewayLatency", dims, { stat: "p50", label: "Latency p50" }),
          awsRow("ApiGatewayIntegrationLatency", dims, { stat: "p50", label: "IntegrationLatency p50" }),
          awsRow("ApiGatewayLatency", dims, { stat: "Maximum", label: "Latency max" }),
        ],
        yAxis: { left: { min: 0, label: "ms", showUnits: false } },
      }),
    });
  }
  groups.forEach((tg, i) => {
    const group = arnSuffix(tg.arn);
    const lb = tg.loadBalancerArn !== undefined ? arnSuffix(tg.loadBalancerArn) : undefined;
    const region = tg.arn.split(":")[3] || input.region;
    if (group === undefined || lb === undefined) {
      grid.add({
        type: "text",
        width: 12,
        height: 6,
        properties: {
          markdown: `### NLB hosts: ${group ?? tg.arn}\n\nNo \`loadBalancerArn\` in the config for this target group: AWS/NetworkELB host counts need the LoadBalancer dimension. Add it under \`apis[].targetGroups[]\` in the config.`,
        },
      });
      return;
    }
    const search = (metric: string, stat: string): string =>
      `SEARCH('{AWS/NetworkELB,AvailabilityZone,LoadBalancer,TargetGroup} MetricName="${metric}" LoadBalancer="${lb}" TargetGroup="${group}"', '${stat}', 60)`;
    grid.add({
      type: "metric",
      width: 12,
      height: 6,
      properties: metricWidget({
        title: `NLB hosts per AZ: ${group.split("/")[1] ?? group} (${tg.api})`,
        region,
        period: 60,
        stat: "Minimum",
        metrics: [
          exprRow(`healthy${i}`, search("HealthyHostCount", "Minimum"), { label: "healthy" }),
          exprRow(`unhealthy${i}`, search("UnHealthyHostCount", "Maximum"), {
            label: "unhealthy",
            color: "#d62728",
          }),
        ],
        yAxis: { left: { min: 0, showUnits: false } },
      }),
    });
  });
}

function header(input: DashboardBuildInput, series: DashboardSeries[]): string {
  const cw = input.config.cloudwatch;
  const a = input.config.alarms;
  return [
    `# stallwatch — ${cw.namespace}`,
    `Probe latency from HdrHistograms (percentiles ≤1% off), per api · route · endpoint (${series.length} series). ` +
      `Graphs use ${a.periodS} s periods, the alarms' period. A stall is a request ${stallRuleText(input.config.probe)}. ` +
      "Generated by `stallwatch dashboard deploy`: " +
      "edits made in the console are overwritten on the next deploy.",
  ].join("\n\n");
}

/** Builds the dashboard. Throws StallwatchError SW_DASHBOARD when the result would break a CloudWatch limit. */
export function buildDashboard(input: DashboardBuildInput): BuiltDashboard {
  const cw = input.config.cloudwatch;
  const scope: MetricScope = { namespace: cw.namespace, prober: cw.dimensions ?? {} };
  const series = seriesOf(input.config, input.targets);
  const region = input.region;
  const grid = new Grid();
  grid.heading(header(input, series), 3);
  overview(grid, series, scope, region, input);
  grid.heading("## Per api · route · endpoint — latency, phases, stalls");
  for (const s of series) seriesRow(grid, s, scope, region, input);
  logs(grid, region, input.logGroupName ?? DEFAULT_LOG_GROUP);
  awsSection(grid, input);
  const body: DashboardBody = { start: "-PT6H", periodOverride: "inherit", widgets: grid.widgets };
  if (body.widgets.length > MAX_WIDGETS) {
    throw new StallwatchError(
      "SW_DASHBOARD",
      `the dashboard would have ${body.widgets.length} widgets, more than CloudWatch's ${MAX_WIDGETS}: ${series.length} series are too many for one dashboard; split the config`,
      2,
    );
  }
  const problems = dashboardMetricProblems(body, scope);
  if (problems.length > 0) {
    throw new StallwatchError(
      "SW_DASHBOARD",
      `the dashboard names unknown metrics:\n  ${problems.join("\n  ")}`,
    );
  }
  return { name: input.dashboardName ?? dashboardNameFor(cw.namespace), body };
}
