/**
 * target-unhealthy: stalls that coincide with NLB targets in a degraded state
 * (initial, unhealthy, draining, unavailable), or with an AZ that had
 * registered targets but none healthy while cross-zone load balancing was off.
 *
 * Matching: a request overlaps a degraded span widened at its start by the
 * time the change could have happened before it was observed (the previous
 * observation) plus the health-check lag (interval × unhealthy threshold,
 * capped at 90 s): a failing target takes flows before the NLB marks it.
 * A stall's remote address is mapped to an NLB node's AZ when it is one of
 * the node addresses (probing the NLB directly); through API Gateway it is
 * the gateway's address and maps to nothing. A stall whose X-Ray trace names
 * the target that served it matches only that target's degraded spans, and a
 * dark AZ only when that target is in it, or when the time before the backend
 * covers the SYN retransmission a detour from the dark node costs.
 *
 * No false alarms: when both sides have ≥ 5 requests and the stall rate during
 * degraded spans is not above the rate outside them, the finding is withheld.
 */

import { isIP } from "node:net";
import type {
  Confidence,
  DegradedWindow,
  Finding,
  RequestRecord,
  Stall,
  TargetGroupTopology,
  TargetHealthEvidence,
  ZoneWindow,
} from "../../model.js";
import { CLASSIC_LINUX, remoteSynLevels, type SynSchedule } from "../physics.js";
import { bonferroni, fisherExact, roundP } from "../stats.js";
import type { Candidate, Detector, DetectorInput, DetectorResult } from "../types.js";
import { levelToleranceMs } from "../util.js";

const ID = "target-unhealthy";

const DEFAULT_LEAD_MS = 30_000;
const MAX_LEAD_MS = 90_000;
/** How long past the last observation an open span is assumed to last. */
const OPEN_TAIL_MS = 60_000;

interface Span {
  startMs: number;
  endMs: number;
}

function leadMsFor(topo: TargetGroupTopology | undefined): number {
  const hc = topo?.healthCheck;
  if (hc?.intervalS === undefined || hc.unhealthyThreshold === undefined) return DEFAULT_LEAD_MS;
  return Math.min(MAX_LEAD_MS, hc.intervalS * hc.unhealthyThreshold * 1000);
}

/** States a target enters by an API call (deregistration, registration), not by failing health checks: no lag. */
const NO_LEAD_STATES: ReadonlySet<string> = new Set(["draining", "initial"]);

function spanOf(w: DegradedWindow | ZoneWindow, leadMs: number, observedToMs: number): Span {
  const lead = "state" in w && NO_LEAD_STATES.has(w.state) ? 0 : leadMs;
  return { startMs: (w.sinceMs ?? w.fromMs) - lead, endMs: w.toMs ?? observedToMs + OPEN_TAIL_MS };
}

/** The first SYN retransmission level a hop in front of the targets may use, less the level tolerance. */
function minDetourMsFor(host: SynSchedule): number {
  const first = remoteSynLevels(host)[0]?.ms ?? 1000;
  return first - levelToleranceMs(first);
}

/** Both are IP addresses, or both EC2 instance ids: ids of the same kind, equal exactly when the same target. */
function comparableTargetIds(a: string, b: string): boolean {
  const instance = /^i-[0-9a-f]+$/;
  return (isIP(a) !== 0 && isIP(b) !== 0) || (instance.test(a) && instance.test(b));
}

const overlaps = (r: RequestRecord, s: Span): boolean =>
  r.atMs <= s.endMs && r.atMs + (r.phasesMs.total ?? 0) >= s.startMs;
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/** NLB node address → AZ, over every topology. */
function nodeZones(topos: readonly TargetGroupTopology[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of topos) for (const z of t.zones) for (const a of z.nodeAddresses) out.set(a, z.zoneName);
  return out;
}

interface Match {
  targets: DegradedWindow[];
  zones: ZoneWindow[];
  /** The zone windows whose AZ is the stall's NLB node's AZ. */
  viaNode: ZoneWindow[];
  nodeAz?: string;
}

