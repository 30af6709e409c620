/**
 * One local HTTP server for the lab's AWS endpoints (CloudWatch, X-Ray,
 * ELBv2). Each service is an {@link AwsServiceHandler}; the server decodes the
 * request (gzip bodies included), asks each handler in order whether the
 * request is its own (`matches`: by `X-Amz-Target`, path or `Action=`), and
 * hands it over. Requests nobody claims get a 404 in a neutral JSON shape.
 *
 * Fault injection lives here, not in the handlers, so every service can be
 * taken down, throttled or made to fail the same way; the error body is
 * rendered by the handler (`renderError`) in that service's wire format, so
 * the real SDK client parses it as it would parse AWS's.
 *
 * Real AWS SDK clients reach it through `AWS_ENDPOINT_URL` (all services) or
 * `AWS_ENDPOINT_URL_<SERVICE>` / the client's `endpoint` option.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** A decoded request as a handler sees it. */
export interface AwsLabRequest {
  method: string;
  /** Path and query as sent, e.g. `/` or `/Traces`. */
  url: URL;
  /** Lower-case header names. */
  headers: IncomingHttpHeaders;
  /** `X-Amz-Target` header when present (AWS JSON protocols), e.g. `GraniteServiceVersion20100801.PutMetricData`. */
  target?: string;
  /** Body after `Content-Encoding: gzip` was undone. */
  body: Buffer;
}

/** What a handler answers. */
export interface AwsLabResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

/** An error to render in a service's own wire format. */
export interface AwsLabError {
  status: number;
  /** AWS error code, e.g. `Throttling`, `InvalidParameterValue`, `InternalFailure`. */
  code: string;
  message: string;
  /** `Sender` (4xx) or `Receiver` (5xx), used by query-style error shapes. */
  type: "Sender" | "Receiver";
}

/** One AWS service of the lab. */
export interface AwsServiceHandler {
  /** Service name used for per-service faults and logs, e.g. `cloudwatch`, `xray`, `elbv2`. */
  readonly name: string;
  /** True when this request belongs to this service. Must be cheap and side-effect free. */
  matches(req: AwsLabRequest): boolean;
  /** Answers one request. Should not throw; a throw becomes a 500 rendered by `renderError`. */
  handle(req: AwsLabRequest, body: Buffer): Promise<AwsLabResponse>;
  /** Renders an error the way this service's real endpoint would. */
  renderError(req: AwsLabRequest, err: AwsLabError): AwsLabResponse;
}

/** How the endpoint is "down". `refuse`: the port stops listening (ECONNREFUSED); `503`: answers 503 ServiceUnavailable. */
export type DownMode = "refuse" | "503";

/** Fault controls, optionally scoped to one service by name. */
export interface AwsLabFaults {
  /** Takes the endpoint down until {@link up}. `refuse` closes the listener (all services). */
  down(mode?: DownMode, service?: string): Promise<void>;
  /** Brings it back (re-listens on the same port after `refuse`). */
  up(): Promise<void>;
  /** The next `calls` requests (to `service`, or any) answer 400 Throttling. */
  throttle(calls: number, service?: string): void;
  /** The next `calls` requests (to `service`, or any) answer 500 InternalFailure. */
  fail5xx(calls: number, service?: string): void;
  /** Clears every fault. */
  reset(): Promise<void>;
  /** Requests that reached the server, per service name (`?` for unmatched), faults included. */
  readonly calls: ReadonlyMap<string, number>;
}

export interface AwsLab {
  /** `http://127.0.0.1:<port>`: set it as `AWS_ENDPOINT_URL` or a client's `endpoint`. */
  readonly url: string;
  readonly port: number;
  readonly faults: AwsLabFaults;
  /** Adds a handler after start (checked after the earlier ones). */
  register(handler: AwsServiceHandler): void;
  /**
   * The IAM actions the requests so far needed, in arrival order (repeats
   * kept): `cloudwatch:PutMetricData`, `xray:BatchGetTraces`, …, plus what a
   * request implies (`cloudwatch:TagResource` for an alarm created with Tags).
   */
  readonly actions: readonly string[];
  close(): Promise<void>;
}

