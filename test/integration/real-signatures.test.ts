/**
 * Four stall signatures produced for real on loopback and diagnosed through the
 * real pipeline (prober → stall rule → diagnosis → report): a TLS terminator
 * that holds its ServerHello, one slow address among three behind one name, a
 * server that never answers some requests, and the prober's own event loop
 * blocked mid-request. Each test asserts the finding and that the stalls the
 * fault produced are attributed to it; the counts are printed for the record.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { machineContext, reportOptions, stallRuleOf } from "../../src/app/live.js";
import { runPipeline } from "../../src/app/pipeline.js";
import { warmUpProber } from "../../src/app/warmup.js";
import { systemClock } from "../../src/clock.js";
import { configFromFlags } from "../../src/config/flags.js";
import type { LoadedConfig } from "../../src/config/load.js";
import { diagnose } from "../../src/diagnose/index.js";
import { detectStalls } from "../../src/diagnose/stalls.js";
import type { Report, RequestRecord, StallReport } from "../../src/model.js";
import { createLagMonitor } from "../../src/probe/lag.js";
import { createProber } from "../../src/probe/prober.js";
import { type LookupFunction, systemLookup } from "../../src/probe/resolve.js";
import { type RunResult, runProbes } from "../../src/probe/runner.js";
import { buildReport } from "../../src/report/build.js";
import { blockEventLoop } from "../helpers/block-loop.js";
import { behaviors, startServer } from "../helpers/servers.js";
import { startTlsDelayProxy } from "../helpers/tls-delay-proxy.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function causes(stalls: readonly StallReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of stalls) out[s.cause] = (out[s.cause] ?? 0) + 1;
  return out;
}

/** Prints the run's figures; returns the finding ids. */
function tally(name: string, report: Report, faultStalls: readonly StallReport[], id: string): string[] {
  const ids = report.findings.map((f) => f.id);
  console.log(
    `${name}: ${report.totals.requests} requests, ${report.stalls.length} stalls, ${faultStalls.length} produced by the fault, ` +
      `${faultStalls.filter((s) => s.cause === id).length} attributed to ${id}; findings [${ids.join(", ")}], causes ${JSON.stringify(causes(report.stalls))}`,
  );
  return ids;
}

/** mulberry32: a small seeded PRNG, so a run's address order is random but repeatable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** HTTP servers on several loopback addresses sharing one port (one name, one port, several A records). */
async function serversOnOnePort(
  hosts: readonly string[],
  handlerFor: (host: string) => (req: IncomingMessage, res: ServerResponse) => void,
): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const started: Server[] = [];
    const sockets = new Set<Socket>();
    const closeAll = () =>
      Promise.all(
        started.map(
          (s) =>
            new Promise<void>((resolve) => {
              for (const sock of sockets) sock.destroy();
              s.close(() => resolve());
            }),
        ),
      ).then(() => undefined);
    let port = 0;
    try {
      for (const host of hosts) {
        const srv = createServer(handlerFor(host));
        srv.on("connection", (s: Socket) => {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
        });
        await new Promise<void>((resolve, reject) => {
          srv.once("error", reject);
          srv.listen(port, host, () => resolve());
        });
        started.push(srv);
        const a = srv.address();
        if (port === 0 && a && typeof a !== "string") port = a.port;
      }
      cleanups.push(closeAll);
      return port;
    } catch {
      await closeAll(); // that port was taken on another address: try another
    }
  }
  throw new Error(`could not bind ${hosts.join(", ")} on one port`);
}

/** What `report` runs: the one pipeline (probe → records → stalls → diagnose → Report), without reporters. */
async function liveReport(
  loaded: LoadedConfig,
  o: { onRecord?: (r: RequestRecord) => void } = {},
): Promise<Report> {
  const res = await runPipeline({ loaded, ...o, report: { source: { kind: "live" } } });
  return res.report!;
}

/** The same steps after the probing, for a run made with a prober of the test's own (the library path). */
function reportOfRun(loaded: LoadedConfig, run: RunResult): Report {
  const stalls = detectStalls(run.records, stallRuleOf(loaded));
  const diagnosis = diagnose({ records: run.records, stalls, lag: run.lag, context: machineContext(loaded) });
  return buildReport({
    records: run.records,
    stalls,
    diagnosis,
    lag: run.lag,
    source: { kind: "live" },
    options: reportOptions(loaded),
  });
}

