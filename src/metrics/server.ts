/**
 * `--metrics-listen HOST:PORT`: a plain node:http server answering
 * GET /metrics (content negotiation: OpenMetrics when the scraper asks for
 * it, as Prometheus does, else the Prometheus text format). Anything else: 404.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StallwatchError, UsageError } from "../errors.js";
import type { ProbeMetrics } from "./prometheus.js";

export const METRICS_PATH = "/metrics";

/** `127.0.0.1:9469`, `[::1]:9469`, `:9469` (all interfaces) → host and port. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) {
    throw new UsageError(
      `--metrics-listen: expected HOST:PORT such as 127.0.0.1:9469 or [::1]:9469, received ${JSON.stringify(spec)}`,
    );
  }
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export interface MetricsServer {
  /** http://host:port/metrics with the bound port. */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  listen: { host: string; port: number },
  metrics: ProbeMetrics,
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== METRICS_PATH || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: try ${METRICS_PATH}\n`);
      return;
    }
    metrics.render(req.headers.accept).then(
      ({ contentType, body }) => {
        res.writeHead(200, { "content-type": contentType });
        res.end(req.method === "HEAD" ? undefined : body);
      },
      (err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" }).end(`${String(err)}\n`);
      },
    );
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new StallwatchError(
          "SW_METRICS_LISTEN",
          `--metrics-listen ${listen.host}:${listen.port}: cannot listen (${err.code ?? err.message})`,
          2,
        ),
      ),
    );
    server.listen(listen.port, listen.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}${METRICS_PATH}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
