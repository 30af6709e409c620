/**
 * Each lab scenario behaves as its description says, observed from outside
 * with undici and cross-checked with the lab's own event log. Timings are
 * shrunk to a few hundred ms; "slow" means at least 90% of the injected delay.
 */
import { Client } from "undici";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BASE_TIMINGS,
  getScenario,
  type Lab,
  type LabRouteName,
  resolveTimings,
  SCENARIO_NAMES,
  SCENARIOS,
  startLab,
} from "../../src/lab/index.js";
import { createRng } from "../../src/lab/rng.js";
import { type Hit, hitFresh, hitOn, settle } from "./lab-helpers.js";

let labs: Lab[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  await Promise.all(labs.map((l) => l.close()));
  labs = [];
});

async function open(...args: Parameters<typeof startLab>): Promise<Lab> {
  const lab = await startLab(...args);
  labs.push(lab);
  return lab;
}

const DELAY_MS = 400;
// Timers never fire early, so an injected delay is a hard lower bound: "slow" cannot be a false positive,
// and on loopback an uninjected request stays far below 90% of 400 ms even on a loaded machine.
const isSlow = (h: Hit) => h.ms >= DELAY_MS * 0.9;
const isFast = (h: Hit) => !isSlow(h);

async function freshSeries(lab: Lab, route: LabRouteName, n: number, path = "/"): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (let i = 0; i < n; i++) hits.push(await hitFresh(lab.routes[route] + path));
  return hits;
}

describe("scenario registry", () => {
  it("lists every scenario once, with a description", () => {
    expect(SCENARIO_NAMES).toEqual([
      "healthy",
      "bad-target",
      "cold-start",
      "slow-backend",
      "edge-only",
      "az-down",
      "reset",
      "throttle",
      "keepalive-mismatch",
      "backlog",
      "deploy",
      "broken-ipv6",
    ]);
    for (const s of SCENARIOS) expect(s.description.length).toBeGreaterThan(20);
  });

  it("resolves timings: base, then the scenario's defaults, then the caller's", () => {
    expect(resolveTimings("healthy").stallProbability).toBe(BASE_TIMINGS.stallProbability);
    expect(resolveTimings("edge-only").stallProbability).toBe(0.2);
    expect(resolveTimings("edge-only", { stallProbability: 0.7 }).stallProbability).toBe(0.7);
    expect(resolveTimings("reset").nlbIdleTimeoutMs).toBe(2000);
    expect(BASE_TIMINGS.integrationTimeoutMs).toBe(29_000);
  });

  it("cold-start: requests arriving during a cold start wait for the same start to finish", () => {
    const t = resolveTimings("cold-start", { jitterMs: 0, idleThresholdMs: 100, coldMs: 50 });
    const rt = getScenario("cold-start").create(t, createRng(1));
    expect(rt.targetDelay(0, 1000)?.delayMs).toBe(50); // cold at start
    expect(rt.targetDelay(1, 1020)?.delayMs).toBe(30); // joined: warm at 1050
    rt.targetDone(1050);
    expect(rt.targetDelay(2, 1100)).toBeUndefined(); // idle 50 ms < 100 ms
    expect(rt.targetDelay(0, 1300)?.reason).toBe("cold-start"); // idle 200 ms
  });
});

