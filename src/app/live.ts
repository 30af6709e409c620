/**
 * One live probe run, end to end, as a library call: probe every target,
 * detect stalls, diagnose them, build the report. The `report`, `run` and
 * `daemon` commands and the lab demo all go through here.
 */
import type { Clock } from "../clock.js";
import { systemClock } from "../clock.js";
import type { LoadedConfig } from "../config/load.js";
import { type Diagnosis, diagnose } from "../diagnose/index.js";
import { detectStalls, type Stall, type StallRule } from "../diagnose/stalls.js";
import type { DiagnoseContext } from "../diagnose/types.js";
import type { AwsEvidence, LagStats, RecordTag, Report, RequestRecord } from "../model.js";
import { createLagMonitor, type LagMonitor } from "../probe/lag.js";
import { createProber } from "../probe/prober.js";
import { type RunDeps, type RunResult, runProbes } from "../probe/runner.js";
import type { Prober, ProbeTarget } from "../probe/types.js";
import type { RecordColumns, RecordStore } from "../record/columns.js";
import { buildReport } from "../report/build.js";
import { hostFamilyFallback } from "../system/happy-eyeballs.js";
import { readResolverSettings } from "../system/resolv-conf.js";
import { hostSynSchedule } from "../system/tcp-syn.js";
import { RecordCollector } from "./records.js";
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
export function proberFor(
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
  const prober = proberFor(loaded, { clock, lagMonitor: lag });
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

export interface Analysis {
  stalls: Stall[];
  diagnosis: Diagnosis;
}

export function analyse(
  records: readonly RequestRecord[] | RecordColumns,
  rule: StallRule,
  lag: LagStats | undefined,
  context: DiagnoseContext,
): Analysis {
  const stalls = detectStalls(records, rule);
  const diagnosis = diagnose({ records, stalls, ...(lag ? { lag } : {}), context });
  return { stalls, diagnosis };
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

export interface LiveReportOptions extends ProbeRunOptions {
  source: Report["source"];
  includeHistograms?: boolean;
  /** Diagnosis evidence from AWS (target health, X-Ray, CloudWatch). */
  evidence?: AwsEvidence;
}

export interface LiveReport {
  report: Report;
  /** The run; its `records` are empty: they are in `store`. */
  run: RunResult;
  /** Every record of the run, columnar, in send order. */
  store: RecordStore;
  analysis: Analysis;
}

/** Probes, then analyses and reports, in constant memory per request: records stream into a columnar store. */
export async function liveReport(loaded: LoadedConfig, opts: LiveReportOptions): Promise<LiveReport> {
  const collector = opts.collector ?? new RecordCollector({ streamHistograms: true });
  const run = await probeRun(loaded, { ...opts, collector });
  const store = collector.finish();
  return { ...reportFromRun(loaded, run, { ...opts, collected: collector }), run, store };
}

export interface ReportFromRunOptions {
  source: Report["source"];
  includeHistograms?: boolean;
  /** Diagnosis evidence from AWS (target health, X-Ray, CloudWatch). */
  evidence?: AwsEvidence;
  /** Lines put before the report's notes (e.g. what the AWS calls found or why they failed). */
  notes?: readonly string[];
  /** The collector the run streamed into (ProbeRunOptions.collector): read instead of `run.records`. */
  collected?: RecordCollector;
}

/**
 * The analyse → report half of {@link liveReport}, for callers that gather
 * evidence between the probe run and the diagnosis (probeRun → detectStalls →
 * AWS evidence for those stalls → reportFromRun).
 */
export function reportFromRun(
  loaded: LoadedConfig,
  run: RunResult,
  opts: ReportFromRunOptions,
): { report: Report; analysis: Analysis } {
  const records = opts.collected ? opts.collected.finish() : run.records;
  const analysis = analyse(records, stallRuleOf(loaded), run.lag, machineContext(loaded, opts.evidence));
  const report = buildReport({
    records,
    ...(opts.collected ? { histograms: opts.collected.histograms() } : {}),
    stalls: analysis.stalls,
    diagnosis: analysis.diagnosis,
    lag: run.lag,
    source: opts.source,
    options: reportOptions(loaded),
    expectedIntervalMs: run.expectedIntervalMs,
    includeHistograms: opts.includeHistograms,
  });
  // First: what the AWS calls found reads before the skipped-test notes.
  if (opts.notes?.length) report.notes = [...opts.notes, ...(report.notes ?? [])];
  return { report, analysis };
}
