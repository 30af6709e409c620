/**
 * The API Gateway front (a REST API, HTTP proxy integration over a VPC link
 * to the NLB). Both routes end here: execute-api directly, with the stage in
 * the path; custom-domain through the edge, which adds the stage as its
 * origin path (the base path mapping).
 *
 * Like the real one it adds `x-amzn-RequestId` and `x-amz-apigw-id`, keeps
 * the client's X-Ray `Root` or creates one (and echoes it), sends the
 * integration's host as `Host`, renames the backend's Date / Server /
 * Connection / Content-Length / WWW-Authenticate to `x-amzn-Remapped-*`, and
 * answers 403 without the stage, 504 after the integration timeout, 500 when
 * the integration connection fails.
 */
import http from "node:http";
import type { Socket } from "node:net";
import { cfKey, type LabContext, MAX_BODY_BYTES, parseTraceHeader, traceKey } from "./context.js";
import {
  ConnectionAgents,
  closeServer,
  forwardableHeaders,
  IntegrationPool,
  isHopByHop,
  listen,
  readBody,
  sendJson,
  trackSockets,
} from "./net-util.js";
import type { Nlb, NlbFlow } from "./nlb.js";
import { newApigwId, newRequestId, newSegmentId, newTraceRoot } from "./rng.js";
import type { TargetServer } from "./target-app.js";
import type { PendingRequest } from "./tracker.js";

export interface ApigwOptions {
  host: string;
  /** Stage name, e.g. `test`: execute-api paths start with `/test`. */
  stage: string;
  /** The integration's host, sent as `Host` to the backend. */
  backendHost: string;
  nlb: Nlb;
  targets: readonly (TargetServer & { id: string })[];
}

export interface ApigwServer {
  address: string;
  port: number;
  close(): Promise<void>;
}

const REMAPPED: Record<string, string> = {
  date: "Date",
  server: "Server",
  connection: "Connection",
  "content-length": "Content-Length",
  "www-authenticate": "WWW-Authenticate",
};

