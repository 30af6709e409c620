/**
 * Every failure class that can be produced on loopback, with the phase it is
 * reported in, and the guarantee behind all of them: a probe always resolves,
 * within its deadline plus a small margin, whatever the server does.
 */
import { execFile } from "node:child_process";
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createProber, type ProberOptions } from "../../src/probe/prober.js";
import type { LookupFunction } from "../../src/probe/resolve.js";
import type { ProbeOutcome, Prober, ProbeTarget } from "../../src/probe/types.js";
import {
  behaviors,
  blackholePort,
  refusedPort,
  selfSignedCert,
  silentTcpServer,
  startServer,
  type TestServer,
  targetFor,
} from "../helpers/servers.js";

const execFileP = promisify(execFile);
const base: ProberOptions = { maxBodyBytes: 1024 * 1024, insecureTls: false, userAgent: "stallwatch-test" };
/** Hang guard, not a speed claim: a probe must resolve within its deadline plus this. */
const MARGIN_MS = 1000;

let srv: TestServer;
let prober: Prober;

beforeAll(async () => {
  srv = await startServer({
    routes: {
      "/ok": behaviors.json({ status: "OK" }),
      "/never": behaviors.neverAnswer(),
      "/slowloris": behaviors.slowloris(50),
      "/midbody": behaviors.delayMidBody(3_000),
      "/reset-before": behaviors.resetBeforeHeaders(),
      "/reset-after": behaviors.resetAfterHeaders(50),
      "/garbage": behaviors.garbage(),
      "/huge": behaviors.enormousBody(256 * 1024 * 1024),
      "/http10": behaviors.http10CloseDelimited('{"status":"OK","n":1}'),
      "/loop": behaviors.redirectLoop(),
      "/404": behaviors.status(404),
      "/502": behaviors.json({ message: "Internal server error" }, 502, {
        "x-amzn-ErrorType": "InternalServerErrorException",
      }),
      "/not-json": (_req: IncomingMessage, res: ServerResponse) => res.end("<html>oops</html>"),
      "/big-json": (_req: IncomingMessage, res: ServerResponse) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ status: "OK", pad: "x".repeat(3 * 1024 * 1024) }));
      },
      "/status-999": (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(999, "Odd");
        res.end("odd");
      },
      "/big-headers": (_req: IncomingMessage, res: ServerResponse) => {
        res.setHeader("x-big", "a".repeat(128 * 1024));
        res.end("ok");
      },
      // 103 Early Hints every 20 ms, never a final response.
      "/endless-103": (_req: IncomingMessage, res: ServerResponse) => {
        const timer = setInterval(() => {
          if (res.destroyed) clearInterval(timer);
          else res.writeEarlyHints({ link: "</a.css>; rel=preload; as=style" });
        }, 20);
        res.on("close", () => clearInterval(timer));
      },
      "/echo-key": (req: IncomingMessage, res: ServerResponse) =>
        res.end(`your key is ${req.headers["x-api-key"]}`),
    },
  });
});
afterAll(async () => {
  await srv.close();
});
afterEach(async () => {
  await prober?.close();
});

/** Probe and check the hang guard. */
async function probeTimed(
  p: Prober,
  t: ProbeTarget,
  connection: "fresh" | "reuse" = "fresh",
): Promise<ProbeOutcome> {
  const t0 = performance.now();
  const r = await p.probe(t, { connection });
  expect(performance.now() - t0).toBeLessThan(t.timeoutMs + MARGIN_MS);
  return r;
}

describe("name resolution", () => {
  test("NXDOMAIN → dns, in phase dns", async () => {
    const lookup: LookupFunction = (_h, _o, cb) => {
      const err: NodeJS.ErrnoException = new Error("getaddrinfo ENOTFOUND nowhere.test");
      err.code = "ENOTFOUND";
      setImmediate(() => cb(err, ""));
    };
    prober = createProber({ ...base, lookup });
    const r = await probeTimed(prober, targetFor("http://nowhere.test:9/"));
    expect(r.error).toMatchObject({ code: "dns", phase: "dns", cause: "ENOTFOUND" });
    expect(r.ok).toBe(false);
    expect(r.phasesMs.dns).toBeUndefined();
    expect(r.phasesMs.total).toBeDefined();
  });

  test("a resolver that never answers → dns-timeout at the deadline", async () => {
    prober = createProber({ ...base, lookup: () => undefined });
    const r = await probeTimed(prober, targetFor("http://silent-dns.test:9/", { timeoutMs: 300 }));
    expect(r.error).toMatchObject({ code: "dns-timeout", phase: "dns" });
    expect(r.phasesMs.total).toBeGreaterThanOrEqual(295);
  });
});