describe("lab scenarios", () => {
  beforeAll(async () => {
    // Warm up the JIT and the loopback path so the first measured request is not an outlier.
    const lab = await startLab({ scenario: "healthy", seed: 1 });
    try {
      for (const route of ["custom-domain", "execute-api"] as const) await freshSeries(lab, route, 5);
    } finally {
      await lab.close();
    }
  });

  it("healthy: every request is fast on both routes", async () => {
    const lab = await open({ scenario: "healthy", seed: 3 });
    for (const route of ["custom-domain", "execute-api"] as const) {
      const hits = await freshSeries(lab, route, 6);
      expect(hits.every((h) => h.status === 200)).toBe(true);
    }
    await settle();
    for (const r of lab.events.requests()) {
      const injected = r.hops.reduce((s, h) => s + h.injectedDelayMs, 0);
      expect(injected).toBeLessThanOrEqual(3);
    }
    expect(lab.targets.every((t) => t.health.state === "healthy")).toBe(true);
  });

  it("bad-target: exactly every 3rd fresh connection is slow, on both routes; the target's health flaps", async () => {
    const lab = await open({
      scenario: "bad-target",
      timings: { slowMs: DELAY_MS, healthFlapPeriodMs: 200, healthCheckIntervalMs: 20 },
      seed: 3,
    });
    for (const route of ["execute-api", "custom-domain"] as const) {
      const hits = await freshSeries(lab, route, 6, "/header");
      expect(hits.map((h) => h.json)).toEqual(hits.map(() => ({ header: lab.backendHost })));
      expect(hits.map(isSlow), route).toEqual([false, false, true, false, false, true]);
      expect(hits.filter((_, i) => i % 3 !== 2).every(isFast)).toBe(true);
    }
    await settle();
    const records = lab.events.requests();
    expect(records.filter((r) => r.targetId === "t3")).toHaveLength(4);
    for (const r of records) {
      const target = r.hops.find((h) => h.hop === "target");
      expect(target?.injectedReason?.includes("bad-target")).toBe(r.targetId === "t3");
    }
    // A reused connection on a good target stays fast.
    const client = new Client(new URL(lab.routes["execute-api"]).origin);
    clients.push(client);
    const reused = [];
    for (let i = 0; i < 4; i++) reused.push(await hitOn(client, `${lab.routes["execute-api"]}/`));
    expect(reused.every(isFast)).toBe(true);

    await settle(250); // more than one flap period
    const [t1, , t3] = lab.targets;
    expect(t1?.history.map((h) => h.to)).toEqual(["healthy"]);
    const states = t3?.history.map((h) => h.to) ?? [];
    expect(states[0]).toBe("healthy");
    expect(states).toContain("unhealthy");
    const unhealthy = t3?.history.find((h) => h.to === "unhealthy");
    expect(unhealthy).toMatchObject({ from: "healthy", reason: "Target.Timeout" });
    expect(lab.targetHealthAt("t3", unhealthy!.atMs)?.state).toBe("unhealthy");
    expect(lab.events.healthTransitions().some((h) => h.targetId === "t3" && h.to === "unhealthy")).toBe(
      true,
    );
  });

  it("bad-target past the integration timeout: API Gateway answers 504 and the edge passes it on", async () => {
    const lab = await open({
      scenario: "bad-target",
      timings: { slowMs: 5000, integrationTimeoutMs: 200 },
      seed: 3,
    });
    const ea = await freshSeries(lab, "execute-api", 3);
    expect(ea.map((h) => h.status)).toEqual([200, 200, 504]);
    const timedOut = ea[2]!;
    expect(timedOut.json).toEqual({ message: "Endpoint request timed out" });
    expect(timedOut.headers["x-amzn-requestid"]).toBeDefined();
    expect(timedOut.ms).toBeGreaterThanOrEqual(180);
    expect(timedOut.ms).toBeLessThan(2000);
    const cd = await freshSeries(lab, "custom-domain", 3);
    expect(cd.map((h) => h.status)).toEqual([200, 200, 504]);
    expect(cd[2]?.headers["x-cache"]).toBe("Error from cloudfront");
    await settle();
    const rec = lab.events.findRequest(timedOut.headers["x-amzn-requestid"]!);
    expect(rec?.hops.find((h) => h.hop === "integration")?.detail).toBe("timeout");
  });

  it("cold-start: the first request and the first after an idle gap are slow, the rest fast", async () => {
    const lab = await open({
      scenario: "cold-start",
      timings: { idleThresholdMs: 250, coldMs: DELAY_MS },
      seed: 3,
    });
    const client = new Client(new URL(lab.routes["execute-api"]).origin);
    clients.push(client);
    const url = `${lab.routes["execute-api"]}/`;
    const first = [await hitOn(client, url), await hitOn(client, url), await hitFresh(url)];
    expect(first.map(isSlow)).toEqual([true, false, false]);
    expect(first.slice(1).every(isFast)).toBe(true);
    await settle(400); // idle longer than the threshold
    const second = [await hitFresh(`${lab.routes["custom-domain"]}/`), await hitOn(client, url)];
    expect(second.map(isSlow)).toEqual([true, false]);
    await settle();
    const reasons = lab.events
      .requests()
      .map((r) => r.hops.find((h) => h.hop === "target")?.injectedReason ?? "");
    expect(reasons.map((r) => r.includes("cold-start"))).toEqual([true, false, false, true, false]);
  });

  it("slow-backend: random stalls, reproducible from the seed", async () => {
    const timings = { stallProbability: 0.4, stallMs: DELAY_MS };
    const runs: boolean[][] = [];
    for (const _ of [1, 2]) {
      const lab = await open({ scenario: "slow-backend", timings, seed: 12345 });
      const hits = await freshSeries(lab, "execute-api", 8);
      await settle();
      const injected = lab.events
        .requests()
        .map((r) => r.hops.some((h) => h.injectedReason?.includes("backend-stall")));
      expect(hits.map(isSlow)).toEqual(injected);
      expect(hits.filter((h) => !isSlow(h)).every(isFast)).toBe(true);
      runs.push(injected);
    }
    expect(runs[0]).toEqual(runs[1]);
    const stalls = runs[0]!.filter(Boolean).length;
    expect(stalls).toBeGreaterThan(0);
    expect(stalls).toBeLessThan(8);
  });

  it("edge-only: only the custom-domain route stalls, at the edge", async () => {
    const lab = await open({
      scenario: "edge-only",
      timings: { stallProbability: 1, stallMs: DELAY_MS },
      seed: 3,
    });
    const cd = await freshSeries(lab, "custom-domain", 3);
    const ea = await freshSeries(lab, "execute-api", 3);
    expect(cd.every(isSlow)).toBe(true);
    expect(ea.every(isFast)).toBe(true);
    expect(cd.every((h) => h.status === 200 && h.headers["x-cache"] === "Miss from cloudfront")).toBe(true);
    await settle();
    for (const r of lab.events.requests()) {
      const edge = r.hops.find((h) => h.hop === "edge");
      if (r.route === "custom-domain") expect(edge?.injectedReason).toBe("edge-origin-retry");
      else expect(edge).toBeUndefined();
      expect(r.hops.find((h) => h.hop === "target")?.injectedDelayMs).toBeLessThanOrEqual(3);
    }
  });

  it("az-down: connections to the dead AZ stall before a healthy target answers", async () => {
    const lab = await open({ scenario: "az-down", timings: { connectStallMs: DELAY_MS }, seed: 3 });
    const hits = await freshSeries(lab, "execute-api", 6);
    expect(hits.map(isSlow)).toEqual([false, false, true, false, false, true]);
    await settle();
    const records = lab.events.requests();
    expect(records.some((r) => r.targetId === "t3")).toBe(false);
    const stalled = records.filter((r) => r.hops.some((h) => h.hop === "nlb" && h.injectedDelayMs > 0));
    expect(stalled.map((r) => r.nlbConnectionSeq)).toEqual([2, 5]);
    expect(lab.targets[2]?.health).toMatchObject({ state: "unhealthy", reason: "Target.FailedHealthChecks" });
    expect(lab.targets[2]?.availabilityZone).toBe("us-west-2c");
  });

  it("reset: a reused connection idle past the NLB timeout gets a 500 from a reset; fresh ones work", async () => {
    const lab = await open({ scenario: "reset", timings: { nlbIdleTimeoutMs: 150 }, seed: 3 });
    const client = new Client(new URL(lab.routes["execute-api"]).origin);
    clients.push(client);
    const url = `${lab.routes["execute-api"]}/`;
    expect((await hitOn(client, url)).status).toBe(200);
    expect((await hitOn(client, url)).status).toBe(200); // not idle yet
    await settle(300);
    const stale = await hitOn(client, url);
    expect(stale.status).toBe(500);
    expect(stale.json).toEqual({ message: "Internal server error" });
    expect(stale.headers["x-amzn-errortype"]).toBe("InternalServerErrorException");
    expect((await hitOn(client, url)).status).toBe(200); // a new VPC-link connection
    expect((await hitFresh(url)).status).toBe(200);
    await settle();
    expect(lab.events.connections().filter((c) => c.kind === "reset")).toHaveLength(1);
    const rec = lab.events.findRequest(stale.headers["x-amzn-requestid"]!);
    expect(rec?.hops.find((h) => h.hop === "integration")?.detail).toBe("ECONNRESET");
  });

  it("keepalive-mismatch: fresh clients, one pooled VPC-link connection; past the target's keep-alive a 500 from the target's RST", async () => {
    const lab = await open({ scenario: "keepalive-mismatch", timings: { targetKeepAliveMs: 200 }, seed: 3 });
    const url = `${lab.routes["execute-api"]}/`;
    expect((await hitFresh(url)).status).toBe(200);
    await settle(50);
    expect((await hitFresh(url)).status).toBe(200); // the pooled connection, still open at the target
    await settle(400);
    const stale = await hitFresh(url); // the target closed it 200 ms after its last response; the pool did not look
    expect(stale.status).toBe(500);
    expect(stale.headers["x-amzn-errortype"]).toBe("InternalServerErrorException");
    expect((await hitFresh(url)).status).toBe(200); // a new connection
    await settle();
    const kinds = lab.events.connections().map((c) => c.kind);
    expect(kinds.filter((k) => k === "open")).toHaveLength(2);
    expect(kinds.filter((k) => k === "target-reset")).toHaveLength(1);
    expect(kinds).not.toContain("reset");
    const rec = lab.events.findRequest(stale.headers["x-amzn-requestid"]!);
    expect(rec?.hops.find((h) => h.hop === "integration")?.detail).toBe("ECONNRESET");
  });
});