/** The candidate, or a note saying why none was raised. */
export function targetUnhealthyCandidate(
  records: readonly RequestRecord[],
  stalls: readonly Stall[],
  ev: TargetHealthEvidence,
  /**
   * Stalls whose X-Ray trace puts the time in the backend's own segment: a target that answered, slowly. An
   * unhealthy target or a dark AZ loses time before the backend (connections that stall or fail); a target
   * that is slow inside its handler is slow-target's, whatever its reported health.
   */
  inBackend: ReadonlySet<number> = new Set(),
  /**
   * The target that served a stalled request, by seq, where its X-Ray trace names it. A request the NLB sent
   * to a healthy target is not explained by another target's degradation: a degraded span matches it only
   * when that target served it, where the two ids can be compared (both IPs or both instance ids; an ECS
   * container name cannot, and still matches).
   */
  servedBy: ReadonlyMap<number, string> = new Map(),
  /**
   * What a stalled request's X-Ray trace says of how it reached its target, by seq: the target's AZ
   * (`aws.ec2.availability_zone`, `aws.ecs.availability_zone`; without it, the AZ the target-health history
   * gives the target `servedBy` names) and the time before the backend's segment (integration minus backend).
   * A flow through a dark AZ's node has nowhere to go (cross-zone off); one that was served by a target in
   * another AZ either never met that node, or got away from it only by retrying its connection, which costs at
   * least one SYN retransmission timeout. So a dark AZ explains a stall served in another AZ only when the
   * time before the backend reaches `minDetourMs`.
   */
  served: ReadonlyMap<number, { az?: string; beforeBackendMs?: number }> = new Map(),
  /**
   * The least a detour through a dark node costs: the first SYN retransmission level of any schedule the hop
   * in front may run (1 s), less the level tolerance (max(300 ms, 15 %)).
   */
  minDetourMs: number = minDetourMsFor(CLASSIC_LINUX),
): { candidate?: Candidate; note?: string } {
  const h = ev.history;
  if (h.observedFromMs === undefined || h.observedToMs === undefined) return {};
  const observedTo = h.observedToMs;
  const topoByArn = new Map(ev.topologies.map((t) => [t.targetGroupArn, t]));
  const nodes = nodeZones(ev.topologies);
  const targetSpans = h.degraded.map((w) => ({
    w,
    s: spanOf(w, leadMsFor(topoByArn.get(w.targetGroupArn)), observedTo),
  }));
  // Dark AZs matter only where cross-zone is known to be off.
  const zoneSpans = h.zones
    .filter((w) => topoByArn.get(w.targetGroupArn)?.crossZone === false)
    .map((w) => ({ w, s: spanOf(w, leadMsFor(topoByArn.get(w.targetGroupArn)), observedTo) }));
  if (targetSpans.length === 0 && zoneSpans.length === 0) return {};

  // Target id → AZ, from every place the history names a target with its AZ.
  const targetAz = new Map<string, string>();
  for (const tr of h.transitions) if (tr.az !== undefined) targetAz.set(tr.targetId, tr.az);
  for (const w of h.degraded) if (w.az !== undefined) targetAz.set(w.targetId, w.az);
  for (const z of h.zones) for (const t of z.targets) targetAz.set(t.id, z.az);
  const azServing = (seq: number): string | undefined => {
    const az = served.get(seq)?.az;
    if (az !== undefined) return az;
    const host = servedBy.get(seq);
    return host === undefined ? undefined : targetAz.get(host);
  };
  /** Whether a dark AZ can have held up request `seq` (see `served`). */
  const darkAzCouldHold = (seq: number, az: string): boolean => {
    const servingAz = azServing(seq);
    if (servingAz === undefined || servingAz === az) return true;
    const before = served.get(seq)?.beforeBackendMs;
    return before === undefined || before >= minDetourMs;
  };

  const inObserved = (r: RequestRecord) =>
    r.atMs >= h.observedFromMs! - MAX_LEAD_MS && r.atMs <= observedTo + OPEN_TAIL_MS;
  const matchOf = (r: RequestRecord): Match => {
    const nodeAz = r.remoteAddress === undefined ? undefined : nodes.get(r.remoteAddress);
    const zones = zoneSpans.filter((z) => overlaps(r, z.s) && darkAzCouldHold(r.seq, z.w.az)).map((z) => z.w);
    const served = servedBy.get(r.seq);
    const couldServe = (w: DegradedWindow) =>
      served === undefined || !comparableTargetIds(w.targetId, served) || w.targetId === served;
    return {
      targets: targetSpans.filter((t) => overlaps(r, t.s) && couldServe(t.w)).map((t) => t.w),
      // A request through another AZ's node is not explained by this AZ being dark.
      zones: nodeAz === undefined ? zones : zones.filter((z) => z.az === nodeAz),
      viaNode: nodeAz === undefined ? [] : zones.filter((z) => z.az === nodeAz),
      ...(nodeAz !== undefined ? { nodeAz } : {}),
    };
  };
  const isMatch = (m: Match) => m.targets.length > 0 || m.zones.length > 0;

  const matched: Array<{ stall: Stall; m: Match }> = [];
  for (const s of stalls) {
    if (!inObserved(s.record) || inBackend.has(s.record.seq)) continue;
    const m = matchOf(s.record);
    if (isMatch(m)) matched.push({ stall: s, m });
  }
  if (matched.length === 0)
    return { note: "target-unhealthy: degraded targets were seen, but no stall overlapped them" };

  // The contrast compares requests clearly inside a degraded span (as observed, no lead) with requests clearly
  // outside it (not even in the lead before it); requests in the lead only are left out: either side could hold them.
  const observedOnly = (m: Match, r: RequestRecord): boolean =>
    m.targets.some((w) => overlaps(r, spanOf(w, 0, observedTo))) ||
    m.zones.some((w) => overlaps(r, spanOf(w, 0, observedTo)));
  const stallSeqs = new Set(stalls.map((s) => s.record.seq));
  const t = { a: 0, b: 0, c: 0, d: 0 };
  for (const r of records) {
    if (!inObserved(r) || inBackend.has(r.seq)) continue;
    const m = matchOf(r);
    const stalled = stallSeqs.has(r.seq);
    if (observedOnly(m, r)) stalled ? t.a++ : t.b++;
    else if (!isMatch(m)) stalled ? t.c++ : t.d++;
  }
  const nIn = t.a + t.b;
  const nOut = t.c + t.d;
  const rateIn = nIn ? t.a / nIn : 0;
  const rateOut = nOut ? t.c / nOut : 0;
  const measurable = nIn >= 5 && nOut >= 5;
  if (measurable && rateIn <= rateOut) {
    return {
      note: `target-unhealthy withheld: stall rate during degraded spans ${t.a}/${nIn} is not above ${t.c}/${nOut} outside them`,
    };
  }
  const p = measurable ? bonferroni(fisherExact(t).greater, 1) : undefined;
  const viaNode = matched.filter((x) => x.m.viaNode.length > 0).length;
  const anyZone = matched.filter((x) => x.m.zones.length > 0).length;
  let confidence: Confidence = "low";
  if (matched.length >= 3 && (viaNode >= 3 || (p !== undefined && p < 0.01 && rateIn >= 3 * rateOut)))
    confidence = "high";
  else if (
    viaNode >= 1 ||
    (matched.length >= 2 && p !== undefined && p < 0.05) ||
    (anyZone >= 2 && !measurable)
  )
    confidence = "medium";

  const usedTargets = new Set<DegradedWindow>();
  const usedZones = new Set<ZoneWindow>();
  for (const x of matched) {
    for (const w of x.m.targets) usedTargets.add(w);
    for (const w of x.m.zones) usedZones.add(w);
  }
  const detailBySeq = new Map<number, string>();
  for (const { stall, m } of matched) {
    const z = m.zones[0];
    const w = m.targets[0];
    detailBySeq.set(
      stall.record.seq,
      z
        ? `${z.az} had no healthy target (cross-zone off)${m.nodeAz ? ` and the request went through its NLB node ${stall.record.remoteAddress}` : ""}`
        : `target ${w?.targetId ?? "?"} ${w?.state ?? "?"}${w?.reason ? ` (${w.reason})` : ""}`,
    );
  }
  const firstZone = [...usedZones][0];
  const firstTarget = [...usedTargets][0];
  const states = [...new Set([...usedTargets].map((w) => w.state))].join("/");
  const summary = firstZone
    ? `${matched.length} stall${matched.length === 1 ? "" : "s"} while AZ ${firstZone.az} had no healthy NLB target and cross-zone load balancing was off${viaNode ? ` (${viaNode} through its NLB node)` : ""}`
    : `${matched.length} stall${matched.length === 1 ? "" : "s"} coincide with ${states} NLB targets (${[...new Set([...usedTargets].map((w) => w.targetId))].slice(0, 3).join(", ")}${firstTarget?.reason ? `: ${firstTarget.reason}` : ""})`;
  const nextStep = firstZone
    ? `Register healthy targets in ${firstZone.az} or enable cross-zone load balancing on the target group (${"load_balancing.cross_zone.enabled"}); with it off (the NLB default) the node in ${firstZone.az} keeps accepting flows it cannot serve. Check HealthyHostCount per AZ.`
    : `Check why ${firstTarget?.targetId ?? "the target"} fails its health checks (${firstTarget?.reason ?? "see reasons"}) around the stall times: its logs, CPU, accept backlog; during deploys, the deregistration delay and that an NLB keeps sending new flows to a deregistering target for about 2 minutes.`;

  return {
    candidate: {
      summary,
      stalls: matched.map((x) => x.stall.record.seq),
      confidence,
      evidence: {
        matchedStalls: matched.length,
        stallsThroughDarkAzNode: viaNode,
        observed: {
          from: iso(h.observedFromMs),
          to: iso(h.observedToMs),
          snapshots: h.snapshots,
          transitions: h.transitions.length,
        },
        contrast: {
          duringDegraded: { requests: nIn, stalls: t.a },
          otherwise: { requests: nOut, stalls: t.c },
          ...(p !== undefined
            ? { pOneSided: roundP(p), test: "Fisher exact, one-sided" }
            : { note: "fewer than 5 requests on a side: not tested" }),
        },
        targets: [...usedTargets].slice(0, 10).map((w) => ({
          targetGroupArn: w.targetGroupArn,
          targetId: w.targetId,
          port: w.port,
          az: w.az,
          state: w.state,
          reason: w.reason,
          description: w.description,
          from: iso(w.fromMs),
          lastSeenBefore: iso(w.sinceMs),
          to: iso(w.toMs),
        })),
        darkZones: [...usedZones]
          .slice(0, 10)
          .map((w) => ({ az: w.az, from: iso(w.fromMs), to: iso(w.toMs), targets: w.targets })),
        crossZone: ev.topologies.map((tp) => ({
          targetGroupArn: tp.targetGroupArn,
          crossZone: tp.crossZone,
          source: tp.crossZoneSource,
        })),
        stalls: matched.slice(0, 10).map(({ stall, m }) => ({
          seq: stall.record.seq,
          at: iso(stall.record.atMs),
          remoteAddress: stall.record.remoteAddress,
          nlbNodeAz: m.nodeAz,
          targets: m.targets.map((w) => `${w.targetId} ${w.state}`),
          darkZones: m.zones.map((w) => w.az),
        })),
      },
      nextStep,
      detailBySeq,
    },
  };
}

