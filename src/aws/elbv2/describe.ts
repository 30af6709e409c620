/**
 * Thin ELBv2 senders: DescribeTargetHealth each round, and the topology of a
 * target group (DescribeTargetGroups → DescribeLoadBalancers,
 * DescribeLoadBalancerAttributes, DescribeTargetGroupAttributes). The mapping
 * from SDK outputs to stallwatch's plain types is pure and exported.
 *
 * Never throws on an AWS error; the SDK module is imported lazily.
 */
import type {
  DescribeLoadBalancersCommandOutput,
  DescribeTargetGroupsCommandOutput,
  DescribeTargetHealthCommandOutput,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { type Clock, systemClock } from "../../clock.js";
import type { NlbZone, TargetGroupTopology, TargetHealthEntry, TargetHealthSnapshot } from "../../model.js";
import { type AwsFailure, classifyAwsError, withDeadline } from "../errors.js";

/** The client surface used (an ElasticLoadBalancingV2Client, or anything with its `send`). */
export type Elbv2ClientLike = Pick<ElasticLoadBalancingV2Client, "send">;

/** A configured target group (config `apis[].targetGroups[]`). */
export interface TargetGroupRef {
  arn: string;
  loadBalancerArn?: string | undefined;
}

export type Described<T> = { ok: true; value: T } | { ok: false; failure: AwsFailure };

export interface DescribeOptions {
  clock?: Clock;
  /** Deadline per call, ms. Default 10000. */
  callTimeoutMs?: number;
}

/** The cross-zone attribute key, on load balancers and target groups. */
export const CROSS_ZONE_KEY = "load_balancing.cross_zone.enabled";

/** DescribeTargetHealth output → snapshot. */
export function snapshotFromOutput(
  targetGroupArn: string,
  atMs: number,
  out: Pick<DescribeTargetHealthCommandOutput, "TargetHealthDescriptions">,
): TargetHealthSnapshot {
  const targets: TargetHealthEntry[] = [];
  for (const d of out.TargetHealthDescriptions ?? []) {
    const id = d.Target?.Id;
    if (id === undefined) continue;
    const e: TargetHealthEntry = { id, state: d.TargetHealth?.State ?? "unavailable" };
    if (d.Target?.Port !== undefined) e.port = d.Target.Port;
    if (d.Target?.AvailabilityZone !== undefined) e.az = d.Target.AvailabilityZone;
    if (d.TargetHealth?.Reason !== undefined) e.reason = d.TargetHealth.Reason;
    if (d.TargetHealth?.Description !== undefined) e.description = d.TargetHealth.Description;
    targets.push(e);
  }
  return { targetGroupArn, atMs, targets };
}

/** Effective cross-zone setting: the target group's attribute unless it defers, then the NLB's, else off. */
export function resolveCrossZone(
  tgValue: string | undefined,
  lbValue: string | undefined,
): Pick<TargetGroupTopology, "crossZone" | "crossZoneSource"> {
  if (tgValue === "true" || tgValue === "false")
    return { crossZone: tgValue === "true", crossZoneSource: "target-group" };
  if (lbValue === "true" || lbValue === "false")
    return { crossZone: lbValue === "true", crossZoneSource: "load-balancer" };
  return { crossZone: false, crossZoneSource: "default" };
}

type TgOut = NonNullable<DescribeTargetGroupsCommandOutput["TargetGroups"]>[number];
type LbOut = NonNullable<DescribeLoadBalancersCommandOutput["LoadBalancers"]>[number];

/** DescribeTargetGroups / DescribeLoadBalancers / attribute outputs → topology. */
export function topologyFromOutputs(
  targetGroupArn: string,
  fetchedAtMs: number,
  tg: TgOut | undefined,
  lb: LbOut | undefined,
  tgAttrs: ReadonlyArray<{ Key?: string | undefined; Value?: string | undefined }>,
  lbAttrs: ReadonlyArray<{ Key?: string | undefined; Value?: string | undefined }>,
): TargetGroupTopology {
  const zones: NlbZone[] = (lb?.AvailabilityZones ?? []).map((z) => {
    const nodeAddresses: string[] = [];
    for (const a of z.LoadBalancerAddresses ?? []) {
      for (const ip of [a.IpAddress, a.PrivateIPv4Address, a.IPv6Address]) if (ip) nodeAddresses.push(ip);
    }
    return { zoneName: z.ZoneName ?? "?", ...(z.SubnetId ? { subnetId: z.SubnetId } : {}), nodeAddresses };
  });
  const attr = (list: typeof tgAttrs) => list.find((a) => a.Key === CROSS_ZONE_KEY)?.Value;
  const t: TargetGroupTopology = {
    targetGroupArn,
    zones,
    ...resolveCrossZone(attr(tgAttrs), attr(lbAttrs)),
    fetchedAtMs,
  };
  const delay = Number(
    tgAttrs.find((a) => a.Key === "deregistration_delay.timeout_seconds")?.Value ?? Number.NaN,
  );
  if (Number.isFinite(delay) && delay >= 0) t.deregistrationDelayS = delay;
  const term = tgAttrs.find((a) => a.Key === "deregistration_delay.connection_termination.enabled")?.Value;
  if (term === "true" || term === "false") t.connectionTermination = term === "true";
  if (tg?.TargetGroupName) t.targetGroupName = tg.TargetGroupName;
  if (tg?.TargetType) t.targetType = tg.TargetType;
  if (tg?.Protocol) t.protocol = tg.Protocol;
  if (tg?.Port !== undefined) t.port = tg.Port;
  if (lb?.LoadBalancerArn) t.loadBalancerArn = lb.LoadBalancerArn;
  if (lb?.LoadBalancerName) t.loadBalancerName = lb.LoadBalancerName;
  if (lb?.DNSName) t.dnsName = lb.DNSName;
  if (tg) {
    const hc: NonNullable<TargetGroupTopology["healthCheck"]> = {};
    if (tg.HealthCheckProtocol) hc.protocol = tg.HealthCheckProtocol;
    if (tg.HealthCheckPort) hc.port = tg.HealthCheckPort;
    if (tg.HealthCheckPath) hc.path = tg.HealthCheckPath;
    if (tg.HealthCheckIntervalSeconds !== undefined) hc.intervalS = tg.HealthCheckIntervalSeconds;
    if (tg.HealthCheckTimeoutSeconds !== undefined) hc.timeoutS = tg.HealthCheckTimeoutSeconds;
    if (tg.HealthyThresholdCount !== undefined) hc.healthyThreshold = tg.HealthyThresholdCount;
    if (tg.UnhealthyThresholdCount !== undefined) hc.unhealthyThreshold = tg.UnhealthyThresholdCount;
    t.healthCheck = hc;
  }
  return t;
}

async function call<T>(
  op: string,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<Described<T>> {
  try {
    return { ok: true, value: await withDeadline(timeoutMs, fn) };
  } catch (err) {
    return { ok: false, failure: classifyAwsError(op, err) };
  }
}

/** One DescribeTargetHealth call → snapshot stamped with the wall clock. */
export async function describeTargetHealth(
  client: Elbv2ClientLike,
  targetGroupArn: string,
  opts: DescribeOptions = {},
): Promise<Described<TargetHealthSnapshot>> {
  const clock = opts.clock ?? systemClock;
  const { DescribeTargetHealthCommand } = await import("@aws-sdk/client-elastic-load-balancing-v2");
  const res = await call("DescribeTargetHealth", opts.callTimeoutMs ?? 10_000, (abortSignal) =>
    client.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }), { abortSignal }),
  );
  return res.ok ? { ok: true, value: snapshotFromOutput(targetGroupArn, clock.wallMs(), res.value) } : res;
}

