/**
 * The network load balancer: a TCP proxy that spreads NEW connections over
 * the targets (round robin by default, or a hash of the client port like a
 * flow hash), keeps each flow on its target for its whole life, and applies
 * the scenario's connection faults: a stall before forwarding (an AZ without
 * healthy targets) and the TCP idle timeout (data on a flow idle too long
 * gets an RST, both ways). It does not route around unhealthy targets: in
 * the lab, target health is what DescribeTargetHealth would report.
 *
 * Like the real one it passes a FIN through on its own: a target that closes
 * an idle keep-alive connection leaves the client's side open (half-closed),
 * and data the client still sends on it is answered with the target's RST —
 * counted as a target reset (AWS/NetworkELB TCP_Target_Reset_Count), as the
 * NLB's own idle-timeout RSTs are counted as ELB resets (TCP_ELB_Reset_Count).
 *
 * A scenario may re-route a new flow (a deploy: no new flows to a draining or
 * registering target) and end a flow (the deregistration delay's end resets
 * the flows still open to the target, connection termination on).
 */
import net from "node:net";
import type { LabContext } from "./context.js";
import type { LabConnectionRecord } from "./events.js";
import { closeServer, delay, listen, trackSockets } from "./net-util.js";

export type NlbBalancing = "round-robin" | "flow-hash";

/** One flow through the NLB, keyed by the client's (API Gateway's) source port. */
export interface NlbFlow {
  seq: number;
  clientPort: number;
  targetIndex: number;
  /** Monotonic ms: accepted, forwarded to the target, last byte either way, closed. */
  acceptedMs: number;
  forwardedMs?: number;
  lastActivityMs: number;
  closedMs?: number;
  injectedDelayMs: number;
  injectedReason?: string;
  /** The NLB reset the flow (its idle timeout). */
  reset: boolean;
  /** The target closed its side (FIN) while the client's side stayed open. */
  targetClosed?: boolean;
  /** The client sent data after the target had closed: the target answered with an RST. */
  targetReset?: boolean;
}

export interface NlbTargetAddress {
  id: string;
  address: string;
  port: number;
}

export interface Nlb {
  address: string;
  port: number;
  /** The flow whose client side uses `clientPort` (open or recently closed). */
  flowFor(clientPort: number): NlbFlow | undefined;
  close(): Promise<void>;
}

const FLOW_MEMORY_MS = 10_000;

