/**
 * deploy-drain over a target-health timeline from the real tracker: a rolling deploy (draining → gone →
 * initial → healthy, one target at a time) with stalls on the draining target's flows, and the negatives: a
 * healthy run, stalls outside the deploy, a flapping unhealthy target (target-unhealthy's), stalls X-Ray places
 * on a target that was not deploying, and too few requests to test.
 */
import { describe, expect, it } from "vitest";
import { TargetHealthTracker } from "../../src/aws/elbv2/tracker.js";
import { deployDrain } from "../../src/diagnose/detectors/deploy-drain.js";
import { diagnose } from "../../src/diagnose/diagnose.js";
import { CLASSIC_LINUX, typicalPhases } from "../../src/diagnose/physics.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { DetectorInput } from "../../src/diagnose/types.js";
import type {
  AwsEvidence,
  RequestRecord,
  StallBreakdown,
  TargetGroupTopology,
  TargetHealthEntry,
  XrayEvidence,
} from "../../src/model.js";
import { arrayColumns } from "../../src/record/columns.js";
import { makeRecord } from "../helpers/records.js";

const TG = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/0123456789abcdef";
const T0 = Date.UTC(2026, 0, 1, 12);
const IDS = ["10.0.1.11", "10.0.2.12", "10.0.3.13"];
const AZS = ["az1", "az2", "az3"];
const topo: TargetGroupTopology = {
  targetGroupArn: TG,
  zones: AZS.map((z) => ({ zoneName: z, nodeAddresses: [] })),
  crossZone: true,
  crossZoneSource: "target-group",
  healthCheck: { protocol: "TCP", intervalS: 5, healthyThreshold: 2, unhealthyThreshold: 2 },
  deregistrationDelayS: 300,
  connectionTermination: true,
  fetchedAtMs: T0,
};

type StateFn = (target: number, tMs: number) => string | undefined;

/** One observation a second for `seconds`; `state` gives each target's state at t (undefined: not registered). */
function timeline(seconds: number, state: StateFn) {
  const tracker = new TargetHealthTracker();
  for (let s = 0; s <= seconds; s++) {
    const targets: TargetHealthEntry[] = [];
    IDS.forEach((id, i) => {
      const st = state(i, s * 1000);
      if (st === undefined) return;
      targets.push({
        id,
        port: 80,
        az: AZS[i]!,
        state: st,
        ...(st === "draining" ? { reason: "Target.DeregistrationInProgress" } : {}),
        ...(st === "initial" ? { reason: "Elb.InitialHealthChecking" } : {}),
        ...(st === "unhealthy" ? { reason: "Target.FailedHealthChecks" } : {}),
      });
    });
    tracker.observe({ targetGroupArn: TG, atMs: T0 + s * 1000, targets });
  }
  return tracker.history();
}

/** Target i drains for 10 s from 20 + 15 i s, is gone 2 s, initial 3 s, healthy again. */
const rolling: StateFn = (i, t) => {
  const s = 20_000 + i * 15_000;
  if (t < s || t >= s + 15_000) return "healthy";
  if (t < s + 10_000) return "draining";
  if (t < s + 12_000) return undefined;
  return "initial";
};

/** A request every 250 ms for 90 s on one reused connection; `slow(t)` → served 800 ms late by `host(t)`. */
function records(slow: (tMs: number) => boolean) {
  const out: RequestRecord[] = [];
  for (let k = 0; k < 360; k++) {
    const t = k * 250;
    const total = slow(t) ? 805 : 5 + (k % 3);
    out.push(
      makeRecord({
        atMs: T0 + t,
        seq: k,
        seriesSeq: k,
        connection: "reuse",
        reused: k > 0,
        phasesMs: { ttfb: total - 1, transfer: 1, total },
        status: 200,
        bytes: 10,
      }),
    );
  }
  return out;
}

function input(recs: RequestRecord[], extra: AwsEvidence, stalls = detectStalls(recs)): DetectorInput {
  const stallSeqs = new Set(stalls.map((s) => s.record.seq));
  const columns = arrayColumns(recs);
  const rows = columns.bySeq();
  return {
    columns,
    rows,
    records: recs,
    stalls,
    stallSeqs,
    lag: undefined,
    settings: { resolverTimeoutMs: 5000, alpha: 0.01 / 8, timeoutMs: undefined, synSchedule: CLASSIC_LINUX },
    context: extra,
    typical: typicalPhases(columns, rows, stallSeqs),
  };
}

/** Stalls while the connection's target drains: the reused flow is on target 0 until its drain, then on target 1. */
const drainingOfFlow = (t: number) => (t >= 20_000 && t < 30_000) || (t >= 35_000 && t < 45_000);
const hostAt = (t: number) => (t < 30_000 ? IDS[0]! : IDS[1]!);

function xrayFor(recs: RequestRecord[], host: (t: number) => string): XrayEvidence {
  const stalls = detectStalls(recs);
  return {
    breakdowns: stalls.map(
      (s): StallBreakdown => ({
        seq: s.record.seq,
        traceId: `1-${s.record.seq}`,
        clientTotalMs: s.totalMs,
        clientPhasesMs: s.record.phasesMs,
        gateway: { name: "lab/test", durationMs: s.totalMs - 2 },
        backend: { name: "app", durationMs: s.totalMs - 5, host: host(s.record.atMs - T0) },
        partsMs: { backend: s.totalMs - 5 },
        dominant: "backend",
        notes: [],
      }),
    ),
  };
}