describe("connection", () => {
  test("nothing listening → refused, in phase connect", async () => {
    prober = createProber(base);
    for (const connection of ["fresh", "reuse"] as const) {
      const port = await refusedPort();
      const r = await probeTimed(prober, targetFor(`http://127.0.0.1:${port}/`), connection);
      expect(r.error).toMatchObject({ code: "refused", phase: "connect", cause: "ECONNREFUSED" });
      expect(r.phasesMs.connect).toBeUndefined();
    }
  });

  test("SYN never answered → connect-timeout at the deadline", async () => {
    const hole = await blackholePort();
    try {
      prober = createProber(base);
      const r = await probeTimed(prober, targetFor(`http://127.0.0.1:${hole.port}/`, { timeoutMs: 400 }));
      expect(r.error).toMatchObject({ code: "connect-timeout", phase: "connect" });
      expect(r.phasesMs.total).toBeGreaterThanOrEqual(395);
      // reuse mode too: the half-open pooled connection must not hang the probe
      const r2 = await probeTimed(
        prober,
        targetFor(`http://127.0.0.1:${hole.port}/`, { timeoutMs: 300 }),
        "reuse",
      );
      expect(r2.error?.code).toBe("connect-timeout");
    } finally {
      await hole.close();
    }
  });
});

describe("tls", () => {
  let tlsSrv: TestServer;
  beforeAll(async () => {
    tlsSrv = await startServer({ tls: true, routes: { "/ok": behaviors.json({ status: "OK" }) } });
  });
  afterAll(async () => {
    await tlsSrv.close();
  });

  test("untrusted certificate → tls, in phase tls, with a clear message", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(tlsSrv.url("/ok")));
    expect(r.error).toMatchObject({ code: "tls", phase: "tls", cause: "DEPTH_ZERO_SELF_SIGNED_CERT" });
    expect(r.error?.message).toMatch(/^TLS certificate rejected: .*self[- ]signed/i);
    expect(r.phasesMs.connect).toBeDefined();
  });

  test("name not in the certificate → tls", async () => {
    prober = createProber({
      ...base,
      ca: selfSignedCert().cert,
      resolve: [`wrong.example.test:${tlsSrv.port}:127.0.0.1`],
    });
    const r = await probeTimed(prober, targetFor(`https://wrong.example.test:${tlsSrv.port}/ok`));
    expect(r.error).toMatchObject({ code: "tls", phase: "tls", cause: "ERR_TLS_CERT_ALTNAME_INVALID" });
  });

  test("https to a plain http server → tls", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(srv.url("/ok").replace("http:", "https:")));
    expect(r.error?.code).toBe("tls");
    expect(r.error?.phase).toBe("tls");
  });

  test("a server that never completes the handshake → tls-timeout", async () => {
    const silent = await silentTcpServer();
    try {
      prober = createProber(base);
      const r = await probeTimed(prober, targetFor(`https://127.0.0.1:${silent.port}/`, { timeoutMs: 300 }));
      expect(r.error).toMatchObject({ code: "tls-timeout", phase: "tls" });
      expect(r.phasesMs.connect).toBeDefined();
    } finally {
      await silent.close();
    }
  });
});

