/**
 * `startLab`: the whole simulated stack on loopback, outside in:
 *
 *   custom-domain: client → edge (CloudFront-like) → API Gateway front → NLB → target (nginx + app)
 *   execute-api:   client → API Gateway front (/<stage>/…) → NLB → target
 *
 * Every hop is a real server on port 0. The scenario decides where delays
 * and faults go; `lab.events` and `lab.targets` expose what happened, for
 * tests, for `stallwatch lab`, and for the lab's future AWS endpoints.
 */
import { setMaxListeners } from "node:events";
import { type Clock, systemClock } from "../clock.js";
import { StallwatchError, UsageError } from "../errors.js";
import { startAcceptGate } from "./accept-gate.js";
import { startApigw } from "./apigw.js";
import type { LabContext } from "./context.js";
import { startEdge } from "./edge.js";
import { LabEvents, type LabRouteName } from "./events.js";
import { healthAt, LAB_AZS, type LabTarget, TargetHealthModel } from "./health.js";
import { urlHost } from "./net-util.js";
import { type NlbBalancing, startNlb } from "./nlb.js";
import { createRng, randomSeed } from "./rng.js";
import {
  getScenario,
  isScenarioName,
  resolveTimings,
  SCENARIO_NAMES,
  type ScenarioName,
  type ScenarioTimings,
  type TargetHealth,
} from "./scenarios.js";
import { startTarget, type TargetServer } from "./target-app.js";
import { RequestTracker } from "./tracker.js";
import { startUnansweredIpv6 } from "./unanswered-ipv6.js";

export interface LabOptions {
  scenario: ScenarioName;
  /** Overrides of the scenario's timings (keep them small in tests). */
  timings?: Partial<ScenarioTimings>;
  /** Seed for the fault decisions; random when absent (see `Lab.seed`). */
  seed?: number;
  /** Address the public routes listen on. Default 127.0.0.1. */
  host?: string;
  /** The integration's host name, sent as `Host` to the targets. Default `flaskapp-api.example.com`. */
  backendHost?: string;
  /** API Gateway stage. Default `test`. */
  stage?: string;
  /** Number of NLB targets (1-9). Default 3. */
  targetCount?: number;
  /** How the NLB spreads new connections. Default round-robin. */
  balancing?: NlbBalancing;
  /** Capacity of each event ring buffer. Default 10,000. */
  eventCapacity?: number;
  clock?: Clock;
}

/** A running lab. */
export interface Lab {
  scenario: ScenarioName;
  description: string;
  timings: Readonly<ScenarioTimings>;
  /** The seed the fault decisions used (pass it back to replay a run). */
  seed: number;
  /** Base URLs. execute-api includes the stage path. */
  routes: Record<LabRouteName, string>;
  /** curl-style pins (`host:port:address,...`) for route names that are not IP literals (broken-ipv6). */
  resolve: string[];
  backendHost: string;
  stage: string;
  region: string;
  /** The edge location in `X-Amz-Cf-Pop`. */
  pop: string;
  targets: readonly LabTarget[];
  nlb: { address: string; port: number; balancing: NlbBalancing; crossZone: boolean };
  events: LabEvents;
  /** Health of a target at a wall-clock time (epoch ms). */
  targetHealthAt(targetId: string, atMs: number): TargetHealth | undefined;
  /**
   * Pins a target's reported health (`undefined` returns it to the scenario's). For tests and for
   * simulating deployments (`draining`, `initial`); it changes what is reported, not the routing.
   */
  setTargetHealth(targetId: string, health: TargetHealth | undefined): void;
  /** Closes every server and socket; resolves promptly even with keep-alive sockets open. Idempotent. */
  close(): Promise<void>;
}

export const LAB_DEFAULT_BACKEND_HOST = "flaskapp-api.example.com";
export const LAB_REGION = "us-west-2";
/** The custom domain's name when it has AAAA and A records (broken-ipv6): pinned, never looked up (.test, RFC 2606). */
export const LAB_DUAL_STACK_HOST = "cdn.stallwatch-lab.test";
const LAB_POP = "SFO53-P1";

