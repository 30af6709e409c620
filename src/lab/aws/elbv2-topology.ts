/**
 * The lab's NLB as ELBv2 sees it: seeds an {@link Elbv2State} with the lab's
 * load balancer, target group and targets, follows the lab's health
 * transitions, and derives the AWS/NetworkELB health datums from the state.
 */
import type { Elbv2State } from "./elbv2-state.js";

/** The lab's targets as src/lab/health.ts models them (structural subset). */
export interface LabTargetInput {
  id: string;
  address: string;
  port: number;
  availabilityZone: string;
  health: { state: string; reason?: string; description?: string };
}

export interface LabTopologyOptions {
  /** Default 123456789012. */
  accountId?: string;
  /** Default us-west-2. */
  region?: string;
  /** The NLB's address per AZ (the lab's NLB listens on one loopback address: used for every AZ unless given). */
  nodeAddressByAz?: Record<string, string>;
  crossZone?: boolean;
  /** Health-check interval the lab's model uses, s (ELBv2 allows 5–300). Default 5. */
  healthCheckIntervalS?: number;
}

/** ARNs of the lab's NLB and target group. */
export interface LabArns {
  loadBalancerArn: string;
  targetGroupArn: string;
}

/**
 * Registers the lab's NLB, target group and targets (target ids are their
 * addresses, as for `ip` target groups). Health follows with
 * {@link applyLabHealth}.
 */
export function seedLabTopology(
  state: Elbv2State,
  targets: readonly LabTargetInput[],
  opts: LabTopologyOptions = {},
): LabArns {
  const acct = opts.accountId ?? "123456789012";
  const region = opts.region ?? "us-west-2";
  const loadBalancerArn = `arn:aws:elasticloadbalancing:${region}:${acct}:loadbalancer/net/lab-nlb/0123456789abcdef`;
  const targetGroupArn = `arn:aws:elasticloadbalancing:${region}:${acct}:targetgroup/lab-targets/fedcba9876543210`;
  const zones = [...new Set(targets.map((t) => t.availabilityZone))].sort();
  state.setLoadBalancer({
    arn: loadBalancerArn,
    name: "lab-nlb",
    dnsName: `lab-nlb-0123456789abcdef.elb.${region}.amazonaws.com`,
    zones: zones.map((z, i) => {
      const addr = opts.nodeAddressByAz?.[z];
      return {
        zoneName: z,
        subnetId: `subnet-lab000${i}`,
        addresses: addr ? [{ privateIPv4Address: addr }] : [],
      };
    }),
    attributes: { "load_balancing.cross_zone.enabled": String(opts.crossZone ?? false) },
  });
  state.setTargetGroup({
    arn: targetGroupArn,
    name: "lab-targets",
    protocol: "TCP",
    port: targets[0]?.port ?? 80,
    targetType: "ip",
    loadBalancerArns: [loadBalancerArn],
    healthCheck: {
      protocol: "TCP",
      port: "traffic-port",
      intervalS: opts.healthCheckIntervalS ?? 5,
      timeoutS: 5,
      healthyThreshold: 2,
      unhealthyThreshold: 2,
    },
  });
  state.setTargets(
    targetGroupArn,
    targets.map((t) => ({ id: t.address, port: t.port, az: t.availabilityZone, ...t.health })),
  );
  return { loadBalancerArn, targetGroupArn };
}

/** Applies one lab health transition (`events.on("target-health", …)`); `address` is the target's address. */
export function applyLabHealth(
  state: Elbv2State,
  targetGroupArn: string,
  address: string,
  health: { state: string; reason?: string; description?: string },
): boolean {
  return state.setTargetHealth(targetGroupArn, address, health);
}

/** One AWS/NetworkELB datum, in the shape of the lab CloudWatch store's `StoredDatum`. */
export interface NlbMetricDatum {
  namespace: "AWS/NetworkELB";
  metricName: "HealthyHostCount" | "UnHealthyHostCount";
  dimensions: Array<{ Name: string; Value: string }>;
  timestampMs: number;
  unit: "Count";
  values: number[];
  counts: number[];
  storageResolution: 60;
}

/**
 * HealthyHostCount / UnHealthyHostCount per AZ for a target group at `atMs`,
 * as the NLB would publish them (dimensions LoadBalancer + TargetGroup +
 * AvailabilityZone, ARN-suffix values, sorted by name). The lab pushes these
 * into its CloudWatch store (`metrics.datums`) once a minute.
 */
export function nlbHealthDatums(state: Elbv2State, targetGroupArn: string, atMs: number): NlbMetricDatum[] {
  const tg = state.targetGroup(targetGroupArn);
  const lbArn = tg?.loadBalancerArns[0];
  const lb = lbArn === undefined ? undefined : state.loadBalancer(lbArn);
  const suffix = (arn: string, re: RegExp) => re.exec(arn)?.[1];
  const lbDim = lb ? suffix(lb.arn, /:loadbalancer\/(net\/[^/]+\/[0-9a-f]+)$/) : undefined;
  const tgDim = suffix(targetGroupArn, /:(targetgroup\/[^/]+\/[0-9a-f]+)$/);
  if (!lb || lbDim === undefined || tgDim === undefined) return [];
  const targets = state.targetsOf(targetGroupArn) ?? [];
  const out: NlbMetricDatum[] = [];
  for (const z of lb.zones) {
    const inZone = targets.filter((t) => t.az === z.zoneName && t.state !== "unused");
    const healthy = inZone.filter((t) => t.state === "healthy").length;
    const dimensions = [
      { Name: "AvailabilityZone", Value: z.zoneName },
      { Name: "LoadBalancer", Value: lbDim },
      { Name: "TargetGroup", Value: tgDim },
    ];
    const datum = (metricName: NlbMetricDatum["metricName"], v: number): NlbMetricDatum => ({
      namespace: "AWS/NetworkELB",
      metricName,
      dimensions,
      timestampMs: atMs,
      unit: "Count",
      values: [v],
      counts: [1],
      storageResolution: 60,
    });
    out.push(datum("HealthyHostCount", healthy), datum("UnHealthyHostCount", inZone.length - healthy));
  }
  return out;
}
