/**
 * One NLB target: nginx in front of the app, simulated as one node:http
 * server. It serves the original API's four endpoints, answers with
 * `Server: nginx/1.24.0`, and waits whatever the scenario injects before
 * sending headers. It binds its own loopback address (127.0.0.11, .12, …)
 * so the NLB's choice is visible as a remote address; where that is not
 * possible it falls back to the lab's host with its own port.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { type LabContext, parseTraceHeader, traceKey } from "./context.js";
import { closeServer, closeSignal, delay, listen, sendJson, trackSockets } from "./net-util.js";

export interface TargetServer {
  index: number;
  address: string;
  port: number;
  close(): Promise<void>;
}

/** The app's routes: `/`, `/header`, `/foo/<x>`. */
export function appResponse(method: string, rawPath: string, host: string | undefined): [number, unknown] {
  if (method !== "GET" && method !== "HEAD") return [405, { message: "Method Not Allowed" }];
  const path = rawPath.split("?")[0] ?? "/";
  if (path === "/") return [200, { status: "OK" }];
  if (path === "/header") return [200, { header: host ?? "" }];
  const m = /^\/foo\/([^/]+)$/.exec(path);
  if (m?.[1] !== undefined) {
    try {
      return [200, { foo: decodeURIComponent(m[1]) }];
    } catch {
      return [400, { message: "Bad Request" }];
    }
  }
  return [404, { message: "Not Found" }];
}

function candidateAddresses(index: number, host: string): string[] {
  return host.startsWith("127.") ? [`127.0.0.${11 + index}`, host] : [host];
}

export async function startTarget(ctx: LabContext, index: number, host: string): Promise<TargetServer> {
  // Node's own keep-alive timer closes a second after the timeout it is given (a buffer against this very race),
  // so the target keeps its own, as gunicorn and nginx do: a connection idle targetKeepAliveMs (nginx's default
  // keepalive_timeout, 75 s, unless the scenario says otherwise) after its last response is closed.
  const server = http.createServer({ keepAliveTimeout: 0 }, (req, res) => {
    const idle = idleTimers.get(req.socket);
    if (idle) clearTimeout(idle);
    idleTimers.delete(req.socket);
    res.once("finish", () => {
      if (req.socket.destroyed) return;
      const t = setTimeout(() => req.socket.destroy(), ctx.timings.targetKeepAliveMs);
      t.unref();
      idleTimers.set(req.socket, t);
    });
    void handle(req, res);
  });
  const idleTimers = new Map<Socket, NodeJS.Timeout>();
  server.on("connection", (s: Socket) =>
    s.once("close", () => {
      clearTimeout(idleTimers.get(s));
      idleTimers.delete(s);
    }),
  );
  server.headersTimeout = 60_000;
  const sockets = trackSockets(server);
  let address = host;
  let port = 0;
  for (const candidate of candidateAddresses(index, host)) {
    try {
      const info = await listen(server, candidate);
      address = info.address;
      port = info.port;
      break;
    } catch (err) {
      if (candidate === host) throw err;
    }
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrivedMs = ctx.clock.now();
    const trace = parseTraceHeader(req.headers["x-amzn-trace-id"]);
    const pending =
      trace.Root && trace.Parent ? ctx.tracker.find(traceKey(trace.Root, trace.Parent)) : undefined;
    if (pending) ctx.tracker.hold(pending);
    const hop = pending?.startHop("target", { detail: `${address}:${port}` });
    const injected = ctx.runtime.targetDelay(index, arrivedMs, arrivedMs - ctx.startMs);
    if (hop && injected) {
      hop.injectedDelayMs = injected.delayMs;
      hop.injectedReason = injected.reason;
    }
    req.resume();
    res.once("close", () => {
      ctx.runtime.targetDone(ctx.clock.now());
      if (pending && hop) {
        pending.endHop(hop);
        ctx.tracker.release(pending);
      }
    });
    if (injected && !(await delay(injected.delayMs, ctx.signal, closeSignal(res)))) {
      res.destroy();
      return;
    }
    const [status, body] = appResponse(req.method ?? "GET", req.url ?? "/", req.headers.host);
    sendJson(res, status, body, { Server: "nginx/1.24.0" });
  }

  return {
    index,
    address,
    port,
    close: () => closeServer(server, sockets),
  };
}
