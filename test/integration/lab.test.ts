/**
 * The lab's stack on loopback, hit with undici: the headers of each hop, the
 * Host API Gateway sends, the stage path, the event log, clean shutdown.
 * Scenario behaviour is in lab-scenarios.test.ts.
 */
import { Client } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigSchema } from "../../src/config/schema.js";
import { UsageError } from "../../src/errors.js";
import { describeLab, type Lab, type LabRequestRecord, labConfig, startLab } from "../../src/lab/index.js";
import { hitFresh, hitOn, settle } from "./lab-helpers.js";

let lab: Lab | undefined;
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
  await lab?.close();
  lab = undefined;
});

const EXPECTED: [string, unknown][] = [
  ["/", { status: "OK" }],
  ["/header", { header: "flaskapp-api.example.com" }],
  ["/foo/bar", { foo: "bar" }],
  ["/foo/baz", { foo: "baz" }],
];

function expectApiGatewayHeaders(h: Record<string, string>): void {
  expect(h["x-amzn-requestid"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(h["x-amz-apigw-id"]).toMatch(/^[A-Za-z0-9]{15}=$/);
  expect(h["x-amzn-trace-id"]).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}(;|$)/);
}

describe("lab routes", () => {
  it("serves the original API on both routes, with each hop's headers", async () => {
    lab = await startLab({ scenario: "healthy", seed: 1 });
    expect(lab.routes["execute-api"]).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/test$/);
    for (const [path, body] of EXPECTED) {
      const cd = await hitFresh(lab.routes["custom-domain"] + path);
      expect(cd.status).toBe(200);
      expect(cd.json).toEqual(body);
      expectApiGatewayHeaders(cd.headers);
      expect(cd.headers.via).toMatch(/^1\.1 [0-9a-f]{32}\.cloudfront\.net \(CloudFront\)$/);
      expect(cd.headers["x-cache"]).toBe("Miss from cloudfront");
      expect(cd.headers["x-amz-cf-pop"]).toBe("SFO53-P1");
      expect(cd.headers["x-amz-cf-id"]).toMatch(/^[A-Za-z0-9]{54}==$/);
      expect(cd.headers["x-amzn-remapped-server"]).toBe("nginx/1.24.0");
      expect(cd.headers["content-length"]).toBe(String(Buffer.byteLength(cd.body)));

      const ea = await hitFresh(lab.routes["execute-api"] + path);
      expect(ea.status).toBe(200);
      expect(ea.json).toEqual(body);
      expectApiGatewayHeaders(ea.headers);
      expect(ea.headers.via).toBeUndefined();
      expect(ea.headers["x-cache"]).toBeUndefined();
      expect(ea.headers["x-amzn-remapped-server"]).toBe("nginx/1.24.0");
      expect(ea.headers["x-amzn-remapped-content-length"]).toBe(String(Buffer.byteLength(ea.body)));
      expect(ea.headers["x-amzn-remapped-date"]).toMatch(/GMT$/);
      expect(ea.headers["x-amzn-remapped-connection"]).toBe("keep-alive");
      expect(ea.headers.server).toBeUndefined();
    }
  });

  it("sends the integration's host as Host to the backend", async () => {
    lab = await startLab({ scenario: "healthy", backendHost: "api.internal.example", seed: 1 });
    for (const route of ["custom-domain", "execute-api"] as const) {
      const r = await hitFresh(`${lab.routes[route]}/header`, { host: "something-else.example" });
      expect(r.json).toEqual({ header: "api.internal.example" });
    }
  });

  it("requires the stage on execute-api and answers 403 like API Gateway without it", async () => {
    lab = await startLab({ scenario: "healthy", stage: "prod", seed: 1 });
    const origin = new URL(lab.routes["execute-api"]).origin;
    expect(lab.routes["execute-api"]).toBe(`${origin}/prod`);
    for (const path of ["/header", "/", "/prodx/header", "/test/header"]) {
      const r = await hitFresh(origin + path);
      expect(r.status, path).toBe(403);
      expect(r.json).toEqual({ message: "Forbidden" });
      expect(r.headers["x-amzn-errortype"]).toBe("ForbiddenException");
      expectApiGatewayHeaders(r.headers);
    }
    expect((await hitFresh(`${origin}/prod`)).json).toEqual({ status: "OK" });
    expect((await hitFresh(`${origin}/prod?x=1`)).json).toEqual({ status: "OK" });
    const missing = await hitFresh(`${origin}/prod/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers["x-amzn-errortype"]).toBeUndefined(); // the backend's 404, passed through
    expect((await hitFresh(`${origin}/prod/foo/a%20b`)).json).toEqual({ foo: "a b" });
    // The custom domain maps the stage itself: a stage in the path is part of the backend path.
    expect((await hitFresh(`${lab.routes["custom-domain"]}/prod/header`)).status).toBe(404);
  });

  it("keeps the client's X-Ray Root, creates one otherwise, and records both", async () => {
    lab = await startLab({ scenario: "healthy", seed: 1 });
    const root = "1-5759e988-bd862e3fe1be46a994272793";
    const mine = await hitFresh(`${lab.routes["execute-api"]}/`, {
      "x-amzn-trace-id": `Root=${root};Sampled=1`,
    });
    expect(mine.headers["x-amzn-trace-id"]).toBe(`Root=${root};Sampled=1`);
    const theirs = await hitFresh(`${lab.routes["custom-domain"]}/`);
    const created = /^Root=(1-[0-9a-f]{8}-[0-9a-f]{24})/.exec(theirs.headers["x-amzn-trace-id"] ?? "")?.[1];
    expect(created).toBeDefined();
    // The epoch in a created root is now.
    expect(Math.abs(Number.parseInt(created!.slice(2, 10), 16) - Date.now() / 1000)).toBeLessThan(60);
    await settle();
    const byTrace = lab.events.findRequest(root);
    expect(byTrace?.sampled).toBe(true);
    expect(byTrace?.requestId).toBe(mine.headers["x-amzn-requestid"]);
    expect(lab.events.findRequest(created!)?.route).toBe("custom-domain");
  });

  it("spreads fresh connections over targets on distinct loopback addresses; a reused connection stays", async () => {
    lab = await startLab({ scenario: "healthy", seed: 1 });
    const addresses = new Set(lab.targets.map((t) => `${t.address}:${t.port}`));
    expect(addresses.size).toBe(3);
    expect(lab.targets.map((t) => t.availabilityZone)).toEqual(["us-west-2a", "us-west-2b", "us-west-2c"]);
    if (lab.targets[0]?.address === "127.0.0.11") {
      expect(lab.targets.map((t) => t.address)).toEqual(["127.0.0.11", "127.0.0.12", "127.0.0.13"]);
    }
    for (let i = 0; i < 6; i++) await hitFresh(`${lab.routes["execute-api"]}/`);
    await settle();
    const served = lab.events.requests().map((r) => r.targetId);
    expect(served).toEqual(["t1", "t2", "t3", "t1", "t2", "t3"]);
    const targetHops = lab.events.requests().map((r) => r.hops.find((h) => h.hop === "target")?.detail);
    expect(new Set(targetHops).size).toBe(3);

    const client = new Client(new URL(lab.routes["custom-domain"]).origin);
    clients.push(client);
    const before = lab.events.requests().length;
    for (let i = 0; i < 4; i++)
      expect((await hitOn(client, `${lab.routes["custom-domain"]}/`)).status).toBe(200);
    await settle();
    const reused = lab.events.requests().slice(before);
    expect(new Set(reused.map((r) => r.targetId)).size).toBe(1);
    expect(new Set(reused.map((r) => r.nlbConnectionSeq)).size).toBe(1);
    expect(reused.map((r) => r.hops.find((h) => h.hop === "integration")?.detail)).toEqual([
      "new connection",
      "reused connection",
      "reused connection",
      "reused connection",
    ]);
  });

  it("records every hop of a request, in order, and emits it", async () => {
    lab = await startLab({ scenario: "healthy", seed: 1 });
    const seen: LabRequestRecord[] = [];
    lab.events.on("request", (r) => seen.push(r));
    const r = await hitFresh(`${lab.routes["custom-domain"]}/foo/bar`);
    await settle();
    expect(seen).toHaveLength(1);
    const rec = seen[0]!;
    expect(rec).toMatchObject({
      route: "custom-domain",
      method: "GET",
      path: "/foo/bar",
      backendPath: "/foo/bar",
      status: 200,
      integrationStatus: 200,
      requestId: r.headers["x-amzn-requestid"],
      extendedRequestId: r.headers["x-amz-apigw-id"],
      cfId: r.headers["x-amz-cf-id"],
      targetId: "t1",
    });
    expect(rec.hops.map((h) => h.hop)).toEqual(["edge", "apigw", "integration", "nlb", "target"]);
    for (const h of rec.hops) {
      expect(h.endMs).toBeGreaterThanOrEqual(h.startMs);
      expect(h.endMs).toBeLessThanOrEqual(rec.totalMs!);
    }
    const opened = lab.events.connections().filter((c) => c.kind === "open");
    expect(opened).toHaveLength(1);
    expect(opened[0]?.targetId).toBe("t1");
  });

  it("gives a valid config for the prober and describes itself", async () => {
    lab = await startLab({ scenario: "bad-target", seed: 7 });
    const parsed = ConfigSchema.safeParse(labConfig(lab));
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    const api = parsed.data!.apis[0]!;
    expect(api.routes.map((r) => [r.name, r.baseUrl])).toEqual([
      ["custom-domain", lab.routes["custom-domain"]],
      ["execute-api", lab.routes["execute-api"]],
    ]);
    expect(api.endpoints?.map((e) => [e.path, e.expect?.json])).toEqual(EXPECTED);
    const text = describeLab(lab);
    expect(text).toContain(lab.routes["custom-domain"]);
    expect(text).toContain(lab.routes["execute-api"]);
    expect(text).toContain("bad-target");
    expect(text).toContain("seed 7");
    for (const t of lab.targets)
      expect(text).toContain(`${t.id}  ${t.address}:${t.port}  ${t.availabilityZone}`);
  });

  it("runs on IPv6 loopback", async () => {
    lab = await startLab({ scenario: "healthy", host: "::1", seed: 1 });
    expect(lab.routes["execute-api"]).toMatch(/^http:\/\/\[::1\]:\d+\/test$/);
    expect((await hitFresh(`${lab.routes["custom-domain"]}/header`)).json).toEqual({
      header: "flaskapp-api.example.com",
    });
    expect(new Set(lab.targets.map((t) => t.port)).size).toBe(3);
  });

  it("rejects unknown scenarios and bad timings with usage errors", async () => {
    await expect(startLab({ scenario: "nope" as "healthy" })).rejects.toBeInstanceOf(UsageError);
    await expect(startLab({ scenario: "healthy", timings: { slowMs: -1 } })).rejects.toThrow(/slowMs/);
    await expect(startLab({ scenario: "slow-backend", timings: { stallProbability: 2 } })).rejects.toThrow(
      /stallProbability/,
    );
  });
});

describe("lab target state", () => {
  it("lets a target's reported health be pinned (draining) and released, recording each transition", async () => {
    lab = await startLab({ scenario: "healthy", seed: 1 });
    const t2 = lab.targets[1]!;
    expect(t2.health.state).toBe("healthy");
    const before = Date.now();
    lab.setTargetHealth("t2", { state: "draining", reason: "Target.DeregistrationInProgress" });
    expect(t2.health).toEqual({ state: "draining", reason: "Target.DeregistrationInProgress" });
    lab.setTargetHealth("t2", undefined);
    expect(t2.health.state).toBe("healthy");
    expect(t2.history.map((h) => [h.from, h.to])).toEqual([
      [undefined, "healthy"],
      ["healthy", "draining"],
      ["draining", "healthy"],
    ]);
    expect(lab.targetHealthAt("t2", before - 60_000)).toBeUndefined(); // before registration
    expect(lab.targetHealthAt("t2", Date.now())?.state).toBe("healthy");
    expect(() => lab?.setTargetHealth("t9", undefined)).toThrow(UsageError);
  });

  it("stops a target's injected delay when the client goes away", async () => {
    lab = await startLab({ scenario: "bad-target", timings: { slowMs: 20_000 }, seed: 1 });
    await hitFresh(`${lab.routes["execute-api"]}/`);
    await hitFresh(`${lab.routes["execute-api"]}/`);
    await expect(hitFresh(`${lab.routes["execute-api"]}/`, {}, 150)).rejects.toThrow();
    await settle(100);
    const abandoned = lab.events.requests()[2]!;
    expect(abandoned.targetId).toBe("t3");
    const target = abandoned.hops.find((h) => h.hop === "target");
    expect(target?.injectedDelayMs).toBeGreaterThanOrEqual(20_000);
    expect(target?.endMs).toBeLessThan(5000); // ended with the connection, not after 20 s
  });
});

describe("lab shutdown", () => {
  function tcpHandles(): number {
    return process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP")).length;
  }

  it("closes promptly with keep-alive sockets open and a stalled request in flight", async () => {
    const handlesBefore = tcpHandles();
    const l = await startLab({ scenario: "bad-target", timings: { slowMs: 20_000 }, seed: 1 });
    const client = new Client(new URL(l.routes["custom-domain"]).origin);
    clients.push(client);
    await hitOn(client, `${l.routes["custom-domain"]}/`); // keep-alive connection through every hop
    await hitFresh(`${l.routes["execute-api"]}/`);
    const stalled = hitFresh(`${l.routes["execute-api"]}/`).then(
      (r) => r.status,
      () => "failed",
    ); // third connection: the bad target, 20 s
    await settle(50);
    const t0 = performance.now();
    await l.close();
    const closeMs = performance.now() - t0;
    expect(closeMs).toBeLessThan(2000);
    expect(await stalled).toBe("failed");
    await l.close(); // idempotent
    await client.destroy();
    clients.length = 0;
    await settle(50);
    expect(tcpHandles()).toBeLessThanOrEqual(handlesBefore);
  });
});
