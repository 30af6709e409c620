/**
 * The lab's scenarios: one registry, name → description, default timings and
 * the fault behaviour. The CLI help, the docs and `startLab` all read this list.
 *
 * A scenario is a factory: `create(timings, rng)` returns the per-lab runtime
 * (it may keep state, e.g. the cold-start idle tracker). The hops ask it:
 * the edge (`edgeDelay`), the NLB on each new connection (`nlbConnect`), the
 * targets before sending headers (`targetDelay`), the health model (`health`).
 */
import type { Rng } from "./rng.js";

/** Every knob a scenario reads. Milliseconds unless named otherwise. */
export interface ScenarioTimings {
  /** Uniform jitter 0..jitterMs every target adds (all scenarios). */
  jitterMs: number;
  /** bad-target: how late the bad target answers. */
  slowMs: number;
  /** cold-start: an idle gap longer than this makes the next request cold. */
  idleThresholdMs: number;
  /** cold-start: extra delay of a cold request. */
  coldMs: number;
  /** slow-backend / edge-only: probability (0..1) that a request stalls. */
  stallProbability: number;
  /** slow-backend / edge-only: length of one stall. */
  stallMs: number;
  /** API Gateway integration timeout (AWS: 29 s); past it the front answers 504. */
  integrationTimeoutMs: number;
  /** bad-target: the bad target is healthy for the first half of each period, unhealthy for the second. */
  healthFlapPeriodMs: number;
  /** How often the simulated health checker re-evaluates target states. */
  healthCheckIntervalMs: number;
  /** az-down: how long a connection to the NLB node of the dead AZ stalls (SYN retransmission, RTO 1 s). */
  connectStallMs: number;
  /** reset: NLB TCP idle timeout; data on a flow idle longer than this gets an RST (AWS default 350 s). */
  nlbIdleTimeoutMs: number;
  /** throttle: API Gateway's steady-state rate limit (requests per second, token bucket refill). */
  throttleRatePerS: number;
  /** throttle: the token bucket's burst (its size). */
  throttleBurst: number;
  /** Every target's HTTP keep-alive timeout: it closes a connection idle this long (nginx's default 75 s). */
  targetKeepAliveMs: number;
  /**
   * keepalive-mismatch: API Gateway keeps ONE pool of integration connections for all clients (as a VPC link
   * or an nginx `upstream keepalive` pool does) and reuses an idle one for up to this long, noticing a close
   * only when it writes. 0: one upstream connection per client connection (the other scenarios).
   */
  integrationReuseMs: number;
  /** backlog: each target's listen(2) backlog (the kernel caps it at net.core.somaxconn). */
  acceptBacklog: number;
  /** backlog: each target has one worker, busy this long with every request while nothing accepts; 0: no such worker. */
  appBusyMs: number;
  /** deploy: when the rolling deploy begins, ms after the lab's first NLB connection. */
  deployStartMs: number;
  /** deploy: how long a deregistering target stays `draining` (ELBv2 deregistration_delay.timeout_seconds, default 300 s). */
  deregistrationDelayMs: number;
  /** deploy: the app is stopped and deregistered (absent from DescribeTargetHealth) this long before it registers again. */
  restartMs: number;
  /** deploy: how long a registering target stays `initial` (registration, then healthy threshold × interval). */
  initialMs: number;
  /** deploy: how late the app answers on the flows it still has while it shuts down (draining). */
  drainSlowMs: number;
}

export const BASE_TIMINGS: Readonly<ScenarioTimings> = Object.freeze({
  jitterMs: 3,
  slowMs: 2000,
  idleThresholdMs: 3000,
  coldMs: 1500,
  stallProbability: 0.05,
  stallMs: 1000,
  integrationTimeoutMs: 29_000,
  healthFlapPeriodMs: 10_000,
  healthCheckIntervalMs: 1000,
  connectStallMs: 1000,
  nlbIdleTimeoutMs: 350_000,
  throttleRatePerS: 10_000,
  throttleBurst: 5_000,
  targetKeepAliveMs: 75_000,
  integrationReuseMs: 0,
  acceptBacklog: 511,
  appBusyMs: 0,
  deployStartMs: 5000,
  deregistrationDelayMs: 300_000,
  restartMs: 1000,
  initialMs: 10_000,
  drainSlowMs: 400,
});

