/**
 * client-lag on a fast API, for real: a loopback server answering in 20 ms from a thread of its own (its event
 * loop is not the prober's), the real pipeline (prober → stall rule → diagnosis → report) with a 40 ms stall
 * threshold, and the prober's own event loop busy-waiting 60 ms while a request is in flight. Those stalls carry
 * 40-60 ms of loop lag, under the old fixed 100 ms floor: they must go to client-lag, not to the network. Runs
 * with no blocking (one healthy, one where the server itself holds every 10th answer 60 ms) get no client-lag.
 */
import { Worker } from "node:worker_threads";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runPipeline } from "../../src/app/pipeline.js";
import { configFromFlags } from "../../src/config/flags.js";
import { loopLagFloorMs, type Report, type RequestRecord } from "../../src/model.js";
import { blockEventLoop } from "../helpers/block-loop.js";
import { expectOneCount } from "../helpers/one-count.js";

const SERVER_MS = 20;
const BLOCK_MS = 60;
const STALL_MS = 40;
/** Every Nth request to /net, the server holds its answer NET_EXTRA_MS more (a stall that is not ours). */
const NET_EVERY = 10;
const NET_EXTRA_MS = 60;

/** The server's code, in a worker thread: the prober's busy-waits do not hold its timers. */
const SERVER = `
const { parentPort } = require("node:worker_threads");
const http = require("node:http");
let net = 0;
let held = 0;
const server = http.createServer((req, res) => {
  req.resume();
  let ms = ${SERVER_MS};
  if (req.url === "/net" && ++net % ${NET_EVERY} === 0) { ms += ${NET_EXTRA_MS}; held++; }
  setTimeout(() => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"OK"}');
  }, ms);
});
server.keepAliveTimeout = 10000;
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.address().port }));
parentPort.on("message", (m) => {
  if (m === "held") parentPort.postMessage({ held });
  if (m === "close") { server.closeAllConnections(); server.close(() => parentPort.close()); }
});
`;

let worker: Worker;
let port = 0;
const ask = <T>(msg: string, key: string): Promise<T> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server worker: no answer to ${msg}`)), 5000);
    const on = (m: Record<string, T>) => {
      if (!(key in m)) return;
      clearTimeout(t);
      worker.off("message", on);
      resolve(m[key] as T);
    };
    worker.on("message", on);
    worker.postMessage(msg);
  });

beforeAll(async () => {
  worker = new Worker(SERVER, { eval: true });
  port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("server worker did not start")), 5000);
    worker.once("message", (m: { port: number }) => {
      clearTimeout(t);
      resolve(m.port);
    });
    worker.once("error", reject);
  });
});
afterAll(async () => {
  worker.postMessage("close");
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => void worker.terminate().then(() => resolve()), 3000);
    worker.once("exit", () => {
      clearTimeout(t);
      resolve();
    });
  });
});

const timers = new Set<NodeJS.Timeout>();
afterEach(() => {
  for (const t of timers) clearTimeout(t);
  timers.clear();
});

interface Run {
  report: Report;
  lagBySeq: Map<number, number | undefined>;
  floorMs: number;
}

async function run(path: string, count: number, onRecord?: (r: RequestRecord) => void): Promise<Run> {
  const loaded = configFromFlags({
    url: `http://127.0.0.1:${port}${path}`,
    count,
    connection: "reuse",
    stallMs: STALL_MS,
  });
  const lagBySeq = new Map<number, number | undefined>();
  const res = await runPipeline({
    loaded,
    onRecord: (r) => {
      lagBySeq.set(r.seq, r.loopLagMs);
      onRecord?.(r);
    },
    report: { source: { kind: "live" } },
  });
  const report = res.report!;
  return { report, lagBySeq, floorMs: loopLagFloorMs(report.eventLoopLagMs) };
}

