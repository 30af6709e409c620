/**
 * A target whose accept loop cannot keep up (`backlog` scenario): like a
 * gunicorn sync worker or a busy event loop, one thread serves the requests
 * and is busy `busyMs` with each; while it is busy nothing accepts. It
 * listens with a small backlog, so under load the kernel's accept queue
 * (min(backlog, net.core.somaxconn) + 1 connections on Linux) fills and the
 * kernel drops further SYNs (tcp_abort_on_overflow = 0, counted in
 * ListenOverflows / ListenDrops of /proc/net/netstat). The connecting side —
 * the lab's NLB — gets no SYN-ACK and its own kernel retransmits the SYN on
 * its schedule (1 s, then 2 s, 3 s … with tcp_syn_linear_timeouts). Nothing
 * here delays anything on purpose: the stalls are the kernel's.
 *
 * The gate runs in a worker thread of its own because being busy means
 * blocking the thread (Atomics.wait): while it is blocked nothing calls
 * accept(), exactly as in a single-threaded server. Accepted connections are
 * relayed to the target's HTTP server (which stays on the lab's loop, so the
 * target's X-Ray segment starts when the app really got the request).
 */
import { Worker } from "node:worker_threads";

export interface AcceptGate {
  address: string;
  port: number;
  close(): Promise<void>;
}

// Plain JavaScript, run with `eval`: no module path to resolve from src/ or dist/.
const GATE_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const net = require("node:net");
const { host, upstreamHost, upstreamPort, backlog, busyMs } = workerData;
const busy = new Int32Array(new SharedArrayBuffer(4));
const sockets = new Set();
const server = net.createServer((client) => {
  const upstream = net.connect({ host: upstreamHost, port: upstreamPort });
  for (const s of [client, upstream]) {
    sockets.add(s);
    s.on("close", () => { sockets.delete(s); client.destroy(); upstream.destroy(); });
    s.on("error", () => {});
  }
  let served = false;
  client.on("data", (chunk) => {
    // The single worker is busy with this request: the thread blocks, nothing calls accept() meanwhile.
    if (!served && busyMs > 0) Atomics.wait(busy, 0, 0, busyMs);
    served = true;
    upstream.write(chunk);
  });
  client.on("end", () => upstream.end());
  upstream.pipe(client);
});
server.on("error", (err) => parentPort.postMessage({ type: "error", message: String(err && err.message) }));
server.listen({ host, port: 0, backlog }, () => {
  parentPort.postMessage({ type: "ready", address: server.address().address, port: server.address().port });
});
parentPort.on("message", (m) => {
  if (m !== "close") return;
  server.close();
  for (const s of sockets) s.destroy();
  parentPort.postMessage({ type: "closed" });
  parentPort.close();
});
`;

export interface AcceptGateOptions {
  /** The address to listen on (the target's own). */
  host: string;
  /** The target's HTTP server the accepted connections are relayed to. */
  upstream: { address: string; port: number };
  /** listen(2) backlog; the kernel caps it at net.core.somaxconn. */
  backlog: number;
  /** Time the single worker is busy with each request (its first bytes), blocking its accept loop, ms. */
  busyMs: number;
}

const START_TIMEOUT_MS = 10_000;

export async function startAcceptGate(opts: AcceptGateOptions): Promise<AcceptGate> {
  const worker = new Worker(GATE_SOURCE, {
    eval: true,
    workerData: {
      host: opts.host,
      upstreamHost: opts.upstream.address,
      upstreamPort: opts.upstream.port,
      backlog: opts.backlog,
      busyMs: opts.busyMs,
    },
  });
  const ready = await new Promise<{ address: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`accept gate on ${opts.host} did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    worker.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    worker.on("message", (m: { type: string; address?: string; port?: number; message?: string }) => {
      if (m.type === "ready" && m.address && m.port) {
        clearTimeout(timer);
        resolve({ address: m.address, port: m.port });
      } else if (m.type === "error") {
        clearTimeout(timer);
        void worker.terminate();
        reject(new Error(`accept gate on ${opts.host}: ${m.message ?? "error"}`));
      }
    });
  });
  worker.unref();
  let closing: Promise<void> | undefined;
  return {
    ...ready,
    close: () => {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => {
          worker.on("message", (m: { type: string }) => m.type === "closed" && resolve());
          worker.once("exit", () => resolve());
        });
        worker.postMessage("close");
        // A worker blocked in its busy wait answers within busyMs × its queue; never wait on it for long.
        await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
        await worker.terminate();
      })();
      return closing;
    },
  };
}