/** ELBv2 target health states the lab produces (a subset of DescribeTargetHealth's). */
export type TargetHealthState = "initial" | "healthy" | "unhealthy" | "draining" | "unused";

export interface TargetHealth {
  state: TargetHealthState;
  /** ELBv2 reason code, e.g. `Target.Timeout`; absent when healthy. */
  reason?: string;
  description?: string;
}

/** A delay a hop injected, and why. */
export interface Injection {
  delayMs: number;
  reason: string;
}

/** What the NLB does with a new connection: wait, then forward to `targetIndex`. */
export interface NlbDecision extends Injection {
  targetIndex: number;
}

export interface ScenarioRuntime {
  /** Delay a target adds before sending response headers (nowMs: monotonic; elapsedMs: since the lab started). */
  targetDelay(targetIndex: number, nowMs: number, elapsedMs?: number): Injection | undefined;
  /** A target finished a response (monotonic ms). */
  targetDone(nowMs: number): void;
  /** Delay the edge adds before contacting its origin. */
  edgeDelay(): Injection | undefined;
  /** Called for each new NLB connection after round-robin picked `targetIndex` (elapsedMs: since the lab started). */
  nlbConnect(targetIndex: number, targetCount: number, elapsedMs: number): NlbDecision | undefined;
  /**
   * When the NLB resets a flow to `targetIndex` accepted at `acceptedMs` (elapsed since the lab started): the end
   * of that target's deregistration delay, with connection termination on. Undefined: the flow lives on.
   */
  nlbFlowEndMs?(targetIndex: number, acceptedMs: number): number | undefined;
  /** Health of target `targetIndex` at `elapsedMs` since the lab started. */
  health(targetIndex: number, elapsedMs: number): TargetHealth;
  /** NLB idle timeout in ms, or undefined when it is beyond any lab run. */
  nlbIdleTimeoutMs: number | undefined;
  /** API Gateway's throttle: true when a request arriving now (monotonic ms) finds the token bucket empty (429). */
  gatewayThrottled(nowMs: number): boolean;
}

/**
 * How a scenario must be probed to show its fault, when back-to-back requests would hide it (a cold start needs
 * idle gaps; a reset needs an idle reused connection). `report --lab` follows it.
 */
export interface ScenarioProbePlan {
  /** One line the report prints: why this scenario is probed this way. */
  why: string;
  /** The idle time before each request, cycled, ms; one request in flight, so the gap is the whole path's idle time. */
  idleGapsMs?: readonly number[];
  /** Or a concurrency sweep: the requests in equal consecutive parts, part i with this many in flight. */
  concurrencySteps?: readonly number[];
  /** Requests (one series: the lab's first route and endpoint). */
  count: number;
  connection: "fresh" | "reuse";
  /** Timings for the demo so the fault shows within a minute. */
  timings?: Partial<ScenarioTimings>;
}

export interface ScenarioDefinition {
  name: string;
  /** One line for CLI help and docs. */
  description: string;
  /** Set when back-to-back probing cannot show the fault. */
  probe?: ScenarioProbePlan;
  /** Timings this scenario overrides in BASE_TIMINGS. */
  defaults: Partial<ScenarioTimings>;
  /**
   * The custom domain gets a name with AAAA and A records (::1 and the edge's IPv4 address), and SYNs to the
   * IPv6 one go unanswered for real (src/lab/unanswered-ipv6.ts).
   */
  unansweredIpv6?: true;
  create(timings: ScenarioTimings, rng: Rng): ScenarioRuntime;
}

/** The bad target in `bad-target`: the third, so requests 3, 6, 9 … on fresh connections are slow. */
export const BAD_TARGET_INDEX = 2;
/** The AZ that loses its targets in `az-down` (index into the lab's AZ list: us-west-2c). */
export const DOWN_AZ_INDEX = 2;

const HEALTHY: TargetHealth = { state: "healthy" };

function base(t: ScenarioTimings, rng: Rng): ScenarioRuntime {
  return {
    targetDelay: () => jitter(t, rng),
    targetDone: () => {},
    edgeDelay: () => undefined,
    nlbConnect: () => undefined,
    health: () => HEALTHY,
    nlbIdleTimeoutMs: undefined,
    gatewayThrottled: () => false,
  };
}

