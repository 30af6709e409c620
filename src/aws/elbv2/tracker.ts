/**
 * TargetHealthTracker: feeds on DescribeTargetHealth snapshots (one per
 * target group per round) and keeps what changed: state transitions with
 * the two observations that bracket them, spans of degraded targets, and
 * spans of AZs with no healthy target. Bounded: the
 * oldest closed entries are dropped past `maxEntries`.
 */
import {
  DEGRADED_STATES,
  type DegradedWindow,
  type TargetHealthEntry,
  type TargetHealthHistory,
  type TargetHealthSnapshot,
  type TargetTransition,
  type ZoneWindow,
} from "../../model.js";

interface GroupState {
  lastAtMs?: number;
  targets: Map<string, TargetHealthEntry>;
  openDegraded: Map<string, DegradedWindow>;
  openZones: Map<string, ZoneWindow>;
  zones: Set<string>;
}

const keyOf = (t: TargetHealthEntry): string => `${t.id}:${t.port ?? ""}`;

/** `T` with its `undefined`-able properties made optional (for exactOptionalPropertyTypes). */
type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/** Drops the properties whose value is undefined. */
function optional<T extends object>(o: T): Defined<T> {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o as Defined<T>;
}

/** A transition of target `t` seen in `snap`: the target's identity and the snapshot's time, plus what changed. */
function transitionOf(
  snap: TargetHealthSnapshot,
  t: TargetHealthEntry,
  change: {
    prevAtMs: number | undefined;
    from: string | undefined;
    to: string;
    reason?: string | undefined;
    description?: string | undefined;
  },
): TargetTransition {
  return optional({
    targetGroupArn: snap.targetGroupArn,
    targetId: t.id,
    port: t.port,
    az: t.az,
    atMs: snap.atMs,
    ...change,
  });
}

export interface TargetHealthTrackerOptions {
  /** Transitions and closed windows kept (each). Default 10000. */
  maxEntries?: number;
}

export class TargetHealthTracker {
  private readonly groups = new Map<string, GroupState>();
  private readonly transitionLog: TargetTransition[] = [];
  private readonly closedDegraded: DegradedWindow[] = [];
  private readonly closedZones: ZoneWindow[] = [];
  private readonly maxEntries: number;
  private firstAtMs: number | undefined;
  private lastAtMs: number | undefined;
  private count = 0;

