/**
 * End to end with the simulated stack: requests carrying stallwatch's own
 * trace header go through the lab (edge → API Gateway → NLB → targets), the
 * lab's request events feed the X-Ray store, the real XRayClient fetches the
 * stalls' traces, and the breakdown names the backend (the bad target); the
 * lab's target health feeds the ELBv2 endpoint that the monitor polls.
 */
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { XRayClient } from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it } from "vitest";
import { TargetHealthMonitor } from "../../src/aws/elbv2/monitor.js";
import { traceStalls } from "../../src/aws/xray/investigate.js";
import { newTraceHeader } from "../../src/aws/xray/trace-id.js";
import { xrayFindings } from "../../src/diagnose/detectors/xray.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { applyLabHealth, Elbv2State, elbv2Handler, seedLabTopology } from "../../src/lab/aws/elbv2.js";
import { type AwsLab, startAwsLab } from "../../src/lab/aws/server.js";
import { feedLabRequest, XrayStore, xrayHandler } from "../../src/lab/aws/xray.js";
import { type Lab, startLab } from "../../src/lab/index.js";
import type { RequestRecord } from "../../src/model.js";
import { hitFresh, settle } from "./lab-helpers.js";

let lab: Lab | undefined;
let aws: AwsLab | undefined;
const clients: Array<{ destroy(): void }> = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await lab?.close();
  await aws?.close();
  lab = undefined;
  aws = undefined;
});

const creds = { accessKeyId: "AKIDLAB", secretAccessKey: "lab-secret" };

describe("X-Ray and target health fed by the lab", () => {
  it("breaks bad-target stalls down to the backend from their traces", async () => {
    lab = await startLab({ scenario: "bad-target", timings: { slowMs: 800 }, seed: 7 });
    const store = new XrayStore();
    lab.events.on("request", (r) =>
      feedLabRequest(store, r, { apiName: "lab-api", stage: lab?.stage ?? "test", delayMs: 150 }),
    );
    aws = await startAwsLab({ handlers: [xrayHandler(store)] });
    const xray = new XRayClient({ endpoint: aws.url, region: "us-west-2", credentials: creds });
    clients.push(xray);

    const records: RequestRecord[] = [];
    for (let i = 0; i < 9; i++) {
      const atMs = Date.now();
      const trace = newTraceHeader(atMs, true);
      const hit = await hitFresh(`${lab.routes["execute-api"]}/`, { "x-amzn-trace-id": trace.value });
      expect(hit.status).toBe(200);
      records.push({
        atMs,
        seq: i,
        seriesSeq: i,
        api: "lab",
        route: "execute-api",
        endpoint: "/",
        method: "GET",
        url: lab.routes["execute-api"],
        tag: "probe",
        connection: "fresh",
        phasesMs: { ttfb: hit.ms, total: hit.ms },
        bytes: hit.body.length,
        reused: false,
        assertions: [],
        hopHeaders: {},
        ok: true,
        traceId: trace.traceId,
        ...(hit.headers["x-amzn-requestid"] ? { requestId: hit.headers["x-amzn-requestid"] } : {}),
      });
    }
    await settle(50);
    // An absolute threshold: on a loaded machine the fast requests' median can exceed 1/5 of 800 ms.
    const stalls = detectStalls(records, { stallMs: 500, stallFactor: 5, stallFloorMs: 250 });
    // The lab says which requests the bad target served (its delay is injected at the target hop).
    const slowByLab = records
      .filter((r) =>
        lab?.events.findRequest(r.traceId ?? "")?.hops.some((h) => h.injectedReason?.includes("bad-target")),
      )
      .map((r) => r.seq);
    expect(slowByLab.length).toBeGreaterThanOrEqual(2);
    for (const seq of slowByLab) expect(stalls.map((s) => s.record.seq)).toContain(seq);
    const res = await traceStalls(xray, stalls, { pollTimeoutMs: 10_000, initialDelayMs: 100 });
    expect(res.fetch.missing).toEqual([]);
    expect(res.evidence.breakdowns).toHaveLength(stalls.length);
    for (const b of res.evidence.breakdowns.filter((x) => slowByLab.includes(x.seq))) {
      expect(b.dominant).toBe("backend");
      expect(b.partsMs.backend).toBeGreaterThan(750);
      expect(b.gateway.name).toBe(`lab-api/${lab.stage}`);
    }
    const backend = xrayFindings(stalls, res.evidence.breakdowns).find((f) => f.id === "backend-latency");
    expect(backend?.stalls).toEqual(expect.arrayContaining(slowByLab));
  });

  it("follows the lab's target health (az-down) through the ELBv2 endpoint", async () => {
    lab = await startLab({ scenario: "az-down", seed: 3 });
    const state = new Elbv2State();
    const arns = seedLabTopology(state, lab.targets, { crossZone: lab.nlb.crossZone });
    const current = lab;
    lab.events.on("target-health", (h) => {
      const t = current.targets.find((x) => x.id === h.targetId);
      if (t)
        applyLabHealth(state, arns.targetGroupArn, t.address, {
          state: h.to,
          ...(h.reason ? { reason: h.reason } : {}),
        });
    });
    aws = await startAwsLab({ handlers: [elbv2Handler(state)] });
    const elb = new ElasticLoadBalancingV2Client({
      endpoint: aws.url,
      region: "us-west-2",
      credentials: creds,
    });
    clients.push(elb);
    const monitor = new TargetHealthMonitor(elb, [{ arn: arns.targetGroupArn }]);
    const round = await monitor.round();
    expect(round.failures).toEqual([]);
    const down = lab.targets.filter((t) => t.health.state !== "healthy");
    expect(down.length).toBeGreaterThan(0);
    const snap = round.snapshots[0]!;
    for (const t of down)
      expect(snap.targets.find((x) => x.id === t.address)).toMatchObject({
        state: "unhealthy",
        az: t.availabilityZone,
      });
    const ev = monitor.evidence();
    expect(ev.topologies[0]).toMatchObject({ crossZone: false });
    expect(ev.history.zones.map((z) => z.az)).toContain(down[0]!.availabilityZone);
  });
});