function print(name: string, r: Run): void {
  const lag = r.report.eventLoopLagMs;
  const causes: Record<string, number> = {};
  for (const s of r.report.stalls) causes[s.cause] = (causes[s.cause] ?? 0) + 1;
  console.log(
    `${name}: ${r.report.totals.requests} requests, ${r.report.stalls.length} stalls ${JSON.stringify(causes)}; ` +
      `run lag p50 ${lag.p50.toFixed(2)} p99 ${lag.p99.toFixed(2)} max ${lag.max.toFixed(1)} ms, ` +
      `sampler ${lag.samplePeriodMs} ms, floor ${r.floorMs.toFixed(2)} ms`,
  );
  for (const s of r.report.stalls)
    console.log(
      `  seq ${s.seq}: ${s.totalMs.toFixed(1)} ms, loop lag ${r.lagBySeq.get(s.seq)?.toFixed(1)} ms → ${s.cause}`,
    );
}

describe("client-lag on a fast API (40 ms stall threshold), real blocked event loop", () => {
  it("60 ms busy-waits while a request is in flight: those stalls are the prober's own", async () => {
    const blockAfter = new Set([10, 25, 40]);
    const blocked: number[] = [];
    const r = await run("/", 50, (rec) => {
      if (!blockAfter.has(rec.seq)) return;
      // Request seq+1 is sent at once and waits on the server's 20 ms: block the loop 5 ms into it.
      blocked.push(rec.seq + 1);
      const t = setTimeout(() => {
        timers.delete(t);
        blockEventLoop(BLOCK_MS);
      }, 5);
      timers.add(t);
    });
    print("blocked", r);
    expectOneCount(r.report);
    expect(blocked).toEqual([11, 26, 41]);
    expect(r.report.eventLoopLagMs.samplePeriodMs).toBe(10);
    for (const seq of blocked) {
      const s = r.report.stalls.find((x) => x.seq === seq);
      const lag = r.lagBySeq.get(seq) ?? 0;
      expect(s, `seq ${seq} stalled`).toBeDefined();
      // The sampler reads a block short by at most its period; the old floor never took these.
      expect(lag, `seq ${seq}`).toBeGreaterThanOrEqual(
        BLOCK_MS - (r.report.eventLoopLagMs.samplePeriodMs ?? 0) - 1,
      );
      expect(lag, `seq ${seq}`).toBeLessThan(100);
      expect(lag).toBeGreaterThan(r.floorMs);
      expect(s?.cause, `seq ${seq}: ${lag} ms of lag in ${s?.totalMs} ms`).toBe("client-lag");
    }
    const f = r.report.findings.find((x) => x.id === "client-lag");
    expect(f?.stalls).toEqual(expect.arrayContaining(blocked));
    // Every stall client-lag took carries lag above the floor (other stalls of this run: the host's own pauses).
    for (const seq of f?.stalls ?? []) expect(r.lagBySeq.get(seq) ?? 0).toBeGreaterThan(r.floorMs);
  }, 30_000);

  it("no blocking, the server holds every 10th answer 60 ms: stalls, none of them client-lag", async () => {
    const r = await run("/net", 50);
    print("server-held", r);
    expectOneCount(r.report);
    const held = await ask<number>("held", "held");
    expect(held).toBe(5);
    const serverStalls = r.report.stalls.filter((s) => s.totalMs >= SERVER_MS + NET_EXTRA_MS - 5);
    expect(serverStalls.length).toBe(5);
    for (const s of serverStalls) expect(s.cause, `seq ${s.seq}`).not.toBe("client-lag");
    expect(r.report.findings.map((x) => x.id)).not.toContain("client-lag");
  }, 30_000);

  it("a healthy run with no blocking gets no client-lag finding", async () => {
    const r = await run("/", 50);
    print("healthy", r);
    expectOneCount(r.report);
    expect(r.report.totals.failed).toBe(0);
    expect(r.report.findings.map((x) => x.id)).not.toContain("client-lag");
  }, 30_000);
});