describe("stall signatures produced for real", () => {
  it("tls-handshake-stall: a proxy holds every 4th ServerHello for 600 ms", async () => {
    const upstream = await startServer({ tls: true, routes: { "/": behaviors.json({ status: "OK" }) } });
    cleanups.push(() => upstream.close());
    const proxy = await startTlsDelayProxy({ upstreamPort: upstream.port, holdMs: 600, every: 4 });
    cleanups.push(() => proxy.close());
    const base = configFromFlags({ url: `https://127.0.0.1:${proxy.port}/`, count: 24, connection: "fresh" });
    // The pipeline builds its prober from config.probe, which carries no CA: the self-signed cert is accepted instead.
    const loaded: LoadedConfig = {
      ...base,
      config: { ...base.config, probe: { ...base.config.probe, insecureTls: true } },
    };
    const report = await liveReport(loaded);

    const held = report.stalls.filter((s) => s.phase === "tls" && (s.phasesMs.tls ?? 0) >= 550);
    const ids = tally("tls-handshake-stall", report, held, "tls-handshake-stall");
    expect(proxy.connections).toBe(24);
    expect(proxy.delayed).toBe(6);
    expect(held.length).toBeGreaterThanOrEqual(5);
    for (const s of held) {
      expect(s.phasesMs.tls).toBeLessThan(1500);
      expect(s.phasesMs.connect ?? 0).toBeLessThan(100);
      expect(s.cause).toBe("tls-handshake-stall");
    }
    expect(ids).toContain("tls-handshake-stall");
    expect(report.findings.find((f) => f.id === "tls-handshake-stall")?.stalls.length).toBeGreaterThanOrEqual(
      held.length,
    );
  }, 30_000);

  it("address-skew: one of three addresses behind one name answers 400 ms late", async () => {
    const hosts = ["127.0.0.21", "127.0.0.22", "127.0.0.23"] as const;
    const slow = "127.0.0.22";
    const timers = new Set<NodeJS.Timeout>();
    cleanups.push(() => {
      for (const t of timers) clearTimeout(t);
    });
    const ok = (res: ServerResponse) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"OK"}');
    };
    const port = await serversOnOnePort(hosts, (host) => (_req, res) => {
      if (host !== slow) return ok(res);
      const t = setTimeout(() => {
        timers.delete(t);
        ok(res);
      }, 400);
      timers.add(t);
    });
    const name = "api.skew.test";
    // A round-robin resolver: each lookup answers all three addresses, a random one first (seeded, so no
    // period in send order). The pinned --resolve lookup always answers in the configured order, so every
    // fresh connection would take the first address: it cannot produce a spread.
    const rand = prng(0x5eed);
    const firstAddresses: string[] = [];
    const lookup: LookupFunction = (hostname, options, callback) => {
      if (hostname !== name) return systemLookup(hostname, options, callback);
      const first = hosts[Math.floor(rand() * hosts.length)]!;
      firstAddresses.push(first);
      const ordered = [first, ...hosts.filter((h) => h !== first)];
      const all = typeof options === "object" && options.all === true;
      process.nextTick(() =>
        all
          ? callback(
              null,
              ordered.map((address) => ({ address, family: 4 })),
            )
          : callback(null, first, 4),
      );
    };
    const loaded = configFromFlags({ url: `http://${name}:${port}/`, count: 36, connection: "fresh" });
    const p = loaded.config.probe;
    const lag = createLagMonitor({ clock: systemClock });
    const prober = createProber({
      lookup,
      maxBodyBytes: p.maxBodyBytes,
      insecureTls: false,
      userAgent: p.userAgent,
      lagMonitor: lag,
      clock: systemClock,
    });
    cleanups.push(() => prober.close());
    await warmUpProber(prober);
    const run = await runProbes(
      loaded.targets,
      { count: p.count, concurrency: 1, connection: "fresh", tag: "probe" },
      { prober, clock: systemClock, lag },
    );
    const report = reportOfRun(loaded, run);

    const onSlow = run.records.filter((r) => r.remoteAddress === slow);
    const slowStalls = report.stalls.filter((s) => s.remoteAddress === slow);
    const ids = tally("address-skew", report, slowStalls, "address-skew");
    console.log(
      `address-skew: requests per address ${JSON.stringify(Object.fromEntries(hosts.map((h) => [h, run.records.filter((r) => r.remoteAddress === h).length])))}`,
    );
    expect(firstAddresses.length).toBe(36);
    for (const h of hosts)
      expect(run.records.filter((r) => r.remoteAddress === h).length).toBeGreaterThanOrEqual(5);
    expect(slowStalls.length).toBeGreaterThanOrEqual(Math.min(onSlow.length, 5));
    expect(ids).toContain("address-skew");
    const finding = report.findings.find((f) => f.id === "address-skew")!;
    expect(finding.evidence.addresses).toEqual([slow]);
    for (const s of slowStalls) expect(s.cause).toBe("address-skew");
    // The fast addresses produced no stall the skew would have to explain.
    expect(report.stalls.filter((s) => s.remoteAddress !== slow && s.cause === "address-skew")).toEqual([]);
  }, 30_000);

  it("timeout: every 5th request is never answered, deadline 300 ms", async () => {
    let n = 0;
    const srv = await startServer({
      fallback: (req, res, tools) => {
        n++;
        if (n % 5 === 0) return behaviors.neverAnswer()(req, res, tools);
        behaviors.json({ status: "OK" })(req, res, tools);
      },
    });
    cleanups.push(() => srv.close());
    const loaded = configFromFlags({ url: srv.url("/"), count: 25, connection: "fresh", timeoutMs: 300 });
    expect(loaded.targets[0]?.timeoutMs).toBe(300);
    const report = await liveReport(loaded);

    const timedOut = report.stalls.filter((s) => s.error === "headers-timeout");
    const ids = tally("timeout", report, timedOut, "timeout");
    expect(srv.requests).toBe(25);
    expect(timedOut.length).toBe(5);
    for (const s of timedOut) {
      expect(s.totalMs).toBeGreaterThanOrEqual(280);
      expect(s.totalMs).toBeLessThan(1500);
      expect(s.cause).toBe("timeout");
    }
    expect(ids).toContain("timeout");
    expect(report.totals.failed).toBe(5);
  }, 30_000);

  it("client-lag: the prober's event loop is blocked 400 ms mid-request, three times", async () => {
    const srv = await startServer({ routes: { "/": behaviors.delayHeaders(20) } });
    cleanups.push(() => srv.close());
    const timers = new Set<NodeJS.Timeout>();
    cleanups.push(() => {
      for (const t of timers) clearTimeout(t);
    });
    const blockAfter = new Set([10, 30, 50]);
    const blockedSeqs: number[] = [];
    const loaded = configFromFlags({ url: srv.url("/"), count: 70, connection: "reuse" });
    const report = await liveReport(loaded, {
      // 5 ms after record k completes, request k+1 is waiting on the server's 20 ms delay: block the loop then.
      onRecord: (r) => {
        if (!blockAfter.has(r.seq)) return;
        blockedSeqs.push(r.seq + 1);
        const t = setTimeout(() => {
          timers.delete(t);
          blockEventLoop(400); // stallwatch's own process does not get the CPU back for 400 ms
        }, 5);
        timers.add(t);
      },
    });

    const lagged = report.stalls.filter((s) => blockedSeqs.includes(s.seq));
    const ids = tally("client-lag", report, lagged, "client-lag");
    expect(blockedSeqs).toEqual([11, 31, 51]);
    expect(lagged.length).toBe(3);
    for (const s of lagged) {
      expect(s.totalMs).toBeGreaterThanOrEqual(380);
      expect(s.cause).toBe("client-lag");
    }
    expect(ids).toContain("client-lag");
    // Not the network's fault: no network finding claims a stall here.
    expect(report.stalls.filter((s) => s.cause !== "client-lag")).toEqual([]);
  }, 30_000);
});
