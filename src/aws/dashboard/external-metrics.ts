/**
 * The AWS-owned metrics stallwatch's dashboard shows beside its own: API
 * Gateway's Latency / IntegrationLatency and the NLB's host counts. Declared
 * once, like the registry in src/aws/metrics/registry.ts for stallwatch's own
 * metrics, so a test can check that every metric a dashboard names is one of
 * these or a registry metric.
 */

/** One AWS metric the dashboard may name. */
export interface ExternalMetricDef {
  namespace: "AWS/ApiGateway" | "AWS/NetworkELB";
  name: string;
  /** Dimension names the dashboard uses with it, in order. */
  dimensions: readonly string[];
  /** Milliseconds for latencies, Count for host counts. */
  unit: "Milliseconds" | "Count";
}

export const EXTERNAL_METRICS = {
  ApiGatewayLatency: {
    namespace: "AWS/ApiGateway",
    name: "Latency",
    dimensions: ["ApiName", "Stage"],
    unit: "Milliseconds",
  },
  ApiGatewayIntegrationLatency: {
    namespace: "AWS/ApiGateway",
    name: "IntegrationLatency",
    dimensions: ["ApiName", "Stage"],
    unit: "Milliseconds",
  },
  NlbHealthyHostCount: {
    namespace: "AWS/NetworkELB",
    name: "HealthyHostCount",
    dimensions: ["AvailabilityZone", "LoadBalancer", "TargetGroup"],
    unit: "Count",
  },
  NlbUnHealthyHostCount: {
    namespace: "AWS/NetworkELB",
    name: "UnHealthyHostCount",
    dimensions: ["AvailabilityZone", "LoadBalancer", "TargetGroup"],
    unit: "Count",
  },
} as const satisfies Record<string, ExternalMetricDef>;

/** True when `namespace`/`name` is one of {@link EXTERNAL_METRICS}. */
export function isExternalMetric(namespace: string, name: string): boolean {
  return Object.values(EXTERNAL_METRICS).some((m) => m.namespace === namespace && m.name === name);
}
