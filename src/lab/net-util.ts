/**
 * Small helpers the simulated hops share: listening on port 0, closing a
 * server promptly even with keep-alive sockets open, abortable delays,
 * per-client-connection upstream agents and header hygiene.
 */
import http from "node:http";
import net, { type AddressInfo, type Server, type Socket } from "node:net";
import type { Duplex } from "node:stream";

/** Listens on `host`, port 0 (or `port`); rejects on bind errors such as EADDRNOTAVAIL. */
export function listen(server: Server, host: string, port = 0): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Remembers a server's sockets so `closeServer` can destroy them. */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  return sockets;
}

/** Stops listening and destroys every open connection; resolves when the server is closed. */
export function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      for (const s of sockets) s.destroy();
      resolve();
      return;
    }
    server.close(() => resolve());
    if (server instanceof http.Server) server.closeAllConnections();
    for (const s of sockets) s.destroy();
  });
}

/** Waits `ms`; resolves false instead as soon as one of `signals` aborts (lab closing, client gone). */
export function delay(ms: number, ...signals: AbortSignal[]): Promise<boolean> {
  if (signals.some((s) => s.aborted)) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (completed: boolean) => {
      clearTimeout(timer);
      for (const s of signals) s.removeEventListener("abort", onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
  });
}

/** A signal that aborts when the response closes (sent, or the client went away). */
export function closeSignal(res: http.ServerResponse): AbortSignal {
  const ac = new AbortController();
  res.once("close", () => ac.abort());
  return ac.signal;
}

/**
 * One keep-alive upstream agent per downstream connection: a fresh client
 * connection gets a fresh upstream connection (a new NLB flow), a reused one
 * keeps its upstream socket, as a VPC link keeps its connections warm.
 */
export class ConnectionAgents {
  private readonly agents = new Map<Socket, http.Agent>();

  constructor(server: Server) {
    server.on("connection", (s: Socket) => {
      s.once("close", () => {
        this.agents.get(s)?.destroy();
        this.agents.delete(s);
      });
    });
  }

  agentFor(downstream: Socket): http.Agent {
    let agent = this.agents.get(downstream);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
      if (!downstream.destroyed) this.agents.set(downstream, agent);
    }
    return agent;
  }

  destroyAll(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

/**
 * One pool of upstream connections for every client, as API Gateway's VPC link or nginx's `upstream keepalive`
 * keeps them: an idle connection is reused for up to `reuseMs`, whatever the server said in `Keep-Alive:
 * timeout=` (only Node's own agent reads it). Like a pool that checks a connection only when it uses it, it does
 * not watch idle connections: a server's FIN leaves the socket half-closed in the pool (`allowHalfOpen`), and the
 * next request is written onto it for real — the server's side answers with an RST.
 */
export class IntegrationPool extends http.Agent {
  constructor(private readonly reuseMs: number) {
    super({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    return net.createConnection({
      host: options.hostname ?? options.host ?? "127.0.0.1",
      port: Number(options.port),
      allowHalfOpen: true,
    });
  }

  /** Keeps every socket, for `reuseMs` of idle time (Node's agent would shorten it to the server's hint). */
  override keepSocketAlive(socket: Duplex): boolean {
    const s = socket as Socket;
    s.setKeepAlive(true, 1000);
    s.unref();
    s.setTimeout(this.reuseMs);
    return true;
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    (socket as Socket).ref();
    if (!socket.readableEnded) return;
    // The server closed this connection while it sat in the pool. The request goes out on it all the same;
    // reading the response then finds the end of the stream ("upstream prematurely closed connection"). Node
    // stops reading a socket at its FIN, so that read's outcome is delivered here, once the request is written.
    request.once("finish", () => {
      const err = new Error("socket hang up: the upstream closed the connection before responding");
      socket.destroy(Object.assign(err, { code: "ECONNRESET" }));
    });
  }
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "host",
  "content-length",
]);

/** Request headers a proxy forwards: everything except hop-by-hop ones, Host and Content-Length. */
export function forwardableHeaders(
  h: http.IncomingHttpHeaders,
  drop: readonly string[] = [],
): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP_BY_HOP.has(k) || drop.includes(k)) continue;
    out[k] = v;
  }
  return out;
}

/** True for header names a proxy must not copy from one hop to the next. */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}

/** Reads a whole body, up to `maxBytes` (then resolves undefined and stops reading). */
export function readBody(stream: NodeJS.ReadableStream, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (b: Buffer | undefined) => {
      if (done) return;
      done = true;
      resolve(b);
    };
    stream.on("data", (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) finish(undefined);
      else chunks.push(c);
    });
    stream.on("end", () => finish(Buffer.concat(chunks)));
    stream.on("error", () => finish(undefined));
    stream.on("close", () => finish(undefined)); // after "end" this is a no-op
  });
}

/** Formats an address for a URL (brackets around IPv6). */
export function urlHost(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** Sends a JSON response unless the client is gone. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  if (res.destroyed || res.headersSent) return;
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": payload.length, ...headers });
  res.end(payload);
}
