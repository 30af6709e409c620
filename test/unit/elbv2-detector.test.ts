import { describe, expect, it } from "vitest";
import { TargetHealthTracker } from "../../src/aws/elbv2/tracker.js";
import {
  targetUnhealthyCandidate,
  targetUnhealthyDetector,
  targetUnhealthyFindings,
} from "../../src/diagnose/detectors/target-unhealthy.js";
import { CLASSIC_LINUX } from "../../src/diagnose/physics.js";
import { findingSpec } from "../../src/diagnose/registry.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { DetectorInput } from "../../src/diagnose/types.js";
import type {
  RequestRecord,
  StallBreakdown,
  TargetGroupTopology,
  TargetHealthEntry,
} from "../../src/model.js";
import { arrayColumns } from "../../src/record/columns.js";
import { makeRecord } from "../helpers/records.js";

const TG = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/0123456789abcdef";
const T0 = Date.UTC(2025, 0, 1, 12);
const topo = (crossZone: boolean): TargetGroupTopology => ({
  targetGroupArn: TG,
  zones: [
    { zoneName: "az1", nodeAddresses: ["10.0.1.10"] },
    { zoneName: "az2", nodeAddresses: ["10.0.2.10"] },
  ],
  crossZone,
  crossZoneSource: "load-balancer",
  healthCheck: { intervalS: 5, unhealthyThreshold: 2 },
  fetchedAtMs: T0,
});
const tgt = (id: string, az: string, state: string): TargetHealthEntry => ({
  id,
  port: 80,
  az,
  state,
  ...(state === "unhealthy" ? { reason: "Target.FailedHealthChecks" } : {}),
});

function rec(seq: number, atMs: number, totalMs: number, remoteAddress: string): RequestRecord {
  return makeRecord({
    atMs,
    seq,
    seriesSeq: seq,
    phasesMs: { connect: totalMs - 2, ttfb: 2, total: totalMs },
    bytes: 1,
    remoteAddress,
  });
}

/**
 * 20 rounds 10 s apart; `bad(round)` says whether az2's only target is unhealthy; requests alternate between the
 * nodes. `ids`: the two targets' ids (az1's, az2's).
 */
function scenario(
  bad: (round: number) => boolean,
  stalled: (round: number, addr: string) => boolean,
  crossZone = false,
  ids: [string, string] = ["a", "b"],
) {
  const tracker = new TargetHealthTracker();
  tracker.setZones(TG, ["az1", "az2"]);
  const records: RequestRecord[] = [];
  let seq = 0;
  for (let r = 0; r < 20; r++) {
    const at = T0 + r * 10_000;
    tracker.observe({
      targetGroupArn: TG,
      atMs: at,
      targets: [tgt(ids[0], "az1", "healthy"), tgt(ids[1], "az2", bad(r) ? "unhealthy" : "healthy")],
    });
    for (let k = 0; k < 4; k++) {
      const addr = k % 2 ? "10.0.2.10" : "10.0.1.10";
      records.push(rec(seq++, at + 2000 + k * 1500, stalled(r, addr) ? 3005 : 10 + k, addr));
    }
  }
  return {
    records,
    stalls: detectStalls(records),
    ev: { history: tracker.history(), topologies: [topo(crossZone)] },
  };
}

/** The detector's input for a scenario, with the evidence in `context` beside its target health. */
function detectorInput(s: ReturnType<typeof scenario>, context: Record<string, unknown> = {}): DetectorInput {
  return {
    records: s.records,
    columns: arrayColumns(s.records),
    rows: arrayColumns(s.records).bySeq(),
    stalls: s.stalls,
    stallSeqs: new Set(s.stalls.map((x) => x.record.seq)),
    lag: undefined,
    settings: { resolverTimeoutMs: 5000, alpha: 0.01, timeoutMs: undefined, synSchedule: CLASSIC_LINUX },
    typical: new Map(),
    context: { targetHealth: s.ev, ...context },
  } as DetectorInput;
}