/** API Gateway's throttling: a token bucket of `throttleBurst` tokens refilled at `throttleRatePerS`. */
function tokenBucket(t: ScenarioTimings): (nowMs: number) => boolean {
  let tokens = t.throttleBurst;
  let lastMs: number | undefined;
  return (nowMs) => {
    if (lastMs !== undefined)
      tokens = Math.min(t.throttleBurst, tokens + ((nowMs - lastMs) * t.throttleRatePerS) / 1000);
    lastMs = nowMs;
    if (tokens < 1) return true;
    tokens -= 1;
    return false;
  };
}

function jitter(t: ScenarioTimings, rng: Rng): Injection | undefined {
  if (t.jitterMs <= 0) return undefined;
  return { delayMs: rng.next() * t.jitterMs, reason: "jitter" };
}

function plus(a: Injection | undefined, b: Injection): Injection {
  return a ? { delayMs: a.delayMs + b.delayMs, reason: `${b.reason}+${a.reason}` } : b;
}

function coldStart(t: ScenarioTimings, rng: Rng): ScenarioRuntime {
  let lastActivityMs: number | undefined; // undefined: never served, scaled to zero at start
  let warmAtMs = Number.NEGATIVE_INFINITY; // a cold start in progress ends here
  return {
    ...base(t, rng),
    targetDelay(_i, nowMs) {
      const j = jitter(t, rng);
      let cold: Injection | undefined;
      if (nowMs < warmAtMs) {
        cold = { delayMs: warmAtMs - nowMs, reason: "cold-start (joined)" };
      } else if (lastActivityMs === undefined || nowMs - lastActivityMs > t.idleThresholdMs) {
        warmAtMs = nowMs + t.coldMs;
        cold = { delayMs: t.coldMs, reason: "cold-start" };
      }
      lastActivityMs = nowMs;
      return cold ? plus(j, cold) : j;
    },
    targetDone(nowMs) {
      lastActivityMs = nowMs;
    },
  };
}

/**
 * A rolling deploy, one target at a time, as an in-place deployment does it (deregister, stop, install, start,
 * register): each target is `draining` for the deregistration delay (the NLB sends it no new flows, keeps its
 * existing ones, and its app, shutting down, answers them late), then deregistered (absent) while the app
 * restarts, then `initial` (registering, initial health checks: no new flows yet, as AWS documents), then
 * `healthy`. At the end of the deregistration delay the NLB resets the flows still open (connection termination
 * on deregistration). The NLB's routing and the reported health come from the same schedule, which starts at
 * the lab's first NLB connection (so a slow start-up of the prober cannot hide the deploy).
 */
function deploy(t: ScenarioTimings, rng: Rng): ScenarioRuntime {
  const step = t.deregistrationDelayMs + t.restartMs + t.initialMs;
  let originMs: number | undefined; // elapsed ms of the first NLB connection
  const drainStart = (i: number) => (originMs ?? 0) + t.deployStartMs + i * step;
  const drainEnd = (i: number) => drainStart(i) + t.deregistrationDelayMs;
  const stateAt = (i: number, e: number): TargetHealth => {
    const s = drainStart(i);
    if (originMs === undefined || e < s || e >= s + step) return HEALTHY;
    if (e < drainEnd(i))
      return {
        state: "draining",
        reason: "Target.DeregistrationInProgress",
        description: "Target deregistration is in progress",
      };
    if (e < drainEnd(i) + t.restartMs)
      return {
        state: "unused",
        reason: "Target.NotRegistered",
        description: "Target is not registered to the target group",
      };
    return {
      state: "initial",
      reason: "Elb.InitialHealthChecking",
      description: "Initial health checks in progress",
    };
  };
  const routable = (i: number, e: number) => stateAt(i, e).state === "healthy";
  return {
    ...base(t, rng),
    health: stateAt,
    targetDelay: (i, _now, e) => {
      const j = jitter(t, rng);
      return e !== undefined && stateAt(i, e).state === "draining"
        ? plus(j, { delayMs: t.drainSlowMs, reason: "draining-shutdown" })
        : j;
    },
    nlbConnect: (i, n, e) => {
      originMs ??= e;
      if (routable(i, e)) return undefined;
      for (let k = 1; k < n; k++) {
        const j = (i + k) % n;
        if (routable(j, e))
          return { delayMs: 0, reason: `target ${i + 1} ${stateAt(i, e).state}`, targetIndex: j };
      }
      return undefined; // none routable: the NLB fails open
    },
    nlbFlowEndMs: (i, acceptedMs) => (acceptedMs < drainEnd(i) ? drainEnd(i) : undefined),
  };
}

