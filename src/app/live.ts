/**
 * The live side of the pipeline (app/pipeline.ts): the probe step (a prober
 * set up from the config, one run of the runner into the record collector)
 * and what the config and this host hand the later steps (the stall rule,
 * the diagnosis context, the options a report states). The wiring itself,
 * probe → records → stalls → evidence → diagnose → report, is runPipeline's
 * alone: `report`, `run`, `daemon` and `idle-sweep` all go through it.
 */
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import type { StallRule } from "../diagnose/stalls.js";
import type { DiagnoseContext } from "../diagnose/types.js";
import type { AwsEvidence, RecordTag, RequestRecord } from "../model.js";
import { createLagMonitor, type LagMonitor } from "../probe/lag.js";
import { createProber } from "../probe/prober.js";
import { type RunDeps, type RunResult, runProbes } from "../probe/runner.js";
import type { Prober, ProbeTarget } from "../probe/types.js";
import { hostFamilyFallback } from "../system/happy-eyeballs.js";
import { readResolverSettings } from "../system/resolv-conf.js";
import { hostSynSchedule } from "../system/tcp-syn.js";
import type { RecordCollector } from "./records.js";
import { warmUpProber } from "./warmup.js";

export interface ProbeRunOptions {
  tag?: RecordTag;
  signal?: AbortSignal;
  onRecord?: (r: RequestRecord) => void;
  clock?: Clock;
  /** Override the config's sample count (e.g. a daemon round's samplesPerRound). */
  count?: number;
  /** Probe only these targets (keep-warm, idle sweeps); default every target of the config. */
  targets?: ProbeTarget[];
  /** Warm the prober's own code paths on an in-process loopback server first (default true). */
  warmUp?: boolean;
  /** X-Amzn-Trace-Id per request (X-Ray); none by default. */
  traceHeaderFor?: (t: ProbeTarget) => string | undefined;
  /** Idle gaps before each request, cycled (see RunOptions.idleGapsMs). */
  idleGapsMs?: readonly number[];
  /** One uncounted request per series before the run (see RunOptions.primeEachSeries). */
  primeEachSeries?: boolean;
  /** Keep reused connections idle this long (see ProberOptions.keepAliveTimeoutMs); the prober's default otherwise. */
  keepAliveTimeoutMs?: number;
  /** Concurrency sweep (see RunOptions.concurrencySteps). */
  concurrencySteps?: readonly number[];
  /** Keep the records in the result (default true); false hands them only to `onRecord` (and `collector`). */
  retainRecords?: boolean;
  /**
   * Take each record into this collector (histograms + columnar store) instead of keeping it: the run's
   * `records` are then empty and its memory is the store's, ~180 bytes per request.
   */
  collector?: RecordCollector;
}

/** A prober set up from the config's probe options, reporting to `lagMonitor`. */
function proberFor(
  loaded: LoadedConfig,
  deps: { clock: Clock; lagMonitor: LagMonitor; keepAliveTimeoutMs?: number },
): Prober {
  const p = loaded.config.probe;
  return createProber({
    resolve: p.resolve,
    maxBodyBytes: p.maxBodyBytes,
    maxAssertBodyBytes: p.maxAssertBodyBytes,
    insecureTls: p.insecureTls,
    userAgent: p.userAgent,
    lagMonitor: deps.lagMonitor,
    clock: deps.clock,
    ...(deps.keepAliveTimeoutMs !== undefined ? { keepAliveTimeoutMs: deps.keepAliveTimeoutMs } : {}),
  });
}

/** Probes every target of the config per its probe options. Never throws for network faults: they are records. */
export async function probeRun(loaded: LoadedConfig, opts: ProbeRunOptions = {}): Promise<RunResult> {
  const p = loaded.config.probe;
  const clock = opts.clock ?? systemClock;
  const lag = createLagMonitor({ clock });
  const prober = proberFor(loaded, {
    clock,
    lagMonitor: lag,
    ...(opts.keepAliveTimeoutMs !== undefined ? { keepAliveTimeoutMs: opts.keepAliveTimeoutMs } : {}),
  });
  try {
    if (opts.warmUp !== false) await warmUpProber(prober);
    return await runProbes(
      opts.targets ?? loaded.targets,
      {
        count: opts.count ?? p.count,
        concurrency: p.concurrency,
        ...(p.ratePerS !== undefined ? { ratePerS: p.ratePerS } : {}),
        connection: p.connection,
        tag: opts.tag ?? "probe",
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.traceHeaderFor ? { traceHeaderFor: opts.traceHeaderFor } : {}),
        ...(opts.idleGapsMs ? { idleGapsMs: opts.idleGapsMs } : {}),
        ...(opts.primeEachSeries ? { primeEachSeries: true } : {}),
        ...(opts.concurrencySteps ? { concurrencySteps: opts.concurrencySteps } : {}),
        ...(opts.retainRecords === false || opts.collector ? { retainRecords: false } : {}),
      },
      { prober, clock, lag, ...onRecordOf(opts) },
    );
  } finally {
    await prober.close();
  }
}

function onRecordOf(opts: ProbeRunOptions): Pick<RunDeps, "onRecord"> {
  const { collector, onRecord } = opts;
  if (!collector) return onRecord ? { onRecord } : {};
  return {
    onRecord: (r, t) => {
      collector.add(r, t);
      onRecord?.(r);
    },
  };
}

export function stallRuleOf(loaded: LoadedConfig): StallRule {
  const p = loaded.config.probe;
  return { stallMs: p.stallMs, stallFactor: p.stallFactor, stallFloorMs: p.stallFloorMs };
}

/** Diagnosis context from this machine: its resolver's timeout, the run's deadline. */
export function machineContext(loaded: LoadedConfig, evidence?: AwsEvidence): DiagnoseContext {
  return {
    resolverTimeoutMs: readResolverSettings().timeoutMs,
    synSchedule: hostSynSchedule(),
    familyFallback: hostFamilyFallback(),
    timeoutMs: loaded.config.probe.timeoutMs,
    ...evidence,
  };
}

/** The options a report states it ran with. */
export function reportOptions(loaded: LoadedConfig): Record<string, unknown> {
  const p = loaded.config.probe;
  return {
    count: p.count,
    concurrency: p.concurrency,
    ...(p.ratePerS !== undefined ? { ratePerS: p.ratePerS } : {}),
    connection: p.connection,
    timeoutMs: p.timeoutMs,
    stallRule:
      p.stallMs !== undefined
        ? { stallMs: p.stallMs }
        : { stallFactor: p.stallFactor, stallFloorMs: p.stallFloorMs },
  };
}
