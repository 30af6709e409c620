/**
 * What stallwatch keeps of an NLB's target groups: health snapshots from
 * DescribeTargetHealth, and the topology (AZs, node addresses, cross-zone)
 * from DescribeTargetGroups / DescribeLoadBalancers / the attributes calls.
 * Plain JSON: stored, passed to the diagnosis and shown as evidence.
 */

/** DescribeTargetHealth states (ELBv2 API reference, TargetHealth.State). */
export const TARGET_HEALTH_STATES = [
  "initial",
  "healthy",
  "unhealthy",
  "unhealthy.draining",
  "unused",
  "draining",
  "unavailable",
] as const;
export type TargetHealthStateName = (typeof TARGET_HEALTH_STATES)[number];

/** States in which a target is registered but not (or no longer) fully serving: what `target-unhealthy` looks for. */
export const DEGRADED_STATES: ReadonlySet<string> = new Set([
  "initial",
  "unhealthy",
  "unhealthy.draining",
  "draining",
  "unavailable",
]);

/** One target's health at one observation. */
export interface TargetHealthEntry {
  /** Instance id, IP address, Lambda ARN or ALB ARN. */
  id: string;
  port?: number;
  /** Present for IP targets and when ELBv2 returns it. */
  az?: string;
  /** One of {@link TARGET_HEALTH_STATES}, kept as a string so new states pass through. */
  state: string;
  /** e.g. `Target.Timeout`, `Elb.RegistrationInProgress`. */
  reason?: string;
  description?: string;
}

/** One DescribeTargetHealth answer. */
export interface TargetHealthSnapshot {
  targetGroupArn: string;
  /** Wall clock of the observation, epoch ms. */
  atMs: number;
  targets: TargetHealthEntry[];
}

/** One AZ of the NLB. */
export interface NlbZone {
  zoneName: string;
  subnetId?: string;
  /** The NLB node's addresses in this AZ (Elastic IP and/or private IPv4) as DescribeLoadBalancers lists them. */
  nodeAddresses: string[];
}

/** Where a target group sits: its NLB, the AZs and node addresses, and whether cross-zone load balancing is on. */
export interface TargetGroupTopology {
  targetGroupArn: string;
  targetGroupName?: string;
  targetType?: string;
  protocol?: string;
  port?: number;
  loadBalancerArn?: string;
  loadBalancerName?: string;
  dnsName?: string;
  zones: NlbZone[];
  /** Effective cross-zone load balancing for this target group. */
  crossZone: boolean;
  /** Where `crossZone` came from: the target group's attribute, the NLB's, or the NLB default (off). */
  crossZoneSource: "target-group" | "load-balancer" | "default";
  healthCheck?: HealthCheckSettings;
  /** `deregistration_delay.timeout_seconds` (ELBv2 default 300): how long a deregistering target drains. */
  deregistrationDelayS?: number;
  /** `deregistration_delay.connection_termination.enabled`: the NLB resets the flows left when the delay ends. */
  connectionTermination?: boolean;
  /** Wall clock when this was fetched, epoch ms. */
  fetchedAtMs: number;
}

/** A target changing state between two observations. */
export interface TargetTransition {
  targetGroupArn: string;
  targetId: string;
  port?: number;
  az?: string;
  /** The observation that first showed the new state, epoch ms. */
  atMs: number;
  /** The previous observation (the change happened between the two), epoch ms. */
  prevAtMs?: number;
  /** Absent when the target first appeared. `deregistered` when it disappeared. */
  from?: string;
  to: string;
  reason?: string;
  description?: string;
}

/** A span during which one target was in a degraded state. */
export interface DegradedWindow {
  targetGroupArn: string;
  targetId: string;
  port?: number;
  az?: string;
  state: string;
  reason?: string;
  description?: string;
  /** First observation in the degraded state, epoch ms. */
  fromMs: number;
  /** Last observation before that (healthy or absent), epoch ms: the change happened after it. */
  sinceMs?: number;
  /** First observation back to healthy (or the target gone); absent while still degraded. */
  toMs?: number;
}

/** A span during which an AZ of the NLB had no healthy target (none registered, or none healthy). */
export interface ZoneWindow {
  targetGroupArn: string;
  az: string;
  fromMs: number;
  sinceMs?: number;
  toMs?: number;
  /** Targets in the AZ and their states at the first observation (empty: none registered). */
  targets: Array<{ id: string; state: string; reason?: string }>;
}

/** The tracker's history as plain JSON. */
export interface TargetHealthHistory {
  /** First and last observation, epoch ms (undefined before the first). */
  observedFromMs?: number;
  observedToMs?: number;
  snapshots: number;
  transitions: TargetTransition[];
  degraded: DegradedWindow[];
  zones: ZoneWindow[];
}

/** Everything the `target-unhealthy` finding looks at. */
export interface TargetHealthEvidence {
  history: TargetHealthHistory;
  topologies: TargetGroupTopology[];
}

/** A target group's health-check settings, as DescribeTargetGroups returns them (interval and timeout in seconds). */
export interface HealthCheckSettings {
  protocol?: string;
  port?: string;
  path?: string;
  intervalS?: number;
  timeoutS?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}