describe("deploy-drain", () => {
  it("names the draining targets and takes the stalls of a rolling deploy, before target-unhealthy and slow-backend", () => {
    const recs = records(drainingOfFlow);
    const history = timeline(90, rolling);
    const extra = { targetHealth: { history, topologies: [topo] }, xray: xrayFor(recs, hostAt) };
    const res = deployDrain.detect(input(recs, extra));
    const c = res.candidate;
    expect(c, JSON.stringify(res)).toBeDefined();
    expect(c?.stalls).toHaveLength(80);
    expect(c?.confidence).toBe("high");
    expect(c?.where).toContain(IDS[0]);
    expect(c?.where).toContain(IDS[1]);
    expect(c?.where).not.toContain(IDS[2]);
    expect(c?.mechanism).toContain("draining");
    expect(c?.nextStep).toContain("deregistration_delay.timeout_seconds = 300 s");
    expect(c?.nextStep).toContain("connection termination");
    // No stall came while a target was registering: no advice on registration.
    expect(c?.nextStep).not.toContain("Registering");
    expect(c?.evidence).toMatchObject({ stallsInDraining: 80, tracedToDeployingTarget: 80 });
    expect(c?.corroboration?.map((e) => e.source)).toEqual(
      expect.arrayContaining(["target-health", "x-ray"]),
    );

    const d = diagnose({ records: recs, stalls: detectStalls(recs), context: extra });
    expect(d.verdict?.cause).toBe("deploy-drain");
    expect(d.findings[0]?.stalls).toHaveLength(80);
    expect(d.findings.map((f) => f.id)).not.toContain("target-unhealthy");
  });

  it("counts failures reset at the end of the deregistration delay", () => {
    const recs = records(drainingOfFlow);
    // The request in flight when target 0's delay ended (30 s) got a 500 from the gateway.
    const r = recs.find((x) => x.atMs - T0 === 29_750)!;
    Object.assign(r, { ok: false, status: 500, error: { code: "http-5xx", phase: "ttfb", message: "500" } });
    const extra = { targetHealth: { history: timeline(90, rolling), topologies: [topo] } };
    const c = deployDrain.detect(input(recs, extra)).candidate;
    expect(c?.failures).toEqual([r.seq]);
    expect(c?.mechanism).toContain("reset when the deregistration delay ended");
  });

  it("advises on health checks when the stalls come while targets register (initial)", () => {
    // Fail-open: every target registering at once (a new target group), the app still starting.
    const allNew: StateFn = (_i, t) => (t >= 30_000 && t < 45_000 ? "initial" : "healthy");
    const recs = records((t) => t >= 30_000 && t < 45_000 && t % 1000 === 0);
    const c = deployDrain.detect(
      input(recs, { targetHealth: { history: timeline(90, allNew), topologies: [topo] } }),
    ).candidate;
    expect(c?.stalls).toHaveLength(15);
    expect(c?.mechanism).toContain("registering (initial)");
    expect(c?.nextStep).toContain("healthy threshold 2 × 5 s interval = 10 s");
    expect(c?.nextStep).toContain("not only the TCP port");
    expect(c?.nextStep).not.toContain("Draining:");
  });

  it("stays silent on a run without stalls, and on stalls that are not clustered in the deploy", () => {
    const history = timeline(90, rolling);
    const extra = { targetHealth: { history, topologies: [topo] } };
    expect(
      deployDrain.detect(
        input(
          records(() => false),
          extra,
        ),
      ).candidate,
    ).toBeUndefined();
    // Every 10th request stalls, deploy or not.
    const res = deployDrain.detect(
      input(
        records((t) => t % 2500 === 0),
        extra,
      ),
    );
    expect(res.candidate).toBeUndefined();
    expect(res.ruledOut ?? res.notes?.join(" ")).toMatch(/not shown to cluster|not tested/);
  });

  it("stays silent on a target that flaps healthy/unhealthy (target-unhealthy's), with no deploy", () => {
    const flap: StateFn = (i, t) => (i === 2 && Math.floor(t / 10_000) % 2 === 1 ? "unhealthy" : "healthy");
    const recs = records((t) => Math.floor(t / 10_000) % 2 === 1 && t % 750 === 0);
    const extra = { targetHealth: { history: timeline(90, flap), topologies: [topo] } };
    expect(deployDrain.detect(input(recs, extra))).toEqual({});
  });

  it("does not take stalls X-Ray places on a target that was not deploying", () => {
    const recs = records(drainingOfFlow);
    const extra = {
      targetHealth: { history: timeline(90, rolling), topologies: [topo] },
      xray: xrayFor(recs, () => IDS[2]!), // all on target 2, which drains only from 50 s
    };
    const res = deployDrain.detect(input(recs, extra));
    expect(res.candidate).toBeUndefined();
  });

  it("does not test with too few requests outside the deploy", () => {
    // The stalls of the whole run (its typical request), but only the requests around the first two drains.
    const all = records(drainingOfFlow);
    const kept = (r: RequestRecord) => r.atMs - T0 >= 19_000 && r.atMs - T0 < 44_000;
    const res = deployDrain.detect(
      input(
        all.filter(kept),
        { targetHealth: { history: timeline(90, rolling), topologies: [topo] } },
        detectStalls(all).filter((s) => kept(s.record)),
      ),
    );
    expect(res.candidate).toBeUndefined();
    expect(res.notes?.[0], JSON.stringify(res)).toContain("deploy-drain not tested");
  });
});
