/**
 * What every simulated hop of one lab shares: the clock, the scenario's
 * runtime and timings, the request tracker, the event log, and the signal
 * that aborts pending delays when the lab closes.
 */
import type { Clock } from "../clock.js";
import type { LabEvents } from "./events.js";
import type { ScenarioRuntime, ScenarioTimings } from "./scenarios.js";
import type { RequestTracker } from "./tracker.js";

export interface LabContext {
  clock: Clock;
  /** Monotonic ms when the lab started: the origin of the scenario's schedule (health, routing, delays). */
  startMs: number;
  timings: ScenarioTimings;
  runtime: ScenarioRuntime;
  tracker: RequestTracker;
  events: LabEvents;
  /** Aborted by `Lab.close()`. */
  signal: AbortSignal;
}

/** Largest request or response body a hop buffers (API Gateway's payload limit is 10 MB). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Parses an `X-Amzn-Trace-Id` header into its fields (`Root`, `Parent`, `Sampled`, …). */
export function parseTraceHeader(value: string | string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return out;
  for (const part of v.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** The tracker key API Gateway and the target share: trace root plus API Gateway's segment id. */
export function traceKey(root: string, parent: string): string {
  return `trace:${root};${parent}`;
}

/** The tracker key the edge and API Gateway share. */
export function cfKey(cfId: string): string {
  return `cf:${cfId}`;
}