  constructor(opts: TargetHealthTrackerOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  private group(arn: string): GroupState {
    let g = this.groups.get(arn);
    if (!g) {
      g = { targets: new Map(), openDegraded: new Map(), openZones: new Map(), zones: new Set() };
      this.groups.set(arn, g);
    }
    return g;
  }

  private push<T>(list: T[], item: T): void {
    list.push(item);
    if (list.length > this.maxEntries) list.splice(0, list.length - this.maxEntries);
  }

  /** The NLB's AZs for a target group (from its topology), so an AZ with no targets at all is known too. */
  setZones(targetGroupArn: string, zones: readonly string[]): void {
    const g = this.group(targetGroupArn);
    for (const z of zones) g.zones.add(z);
  }

  /** Records one snapshot; returns the transitions it revealed. Snapshots must come in time order per group. */
  observe(snap: TargetHealthSnapshot): TargetTransition[] {
    const g = this.group(snap.targetGroupArn);
    if (g.lastAtMs !== undefined && snap.atMs < g.lastAtMs) return [];
    const prevAtMs = g.lastAtMs;
    const out: TargetTransition[] = [];
    const seen = new Set<string>();
    for (const t of snap.targets) {
      const key = keyOf(t);
      seen.add(key);
      const before = g.targets.get(key);
      if (!before || before.state !== t.state || before.reason !== t.reason) {
        if (!before || before.state !== t.state) {
          out.push(
            transitionOf(snap, t, {
              prevAtMs: before ? prevAtMs : undefined,
              from: before?.state,
              to: t.state,
              reason: t.reason,
              description: t.description,
            }),
          );
        }
        this.updateDegraded(g, snap, t, key, prevAtMs);
      }
      g.targets.set(key, t);
    }
    for (const [key, t] of g.targets) {
      if (seen.has(key)) continue;
      g.targets.delete(key);
      out.push(transitionOf(snap, t, { prevAtMs, from: t.state, to: "deregistered" }));
      this.closeDegraded(g, key, snap.atMs);
    }
    this.updateZones(g, snap, prevAtMs);
    for (const t of out) this.push(this.transitionLog, t);
    g.lastAtMs = snap.atMs;
    this.firstAtMs = Math.min(this.firstAtMs ?? snap.atMs, snap.atMs);
    this.lastAtMs = Math.max(this.lastAtMs ?? snap.atMs, snap.atMs);
    this.count++;
    return out;
  }

  private closeDegraded(g: GroupState, key: string, atMs: number): void {
    const open = g.openDegraded.get(key);
    if (!open) return;
    open.toMs = atMs;
    g.openDegraded.delete(key);
    this.push(this.closedDegraded, open);
  }

  private updateDegraded(
    g: GroupState,
    snap: TargetHealthSnapshot,
    t: TargetHealthEntry,
    key: string,
    prevAtMs: number | undefined,
  ): void {
    const open = g.openDegraded.get(key);
    const degraded = DEGRADED_STATES.has(t.state);
    if (open && (!degraded || open.state !== t.state)) this.closeDegraded(g, key, snap.atMs);
    if (degraded && (!open || open.state !== t.state)) {
      g.openDegraded.set(
        key,
        optional({
          targetGroupArn: snap.targetGroupArn,
          targetId: t.id,
          port: t.port,
          az: t.az,
          state: t.state,
          reason: t.reason,
          description: t.description,
          fromMs: snap.atMs,
          sinceMs: open ? undefined : prevAtMs,
        }),
      );
    }
  }

  private updateZones(g: GroupState, snap: TargetHealthSnapshot, prevAtMs: number | undefined): void {
    // DescribeTargetHealth omits Target.AvailabilityZone for instance targets: with any target's AZ unknown,
    // no AZ can be said to be dark (its healthy targets may be among the unknown ones). Per-target state only.
    if (snap.targets.some((t) => t.az === undefined)) return;
    const byZone = new Map<string, TargetHealthEntry[]>();
    for (const z of g.zones) byZone.set(z, []);
    for (const t of snap.targets) {
      if (t.az === undefined || t.az === "all") continue;
      g.zones.add(t.az);
      const list = byZone.get(t.az) ?? [];
      list.push(t);
      byZone.set(t.az, list);
    }
    for (const [az, targets] of byZone) {
      // An AZ (of the NLB, or seen on a target before) is dark when none of its targets is healthy,
      // including when it has none registered: with cross-zone off its node has nowhere to send flows.
      const dark = !targets.some((t) => t.state === "healthy");
      const open = g.openZones.get(az);
      if (dark && !open) {
        g.openZones.set(
          az,
          optional({
            targetGroupArn: snap.targetGroupArn,
            az,
            fromMs: snap.atMs,
            sinceMs: prevAtMs,
            targets: targets.map((t) => optional({ id: t.id, state: t.state, reason: t.reason })),
          }),
        );
      } else if (!dark && open) {
        open.toMs = snap.atMs;
        g.openZones.delete(az);
        this.push(this.closedZones, open);
      }
    }
  }

  /** Current targets of a group (the last snapshot). */
  current(targetGroupArn: string): TargetHealthEntry[] {
    return [...(this.groups.get(targetGroupArn)?.targets.values() ?? [])];
  }

  transitions(): TargetTransition[] {
    return [...this.transitionLog];
  }

  /** The history as plain JSON (open windows included, without `toMs`). */
  history(): TargetHealthHistory {
    const openDegraded = [...this.groups.values()].flatMap((g) => [...g.openDegraded.values()]);
    const openZones = [...this.groups.values()].flatMap((g) => [...g.openZones.values()]);
    return optional({
      observedFromMs: this.firstAtMs,
      observedToMs: this.lastAtMs,
      snapshots: this.count,
      transitions: this.transitions(),
      degraded: [...this.closedDegraded, ...openDegraded].map((w) => ({ ...w })),
      zones: [...this.closedZones, ...openZones].map((w) => ({ ...w, targets: [...w.targets] })),
    });
  }
}