describe("target-unhealthy", () => {
  it("is high confidence when the stalls go through the node of an AZ with no healthy target (cross-zone off)", () => {
    const s = scenario(
      (r) => r >= 8 && r < 12,
      (r, a) => r >= 8 && r < 12 && a === "10.0.2.10",
    );
    const [f] = targetUnhealthyFindings(s.records, s.stalls, s.ev);
    expect(f?.confidence).toBe("high");
    expect(f?.stalls).toHaveLength(8);
    expect(f?.evidence).toMatchObject({ stallsThroughDarkAzNode: 8, darkZones: [{ az: "az2" }] });
    expect(f?.summary).toContain("az2");
    expect(f?.nextStep).toContain("cross-zone");
  });

  it("does not blame a dark AZ for stalls through another AZ's node, nor stalls outside the spans", () => {
    // az2 is dark in rounds 8-11, but the stalls are on az1's node in rounds 0-3.
    const s = scenario(
      (r) => r >= 8 && r < 12,
      (r, a) => r < 4 && a === "10.0.1.10",
    );
    expect(s.stalls.length).toBe(8);
    expect(targetUnhealthyFindings(s.records, s.stalls, s.ev)).toEqual([]);
  });

  it("withholds the finding when stalls are no more frequent during the unhealthy spans than outside them", () => {
    // Unhealthy every other 20 s; stalls spread evenly over all rounds through az1's node only, with cross-zone on.
    const s = scenario(
      (r) => r % 4 < 2,
      (r, a) => a === "10.0.1.10" && r % 2 === 0,
      true,
    );
    const res = targetUnhealthyDetector.detect(detectorInput(s));
    expect(res.candidate).toBeUndefined();
    expect(res.notes?.[0]).toContain("withheld");
  });

  it("coincidence with a degraded target (requests through API Gateway: no node mapping) is reported with its states and reasons", () => {
    const s = scenario(
      (r) => r >= 8 && r < 12,
      (r, a) => r >= 8 && r < 12 && a === "10.0.2.10",
      true,
    );
    for (const r of s.records) r.remoteAddress = "198.51.100.7";
    const [f] = targetUnhealthyFindings(s.records, s.stalls, s.ev);
    expect(f?.id).toBe(findingSpec("target-unhealthy")?.id);
    expect(f?.stalls).toHaveLength(8);
    expect(f?.evidence).toMatchObject({
      stallsThroughDarkAzNode: 0,
      targets: [{ targetId: "b", state: "unhealthy", reason: "Target.FailedHealthChecks", az: "az2" }],
    });
    expect(["medium", "high"]).toContain(f?.confidence);
  });

  it("does not claim a stall whose trace names a healthy target as the one that served it", () => {
    // Targets registered by IP; 10.0.9.2 is unhealthy in rounds 8–11; every request in those rounds stalls.
    const bad = (r: number) => r >= 8 && r < 12;
    const { records, stalls, ev } = scenario(bad, bad, true, ["10.0.9.1", "10.0.9.2"]);
    for (const r of records) r.remoteAddress = "198.51.100.7";
    expect(stalls).toHaveLength(16);
    // X-Ray names the serving target of 12 stalls: 4 on the healthy one, 4 on the bad one, 4 by instance id
    // (not comparable with IP-registered targets); 4 stalls untraced.
    const servedBy = new Map<number, string>();
    stalls.forEach((st, k) => {
      if (k % 4 === 0) servedBy.set(st.record.seq, "10.0.9.1");
      else if (k % 4 === 1) servedBy.set(st.record.seq, "10.0.9.2");
      else if (k % 4 === 2) servedBy.set(st.record.seq, "i-0123456789abcdef0");
    });
    const { candidate } = targetUnhealthyCandidate(records, stalls, ev, new Set(), servedBy);
    const healthyServed = stalls.filter((_, k) => k % 4 === 0).map((st) => st.record.seq);
    expect(candidate?.stalls).toHaveLength(12);
    for (const seqServedByHealthy of healthyServed)
      expect(candidate?.stalls).not.toContain(seqServedByHealthy);
    // Without the traces every stall of the span is the degraded target's.
    expect(targetUnhealthyCandidate(records, stalls, ev).candidate?.stalls).toHaveLength(16);
  });

  it("does not blame a dark AZ for a stall served in another AZ without a detour's SYN retransmission", () => {
    // Cross-zone off; az2's only target (10.0.9.2) is unhealthy in rounds 8-11, so az2 is dark; every request of
    // those rounds stalls, all through API Gateway (no NLB node address to map).
    const s = scenario(
      (r) => r >= 8 && r < 12,
      (r) => r >= 8 && r < 12,
      false,
      ["10.0.9.1", "10.0.9.2"],
    );
    for (const r of s.records) r.remoteAddress = "198.51.100.7";
    expect(s.stalls).toHaveLength(16);
    const breakdown = (
      seq: number,
      host: string,
      beforeBackendMs: number,
      availabilityZone?: string,
    ): StallBreakdown => ({
      seq,
      traceId: `1-00000000-${String(seq).padStart(24, "0")}`,
      clientTotalMs: 3005,
      clientPhasesMs: { total: 3005 },
      gateway: { name: "api/prod", durationMs: 3000 },
      backend: { name: "app", durationMs: 2, host, ...(availabilityZone ? { availabilityZone } : {}) },
      partsMs: { outsideGateway: 3003 - beforeBackendMs, gatewayToBackend: beforeBackendMs, backend: 2 },
      dominant: beforeBackendMs > 1500 ? "gatewayToBackend" : "outsideGateway",
      notes: [],
    });
    // X-Ray, by k % 8: 0-1 served by az1's target with the AZ in the segment and 5 ms before the backend; 2-3 the
    // same without the AZ (it comes from the target-health history); 4-5 served in az1 after 1003 ms before the
    // backend (a SYN lost at az2's dark node, the connection retried: the dark AZ's); 6 served by az2's own
    // target; 7 untraced.
    const breakdowns = s.stalls.flatMap((st, k): StallBreakdown[] => {
      const seq = st.record.seq;
      switch (k % 8) {
        case 0:
        case 1:
          return [breakdown(seq, "10.0.9.1", 5, "az1")];
        case 2:
        case 3:
          return [breakdown(seq, "10.0.9.1", 5)];
        case 4:
        case 5:
          return [breakdown(seq, "10.0.9.1", 1003, "az1")];
        case 6:
          return [breakdown(seq, "10.0.9.2", 5, "az2")];
        default:
          return [];
      }
    });
    const input = (xray?: { breakdowns: StallBreakdown[] }) => detectorInput(s, xray ? { xray } : {});
    const servedInAz1Directly = s.stalls.filter((_, k) => k % 8 < 4).map((st) => st.record.seq);
    const claimed = targetUnhealthyDetector.detect(input({ breakdowns })).candidate?.stalls ?? [];
    expect(claimed).toHaveLength(8);
    for (const seq of servedInAz1Directly) expect(claimed).not.toContain(seq);
    // Without the traces every stall of the dark span is az2's.
    expect(targetUnhealthyDetector.detect(input()).candidate?.stalls).toHaveLength(16);
  });

  it("raises nothing on a healthy history or without evidence", () => {
    const s = scenario(
      () => false,
      () => false,
    );
    expect(targetUnhealthyFindings(s.records, s.stalls, s.ev)).toEqual([]);
    expect(targetUnhealthyDetector.detect({ context: {} } as DetectorInput)).toEqual({});
  });
});
