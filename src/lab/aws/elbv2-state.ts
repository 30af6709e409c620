/**
 * What the lab's ELBv2 endpoint answers from: load balancers, target groups
 * and their targets with health, fed by the lab (elbv2-topology.ts) or a test.
 */
import type { HealthCheckSettings } from "../../model.js";

export interface LabTarget {
  id: string;
  port: number;
  az?: string;
  state: string;
  reason?: string;
  description?: string;
}

export interface LabTargetGroup {
  arn: string;
  name: string;
  protocol?: string;
  port?: number;
  targetType?: string;
  vpcId?: string;
  loadBalancerArns: string[];
  healthCheck?: HealthCheckSettings;
  /** Attributes, e.g. `load_balancing.cross_zone.enabled: use_load_balancer_configuration`. */
  attributes?: Record<string, string>;
}

export interface LabLoadBalancer {
  arn: string;
  name: string;
  dnsName: string;
  scheme?: "internet-facing" | "internal";
  zones: Array<{
    zoneName: string;
    subnetId?: string;
    addresses: Array<{ ipAddress?: string; privateIPv4Address?: string }>;
  }>;
  attributes?: Record<string, string>;
}

/** What the lab's ELBv2 endpoint answers from. */
export class Elbv2State {
  private readonly lbs = new Map<string, LabLoadBalancer>();
  private readonly tgs = new Map<string, LabTargetGroup>();
  private readonly targets = new Map<string, LabTarget[]>();

  setLoadBalancer(lb: LabLoadBalancer): void {
    this.lbs.set(lb.arn, lb);
  }

  setTargetGroup(tg: LabTargetGroup): void {
    this.tgs.set(tg.arn, tg);
    if (!this.targets.has(tg.arn)) this.targets.set(tg.arn, []);
  }

  /** Replaces the registered targets of a group. */
  setTargets(targetGroupArn: string, targets: readonly LabTarget[]): void {
    this.targets.set(
      targetGroupArn,
      targets.map((t) => ({ ...t })),
    );
  }

  /** Changes one target's health; false when the group or target is unknown. */
  setTargetHealth(
    targetGroupArn: string,
    targetId: string,
    health: { state: string; reason?: string; description?: string },
  ): boolean {
    const t = this.targets.get(targetGroupArn)?.find((x) => x.id === targetId);
    if (!t) return false;
    t.state = health.state;
    if (health.reason === undefined) delete t.reason;
    else t.reason = health.reason;
    if (health.description === undefined) delete t.description;
    else t.description = health.description;
    return true;
  }

  loadBalancer(arn: string): LabLoadBalancer | undefined {
    return this.lbs.get(arn);
  }
  targetGroup(arn: string): LabTargetGroup | undefined {
    return this.tgs.get(arn);
  }
  targetsOf(arn: string): LabTarget[] | undefined {
    return this.targets.get(arn);
  }
  allLoadBalancers(): LabLoadBalancer[] {
    return [...this.lbs.values()];
  }
  allTargetGroups(): LabTargetGroup[] {
    return [...this.tgs.values()];
  }
}