describe("response", () => {
  test("reset before headers → reset, in phase ttfb", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(srv.url("/reset-before")));
    expect(r.error).toMatchObject({ code: "reset", phase: "ttfb" });
    expect(r.status).toBeUndefined();
  });

  test("reset mid-body → reset, in phase transfer, status and partial bytes kept", async () => {
    prober = createProber(base);
    for (const connection of ["fresh", "reuse"] as const) {
      const r = await probeTimed(prober, targetFor(srv.url("/reset-after")), connection);
      expect(r.error).toMatchObject({ code: "reset", phase: "transfer" });
      expect(r.status).toBe(200);
      expect(r.bytes).toBe("partial body".length);
      expect(r.phasesMs.ttfb).toBeDefined();
      expect(r.phasesMs.transfer).toBeUndefined();
    }
  });

  test("a server that never answers → headers-timeout within the deadline", async () => {
    prober = createProber(base);
    for (const connection of ["fresh", "reuse"] as const) {
      const r = await probeTimed(prober, targetFor(srv.url("/never"), { timeoutMs: 400 }), connection);
      expect(r.error).toMatchObject({ code: "headers-timeout", phase: "ttfb", cause: "DEADLINE" });
      expect(r.phasesMs.total).toBeGreaterThanOrEqual(395);
      expect(r.phasesMs.ttfb).toBeUndefined();
    }
  });

  test("slowloris headers → headers-timeout (a first byte, never the end of the headers)", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(srv.url("/slowloris"), { timeoutMs: 400 }));
    expect(r.error).toMatchObject({ code: "headers-timeout", phase: "ttfb" });
    expect(r.phasesMs.ttfb).toBeDefined(); // the first byte did come
    expect(r.status).toBeUndefined();
  });

  test("a body that stalls → body-timeout, in phase transfer", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(srv.url("/midbody"), { timeoutMs: 400 }));
    expect(r.error).toMatchObject({ code: "body-timeout", phase: "transfer" });
    expect(r.status).toBe(200);
    expect(r.bytes).toBe(1024);
  });

  test("an enormous body → body-too-large; reading stops at the cap", async () => {
    prober = createProber({ ...base, maxBodyBytes: 1024 * 1024 });
    const r = await probeTimed(prober, targetFor(srv.url("/huge"), { timeoutMs: 5_000 }));
    expect(r.error).toMatchObject({ code: "body-too-large", phase: "transfer" });
    expect(r.bytes).toBeGreaterThan(1024 * 1024);
    expect(r.bytes).toBeLessThan(4 * 1024 * 1024);
    expect(r.status).toBe(200);
    // The pool survives: the next reuse probe works on a new connection.
    const ok = await probeTimed(prober, targetFor(srv.url("/ok")), "reuse");
    expect(ok.ok).toBe(true);
  });

  test("garbage instead of HTTP → protocol", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(srv.url("/garbage")));
    expect(r.error?.code).toBe("protocol");
    expect(r.error?.phase).toBe("ttfb");
    expect(r.error?.cause).toMatch(/^HPE_|^HTTPParserError$/);
    expect(r.error?.message).toMatch(/^invalid HTTP response/);
  });

  test("headers larger than undici accepts → protocol, in phase ttfb", async () => {
    prober = createProber(base);
    const r = await probeTimed(prober, targetFor(srv.url("/big-headers")));
    expect(r.error).toMatchObject({ code: "protocol", phase: "ttfb", cause: "UND_ERR_HEADERS_OVERFLOW" });
    expect(r.error?.message).toMatch(/^invalid HTTP response: headers larger/);
  });

  test("an endless stream of 103 Early Hints → headers-timeout in ttfb: no final headers ever came", async () => {
    prober = createProber(base);
    for (const connection of ["fresh", "reuse"] as const) {
      const r = await probeTimed(prober, targetFor(srv.url("/endless-103"), { timeoutMs: 400 }), connection);
      expect(r.error).toMatchObject({ code: "headers-timeout", phase: "ttfb", cause: "DEADLINE" });
      expect(r.status).toBeUndefined();
      expect(r.phasesMs.ttfb).toBeDefined(); // the first 103's byte is a first byte, as with slowloris
      expect(r.phasesMs.transfer).toBeUndefined();
    }
  });

  test("close-delimited HTTP/1.0 body is read to the end", async () => {
    prober = createProber(base);
    for (const connection of ["fresh", "reuse"] as const) {
      const r = await probeTimed(
        prober,
        targetFor(srv.url("/http10"), { expect: { json: { status: "OK", n: 1 } } }),
        connection,
      );
      expect(r.ok).toBe(true);
      expect(r.bytes).toBe('{"status":"OK","n":1}'.length);
      expect(r.phasesMs.transfer).toBeDefined();
    }
  });

  test("a redirect loop is not followed: a 302 is a status", async () => {
    prober = createProber(base);
    const before = srv.requests;
    const r = await probeTimed(prober, targetFor(srv.url("/loop")));
    expect(srv.requests - before).toBe(1);
    expect(r.status).toBe(302);
    expect(r.error).toMatchObject({ code: "assertion", phase: "assert" });
    const allowed = await probeTimed(prober, targetFor(srv.url("/loop"), { expect: { status: [301, 302] } }));
    expect(allowed.ok).toBe(true);
  });
});