export async function startNlb(
  ctx: LabContext,
  host: string,
  targets: readonly NlbTargetAddress[],
  balancing: NlbBalancing = "round-robin",
): Promise<Nlb> {
  const flows = new Map<number, NlbFlow>();
  const upstreams = new Set<net.Socket>();
  let seq = 0;

  // allowHalfOpen: a FIN from one side is passed on without closing the other (see relay).
  const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    void accept(client);
  });
  const sockets = trackSockets(server);

  function forget(now: number): void {
    for (const [port, f] of flows) {
      if (f.closedMs !== undefined && now - f.closedMs > FLOW_MEMORY_MS) flows.delete(port);
    }
  }

  function publish(kind: LabConnectionRecord["kind"], f: NlbFlow): void {
    const target = targets[f.targetIndex];
    ctx.events.publishConnection({
      atMs: ctx.clock.wallMs(),
      kind,
      seq: f.seq,
      targetId: target?.id ?? "?",
      clientPort: f.clientPort,
      injectedDelayMs: f.injectedDelayMs,
      ...(f.injectedReason === undefined ? {} : { injectedReason: f.injectedReason }),
    });
  }

  async function accept(client: net.Socket): Promise<void> {
    const now = ctx.clock.now();
    if (seq % 64 === 0) forget(now);
    const n = targets.length;
    const mySeq = seq++;
    const clientPort = client.remotePort ?? 0;
    const picked = balancing === "round-robin" ? mySeq % n : flowHash(clientPort) % n;
    const decision = ctx.runtime.nlbConnect(picked, n, now - ctx.startMs);
    const flow: NlbFlow = {
      seq: mySeq,
      clientPort,
      targetIndex: decision?.targetIndex ?? picked,
      acceptedMs: now,
      lastActivityMs: now,
      injectedDelayMs: decision?.delayMs ?? 0,
      reset: false,
      ...(decision ? { injectedReason: decision.reason } : {}),
    };
    flows.set(clientPort, flow);
    publish("open", flow);
    let closed = false;
    const upstream = new net.Socket();
    const finish = () => {
      if (closed) return;
      closed = true;
      flow.closedMs = ctx.clock.now();
      client.destroy();
      upstream.destroy();
      publish(flow.reset ? "reset" : flow.targetReset ? "target-reset" : "close", flow);
    };
    let connected = false;
    client.on("error", finish);
    client.on("close", finish);
    // Before the target is reached there is nothing to pass a FIN to.
    client.once("end", () => {
      if (!connected) finish();
    });
    if (decision && !(await delay(decision.delayMs, ctx.signal))) return finish();
    if (closed) return;
    const target = targets[flow.targetIndex];
    if (!target) return finish();
    // Connection termination on deregistration: at the end of the target's deregistration delay the NLB resets
    // the flows it still has to it, both ways.
    const endMs = ctx.runtime.nlbFlowEndMs?.(flow.targetIndex, now - ctx.startMs);
    if (endMs !== undefined) {
      const timer = setTimeout(
        () => {
          if (closed) return;
          flow.reset = true;
          flow.injectedReason = "deregistration-delay-ended";
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          finish();
        },
        Math.max(0, endMs - (ctx.clock.now() - ctx.startMs)),
      );
      timer.unref();
      client.once("close", () => clearTimeout(timer));
    }
    upstreams.add(upstream);
    upstream.once("close", () => upstreams.delete(upstream));
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      // An RST from the target (it closed a connection with a request unread: the keep-alive race itself).
      if (err.code === "ECONNRESET") flow.targetReset = true;
      finish();
    });
    // The target gone: the flow ends, unless the target closed first and the client's side is still open.
    upstream.on("close", () => {
      if (!flow.targetClosed || client.readableEnded) finish();
    });
    upstream.connect({ host: target.address, port: target.port }, () => {
      connected = true;
      flow.forwardedMs = ctx.clock.now();
      flow.lastActivityMs = flow.forwardedMs;
      relay(client, upstream);
      relay(upstream, client);
      client.resume();
    });

    function relay(from: net.Socket, to: net.Socket): void {
      from.on("data", (chunk: Buffer) => {
        const t = ctx.clock.now();
        const idleMs = ctx.runtime.nlbIdleTimeoutMs;
        if (idleMs !== undefined && t - flow.lastActivityMs > idleMs) {
          // The NLB forgot this flow: the packet gets an RST, and so does the other side.
          flow.reset = true;
          client.resetAndDestroy();
          upstream.resetAndDestroy();
          finish();
          return;
        }
        if (from === client && flow.targetClosed) {
          // Data on a connection the target has closed: the target's kernel answers with an RST.
          flow.targetReset = true;
          client.resetAndDestroy();
          finish();
          return;
        }
        flow.lastActivityMs = t;
        if (!to.write(chunk)) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      });
      from.on("end", () => {
        if (from === upstream) flow.targetClosed = true;
        to.end();
      });
    }
  }

  const info = await listen(server, host);
  return {
    address: info.address,
    port: info.port,
    flowFor: (clientPort) => flows.get(clientPort),
    close: async () => {
      for (const u of upstreams) u.destroy();
      await closeServer(server, sockets);
    },
  };
}

/** A stable hash of the client port (a stand-in for the NLB's 5-tuple flow hash). */
function flowHash(port: number): number {
  let h = Math.imul(port ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