/** The detector for the diagnosis engine: reads `context.targetHealth` (and `context.xray`). */
export const targetUnhealthyDetector: Detector = {
  id: ID,
  detect(input: DetectorInput): DetectorResult {
    const ev = input.context.targetHealth;
    if (!ev?.history) return {};
    const xray = input.context.xray;
    const inBackend = new Set(
      (xray?.breakdowns ?? []).filter((b) => b.dominant === "backend").map((b) => b.seq),
    );
    const servedBy = new Map<number, string>();
    const served = new Map<number, { az?: string; beforeBackendMs?: number }>();
    for (const b of xray?.breakdowns ?? []) {
      if (b.backend?.host) servedBy.set(b.seq, b.backend.host);
      const beforeBackendMs = b.partsMs.gatewayToBackend ?? b.partsMs.integration;
      served.set(b.seq, {
        ...(b.backend?.availabilityZone ? { az: b.backend.availabilityZone } : {}),
        ...(beforeBackendMs !== undefined ? { beforeBackendMs } : {}),
      });
    }
    const { candidate, note } = targetUnhealthyCandidate(
      input.records,
      input.stalls,
      ev,
      inBackend,
      servedBy,
      served,
      minDetourMsFor(input.settings.synSchedule),
    );
    return { ...(candidate ? { candidate } : {}), ...(note ? { notes: [note] } : {}) };
  },
};

/** The finding without the engine. `records`: the probe records the stalls came from. */
export function targetUnhealthyFindings(
  records: readonly RequestRecord[],
  stalls: readonly Stall[],
  ev: TargetHealthEvidence,
): Finding[] {
  const { candidate: c } = targetUnhealthyCandidate(records, stalls, ev);
  return c
    ? [
        {
          id: ID,
          summary: c.summary,
          stalls: c.stalls,
          confidence: c.confidence,
          evidence: c.evidence,
          nextStep: c.nextStep,
        },
      ]
    : [];
}