describe("status and assertions", () => {
  test("4xx and 5xx", async () => {
    prober = createProber(base);
    const r4 = await probeTimed(prober, targetFor(srv.url("/404")));
    expect(r4.error).toMatchObject({ code: "http-4xx", phase: "ttfb", message: "HTTP 404" });
    const r5 = await probeTimed(prober, targetFor(srv.url("/502")));
    expect(r5.error).toMatchObject({ code: "http-5xx", phase: "ttfb" });
    expect(r5.error?.message).toContain("InternalServerErrorException");
    expect(r5.hopHeaders["x-amzn-errortype"]).toBe("InternalServerErrorException");
    // 999 is no 5xx: a status outside the classes HTTP defines.
    const r9 = await probeTimed(prober, targetFor(srv.url("/status-999")));
    expect(r9.status).toBe(999);
    expect(r9.error).toMatchObject({ code: "http-other", phase: "ttfb", message: "HTTP 999" });
    // An expected 404 is fine.
    const ok = await probeTimed(prober, targetFor(srv.url("/404"), { expect: { status: 404 } }));
    expect(ok.ok).toBe(true);
  });

  test("an assertion holds at most maxAssertBodyBytes of a body, whatever maxBodyBytes allows, and says so", async () => {
    prober = createProber({ ...base, maxBodyBytes: 8 * 1024 * 1024, maxAssertBodyBytes: 1024 * 1024 });
    const expectations = [{ json: { status: "OK" } }, { bodyContains: '"status":"OK"' }];
    for (const expect_ of expectations) {
      const r = await probeTimed(prober, targetFor(srv.url("/big-json"), { expect: expect_ }));
      expect(r.bytes).toBeGreaterThan(3 * 1024 * 1024); // read to the end: no body-too-large
      expect(r.error).toMatchObject({ code: "assertion", phase: "assert" });
      const failed = r.assertions.find((a) => !a.ok);
      expect(failed?.actual).toBe(
        "body not checked: larger than probe.maxAssertBodyBytes (1048576 bytes), the most an assertion may hold in memory",
      );
    }
    // Within the cap the same checks pass.
    const roomy = createProber({
      ...base,
      maxBodyBytes: 8 * 1024 * 1024,
      maxAssertBodyBytes: 4 * 1024 * 1024,
    });
    try {
      for (const expect_ of expectations) {
        const r = await probeTimed(roomy, targetFor(srv.url("/big-json"), { expect: expect_ }));
        expect(r.ok).toBe(true);
      }
    } finally {
      await roomy.close();
    }
  });

  test("JSON field mismatch and a body that is not JSON → assertion", async () => {
    prober = createProber(base);
    const bad = await probeTimed(prober, targetFor(srv.url("/ok"), { expect: { json: { status: "DOWN" } } }));
    expect(bad.error).toMatchObject({ code: "assertion", phase: "assert" });
    expect(bad.assertions).toContainEqual({ name: "json.status", ok: false, expected: "DOWN", actual: "OK" });
    const html = await probeTimed(
      prober,
      targetFor(srv.url("/not-json"), { expect: { json: { status: "OK" } } }),
    );
    expect(html.error?.code).toBe("assertion");
    expect(html.assertions.find((a) => a.name === "json")?.actual).toMatch(/^body is not JSON/);
  });

  test("secret header values never appear in messages", async () => {
    prober = createProber(base);
    const secret = "sk-live-0123456789abcdef";
    const r = await probeTimed(
      prober,
      targetFor(srv.url("/echo-key"), {
        headers: { "x-api-key": secret },
        secretHeaders: ["x-api-key"],
        expect: { bodyContains: "welcome" },
      }),
    );
    expect(r.error?.code).toBe("assertion");
    expect(r.error?.message).toContain("[REDACTED]");
    expect(r.error?.message).not.toContain(secret);
    // The whole record, before any sink: the body excerpt in the assertion is redacted too.
    expect(r.assertions.find((a) => a.name === "bodyContains")?.actual).toBe('"your key is [REDACTED]"');
    expect(JSON.stringify(r)).not.toContain(secret);
  });
});