/** Four calls → the target group's topology. The first failure ends it. */
export async function describeTopology(
  client: Elbv2ClientLike,
  tg: TargetGroupRef,
  opts: DescribeOptions = {},
): Promise<Described<TargetGroupTopology>> {
  const clock = opts.clock ?? systemClock;
  const timeoutMs = opts.callTimeoutMs ?? 10_000;
  const m = await import("@aws-sdk/client-elastic-load-balancing-v2");
  const tgs = await call("DescribeTargetGroups", timeoutMs, (abortSignal) =>
    client.send(new m.DescribeTargetGroupsCommand({ TargetGroupArns: [tg.arn] }), { abortSignal }),
  );
  if (!tgs.ok) return tgs;
  const group = tgs.value.TargetGroups?.[0];
  const lbArn = tg.loadBalancerArn ?? group?.LoadBalancerArns?.[0];
  const tgAttrs = await call("DescribeTargetGroupAttributes", timeoutMs, (abortSignal) =>
    client.send(new m.DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.arn }), { abortSignal }),
  );
  if (!tgAttrs.ok) return tgAttrs;
  let lb: LbOut | undefined;
  let lbAttrs: Array<{ Key?: string | undefined; Value?: string | undefined }> = [];
  if (lbArn !== undefined) {
    const lbs = await call("DescribeLoadBalancers", timeoutMs, (abortSignal) =>
      client.send(new m.DescribeLoadBalancersCommand({ LoadBalancerArns: [lbArn] }), { abortSignal }),
    );
    if (!lbs.ok) return lbs;
    lb = lbs.value.LoadBalancers?.[0];
    const attrs = await call("DescribeLoadBalancerAttributes", timeoutMs, (abortSignal) =>
      client.send(new m.DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn }), { abortSignal }),
    );
    if (!attrs.ok) return attrs;
    lbAttrs = attrs.value.Attributes ?? [];
  }
  return {
    ok: true,
    value: topologyFromOutputs(tg.arn, clock.wallMs(), group, lb, tgAttrs.value.Attributes ?? [], lbAttrs),
  };
}
