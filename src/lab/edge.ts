/**
 * The CloudFront-like edge in front of the custom-domain route. It forwards
 * to the API Gateway front with the stage as origin path (the custom
 * domain's base path mapping), passes `X-Amz-Cf-Id` to the origin as
 * CloudFront does, and adds `Via`, `X-Cache`, `X-Amz-Cf-Pop` and
 * `X-Amz-Cf-Id` to the response. The scenario may stall it before it
 * reaches the origin (edge-only: CloudFront retrying an origin connection).
 */
import http from "node:http";
import { cfKey, type LabContext, MAX_BODY_BYTES } from "./context.js";
import {
  ConnectionAgents,
  closeServer,
  closeSignal,
  delay,
  forwardableHeaders,
  isHopByHop,
  listen,
  readBody,
  trackSockets,
} from "./net-util.js";
import { newCfId, newCloudFrontHost } from "./rng.js";

export interface EdgeOptions {
  host: string;
  /** Prepended to every path, e.g. `/test`. */
  originPath: string;
  origin: { address: string; port: number };
  /** Edge location, e.g. `SFO53-P1`. */
  pop: string;
}

export interface EdgeServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

/** How long the edge waits for its origin beyond API Gateway's own integration timeout. */
const ORIGIN_GRACE_MS = 1000;

export async function startEdge(ctx: LabContext, opts: EdgeOptions): Promise<EdgeServer> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void handle(req, res);
  });
  const sockets = trackSockets(server);
  const agents = new ConnectionAgents(server);
  const via = `1.1 ${newCloudFrontHost()} (CloudFront)`;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const p = ctx.tracker.begin("custom-domain", method, url);
    const cfId = newCfId();
    p.record.cfId = cfId;
    p.record.cfPop = opts.pop;
    ctx.tracker.alias(cfKey(cfId), p);
    const hop = p.startHop("edge");
    const cfHeaders = (status: number): http.OutgoingHttpHeaders => ({
      Via: via,
      "X-Cache": status >= 400 ? "Error from cloudfront" : "Miss from cloudfront",
      "X-Amz-Cf-Pop": opts.pop,
      "X-Amz-Cf-Id": cfId,
    });
    let cleanup: (() => void) | undefined; // set once the origin request starts
    res.once("close", () => {
      cleanup?.();
      p.endHop(hop);
      p.record.status = res.statusCode;
      ctx.tracker.complete(p);
    });
    const edgeError = (status: number, text: string) => {
      if (res.headersSent || res.destroyed) return;
      const page = Buffer.from(
        `<HTML><HEAD><TITLE>ERROR</TITLE></HEAD><BODY><H1>${status} ERROR</H1>${text}</BODY></HTML>`,
      );
      res.writeHead(status, {
        "Content-Type": "text/html",
        "Content-Length": page.length,
        ...cfHeaders(status),
      });
      res.end(page);
    };

    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return edgeError(413, "Request too large.");
    const injected = ctx.runtime.edgeDelay();
    if (injected) {
      hop.injectedDelayMs = injected.delayMs;
      hop.injectedReason = injected.reason;
      if (!(await delay(injected.delayMs, ctx.signal, closeSignal(res)))) {
        res.destroy();
        return;
      }
      if (res.destroyed) return;
    }

    const upstream = http.request({
      host: opts.origin.address,
      port: opts.origin.port,
      method,
      path: `${opts.originPath}${url}`,
      agent: agents.agentFor(req.socket),
      headers: {
        ...forwardableHeaders(req.headers, ["x-amz-cf-id"]),
        Via: `2.0 ${via.slice(4)}`,
        "X-Forwarded-For": req.socket.remoteAddress ?? "",
        "X-Amz-Cf-Id": cfId,
        ...(body.length > 0 ? { "Content-Length": body.length } : {}),
      },
    });
    const timer = setTimeout(() => {
      upstream.destroy();
      edgeError(
        504,
        "CloudFront attempted to establish a connection with the origin, but the origin timed out.",
      );
    }, ctx.timings.integrationTimeoutMs + ORIGIN_GRACE_MS);
    const abort = () => upstream.destroy();
    ctx.signal.addEventListener("abort", abort, { once: true });
    cleanup = () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", abort);
      if (!upstream.destroyed && !res.writableFinished) upstream.destroy();
    };
    upstream.on("error", () => {
      clearTimeout(timer);
      edgeError(502, "CloudFront wasn't able to connect to the origin.");
    });
    upstream.on("response", (ures) => {
      void readBody(ures, MAX_BODY_BYTES).then((ubody) => {
        clearTimeout(timer);
        if (res.headersSent || res.destroyed) return;
        if (ubody === undefined) return edgeError(502, "The origin's response was not valid.");
        const status = ures.statusCode ?? 502;
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(ures.headers)) {
          if (v !== undefined && !isHopByHop(k) && k !== "date") headers[k] = v;
        }
        const length = method === "HEAD" ? Number(ures.headers["content-length"] ?? 0) : ubody.length;
        res.writeHead(status, { ...headers, ...cfHeaders(status), "Content-Length": length });
        res.end(ubody);
      });
    });
    upstream.end(body);
  }

  const info = await listen(server, opts.host);
  return {
    address: info.address,
    port: info.port,
    close: async () => {
      agents.destroyAll();
      await closeServer(server, sockets);
    },
  };
}
