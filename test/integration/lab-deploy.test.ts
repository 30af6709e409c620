/**
 * The lab's `deploy` scenario observed from outside: undici requests on a reused connection and on fresh ones,
 * the lab's event log, and DescribeTargetHealth through the real ELBv2 SDK client against the lab's endpoint.
 * Timings shrunk: the deploy starts 200 ms after the first connection, each target drains 600 ms.
 */
import {
  DescribeTargetGroupAttributesCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { Client } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { type LabAws, startLabAws } from "../../src/lab/aws/feed.js";
import { type Lab, startLab } from "../../src/lab/index.js";
import { type Hit, hitFresh, hitOn, settle } from "./lab-helpers.js";

const T = {
  deployStartMs: 200,
  deregistrationDelayMs: 600,
  restartMs: 150,
  initialMs: 300,
  drainSlowMs: 250,
  healthCheckIntervalMs: 25,
};
const STEP = T.deregistrationDelayMs + T.restartMs + T.initialMs;

let lab: Lab | undefined;
let aws: LabAws | undefined;
const clients: Array<{ destroy(): unknown }> = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.destroy();
  await aws?.close();
  await lab?.close();
});

describe("lab scenario deploy", { timeout: 30_000 }, () => {
  it("drains one target at a time: no new flows to it, its old flow answered late then reset; ELBv2 reports the same states", async () => {
    lab = await startLab({ scenario: "deploy", timings: T, seed: 11 });
    aws = await startLabAws(lab, { nlbMetricsIntervalMs: 60_000 });
    const elbv2 = new ElasticLoadBalancingV2Client({
      endpoint: aws.url,
      region: aws.region,
      credentials: { accessKeyId: "a", secretAccessKey: "b" },
      maxAttempts: 1,
    });
    clients.push(elbv2);
    const url = `${lab.routes["execute-api"]}/`;
    const reused = new Client(new URL(url).origin);
    clients.push(reused);
    const t0 = performance.now();
    const elapsed = () => performance.now() - t0;
    const at = (h: Hit) => lab!.events.findRequest(h.headers["x-amzn-requestid"]!);

    // The first request opens the VPC link's flow (the schedule's origin) on target t1 (round robin's first).
    const first = await hitOn(reused, url);
    expect(first.status).toBe(200);
    expect(at(first)?.targetId).toBe("t1");

    const reusedHits: Array<{ t: number; hit: Hit }> = [];
    const freshHits: Array<{ t: number; hit: Hit }> = [];
    const reported: Array<{ t: number; states: Record<string, string> }> = [];
    while (elapsed() < T.deployStartMs + 3 * STEP + 300) {
      const t = elapsed();
      const [r, f, h] = await Promise.all([
        hitOn(reused, url),
        hitFresh(url),
        elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: aws.targetGroupArn })),
      ]);
      reusedHits.push({ t, hit: r });
      freshHits.push({ t, hit: f });
      reported.push({
        t,
        states: Object.fromEntries(
          (h.TargetHealthDescriptions ?? []).map((d) => [d.Target?.Id ?? "?", d.TargetHealth?.State ?? "?"]),
        ),
      });
      await settle(20);
    }
    await settle(50);

    // New flows never go to a target that is draining, deregistered or registering at the time (the reported
    // state lags the routing by one health evaluation, 25 ms: judged 50 ms either side of the request).
    for (const { hit } of freshHits) {
      expect(hit.status).toBe(200);
      const rec = at(hit);
      const stateAt = (ms: number) => lab!.targetHealthAt(rec!.targetId!, ms)?.state;
      const deploying = stateAt(rec!.atMs - 50) !== "healthy" && stateAt(rec!.atMs + 50) !== "healthy";
      expect(deploying, `${rec?.targetId} at ${rec?.atMs}`).toBe(false);
    }
    // The reused flow: answered late while its target drained, then reset when the delay ended (a 500 from the
    // gateway, or a new VPC-link connection to another target).
    const slowOnT1 = reusedHits.filter(({ hit }) => at(hit)?.targetId === "t1" && hit.ms >= T.drainSlowMs);
    expect(slowOnT1.length).toBeGreaterThanOrEqual(1);
    const resets = lab.events.connections().filter((c) => c.kind === "reset");
    expect(resets.length).toBeGreaterThanOrEqual(1);
    expect(resets[0]?.targetId).toBe("t1");
    expect(resets[0]?.injectedReason).toBe("deregistration-delay-ended");
    const targetsOfReused = new Set(reusedHits.map(({ hit }) => at(hit)?.targetId).filter(Boolean));
    expect(targetsOfReused.size).toBeGreaterThanOrEqual(2);

    // ELBv2 (real SDK): each target draining, then gone (deregistered targets are not listed), then initial,
    // then healthy again; one target at a time.
    const seen = (id: string) => reported.map((r) => r.states[id] ?? "absent");
    for (const t of lab.targets) {
      const states = seen(t.address).filter((s, i, a) => i === 0 || a[i - 1] !== s);
      expect(states, t.address).toEqual(expect.arrayContaining(["healthy", "draining", "initial"]));
      expect(states.indexOf("draining"), t.address).toBeLessThan(states.indexOf("initial"));
      expect(states.at(-1), t.address).toBe("healthy");
    }
    for (const r of reported) {
      const deploying =
        Object.values(r.states).filter((s) => s !== "healthy").length + (3 - Object.keys(r.states).length);
      expect(deploying).toBeLessThanOrEqual(1);
    }
    const attrs = await elbv2.send(
      new DescribeTargetGroupAttributesCommand({ TargetGroupArn: aws.targetGroupArn }),
    );
    const attr = (k: string) => attrs.Attributes?.find((a) => a.Key === k)?.Value;
    expect(attr("deregistration_delay.timeout_seconds")).toBe("1");
    expect(attr("deregistration_delay.connection_termination.enabled")).toBe("true");
  });
});
