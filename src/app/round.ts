/**
 * The RoundRunner the scheduler calls for `stallwatch run` and `stallwatch
 * daemon`: a probe round probes every target `schedule.samplesPerRound` times
 * (per connection mode), a keep-warm round sends one request to each
 * keep-warm target. Records come back tagged `probe` or `keep-warm`; the
 * scheduler (src/schedule/round.ts) stores and logs them.
 *
 * Keep-warm requests go out on a fresh connection (DNS, TCP, TLS, request),
 * whatever `probe.connection` says: every round has its own prober, so a
 * "reused" connection could not outlive the round anyway, and a fresh request
 * is what a user arriving after the idle gap sends. What it keeps warm is
 * the path behind API Gateway (VPC link, NLB flows to the targets, scaled-to-
 * zero or Lambda backends), not our own socket.
 */
import { setMaxListeners } from "node:events";
import type { LoadedConfig } from "../config/load.js";
import { joinUrl } from "../config/targets.js";
import type { RequestRecord } from "../model.js";
import type { RunResult } from "../probe/runner.js";
import type { ProbeTarget } from "../probe/types.js";
import type { RoundKind } from "../record/store.js";
import type { RoundRequest, RoundRunner } from "../schedule/round.js";
import { type ProbeRunOptions, probeRun } from "./live.js";

/** What a round produced, handed to the `afterRound` hook before the round is stored. */
export interface RoundOutcome {
  /** Round id (unique per writer) and kind, as the scheduler numbered it. */
  id: number;
  kind: RoundKind;
  /** Epoch ms the schedule meant the round to start. */
  scheduledAtMs: number;
  /** The round's records in send order, tagged `probe` or `keep-warm`. */
  records: readonly RequestRecord[];
  /** The prober's run facts: event-loop lag, duration, expected interval (fixed rate only). */
  run: RunResult;
  /** The round's signal: aborted on shutdown after the grace period. A hook must stop when it fires. */
  signal: AbortSignal;
}

/**
 * Runs after each round's requests, before the round is stored (CloudWatch
 * publishing, X-Ray trace fetching, NLB target health plug in here). It holds
 * the round's lane: while it runs, the next trigger of the same kind is
 * skipped, so keep it bounded (or hand slow work off and return).
 */
export type AfterRoundHook = (outcome: RoundOutcome) => Promise<void>;

export interface RoundRunnerOptions {
  afterRound?: AfterRoundHook;
  /** Told when `afterRound` throws; the round's records are stored regardless. Default: ignored. */
  onHookError?: (err: unknown, outcome: RoundOutcome) => void;
  /** Passed through to the prober (tests). */
  probe?: Pick<ProbeRunOptions, "clock" | "warmUp" | "traceHeaderFor" | "onRecord">;
}

/** Targets a keep-warm round pings: those matching keepWarm.routes and keepWarm.endpoints (names or paths). */
export function keepWarmTargets(loaded: LoadedConfig): ProbeTarget[] {
  const kw = loaded.config.keepWarm;
  const baseUrlOf = (api: string, route: string): string | undefined =>
    loaded.config.apis.find((a) => a.name === api)?.routes.find((r) => r.name === route)?.baseUrl;
  return loaded.targets.filter((t) => {
    if (kw.routes && !kw.routes.includes(t.route)) return false;
    if (!kw.endpoints) return true;
    return kw.endpoints.some((ref) => {
      if (ref === t.endpoint) return true;
      if (!ref.startsWith("/")) return false;
      const base = baseUrlOf(t.api, t.route);
      try {
        return base !== undefined && joinUrl(base, ref) === t.url;
      } catch {
        return false;
      }
    });
  });
}

/** The config with a fresh connection per request (for keep-warm rounds). */
function freshOnly(loaded: LoadedConfig): LoadedConfig {
  return { ...loaded, config: { ...loaded.config, probe: { ...loaded.config.probe, connection: "fresh" } } };
}

export function createRoundRunner(loaded: LoadedConfig, opts: RoundRunnerOptions = {}): RoundRunner {
  const warmTargets = keepWarmTargets(loaded);
  const warmLoaded = freshOnly(loaded);
  return async (round: RoundRequest): Promise<RequestRecord[]> => {
    const keepWarm = round.kind === "keep-warm";
    // Each request in flight listens on the round's signal: allow the configured concurrency without a warning.
    setMaxListeners(loaded.config.probe.concurrency + 16, round.signal);
    const run = keepWarm
      ? await probeRun(warmLoaded, {
          ...opts.probe,
          tag: "keep-warm",
          count: 1,
          targets: warmTargets,
          signal: round.signal,
        })
      : await probeRun(loaded, {
          ...opts.probe,
          tag: "probe",
          count: loaded.config.schedule.samplesPerRound,
          signal: round.signal,
        });
    if (opts.afterRound) {
      const outcome: RoundOutcome = {
        id: round.id,
        kind: round.kind,
        scheduledAtMs: round.scheduledAtMs,
        records: run.records,
        run,
        signal: round.signal,
      };
      try {
        await opts.afterRound(outcome);
      } catch (err) {
        opts.onHookError?.(err, outcome);
      }
    }
    return run.records;
  };
}