function checkOptions(opts: LabOptions, timings: ScenarioTimings): void {
  if (!isScenarioName(opts.scenario)) {
    throw new UsageError(
      `unknown lab scenario '${String(opts.scenario)}' (expected ${SCENARIO_NAMES.join(", ")})`,
    );
  }
  for (const [k, v] of Object.entries(timings)) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new UsageError(`lab timing ${k} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (timings.stallProbability > 1)
    throw new UsageError("lab timing stallProbability must be between 0 and 1");
  if (timings.integrationTimeoutMs < 1) throw new UsageError("lab timing integrationTimeoutMs must be >= 1");
  const n = opts.targetCount ?? 3;
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new UsageError("lab targetCount must be an integer 1-9");
  if (opts.stage !== undefined && !/^[A-Za-z0-9_-]+$/.test(opts.stage)) {
    throw new UsageError("lab stage must be letters, digits, '_' or '-'");
  }
}

export async function startLab(opts: LabOptions): Promise<Lab> {
  if (!isScenarioName(opts.scenario)) {
    throw new UsageError(
      `unknown lab scenario '${String(opts.scenario)}' (expected ${SCENARIO_NAMES.join(", ")})`,
    );
  }
  const timings = resolveTimings(opts.scenario, opts.timings);
  checkOptions(opts, timings);
  const def = getScenario(opts.scenario);
  const clock = opts.clock ?? systemClock;
  const seed = opts.seed ?? randomSeed();
  const host = opts.host ?? "127.0.0.1";
  const stage = opts.stage ?? "test";
  const backendHost = opts.backendHost ?? LAB_DEFAULT_BACKEND_HOST;
  const balancing = opts.balancing ?? "round-robin";
  const events = new LabEvents(opts.eventCapacity);
  const abort = new AbortController();
  // Every in-flight upstream request listens on this shutdown signal: more than Node's default 10 at once is normal.
  setMaxListeners(0, abort.signal);
  const ctx: LabContext = {
    clock,
    startMs: clock.now(),
    timings,
    runtime: def.create(timings, createRng(seed)),
    tracker: new RequestTracker(events, clock),
    events,
    signal: abort.signal,
  };
  const closers: (() => Promise<void>)[] = [];
  let health: TargetHealthModel | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      abort.abort();
      health?.stop();
      await Promise.all(closers.map((c) => c().catch(() => {})));
    })();
    return closing;
  };

  try {
    const servers: TargetServer[] = [];
    for (let i = 0; i < (opts.targetCount ?? 3); i++) {
      const s = await startTarget(ctx, i, host);
      closers.push(s.close);
      servers.push(s);
    }
    // A target whose accept loop is slow listens through a gate with a small backlog (accept-gate.ts).
    const listenPorts: number[] = [];
    for (const s of servers) {
      if (timings.appBusyMs <= 0) {
        listenPorts.push(s.port);
        continue;
      }
      const gate = await startAcceptGate({
        host: s.address,
        upstream: s,
        backlog: timings.acceptBacklog,
        busyMs: timings.appBusyMs,
      });
      closers.push(gate.close);
      listenPorts.push(gate.port);
    }
    const targets: LabTarget[] = servers.map((s, i) => ({
      id: `t${s.index + 1}`,
      index: s.index,
      address: s.address,
      port: listenPorts[i] ?? s.port,
      availabilityZone: LAB_AZS[s.index % LAB_AZS.length] ?? "us-west-2a",
      health: { state: "initial" },
      healthSinceMs: clock.wallMs(),
      history: [],
    }));
    const nlb = await startNlb(ctx, host, targets, balancing);
    closers.push(nlb.close);
    const withIds = servers.map((s, i) => ({ ...s, id: targets[i]?.id ?? `t${i + 1}` }));
    const apigw = await startApigw(ctx, { host, stage, backendHost, nlb, targets: withIds });
    closers.push(apigw.close);
    const edge = await startEdge(ctx, {
      host,
      originPath: `/${stage}`,
      origin: { address: apigw.address, port: apigw.port },
      pop: LAB_POP,
    });
    closers.push(edge.close);
    let customDomain = `http://${urlHost(edge.address)}:${edge.port}`;
    const resolve: string[] = [];
    if (def.unansweredIpv6) {
      const hole = await startUnansweredIpv6(edge.port);
      closers.push(hole.close);
      customDomain = `http://${LAB_DUAL_STACK_HOST}:${edge.port}`;
      resolve.push(`${LAB_DUAL_STACK_HOST}:${edge.port}:[${hole.address}],${edge.address}`);
    }
    health = new TargetHealthModel(ctx, targets);
    health.start();

    return {
      scenario: opts.scenario,
      description: def.description,
      timings,
      seed,
      routes: {
        "custom-domain": customDomain,
        "execute-api": `http://${urlHost(apigw.address)}:${apigw.port}/${stage}`,
      },
      resolve,
      backendHost,
      stage,
      region: LAB_REGION,
      pop: LAB_POP,
      targets,
      nlb: { address: nlb.address, port: nlb.port, balancing, crossZone: false },
      events,
      targetHealthAt: (id, atMs) => {
        const t = targets.find((x) => x.id === id);
        return t ? healthAt(t, atMs) : undefined;
      },
      setTargetHealth: (id, h) => {
        const t = targets.find((x) => x.id === id);
        if (!t)
          throw new UsageError(
            `unknown lab target '${id}' (expected ${targets.map((x) => x.id).join(", ")})`,
          );
        health?.override(t.index, h);
      },
      close,
    };
  } catch (err) {
    await close();
    if (err instanceof StallwatchError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    throw new StallwatchError("SW_LAB_START", `could not start the lab on ${host}: ${msg}`, 1, {
      cause: err,
    });
  }
}
