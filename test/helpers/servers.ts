/**
 * Real loopback test servers with injectable misbehaviour: delays before
 * headers and mid-body, resets, garbage, slowloris, enormous bodies,
 * close-delimited HTTP/1.0, redirect loops, silence. HTTP or HTTPS (a
 * self-signed certificate made once per process with the `openssl` CLI),
 * IPv4 or IPv6 loopback, port 0.
 *
 *   const srv = await startServer({ routes: { "/slow": behaviors.delayHeaders(300) } });
 *   ... srv.url("/slow") ...
 *   await srv.close();   // closes sockets and pending timers too
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { createConnection, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { ProbeTarget } from "../../src/probe/types.js";

/** Per-server tools for handlers: timers made with `later` are cleared when the server closes. */
export interface ServerTools {
  later(ms: number, fn: () => void): void;
  readonly closed: boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, tools: ServerTools) => void;

export interface ServerOptions {
  /** HTTPS with the process's self-signed certificate. */
  tls?: boolean;
  /** Listen address; default 127.0.0.1. Use "::1" for IPv6 loopback. */
  host?: string;
  /** Handlers by path (query string ignored); unknown paths get 404. */
  routes?: Record<string, Handler>;
  /** Handler for every path not in `routes` (default: 404). */
  fallback?: Handler;
  /** Node's server keep-alive timeout (ms); default 5000. */
  keepAliveTimeoutMs?: number;
}

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 or https://[::1]:41234 */
  origin: string;
  host: string;
  port: number;
  url(path?: string): string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Requests received so far. */
  readonly requests: number;
  close(): Promise<void>;
}

let certCache: { key: string; cert: string } | undefined;

/** A self-signed certificate for localhost, api.example.test, 127.0.0.1 and ::1 (made once per process). */
export function selfSignedCert(): { key: string; cert: string } {
  if (certCache) return certCache;
  const dir = mkdtempSync(join(tmpdir(), "sw-cert-"));
  try {
    const key = join(dir, "key.pem");
    const cert = join(dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=stallwatch-test",
        "-keyout",
        key,
        "-out",
        cert,
        "-addext",
        "subjectAltName=DNS:localhost,DNS:api.example.test,IP:127.0.0.1,IP:::1",
      ],
      { stdio: "ignore" },
    );
    certCache = { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
    return certCache;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startServer(opts: ServerOptions = {}): Promise<TestServer> {
  const host = opts.host ?? "127.0.0.1";
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  let closed = false;
  let connections = 0;
  let requests = 0;
  const tools: ServerTools = {
    later(ms, fn) {
      if (closed) return;
      const t = setTimeout(() => {
        timers.delete(t);
        if (!closed) fn();
      }, ms);
      timers.add(t);
    },
    get closed() {
      return closed;
    },
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    requests++;
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const handler = opts.routes?.[path] ?? opts.fallback ?? behaviors.status(404);
    handler(req, res, tools);
  };
  const server = opts.tls ? createHttpsServer(selfSignedCert(), onRequest) : createHttpServer(onRequest);
  server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 5_000;
  server.on("connection", (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("server has no TCP address");
  const port = address.port;
  const origin = `${opts.tls ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    origin,
    host,
    port,
    url: (path = "/") => origin + path,
    get connections() {
      return connections;
    },
    get requests() {
      return requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port with nothing listening (bound, then released). */
export async function refusedPort(host = "127.0.0.1"): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const address = srv.address();
  const port = address && typeof address !== "string" ? address.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A bare TCP listener that accepts and never says anything (a TLS handshake to it never finishes). */
export async function silentTcpServer(host = "127.0.0.1"): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const srv = createNetServer((s) => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const address = srv.address();
  const port = address && typeof address !== "string" ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/**
 * A loopback port whose accept queue is full, so a TCP connect to it hangs
 * (the kernel drops the SYN; the client retransmits): a real connect timeout
 * without touching the network. A worker thread listens with backlog 1 and
 * then blocks its own event loop, so it never accepts; connections made here
 * fill the queue (Linux queues backlog + 1; Node reads backlog 0 as "default").
 */
export async function blackholePort(): Promise<{ port: number; close(): Promise<void> }> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const srv = require("node:net").createServer();
    srv.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
      parentPort.postMessage(srv.address().port);
      Atomics.wait(workerData, 0, 0, 60000); // never back to the event loop: nothing is accepted
    });`;
  const worker = new Worker(code, { eval: true, workerData: gate });
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject);
    worker.once("message", (p: number) => resolve(p));
  });
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const filler = createConnection({ port, host: "127.0.0.1" });
    filler.on("error", () => undefined);
    fillers.push(filler);
    await new Promise<void>((resolve) => {
      filler.once("connect", () => resolve());
      setTimeout(resolve, 200); // a third one would hang: the queue is already full
    });
  }
  return {
    port,
    close: async () => {
      for (const f of fillers) f.destroy();
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      await worker.terminate();
    },
  };
}