/** The IAM actions one request needs: its operation, plus those its parameters imply. */
export function iamActionsOf(service: string, req: AwsLabRequest): string[] {
  if (service === "cloudwatch" && req.target !== undefined) {
    const op = req.target.slice(req.target.lastIndexOf(".") + 1);
    const out = [`cloudwatch:${op}`];
    if (op === "PutMetricAlarm" || op === "PutCompositeAlarm") {
      try {
        const body = JSON.parse(req.body.toString("utf8") || "{}") as { Tags?: unknown[] };
        if ((body.Tags?.length ?? 0) > 0) out.push("cloudwatch:TagResource");
      } catch {
        // a malformed body is the handler's business
      }
    }
    return out;
  }
  if (service === "xray") {
    const ops: Record<string, string> = {
      "/Traces": "BatchGetTraces",
      "/TraceSummaries": "GetTraceSummaries",
    };
    const op = ops[req.url.pathname];
    return op ? [`xray:${op}`] : [];
  }
  if (service === "elbv2") {
    const action = new URLSearchParams(req.body.toString("utf8")).get("Action");
    return action ? [`elasticloadbalancing:${action}`] : [];
  }
  return [];
}

export interface AwsLabOptions {
  handlers: AwsServiceHandler[];
  /** Default 127.0.0.1. Loopback only. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
}

interface Counted {
  left: number;
  service: string | undefined;
}

/** Starts the shared lab endpoint. Close it with `close()`. */
export async function startAwsLab(opts: AwsLabOptions): Promise<AwsLab> {
  const handlers = [...opts.handlers];
  const host = opts.host ?? "127.0.0.1";
  const calls = new Map<string, number>();
  const actions: string[] = [];
  let down: { mode: DownMode; service: string | undefined } | undefined;
  const throttles: Counted[] = [];
  const failures: Counted[] = [];

  const takeFault = (list: Counted[], service: string): boolean => {
    const f = list.find((c) => c.left > 0 && (c.service === undefined || c.service === service));
    if (!f) return false;
    f.left--;
    return true;
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      void (async () => {
        let raw = Buffer.concat(chunks);
        const enc = String(req.headers["content-encoding"] ?? "").toLowerCase();
        if (enc.includes("gzip")) {
          try {
            raw = gunzipSync(raw);
          } catch {
            res.writeHead(400, { "content-type": "text/plain" }).end("bad gzip body");
            return;
          }
        }
        const target = req.headers["x-amz-target"];
        const lreq: AwsLabRequest = {
          method: req.method ?? "GET",
          url: new URL(req.url ?? "/", "http://lab.invalid"),
          headers: req.headers,
          body: raw,
          ...(typeof target === "string" ? { target } : {}),
        };
        const handler = handlers.find((h) => h.matches(lreq));
        const name = handler?.name ?? "?";
        calls.set(name, (calls.get(name) ?? 0) + 1);
        actions.push(...iamActionsOf(name, lreq));
        let out: AwsLabResponse;
        if (!handler) {
          out = {
            status: 404,
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ message: `no lab handler for ${lreq.method} ${lreq.url.pathname}` }),
          };
        } else if (down && (down.service === undefined || down.service === name)) {
          out = handler.renderError(lreq, {
            status: 503,
            code: "ServiceUnavailable",
            message: "lab: endpoint down",
            type: "Receiver",
          });
        } else if (takeFault(throttles, name)) {
          out = handler.renderError(lreq, {
            status: 400,
            code: "Throttling",
            message: "Rate exceeded",
            type: "Sender",
          });
        } else if (takeFault(failures, name)) {
          out = handler.renderError(lreq, {
            status: 500,
            code: "InternalFailure",
            message: "lab: injected failure",
            type: "Receiver",
          });
        } else {
          try {
            out = await handler.handle(lreq, raw);
          } catch (e) {
            out = handler.renderError(lreq, {
              status: 500,
              code: "InternalFailure",
              message: e instanceof Error ? e.message : String(e),
              type: "Receiver",
            });
          }
        }
        const body = typeof out.body === "string" ? Buffer.from(out.body) : out.body;
        res.writeHead(out.status, { ...out.headers, "content-length": String(body.length) });
        res.end(body);
      })();
    });
  });

  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });

  const port = await listen(opts.port ?? 0);
  const urlHost = host.includes(":") ? `[${host}]` : host;

  const faults: AwsLabFaults = {
    async down(mode: DownMode = "refuse", service?: string) {
      down = { mode, service };
      if (mode === "refuse") await stop();
    },
    async up() {
      down = undefined;
      if (!server.listening) await listen(port);
    },
    throttle(n, service) {
      throttles.push({ left: n, service });
    },
    fail5xx(n, service) {
      failures.push({ left: n, service });
    },
    async reset() {
      throttles.length = 0;
      failures.length = 0;
      await faults.up();
    },
    calls,
  };

  return {
    url: `http://${urlHost}:${port}`,
    port,
    faults,
    actions,
    register: (h) => handlers.push(h),
    close: async () => {
      down = undefined;
      await stop();
    },
  };
}
