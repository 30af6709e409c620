/**
 * An IPv6 address whose SYNs go unanswered, made real without root: a socket
 * listening on [::1]:port with a backlog of 1, in a thread whose event loop
 * is blocked (so it never accepts), and an accept queue the lab fills itself.
 * Once the queue is full, Linux drops every further SYN to that port
 * (tcp_conn_request: "sk_acceptq_is_full → drop", counted as ListenOverflows):
 * a client's SYNs get no SYN-ACK and no RST, as on an IPv6 path whose route,
 * security group or NACL drops them. The lab checks the drop is real (a
 * connect that does not complete) before it reports itself ready.
 */
import net from "node:net";
import { Worker } from "node:worker_threads";
import { StallwatchError } from "../errors.js";

export const UNANSWERED_IPV6_ADDRESS = "::1";

/** How long a filler connect may take before its SYN counts as dropped (loopback connects take < 5 ms). */
const DROPPED_AFTER_MS = 500;
/** Backlog 1 queues 2 connections on Linux; a few more tries cover other kernels' rounding. */
const MAX_FILLERS = 16;

/** The thread that holds the listening socket: it listens, reports the port, then blocks until told to stop. */
const HOLDER = `
const { workerData, parentPort } = require("node:worker_threads");
const net = require("node:net");
const server = net.createServer();
server.once("error", (err) => parentPort.postMessage({ error: err.code || err.message }));
server.listen({ host: workerData.host, port: workerData.port, backlog: 1 }, () => {
  parentPort.postMessage({ port: server.address().port });
  // Blocked: this loop never runs again, so nothing is ever accepted from the queue.
  Atomics.wait(new Int32Array(workerData.stop), 0, 0);
  process.exit(0);
});
`;

export interface UnansweredIpv6 {
  address: string;
  port: number;
  /** Connections that sit in the full accept queue. */
  queued: number;
  close(): Promise<void>;
}

/** Makes SYNs to [::1]:`port` go unanswered; rejects with a clear error when it cannot. */
export async function startUnansweredIpv6(port: number): Promise<UnansweredIpv6> {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(HOLDER, {
    eval: true,
    workerData: { host: UNANSWERED_IPV6_ADDRESS, port, stop },
  });
  const fillers: net.Socket[] = [];
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const s of fillers) s.destroy();
      Atomics.store(new Int32Array(stop), 0, 1);
      Atomics.notify(new Int32Array(stop), 0);
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timer);
    })();
    return closed;
  };
  try {
    const msg = await new Promise<{ port?: number; error?: string }>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    if (msg.error !== undefined)
      throw new Error(`cannot listen on [${UNANSWERED_IPV6_ADDRESS}]:${port}: ${msg.error}`);
    let dropped = false;
    while (!dropped && fillers.length < MAX_FILLERS) {
      const s = await fill(port);
      if (s) fillers.push(s);
      else dropped = true;
    }
    if (!dropped)
      throw new Error(
        `SYNs to [${UNANSWERED_IPV6_ADDRESS}]:${port} kept being answered after ${MAX_FILLERS} queued connections`,
      );
    return { address: UNANSWERED_IPV6_ADDRESS, port, queued: fillers.length, close };
  } catch (err) {
    await close();
    throw new StallwatchError(
      "SW_LAB_START",
      `the lab could not make an unanswered IPv6 address (needs IPv6 on loopback): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** One connect to the holder: the socket when the kernel queued it, undefined when its SYN was dropped. */
function fill(port: number): Promise<net.Socket | undefined> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: UNANSWERED_IPV6_ADDRESS, port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, DROPPED_AFTER_MS);
    s.once("connect", () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
