/**
 * Metric lines of the dashboard, always built from a registry entry (or an
 * {@link EXTERNAL_METRICS} entry), and the check that proves it: every metric
 * a dashboard body names exists, with the dimensions it is published with.
 */
import {
  dimensionsOf,
  METRICS,
  type MetricDef,
  type MetricKey,
  metricByName,
  type ProberDimension,
} from "../metrics/registry.js";
import type { DashboardBody, ExpressionRow, MetricRenderOptions, MetricRow } from "./body.js";
import { EXTERNAL_METRICS, isExternalMetric } from "./external-metrics.js";
import type { DashboardSeries } from "./series.js";

/** Where stallwatch's metrics live: namespace and the prober dimensions they carry. */
export interface MetricScope {
  namespace: string;
  prober: Partial<Record<ProberDimension, string>>;
}

/** The dimension pairs of a series metric, in the order the publisher writes them. */
export function seriesDimensions(
  def: MetricDef,
  s: DashboardSeries,
  scope: MetricScope,
  extra: Record<string, string> = {},
): [string, string][] {
  const values: Record<string, string | undefined> = {
    Api: s.api,
    Route: s.route,
    Endpoint: s.endpoint,
    ...scope.prober,
    ...extra,
  };
  return dimensionsOf(def, scope.prober).map((name) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for dimension ${name} of ${def.name}`);
    return [name, v];
  });
}

/** A graph line for one of stallwatch's metrics. */
export function swRow(
  key: MetricKey,
  s: DashboardSeries,
  scope: MetricScope,
  opts: MetricRenderOptions,
  extra: Record<string, string> = {},
): MetricRow {
  const def: MetricDef = METRICS[key];
  if (opts.stat !== undefined && !def.stats.includes(opts.stat)) {
    throw new Error(`statistic ${opts.stat} is not listed for ${def.name} in the registry`);
  }
  return [scope.namespace, def.name, ...seriesDimensions(def, s, scope, extra).flat(), opts];
}

/** A graph line for an AWS metric. */
export function awsRow(
  key: keyof typeof EXTERNAL_METRICS,
  dims: Record<string, string>,
  opts: MetricRenderOptions,
): MetricRow {
  const def = EXTERNAL_METRICS[key];
  const pairs = def.dimensions.filter((d) => dims[d] !== undefined).flatMap((d) => [d, dims[d] as string]);
  return [def.namespace, def.name, ...pairs, opts];
}

/** A metric-math line. */
export function exprRow(
  id: string,
  expression: string,
  opts: Omit<MetricRenderOptions, "id"> = {},
): ExpressionRow {
  return [{ expression, id, ...opts }];
}

/** One metric reference found in a dashboard body. */
export interface NamedMetric {
  widget: number;
  namespace: string;
  name: string;
  /** Dimension names given (for SEARCH: the schema's names). */
  dimensions: string[];
}

const SEARCH_RE = /SEARCH\(\s*'\{([^}]*)\}([^']*)'/g;

/** Every metric the body names: metric lines and SEARCH expressions. */
export function metricsNamed(body: DashboardBody): NamedMetric[] {
  const out: NamedMetric[] = [];
  body.widgets.forEach((w, i) => {
    if (w.type !== "metric") return;
    for (const row of w.properties.metrics) {
      const first = row[0];
      if (typeof first === "object") {
        for (const m of first.expression.matchAll(SEARCH_RE)) {
          const [ns = "", ...dims] = (m[1] ?? "").split(",").map((x) => x.trim());
          const name = /MetricName="([^"]+)"/.exec(m[2] ?? "")?.[1] ?? "";
          out.push({ widget: i, namespace: ns, name, dimensions: dims });
        }
        continue;
      }
      const [ns, name, ...rest] = row as MetricRow;
      const dims = rest.filter((x): x is string => typeof x === "string").filter((_, k) => k % 2 === 0);
      out.push({ widget: i, namespace: ns, name, dimensions: dims });
    }
  });
  return out;
}

/**
 * Problems with the metrics a body names: a metric in `scope.namespace` that
 * is not in the registry or has other dimensions than it is published with,
 * or a metric elsewhere that is not in {@link EXTERNAL_METRICS}. Empty = good.
 */
export function dashboardMetricProblems(body: DashboardBody, scope: MetricScope): string[] {
  const problems: string[] = [];
  for (const m of metricsNamed(body)) {
    const where = `widget ${m.widget}: ${m.namespace} ${m.name}`;
    if (m.namespace === scope.namespace) {
      const def = metricByName(m.name);
      if (!def) {
        problems.push(`${where} is not in the metric registry`);
        continue;
      }
      const want = dimensionsOf(def, scope.prober);
      if ([...m.dimensions].sort().join(",") !== [...want].sort().join(",")) {
        problems.push(`${where} has dimensions [${m.dimensions}] but is published with [${want}]`);
      }
    } else if (!isExternalMetric(m.namespace, m.name)) {
      problems.push(`${where} is neither a stallwatch metric nor a known AWS metric`);
    }
  }
  return problems;
}
