/**
 * Phase timing for undici 7 requests, from its diagnostics channels and a wrapped connector.
 *
 * - A wrapped connector timestamps each new socket: connector call (start),
 *   socket `lookup` (DNS end), socket `connect` (TCP end), connector callback
 *   (TLS end), and keeps that on the socket (a symbol-keyed property).
 * - `undici:request:create` links an undici request to the probe that made it.
 *   undici creates the request (and, for a new connection, calls the
 *   connector) synchronously inside `dispatch()`, so the probe context is a
 *   plain variable set for the duration of that call (`runWithContext`); no
 *   AsyncLocalStorage, whose promise hooks would tax every promise in the
 *   process. Node 20's global fetch (bundled undici 6) publishes on the same
 *   channel names; its requests have no probe context and are ignored.
 * - `undici:client:sendHeaders` = request sent, and the socket it went out
 *   on. Each socket the connector makes gets one `readable` listener, added
 *   before undici's own, that marks the true first byte of whichever probe
 *   is waiting on that socket (`ConnInfo.waiting`): no listener is added or
 *   removed per request.
 * - `undici:request:headers` = headers parsed; `undici:request:trailers` =
 *   body complete.
 */
import { subscribe } from "node:diagnostics_channel";
import { isIP, type Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { buildConnector } from "undici";
import type { Clock } from "../clock.js";
import type { ProbeTimestamps, TlsInfo } from "../model.js";

/** Timestamps and facts of one connection, taken as it was set up. */
export interface ConnInfo {
  https: boolean;
  /** True when the host is a name (a lookup is expected), false for an IP literal. */
  expectLookup: boolean;
  /** Connector called. */
  start: number;
  /** Lookup function called (DNS start). */
  lookupStart?: number;
  dnsEnd?: number;
  lookupFailed?: boolean;
  /** The connector returned: the connect (or lookup) has been issued. */
  issuedAt?: number;
  connectEnd?: number;
  tlsEnd?: number;
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  remoteFamily?: string | undefined;
  /** The lookup's answer when it held several addresses. */
  resolved?: string[];
  /** Addresses tried before connecting, the connected one last, when more than one was tried. */
  attempts?: string[];
  localAddress?: string | undefined;
  localPort?: number | undefined;
  /** Requests sent on this socket so far. */
  requests: number;
  /** When the last response on this socket ended (monotonic ms). */
  lastEndAt?: number;
  socket?: Socket;
  /** The probe whose request went out on this socket and has no first byte yet. */
  waiting?: ProbeContext | undefined;
  /** TLS facts of this socket (they do not change once the handshake is done). */
  tls?: TlsInfo;
}

/** Everything the instrumentation learns about one probe. */
export interface ProbeContext {
  clock: Clock;
  origin: string;
  path: string;
  method: string;
  t: ProbeTimestamps;
  /** The undici request object, once created. */
  request?: object;
  /** The connection this probe waited for or went out on. */
  conn?: ConnInfo;
  socket?: Socket;
  reused: boolean;
  socketIdleMs?: number;
  tls?: TlsInfo;
  bodyEndAt?: number;
}

/** The probe whose `dispatch()` call is running right now (synchronous scope only). */
let current: ProbeContext | undefined;
/**
 * Links kept as symbol-keyed properties on undici's request object and on
 * each socket, not in a Map or WeakMap: a map's entries (and the hash tables
 * it leaves behind when it rehashes) reach from the old generation into the
 * young one, so every scavenge kept each request's whole object graph alive
 * and promoted it (measured: ~2.7 MB promoted per scavenge, GC ~16% of a
 * reuse-mode profile; with the properties, ~0.1 MB, as a bare undici loop).
 */
const kProbe = Symbol("stallwatch.probe");
const kConn = Symbol("stallwatch.conn");
type WithProbe = { [kProbe]?: ProbeContext | undefined };
type WithConn = { [kConn]?: ConnInfo };

const probeOf = (request: object): ProbeContext | undefined => (request as WithProbe)[kProbe];
let subscribed = false;
/** The connection being set up synchronously right now (read by timedLookup). */
let connecting: { conn: ConnInfo; clock: Clock } | undefined;

/**
 * Run `fn` (which synchronously starts exactly one undici request) with `ctx`
 * as its probe context. The context holds only while `fn` runs.
 */
export function runWithContext<T>(ctx: ProbeContext, fn: () => T): T {
  ensureSubscribed();
  const prev = current;
  current = ctx;
  try {
    return fn();
  } finally {
    current = prev;
  }
}

/** Stop a probe from claiming its socket's next first byte (it has settled). */
export function releaseContext(ctx: ProbeContext): void {
  if (ctx.request) (ctx.request as WithProbe)[kProbe] = undefined;
  const c = ctx.conn;
  if (c && c.waiting === ctx) c.waiting = undefined;
}

/** Wrap a connector so every socket it makes carries its own timestamps. */
export function instrumentConnector(
  baseFor: (opts: buildConnector.Options) => buildConnector.connector,
  clock: Clock,
): buildConnector.connector {
  return (opts, callback) => {
    const https = opts.protocol === "https:";
    const conn: ConnInfo = {
      https,
      expectLookup: isIP(opts.hostname) === 0,
      start: clock.now(),
      requests: 0,
    };
    const ctx = current;
    if (ctx && ctx.conn === undefined) ctx.conn = conn;
    const base = baseFor(opts);
    connecting = { conn, clock };
    let socket: Socket | undefined;
    try {
      socket = base(opts, (err, sock) => {
        if (!err && https) conn.tlsEnd = clock.now();
        if (err) callback(err, null);
        else callback(null, sock);
      }) as unknown as Socket | undefined;
    } finally {
      connecting = undefined;
    }
    conn.issuedAt = clock.now();
    if (!socket) return;
    conn.socket = socket;
    (socket as WithConn)[kConn] = conn;
    // Added before undici sees the socket, so it runs before undici reads the bytes.
    socket.on("readable", () => {
      const w = conn.waiting;
      if (w === undefined) return;
      conn.waiting = undefined;
      w.t.firstByte ??= w.clock.now();
    });
    socket.prependOnceListener("lookup", (err: Error | null) => {
      // A failed lookup is not a DNS phase; the failure records how long it took.
      if (!err) conn.dnsEnd ??= clock.now();
      else conn.lookupFailed = true;
    });
    socket.prependOnceListener("connect", () => {
      conn.connectEnd = clock.now();
      conn.remoteAddress = socket.remoteAddress;
      conn.remotePort = socket.remotePort;
      conn.remoteFamily = socket.remoteFamily;
      conn.localAddress = socket.localAddress;
      conn.localPort = socket.localPort;
      // Node ≥ 20 with autoSelectFamily: "address:port" of every attempt, the connected one last.
      const tried = (socket as { autoSelectFamilyAttemptedAddresses?: string[] })
        .autoSelectFamilyAttemptedAddresses;
      if (tried && tried.length > 1) conn.attempts = tried.map(stripPort);
    });
  };
}

/**
 * Wrap a lookup function so the connection it resolves for records when the
 * lookup started (net.connect calls it synchronously inside the connector).
 */
export function timedLookup<F extends (...args: never[]) => void>(lookup: F): F {
  return ((...args: never[]) => {
    const conn = connecting?.conn;
    if (connecting) connecting.conn.lookupStart ??= connecting.clock.now();
    const callback = args[args.length - 1] as unknown;
    if (conn && typeof callback === "function") {
      // Keep the answer when it offers a choice (several addresses: AAAA and A, several NLB nodes).
      args[args.length - 1] = ((err: unknown, address: unknown, family: unknown) => {
        if (!err && Array.isArray(address) && address.length > 1)
          conn.resolved = address.map((a: { address: string }) => a.address);
        (callback as (...a: unknown[]) => void)(err, address, family);
      }) as never;
    }
    lookup(...args);
  }) as F;
}

/** `192.0.2.1:443` → `192.0.2.1`, `::1:443` → `::1` (Node's autoSelectFamilyAttemptedAddresses entries). */
function stripPort(entry: string): string {
  const i = entry.lastIndexOf(":");
  return i > 0 ? entry.slice(0, i) : entry;
}

function ensureSubscribed(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe("undici:request:create", onCreate);
  subscribe("undici:client:sendHeaders", onSendHeaders);
  subscribe("undici:request:headers", onHeaders);
  subscribe("undici:request:trailers", onTrailers);
}

function onCreate(message: unknown): void {
  const ctx = current;
  const request = (message as { request?: { origin?: unknown; path?: unknown; method?: unknown } }).request;
  if (!ctx || !request || ctx.request !== undefined) return;
  if (request.path !== ctx.path || request.method !== ctx.method) return;
  ctx.request = request;
  (request as WithProbe)[kProbe] = ctx;
}

function onSendHeaders(message: unknown): void {
  const { request, socket } = message as { request: object; socket: Socket };
  const ctx = probeOf(request);
  if (!ctx) return;
  const now = ctx.clock.now();
  ctx.t.sent = now;
  ctx.socket = socket;
  const conn = (socket as WithConn)[kConn];
  if (!conn) return; // not a socket our connector made: no first-byte mark, headers stand in
  ctx.reused = conn.requests > 0;
  if (ctx.reused && conn.lastEndAt !== undefined) ctx.socketIdleMs = now - conn.lastEndAt;
  conn.requests++;
  ctx.conn = conn;
  conn.waiting = ctx;
  if (conn.https) {
    conn.tls ??= tlsInfo(socket as TLSSocket);
    ctx.tls = conn.tls;
  }
}

function onHeaders(message: unknown): void {
  const m = message as { request: object; response?: { statusCode?: number } };
  const ctx = probeOf(m.request);
  if (!ctx) return;
  const now = ctx.clock.now();
  const status = m.response?.statusCode;
  if (status !== undefined && status < 200) {
    // An informational response (100, 103): a first byte, but the final headers are still to come.
    ctx.t.firstByte ??= now;
    return;
  }
  ctx.t.headers = now;
  ctx.t.firstByte ??= now;
  if (ctx.conn?.waiting === ctx) ctx.conn.waiting = undefined;
}

function onTrailers(message: unknown): void {
  const ctx = probeOf((message as { request: object }).request);
  if (!ctx) return;
  ctx.bodyEndAt = ctx.clock.now();
  if (ctx.conn) ctx.conn.lastEndAt = ctx.bodyEndAt;
}

function tlsInfo(socket: TLSSocket): TlsInfo {
  const info: TlsInfo = { sessionReused: socket.isSessionReused() };
  const protocol = socket.getProtocol();
  if (protocol) info.protocol = protocol;
  const cipher = socket.getCipher()?.name;
  if (cipher) info.cipher = cipher;
  if (typeof socket.alpnProtocol === "string") info.alpn = socket.alpnProtocol;
  return info;
}

/** Copy a connection's set-up timestamps into a probe's timestamps (new connections only). */
export function applyConnTimes(ctx: ProbeContext): void {
  const c = ctx.conn;
  if (!c || ctx.reused) return;
  const t = ctx.t;
  if (c.dnsEnd !== undefined) {
    t.dnsStart = c.lookupStart ?? c.start;
    t.dnsEnd = c.dnsEnd;
  }
  if (c.connectEnd !== undefined) {
    t.connectStart = c.dnsEnd ?? c.issuedAt ?? c.start;
    t.connectEnd = c.connectEnd;
  }
  if (c.tlsEnd !== undefined) t.tlsEnd = c.tlsEnd;
}
