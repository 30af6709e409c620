/**
 * Simulated NLB target health: every `healthCheckIntervalMs` the model asks
 * the scenario what each target's state is and records the transitions, on
 * the target (`history`) and in the event log. This is what the lab's
 * DescribeTargetHealth endpoint will answer from.
 */
import type { LabContext } from "./context.js";
import type { LabHealthTransition } from "./events.js";
import type { TargetHealth } from "./scenarios.js";

/** Availability zones the targets are spread over, target i in `LAB_AZS[i % 3]`. */
export const LAB_AZS = ["us-west-2a", "us-west-2b", "us-west-2c"] as const;

/** One simulated target (nginx + app) as the NLB's target group sees it. */
export interface LabTarget {
  /** Lab-wide id: `t1`, `t2`, … (used in events). */
  id: string;
  index: number;
  /** The loopback address it listens on (127.0.0.11 …, or the lab host as a fallback). */
  address: string;
  port: number;
  availabilityZone: string;
  /** Current health. */
  health: TargetHealth;
  /** Wall-clock ms of the last change. */
  healthSinceMs: number;
  /** Transitions, oldest first (the first one is the registration). Bounded. */
  history: LabHealthTransition[];
}

const MAX_HISTORY = 1000;

export class TargetHealthModel {
  private timer: NodeJS.Timeout | undefined;
  private readonly overrides = new Map<number, TargetHealth>();
  private readonly startMono: number;

  constructor(
    private readonly ctx: LabContext,
    private readonly targets: LabTarget[],
  ) {
    this.startMono = ctx.startMs;
  }

  /** Records the initial states and starts the periodic checks. */
  start(): void {
    this.evaluate();
    this.timer = setInterval(() => this.evaluate(), Math.max(10, this.ctx.timings.healthCheckIntervalMs));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Pins a target's health (e.g. `draining` during a simulated deployment) until cleared with
   * `undefined`; the change is recorded at once. Routing is unaffected: the NLB keeps its flows.
   */
  override(index: number, health: TargetHealth | undefined): void {
    if (health) this.overrides.set(index, health);
    else this.overrides.delete(index);
    this.evaluate();
  }

  /** Re-evaluates every target now. */
  evaluate(): void {
    const elapsed = this.ctx.clock.now() - this.startMono;
    const wall = this.ctx.clock.wallMs();
    for (const t of this.targets) {
      const next = this.overrides.get(t.index) ?? this.ctx.runtime.health(t.index, elapsed);
      const first = t.history.length === 0;
      if (!first && sameHealth(t.health, next)) continue;
      const transition: LabHealthTransition = {
        atMs: wall,
        targetId: t.id,
        to: next.state,
        ...(first ? {} : { from: t.health.state }),
        ...(next.reason === undefined ? {} : { reason: next.reason }),
        ...(next.description === undefined ? {} : { description: next.description }),
      };
      t.health = next;
      t.healthSinceMs = wall;
      t.history.push(transition);
      if (t.history.length > MAX_HISTORY) t.history.splice(1, 1); // keep the registration
      this.ctx.events.publishHealth(transition);
    }
  }
}

function sameHealth(a: TargetHealth, b: TargetHealth): boolean {
  return a.state === b.state && a.reason === b.reason;
}

/** The health a target had at wall-clock `atMs` (undefined before it was registered). */
export function healthAt(target: LabTarget, atMs: number): TargetHealth | undefined {
  let found: LabHealthTransition | undefined;
  for (const h of target.history) {
    if (h.atMs > atMs) break;
    found = h;
  }
  if (!found) return undefined;
  return {
    state: found.to,
    ...(found.reason === undefined ? {} : { reason: found.reason }),
    ...(found.description === undefined ? {} : { description: found.description }),
  };
}