export async function startApigw(ctx: LabContext, opts: ApigwOptions): Promise<ApigwServer> {
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    void handle(req, res);
  });
  const sockets = trackSockets(server);
  const agents = new ConnectionAgents(server);
  // keepalive-mismatch: one integration pool for every client, as a VPC link keeps it.
  const pool =
    ctx.timings.integrationReuseMs > 0 ? new IntegrationPool(ctx.timings.integrationReuseMs) : undefined;
  const stagePrefix = `/${opts.stage}`;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const cfId = req.headers["x-amz-cf-id"];
    const viaEdge = typeof cfId === "string" ? ctx.tracker.find(cfKey(cfId)) : undefined;
    const p = viaEdge ?? ctx.tracker.begin("execute-api", method, url);
    if (viaEdge) ctx.tracker.hold(viaEdge);
    const hop = p.startHop("apigw");
    const r = p.record;
    r.requestId = newRequestId();
    r.extendedRequestId = newApigwId();
    const incoming = parseTraceHeader(req.headers["x-amzn-trace-id"]);
    r.traceId = incoming.Root ?? newTraceRoot(ctx.clock.wallMs());
    r.segmentId = newSegmentId();
    r.sampled = incoming.Sampled === "1";
    ctx.tracker.alias(traceKey(r.traceId, r.segmentId), p);
    const ids: http.OutgoingHttpHeaders = {
      "x-amzn-RequestId": r.requestId,
      "x-amz-apigw-id": r.extendedRequestId,
      "X-Amzn-Trace-Id": `Root=${r.traceId};Sampled=${r.sampled ? 1 : 0}`,
    };
    let cleanup: (() => void) | undefined; // set once the integration call starts
    res.once("close", () => {
      cleanup?.();
      p.endHop(hop);
      if (viaEdge) return ctx.tracker.release(p);
      r.status = res.statusCode;
      ctx.tracker.complete(p);
    });

    const gatewayError = (status: number, errorType: string | undefined, message: string) => {
      if (errorType) r.errorType = errorType;
      sendJson(res, status, { message }, { ...ids, ...(errorType ? { "x-amzn-ErrorType": errorType } : {}) });
    };

    const body = await readBody(req, MAX_BODY_BYTES);
    if (body === undefined) return gatewayError(413, "RequestEntityTooLargeException", "Request Too Long");
    if (url !== stagePrefix && !url.startsWith(`${stagePrefix}/`) && !url.startsWith(`${stagePrefix}?`)) {
      return gatewayError(403, "ForbiddenException", "Forbidden");
    }
    if (ctx.runtime.gatewayThrottled(ctx.clock.now()))
      return gatewayError(429, "TooManyRequestsException", "Too Many Requests");
    const rest = url.slice(stagePrefix.length);
    const backendPath = rest.startsWith("/") ? rest : `/${rest}`;
    r.backendPath = backendPath;

    const integration = p.startHop("integration");
    const upstream = http.request({
      host: opts.nlb.address,
      port: opts.nlb.port,
      method,
      path: backendPath,
      agent: pool ?? agents.agentFor(req.socket),
      headers: {
        ...forwardableHeaders(req.headers, ["x-amzn-trace-id"]),
        Host: opts.backendHost,
        "X-Amzn-Trace-Id": `Root=${r.traceId};Parent=${r.segmentId};Sampled=${r.sampled ? 1 : 0}`,
        ...(body.length > 0 ? { "Content-Length": body.length } : {}),
      },
    });
    // The NLB knows the flow by our source port; remember it while the socket is alive.
    let localPort: number | undefined;
    upstream.once("socket", (s: Socket) => {
      localPort = s.localPort;
      if (localPort === undefined) s.once("connect", () => (localPort = s.localPort));
    });
    const noteFlow = (detail?: string) => {
      integration.detail = detail ?? (upstream.reusedSocket ? "reused connection" : "new connection");
      const flow = localPort === undefined ? undefined : opts.nlb.flowFor(localPort);
      if (!flow) return;
      r.nlbConnectionSeq = flow.seq;
      const target = opts.targets[flow.targetIndex];
      if (target) r.targetId = target.id;
      if (!upstream.reusedSocket) addNlbHop(p, integration.startMs, flow);
    };
    const timer = setTimeout(() => {
      upstream.destroy();
      noteFlow("timeout");
      p.endHop(integration);
      gatewayError(504, undefined, "Endpoint request timed out");
    }, ctx.timings.integrationTimeoutMs);
    const abort = () => upstream.destroy();
    ctx.signal.addEventListener("abort", abort, { once: true });
    cleanup = () => {
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", abort);
      if (integration.endMs === undefined) {
        noteFlow("client closed");
        p.endHop(integration);
      }
      if (!upstream.destroyed && !res.writableFinished) upstream.destroy();
    };

    upstream.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (res.headersSent || res.destroyed) return;
      noteFlow(err.code ?? err.message);
      p.endHop(integration);
      gatewayError(500, "InternalServerErrorException", "Internal server error");
    });
    upstream.on("response", (ures) => {
      void readBody(ures, MAX_BODY_BYTES).then((ubody) => {
        clearTimeout(timer);
        if (res.headersSent || res.destroyed) return;
        noteFlow();
        p.endHop(integration);
        if (ures.statusCode !== undefined) r.integrationStatus = ures.statusCode;
        if (ubody === undefined) return gatewayError(502, undefined, "Internal server error");
        const headers: http.OutgoingHttpHeaders = {};
        for (const [k, v] of Object.entries(ures.headers)) {
          if (v === undefined) continue;
          const remapped = REMAPPED[k];
          if (remapped) headers[`x-amzn-Remapped-${remapped}`] = v;
          else if (!isHopByHop(k)) headers[k] = v;
        }
        const length = method === "HEAD" ? Number(ures.headers["content-length"] ?? 0) : ubody.length;
        res.writeHead(ures.statusCode ?? 502, { ...headers, ...ids, "Content-Length": length });
        res.end(ubody);
      });
    });
    upstream.end(body);
  }

  function addNlbHop(p: PendingRequest, startMs: number, flow: NlbFlow): void {
    const h = p.startHop("nlb", {
      startMs,
      injectedDelayMs: flow.injectedDelayMs,
      detail: `connection #${flow.seq}`,
      ...(flow.injectedReason === undefined ? {} : { injectedReason: flow.injectedReason }),
    });
    if (flow.forwardedMs !== undefined) h.endMs = p.elapsedMs(flow.forwardedMs);
  }

  const info = await listen(server, opts.host);
  return {
    address: info.address,
    port: info.port,
    close: async () => {
      agents.destroyAll();
      pool?.destroy();
      await closeServer(server, sockets);
    },
  };
}
