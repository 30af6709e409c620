/**
 * Phase timing against real loopback servers: what each phase measures, which
 * phases exist in each connection mode, and that nothing else pollutes them.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createProber } from "../../src/probe/prober.js";
import { systemLookup } from "../../src/probe/resolve.js";
import type { Prober } from "../../src/probe/types.js";
import { behaviors, selfSignedCert, startServer, type TestServer, targetFor } from "../helpers/servers.js";

const HOLD_MS = 300;
const base = { maxBodyBytes: 1024 * 1024, insecureTls: false, userAgent: "stallwatch-test" };

let http: TestServer;
let https: TestServer;
let prober: Prober;

const routes = {
  "/": behaviors.json({ status: "OK" }),
  "/slow": behaviors.delayHeaders(HOLD_MS),
  "/midbody": behaviors.delayMidBody(200),
  "/hops": behaviors.json({ status: "OK" }, 200, {
    "x-amzn-RequestId": "req-123",
    "x-amz-apigw-id": "apigw-456",
    via: "1.1 abc.cloudfront.net (CloudFront)",
    "x-cache": "Miss from cloudfront",
    "x-amz-cf-pop": "SEA19-C1",
    "x-amzn-Remapped-Server": "nginx",
    "x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    "x-unrelated": "nope",
  }),
  "/echo-trace": (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
    res.writeHead(200, { "x-amzn-trace-id": String(req.headers["x-amzn-trace-id"] ?? "") });
    res.end("ok");
  },
};

beforeAll(async () => {
  http = await startServer({ routes });
  https = await startServer({ tls: true, routes });
});
afterAll(async () => {
  await http.close();
  await https.close();
});
afterEach(async () => {
  await prober?.close();
});

describe("phases over http", () => {
  test("headers held 300 ms → ttfb ≈ 300 ms, connect tiny; fresh has connect, no dns for an IP literal", async () => {
    prober = createProber(base);
    const r = await prober.probe(targetFor(http.url("/slow")), { connection: "fresh" });
    expect(r.ok).toBe(true);
    expect(r.status).toBe(200);
    expect(r.phasesMs.ttfb).toBeGreaterThanOrEqual(280);
    expect(r.phasesMs.ttfb).toBeLessThan(1500);
    expect(r.phasesMs.connect).toBeGreaterThanOrEqual(0);
    expect(r.phasesMs.connect).toBeLessThan(100);
    expect(r.phasesMs.dns).toBeUndefined(); // 127.0.0.1 needs no lookup
    expect(r.phasesMs.tls).toBeUndefined(); // plain http
    expect(r.phasesMs.transfer).toBeGreaterThanOrEqual(0);
    expect(r.phasesMs.total).toBeGreaterThanOrEqual(r.phasesMs.ttfb ?? Number.NaN);
    expect(r.reused).toBe(false);
    expect(r.remoteAddress).toBe("127.0.0.1");
    expect(r.remotePort).toBe(http.port);
    expect(r.remoteFamily).toBe("IPv4");
    expect(r.localAddress).toBe("127.0.0.1");
    expect(r.localPort).toBeGreaterThan(0);
    expect(r.bytes).toBe(JSON.stringify({ status: "OK" }).length);
    expect(r.assertions).toEqual([{ name: "status", ok: true, expected: "2xx", actual: 200 }]);
  });

  test("a pause mid-body lands in transfer, not ttfb", async () => {
    prober = createProber(base);
    const r = await prober.probe(targetFor(http.url("/midbody")), { connection: "fresh" });
    expect(r.ok).toBe(true);
    expect(r.bytes).toBe(2048);
    expect(r.phasesMs.transfer).toBeGreaterThanOrEqual(180);
    expect(r.phasesMs.ttfb).toBeLessThan(150);
  });

  test("fresh opens a new connection every time; reuse keeps one and reports its idle time", async () => {
    prober = createProber(base);
    const before = http.connections;
    const f1 = await prober.probe(targetFor(http.url("/")), { connection: "fresh" });
    const f2 = await prober.probe(targetFor(http.url("/")), { connection: "fresh" });
    expect(http.connections - before).toBe(2);
    expect(f1.localPort).not.toBe(f2.localPort);
    expect(f2.reused).toBe(false);
    expect(f2.phasesMs.connect).toBeDefined();

    const r1 = await prober.probe(targetFor(http.url("/")), { connection: "reuse" });
    await new Promise((r) => setTimeout(r, 200));
    const r2 = await prober.probe(targetFor(http.url("/")), { connection: "reuse" });
    expect(http.connections - before).toBe(3);
    expect(r1.reused).toBe(false);
    expect(r1.phasesMs.connect).toBeDefined();
    expect(r2.reused).toBe(true);
    expect(r2.localPort).toBe(r1.localPort);
    expect(r2.phasesMs.dns).toBeUndefined();
    expect(r2.phasesMs.connect).toBeUndefined();
    expect(r2.phasesMs.tls).toBeUndefined();
    expect(r2.phasesMs.ttfb).toBeDefined();
    expect(r2.socketIdleMs).toBeGreaterThanOrEqual(190);
    expect(r2.socketIdleMs).toBeLessThan(1500);
    expect(r1.socketIdleMs).toBeUndefined();
  });
});

describe("phases over https", () => {
  test("an untrusted self-signed certificate is rejected by default, with a clear message", async () => {
    prober = createProber(base);
    const r = await prober.probe(targetFor(https.url("/")), { connection: "fresh" });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("tls");
    expect(r.error?.phase).toBe("tls");
    expect(r.error?.message).toMatch(/certificate/i);
    expect(r.error?.message).toMatch(/insecureTls/);
    expect(r.phasesMs.connect).toBeDefined();
    expect(r.phasesMs.tls).toBeUndefined();
    expect(r.status).toBeUndefined();
  });

  test("insecureTls accepts it", async () => {
    prober = createProber({ ...base, insecureTls: true });
    const r = await prober.probe(targetFor(https.url("/")), { connection: "fresh" });
    expect(r.ok).toBe(true);
    expect(r.tls?.protocol).toMatch(/^TLSv1\.[23]$/);
  });

  test("fresh has dns (pinned), connect and tls, never resumes a session; reuse then skips them", async () => {
    prober = createProber({
      ...base,
      ca: selfSignedCert().cert,
      resolve: [`api.example.test:${https.port}:127.0.0.1`],
    });
    const url = `https://api.example.test:${https.port}/slow`;
    const f1 = await prober.probe(targetFor(url), { connection: "fresh" });
    const f2 = await prober.probe(targetFor(url), { connection: "fresh" });
    for (const r of [f1, f2]) {
      expect(r.ok).toBe(true);
      expect(r.remoteAddress).toBe("127.0.0.1");
      expect(r.phasesMs.dns).toBeGreaterThanOrEqual(0);
      expect(r.phasesMs.dns).toBeLessThan(100);
      expect(r.phasesMs.connect).toBeLessThan(100);
      expect(r.phasesMs.tls).toBeGreaterThan(0);
      expect(r.phasesMs.ttfb).toBeGreaterThanOrEqual(280);
      expect(r.phasesMs.ttfb).toBeLessThan(1500);
      expect(r.tls?.sessionReused).toBe(false);
      expect(r.tls?.alpn).toBe("http/1.1");
      expect(r.tls?.cipher).toBeTruthy();
    }
    const r1 = await prober.probe(targetFor(url), { connection: "reuse" });
    const r2 = await prober.probe(targetFor(url), { connection: "reuse" });
    expect(r1.phasesMs.tls).toBeDefined();
    expect(r2.reused).toBe(true);
    expect(Object.keys(r2.phasesMs).sort()).toEqual(["total", "transfer", "ttfb"]);
    expect(r2.tls?.protocol).toBeDefined();
  });
});

describe("names and addresses", () => {
  test("--resolve pins a fake name; Host keeps the name", async () => {
    const seen: string[] = [];
    const srv = await startServer({
      fallback: (req, res) => {
        seen.push(String(req.headers.host));
        res.end("ok");
      },
    });
    try {
      prober = createProber({ ...base, resolve: [`api.example.test:${srv.port}:127.0.0.1`] });
      const r = await prober.probe(targetFor(`http://api.example.test:${srv.port}/`), {
        connection: "fresh",
      });
      expect(r.ok).toBe(true);
      expect(r.phasesMs.dns).toBeDefined();
      expect(r.remoteAddress).toBe("127.0.0.1");
      expect(seen).toEqual([`api.example.test:${srv.port}`]);
    } finally {
      await srv.close();
    }
  });

  test("fresh looks the name up every time; reuse does not", async () => {
    let lookups = 0;
    prober = createProber({
      ...base,
      lookup: (host, options, cb) => {
        lookups++;
        if (host === "counted.test") return systemLookup("127.0.0.1", options, cb);
        return systemLookup(host, options, cb);
      },
    });
    const url = `http://counted.test:${http.port}/`;
    for (let i = 0; i < 3; i++) await prober.probe(targetFor(url), { connection: "fresh" });
    expect(lookups).toBe(3);
    for (let i = 0; i < 3; i++) await prober.probe(targetFor(url), { connection: "reuse" });
    expect(lookups).toBe(4);
  });

  test("IPv6 loopback [::1]", async () => {
    const v6 = await startServer({ host: "::1", routes });
    try {
      prober = createProber(base);
      const r = await prober.probe(targetFor(v6.url("/")), { connection: "fresh" });
      expect(r.ok).toBe(true);
      expect(r.remoteAddress).toBe("::1");
      expect(r.remoteFamily).toBe("IPv6");
      const pinned = createProber({ ...base, resolve: [`v6.example.test:${v6.port}:[::1]`] });
      const p = await pinned.probe(targetFor(`http://v6.example.test:${v6.port}/`), { connection: "fresh" });
      await pinned.close();
      expect(p.ok).toBe(true);
      expect(p.remoteAddress).toBe("::1");
    } finally {
      await v6.close();
    }
  });
});

describe("record facts", () => {
  test("hop headers, request id and the echoed trace id", async () => {
    prober = createProber(base);
    const r = await prober.probe(targetFor(http.url("/hops")), { connection: "reuse" });
    expect(r.hopHeaders).toEqual({
      "x-amzn-requestid": "req-123",
      "x-amz-apigw-id": "apigw-456",
      via: "1.1 abc.cloudfront.net (CloudFront)",
      "x-cache": "Miss from cloudfront",
      "x-amz-cf-pop": "SEA19-C1",
      "x-amzn-remapped-server": "nginx",
      "x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
    });
    expect(r.requestId).toBe("req-123");
    expect(r.traceId).toBe("1-5759e988-bd862e3fe1be46a994272793");
  });

  test("the trace header we send is sent and kept", async () => {
    prober = createProber(base);
    const header = "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1";
    const r = await prober.probe(targetFor(http.url("/echo-trace")), {
      connection: "fresh",
      traceHeader: header,
    });
    expect(r.hopHeaders["x-amzn-trace-id"]).toBe(header);
    expect(r.traceId).toBe("1-67891233-abcdef012345678912345678");
  });

  test("user agent and target headers are sent; a target's own user-agent wins", async () => {
    const seen: Record<string, unknown>[] = [];
    const srv = await startServer({
      fallback: (req, res) => {
        seen.push({ ua: req.headers["user-agent"], key: req.headers["x-api-key"] });
        res.end();
      },
    });
    try {
      prober = createProber(base);
      await prober.probe(targetFor(srv.url("/"), { headers: { "x-api-key": "k" } }), { connection: "fresh" });
      await prober.probe(targetFor(srv.url("/"), { headers: { "User-Agent": "mine" } }), {
        connection: "fresh",
      });
      expect(seen).toEqual([
        { ua: "stallwatch-test", key: "k" },
        { ua: "mine", key: undefined },
      ]);
    } finally {
      await srv.close();
    }
  });
});

describe("isolation", () => {
  test("global fetch running concurrently does not pollute a probe's timings", async () => {
    prober = createProber(base);
    // fetch (Node's bundled undici 6) publishes on the same diagnostics channels.
    // Fast fetches made while a slow probe is in flight must not lend it their
    // first byte, headers or socket.
    const fetchLoop = async (n: number): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(http.url("/"));
        await res.text();
        statuses.push(res.status);
      }
      return statuses;
    };
    for (const connection of ["fresh", "reuse"] as const) {
      const probing = prober.probe(targetFor(http.url("/slow")), { connection });
      await new Promise((r) => setImmediate(r));
      const [slow, statuses] = await Promise.all([probing, fetchLoop(10)]);
      expect(statuses).toEqual(Array(10).fill(200));
      expect(slow.ok).toBe(true);
      expect(slow.phasesMs.ttfb).toBeGreaterThanOrEqual(280);
      expect(slow.phasesMs.ttfb).toBeLessThan(1500);
      expect(slow.bytes).toBe(15);
    }
    // And a fast probe is not stretched by a slow fetch that started after it.
    const fast = prober.probe(targetFor(http.url("/")), { connection: "fresh" });
    const slowFetch = fetch(http.url("/slow")).then((r) => r.text());
    const r = await fast;
    await slowFetch;
    expect(r.phasesMs.total).toBeLessThan(HOLD_MS - 50);
  });

  test("concurrent probes keep their own timings", async () => {
    prober = createProber(base);
    const [fast, slow] = await Promise.all([
      prober.probe(targetFor(http.url("/")), { connection: "reuse" }),
      prober.probe(targetFor(http.url("/slow")), { connection: "reuse" }),
    ]);
    expect(fast.phasesMs.total).toBeLessThan(HOLD_MS - 50);
    expect(slow.phasesMs.ttfb).toBeGreaterThanOrEqual(280);
    expect(fast.localPort).not.toBe(slow.localPort);
  });
});