describe("deadlines on one shared timer", () => {
  test("probes in flight together each settle at their own deadline, an earlier one started last included", async () => {
    prober = createProber(base);
    const deadlines = [900, 600, 300]; // the shortest starts last: the timer must re-arm for it
    const started = performance.now();
    const results = await Promise.all(
      deadlines.map(async (timeoutMs) => {
        const r = await prober.probe(targetFor(srv.url("/never"), { timeoutMs }), { connection: "fresh" });
        return { timeoutMs, r, at: performance.now() - started };
      }),
    );
    for (const { timeoutMs, r, at } of results) {
      expect(r.error).toMatchObject({ code: "headers-timeout", cause: "DEADLINE" });
      // Never early; late only by scheduling (hang guard, not a speed claim).
      expect(r.phasesMs.total).toBeGreaterThanOrEqual(timeoutMs - 0.5);
      expect(at).toBeLessThan(timeoutMs + MARGIN_MS);
    }
    // They settled in deadline order.
    const order = [...results].sort((a, b) => a.at - b.at).map((x) => x.timeoutMs);
    expect(order).toEqual([300, 600, 900]);
  });

  test("the timer left armed after the last probe does not hold a process open", async () => {
    // A child process probes once with a 60 s deadline and does not close the
    // prober: it must still exit on its own as soon as the probe is done.
    const prober = new URL("../../dist/probe/prober.js", import.meta.url).href;
    const script = `
      const { createProber } = await import(${JSON.stringify(prober)});
      const p = createProber({ maxBodyBytes: 1024, insecureTls: false, userAgent: "t" });
      const t = { api: "a", route: "r", endpoint: "/ok", url: ${JSON.stringify(srv.url("/ok"))}, method: "GET",
                  headers: {}, secretHeaders: [], timeoutMs: 60000 };
      const r = await p.probe(t, { connection: "fresh" });
      console.log(r.ok);`;
    const t0 = performance.now();
    const { stdout } = await execFileP(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 30_000,
    });
    expect(stdout.trim()).toBe("true");
    expect(performance.now() - t0).toBeLessThan(30_000); // a held process would be killed at 30 s and reject
  });
});

describe("aborts", () => {
  test("one signal aborts every probe in flight under it, and only those", async () => {
    prober = createProber(base);
    const ctl = new AbortController();
    const other = new AbortController();
    const never = targetFor(srv.url("/never"), { timeoutMs: 1_500 });
    const under = [1, 2, 3].map(() => prober.probe(never, { connection: "reuse", signal: ctl.signal }));
    const spared = prober.probe(never, { connection: "fresh", signal: other.signal });
    setTimeout(() => ctl.abort(), 100);
    const t0 = performance.now();
    for (const r of await Promise.all(under))
      expect(r.error).toMatchObject({ code: "other", cause: "ABORTED" });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect((await spared).error).toMatchObject({ code: "headers-timeout", cause: "DEADLINE" });
  });

  test("a signal already aborted settles the probe without sending it", async () => {
    prober = createProber(base);
    const ctl = new AbortController();
    ctl.abort();
    const r = await prober.probe(targetFor(srv.url("/ok")), { connection: "reuse", signal: ctl.signal });
    expect(r.error).toMatchObject({ code: "other", cause: "ABORTED" });
    expect(r.status).toBeUndefined();
  });

  test("an external abort resolves the probe at once", async () => {
    prober = createProber(base);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const t0 = performance.now();
    const r = await prober.probe(targetFor(srv.url("/never"), { timeoutMs: 10_000 }), {
      connection: "reuse",
      signal: ctl.signal,
    });
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(r.error).toMatchObject({ code: "other", phase: "ttfb", cause: "ABORTED" });
  });
});