const DEFINITIONS = [
  {
    name: "healthy",
    description: "Everything works; targets add 0-3 ms of jitter.",
    defaults: {},
    create: base,
  },
  {
    name: "bad-target",
    description:
      "One of three targets answers after slowMs (2000 ms): every 3rd new connection is slow, so with fresh connections every 2nd or 3rd request stalls; its health flaps.",
    defaults: {},
    create: (t, rng) => ({
      ...base(t, rng),
      targetDelay: (i) => {
        const j = jitter(t, rng);
        return i === BAD_TARGET_INDEX ? plus(j, { delayMs: t.slowMs, reason: "bad-target" }) : j;
      },
      health: (i, elapsedMs) =>
        i === BAD_TARGET_INDEX && elapsedMs % t.healthFlapPeriodMs >= t.healthFlapPeriodMs / 2
          ? { state: "unhealthy", reason: "Target.Timeout", description: "Request timed out" }
          : HEALTHY,
    }),
  },
  {
    name: "cold-start",
    description:
      "The first request after an idle gap longer than idleThresholdMs (3000 ms) is slow by coldMs (1500 ms); the lab starts cold.",
    defaults: {},
    probe: {
      why: "a cold start shows only after idle: one request at a time after gaps of 0.1–2.5 s, around the demo's 1 s idle threshold",
      idleGapsMs: [100, 2000, 300, 1500, 100, 2500, 300, 1200],
      count: 32,
      connection: "fresh",
      timings: { idleThresholdMs: 1000, coldMs: 600 },
    },
    create: coldStart,
  },
  {
    name: "slow-backend",
    description:
      "Random backend stalls: with probability stallProbability (0.05) a target waits stallMs (1000 ms) before answering.",
    defaults: {},
    create: (t, rng) => ({
      ...base(t, rng),
      targetDelay: () => {
        const j = jitter(t, rng);
        return rng.next() < t.stallProbability ? plus(j, { delayMs: t.stallMs, reason: "backend-stall" }) : j;
      },
    }),
  },
  {
    name: "edge-only",
    description:
      "Stalls only through the custom-domain route: the edge waits stallMs (1000 ms) with probability stallProbability (0.2) before reaching its origin, like CloudFront retrying an origin connection; execute-api stays healthy.",
    defaults: { stallProbability: 0.2 },
    create: (t, rng) => ({
      ...base(t, rng),
      edgeDelay: () =>
        rng.next() < t.stallProbability ? { delayMs: t.stallMs, reason: "edge-origin-retry" } : undefined,
    }),
  },
  {
    name: "az-down",
    description:
      "The target in us-west-2c is unhealthy and cross-zone load balancing is off: every 3rd new connection lands on that AZ's NLB node and stalls connectStallMs (1000 ms, like a lost SYN) before it reaches a healthy target.",
    defaults: {},
    create: (t, rng) => ({
      ...base(t, rng),
      nlbConnect: (i, n) => {
        if (i % 3 !== DOWN_AZ_INDEX) return undefined;
        const targetIndex = (i + 1) % n;
        return { delayMs: t.connectStallMs, reason: "az-no-healthy-target", targetIndex };
      },
      health: (i) =>
        i % 3 === DOWN_AZ_INDEX
          ? { state: "unhealthy", reason: "Target.FailedHealthChecks", description: "Health checks failed" }
          : HEALTHY,
    }),
  },
  {
    name: "reset",
    description:
      "The NLB resets flows idle longer than nlbIdleTimeoutMs (2000 ms here, 350 s in AWS): the first request on a reused connection after a pause fails with a 500 from API Gateway.",
    defaults: { nlbIdleTimeoutMs: 2000 },
    probe: {
      why: "a reset shows only on a connection left idle past the NLB's idle timeout: one reused connection, gaps of 0.1–2.5 s around the demo's 1.5 s timeout",
      idleGapsMs: [100, 2000, 300, 2500, 100, 1800, 300, 200],
      count: 32,
      connection: "reuse",
      timings: { nlbIdleTimeoutMs: 1500 },
    },
    create: (t, rng) => ({ ...base(t, rng), nlbIdleTimeoutMs: t.nlbIdleTimeoutMs }),
  },
  {
    name: "throttle",
    description:
      "API Gateway throttles the stage: a token bucket of throttleBurst (10) requests refilled at throttleRatePerS (40/s); a request that finds it empty gets a fast 429 TooManyRequestsException, as a usage plan or stage limit gives.",
    defaults: { throttleRatePerS: 40, throttleBurst: 10 },
    create: (t, rng) => ({ ...base(t, rng), gatewayThrottled: tokenBucket(t) }),
  },
  {
    name: "keepalive-mismatch",
    description:
      "The targets' keep-alive (targetKeepAliveMs, 2000 ms: gunicorn's default) is shorter than the time API Gateway's integration pool reuses an idle connection (integrationReuseMs, 60 s): a request after a gap longer than the backend's keep-alive is written onto a connection the target has closed, the target resets it, and API Gateway answers a fast 500.",
    defaults: { targetKeepAliveMs: 2000, integrationReuseMs: 60_000 },
    probe: {
      why: "a keep-alive mismatch shows only when the path idles about as long as the backend's keep-alive: one request at a time on fresh connections, gaps of 0.1–0.9 s around the demo's 0.5 s target keep-alive",
      idleGapsMs: [100, 700, 250, 550, 400, 900, 150, 300],
      count: 24,
      connection: "fresh",
      timings: { targetKeepAliveMs: 500 },
    },
    create: base,
  },
  {
    name: "backlog",
    description:
      "Every target has one worker, busy appBusyMs (100 ms) with each request while nothing accepts (a gunicorn sync worker), and listens with a backlog of acceptBacklog (1): under load its accept queue fills, the kernel drops the NLB's SYNs and the NLB's kernel retransmits them (1 s, 2 s, 3 s …), so stalls grow with the requests in flight.",
    defaults: { acceptBacklog: 1, appBusyMs: 100 },
    probe: {
      why: "a full accept queue shows only under load: the same requests at 2, then 8, then 32 in flight",
      concurrencySteps: [2, 8, 32],
      count: 90,
      connection: "fresh",
    },
    create: base,
  },
  {
    name: "deploy",
    description:
      "A rolling deploy, one target at a time from deployStartMs (1.5 s) after the first connection: each target drains for deregistrationDelayMs (2 s here, 300 s in AWS) while its app, shutting down, answers its remaining flows drainSlowMs (400 ms) late, the NLB resets those flows when the delay ends, then it restarts (restartMs) and registers again (initial for initialMs) before it is healthy.",
    defaults: {
      deployStartMs: 1500,
      deregistrationDelayMs: 2000,
      restartMs: 300,
      initialMs: 1000,
      healthCheckIntervalMs: 250,
    },
    probe: {
      why: "a deploy hurts the flows a draining target still holds: one reused connection, a request every ~40 ms through the deploy (from 1.5 s to 11.4 s after the first request) and as long again after it, so the run has as many requests outside the deploy as inside",
      idleGapsMs: [40],
      count: 250,
      connection: "reuse",
    },
    create: deploy,
  },
  {
    name: "broken-ipv6",
    description:
      "The custom domain has AAAA and A records (::1 and 127.0.0.1, like a CloudFront distribution with IPv6 switched on) but SYNs to its IPv6 address go unanswered (a listener whose accept queue the lab filled and never drains, so the kernel drops them): every new connection waits the client's Happy Eyeballs attempt timeout (Node: 250 ms) and connects over IPv4; execute-api is IPv4 only.",
    defaults: {},
    unansweredIpv6: true,
    create: base,
  },
] as const satisfies readonly ScenarioDefinition[];

/** Names of the lab scenarios. */
export type ScenarioName = (typeof DEFINITIONS)[number]["name"];

/** Name and description of every scenario, in display order. */
export const SCENARIOS: readonly ScenarioDefinition[] = DEFINITIONS;
export const SCENARIO_NAMES: readonly ScenarioName[] = DEFINITIONS.map((d) => d.name);

export function isScenarioName(s: string): s is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(s);
}

export function getScenario(name: ScenarioName): ScenarioDefinition {
  const def = SCENARIOS.find((d) => d.name === name);
  if (!def) throw new Error(`unreachable: scenario ${name}`);
  return def;
}

/** The effective timings: base, then the scenario's defaults, then the caller's overrides. */
export function resolveTimings(name: ScenarioName, overrides?: Partial<ScenarioTimings>): ScenarioTimings {
  return { ...BASE_TIMINGS, ...getScenario(name).defaults, ...overrides };
}
