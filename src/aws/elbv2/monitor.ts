/**
 * TargetHealthMonitor: what `run` and `daemon` call once per round. For each
 * configured target group it calls DescribeTargetHealth and feeds the
 * tracker; the topology (AZs, node addresses, cross-zone) is fetched on the
 * first round and refreshed every `topologyMaxAgeMs`. Failures are returned,
 * never thrown: a round without ELBv2 access still probes.
 */
import { type Clock, systemClock } from "../../clock.js";
import type { Config } from "../../config/schema.js";
import type {
  TargetGroupTopology,
  TargetHealthEvidence,
  TargetHealthSnapshot,
  TargetTransition,
} from "../../model.js";
import type { AwsFailure } from "../errors.js";
import {
  describeTargetHealth,
  describeTopology,
  type Elbv2ClientLike,
  type TargetGroupRef,
} from "./describe.js";
import { TargetHealthTracker } from "./tracker.js";

/** The target groups a config asks to watch (deduplicated by ARN). */
export function targetGroupsOf(config: Pick<Config, "apis">): TargetGroupRef[] {
  const byArn = new Map<string, TargetGroupRef>();
  for (const api of config.apis) {
    for (const tg of api.targetGroups ?? []) {
      const prev = byArn.get(tg.arn);
      byArn.set(tg.arn, { arn: tg.arn, loadBalancerArn: tg.loadBalancerArn ?? prev?.loadBalancerArn });
    }
  }
  return [...byArn.values()];
}

export interface TargetHealthRound {
  snapshots: TargetHealthSnapshot[];
  transitions: TargetTransition[];
  failures: AwsFailure[];
}

export interface TargetHealthMonitorOptions {
  clock?: Clock;
  /** Default 10 minutes. */
  topologyMaxAgeMs?: number;
  callTimeoutMs?: number;
  tracker?: TargetHealthTracker;
}

export class TargetHealthMonitor {
  readonly tracker: TargetHealthTracker;
  private readonly topologies = new Map<string, TargetGroupTopology>();
  private readonly clock: Clock;
  private readonly maxAgeMs: number;
  private readonly callTimeoutMs: number;

  constructor(
    private readonly client: Elbv2ClientLike,
    private readonly targetGroups: readonly TargetGroupRef[],
    opts: TargetHealthMonitorOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.maxAgeMs = opts.topologyMaxAgeMs ?? 600_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    this.tracker = opts.tracker ?? new TargetHealthTracker();
  }

  /** One round: topology where stale, then DescribeTargetHealth for every target group. */
  async round(): Promise<TargetHealthRound> {
    const out: TargetHealthRound = { snapshots: [], transitions: [], failures: [] };
    const opts = { clock: this.clock, callTimeoutMs: this.callTimeoutMs };
    for (const tg of this.targetGroups) {
      const known = this.topologies.get(tg.arn);
      if (!known || this.clock.wallMs() - known.fetchedAtMs > this.maxAgeMs) {
        const topo = await describeTopology(this.client, tg, opts);
        if (topo.ok) {
          this.topologies.set(tg.arn, topo.value);
          this.tracker.setZones(
            tg.arn,
            topo.value.zones.map((z) => z.zoneName),
          );
        } else out.failures.push(topo.failure);
      }
      const snap = await describeTargetHealth(this.client, tg.arn, opts);
      if (!snap.ok) {
        out.failures.push(snap.failure);
        continue;
      }
      out.snapshots.push(snap.value);
      out.transitions.push(...this.tracker.observe(snap.value));
    }
    return out;
  }

  topology(targetGroupArn: string): TargetGroupTopology | undefined {
    return this.topologies.get(targetGroupArn);
  }

  /** Evidence for the diagnosis (`DiagnoseContext.targetHealth`). */
  evidence(): TargetHealthEvidence {
    return { history: this.tracker.history(), topologies: [...this.topologies.values()] };
  }
}
