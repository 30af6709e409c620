/**
 * A TCP proxy on loopback that holds the server → client bytes of chosen
 * connections for a while: with an HTTPS upstream, the client's TLS handshake
 * waits for the ServerHello, a real TLS-phase stall (a slow or overloaded TLS
 * terminator) while TCP connect stays instant.
 *
 *   const proxy = await startTlsDelayProxy({ upstreamPort: srv.port, holdMs: 600, every: 4 });
 *   ... https://127.0.0.1:${proxy.port}/ ...
 *   await proxy.close();
 */
import { createConnection, createServer, type Socket } from "node:net";

export interface TlsDelayProxyOptions {
  upstreamPort: number;
  /** Upstream host; default 127.0.0.1. */
  upstreamHost?: string;
  /** How long the first server → client bytes are held on a delayed connection. */
  holdMs: number;
  /** Delay connection k (1-based) when k % every === 0. */
  every: number;
}

export interface TlsDelayProxy {
  port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections whose server → client bytes were held. */
  readonly delayed: number;
  close(): Promise<void>;
}

export async function startTlsDelayProxy(opts: TlsDelayProxyOptions): Promise<TlsDelayProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let delayed = 0;
  const track = (s: Socket): void => {
    sockets.add(s);
    s.on("error", () => undefined);
    s.on("close", () => sockets.delete(s));
  };
  const server = createServer((client) => {
    connections++;
    const hold = connections % opts.every === 0;
    if (hold) delayed++;
    track(client);
    const upstream = createConnection({ port: opts.upstreamPort, host: opts.upstreamHost ?? "127.0.0.1" });
    track(upstream);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    // Client → server flows at once (the ClientHello reaches the server).
    client.pipe(upstream);
    // Server → client: a stream nobody reads stays paused, so the ServerHello waits in the proxy.
    if (!hold) upstream.pipe(client);
    else {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!client.destroyed) upstream.pipe(client);
      }, opts.holdMs);
      timers.add(t);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy has no TCP address");
  return {
    port: address.port,
    get connections() {
      return connections;
    },
    get delayed() {
      return delayed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