/** Canned handlers. */
/** Requests a `behaviors.held` route holds now, and the most it held at once. */
export interface InFlightCount {
  now: number;
  max: number;
}

export const behaviors = {
  /** A JSON response. */
  json(body: unknown, status = 200, headers: Record<string, string> = {}): Handler {
    const text = JSON.stringify(body);
    return (_req, res) => {
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(text);
    };
  },
  /** An empty response with this status. */
  status(code: number, headers: Record<string, string> = {}): Handler {
    return (_req, res) => {
      res.writeHead(code, headers);
      res.end();
    };
  },
  /**
   * Hold each request `ms`, counted in `count` meanwhile (the server's view of the client's concurrency:
   * `count.max` is the most held at once), then run `next` (default: JSON {"ok":true}).
   */
  held(ms: number, count: InFlightCount, next: Handler = behaviors.json({ ok: true })): Handler {
    return (req, res, tools) => {
      count.now++;
      count.max = Math.max(count.max, count.now);
      tools.later(ms, () => {
        count.now--;
        next(req, res, tools);
      });
    };
  },
  /** Hold the response headers for `ms`, then run `next` (default: JSON {"status":"OK"}). */
  delayHeaders(ms: number, next: Handler = behaviors.json({ status: "OK" })): Handler {
    return (req, res, tools) => tools.later(ms, () => next(req, res, tools));
  },
  /** Send headers and half the body, pause `ms`, then the rest. */
  delayMidBody(ms: number, body = "x".repeat(2048)): Handler {
    return (_req, res, tools) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(body.length) });
      res.write(body.slice(0, body.length / 2));
      tools.later(ms, () => res.end(body.slice(body.length / 2)));
    };
  },
  /** RST before any response byte. */
  resetBeforeHeaders(): Handler {
    return (req) => req.socket.resetAndDestroy();
  },
  /** Headers and part of the body, then RST after `ms`. */
  resetAfterHeaders(ms = 50): Handler {
    return (req, res, tools) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "100000" });
      res.write("partial body");
      tools.later(ms, () => req.socket.resetAndDestroy());
    };
  },
  /** Bytes that are not HTTP (the socket stays open). */
  garbage(): Handler {
    return (req) => {
      req.socket.write("SSH-2.0-OpenSSH_9.6 this is not http\r\n\r\n");
    };
  },
  /** A status line, then one header line every `intervalMs`, never finishing. */
  slowloris(intervalMs = 50): Handler {
    return (req, _res, tools) => {
      req.socket.write("HTTP/1.1 200 OK\r\n");
      const drip = (): void => {
        if (req.socket.destroyed) return;
        req.socket.write("x-slow: a\r\n");
        tools.later(intervalMs, drip);
      };
      tools.later(intervalMs, drip);
    };
  },
  /** A body of `bytes` bytes (chunked, no content-length), written with backpressure. */
  enormousBody(bytes = 64 * 1024 * 1024): Handler {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    return (_req, res) => {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        if (!res.destroyed) res.end();
      };
      res.on("error", () => undefined);
      pump();
    };
  },
  /** HTTP/1.0 response without content-length: the body ends when the server closes. */
  http10CloseDelimited(body = '{"status":"OK"}'): Handler {
    return (req) => {
      req.socket.end(`HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n${body}`);
    };
  },
  /** 302 to itself, forever. */
  redirectLoop(): Handler {
    return (req, res) => {
      res.writeHead(302, { location: req.url ?? "/" });
      res.end();
    };
  },
  /** Read the request and never answer. */
  neverAnswer(): Handler {
    return () => undefined;
  },
};

/** A ProbeTarget for a test server URL (api "test", route "loopback", endpoint = path). */
export function targetFor(url: string, overrides: Partial<ProbeTarget> = {}): ProbeTarget {
  return {
    api: "test",
    route: "loopback",
    endpoint: new URL(url).pathname,
    url,
    method: "GET",
    headers: {},
    secretHeaders: [],
    timeoutMs: 5_000,
    ...overrides,
  };
}
