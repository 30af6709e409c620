/**
 * stallwatch as a library (`import { … } from "stallwatch"`), for embedding
 * the prober and the diagnosis in another Node service. The pieces, in the
 * order a report is made:
 *
 *   const loaded = parseConfig({ apis: [...] });               // or loadConfig(file)
 *   const clock = systemClock;
 *   const lag = createLagMonitor({ clock });
 *   const prober = createProber({ maxBodyBytes, insecureTls: false, userAgent, clock, lagMonitor: lag });
 *   const run = await runProbes(loaded.targets, { count, concurrency, connection: "fresh", tag: "probe" },
 *     { prober, clock, lag });
 *   await prober.close();
 *   const stalls = detectStalls(run.records, rule);
 *   const diagnosis = diagnose({ records: run.records, stalls, lag: run.lag });
 *   const report = buildReport({ records: run.records, stalls, diagnosis, lag: run.lag, source, options });
 *   renderJson(report) / renderTerminal(report, { color: false }) / renderHtml(report);
 *
 * Histograms: HistogramSet (record by record, merge, encode). The types of
 * the model (RequestRecord, Report, Finding, …) come with it. This file only
 * re-exports; nothing in src/ imports it (.dependency-cruiser.cjs).
 */

export { type Clock, systemClock } from "./clock.js";
export { type LoadedConfig, loadConfig, type ParseOptions, parseConfig } from "./config/load.js";
export type { Config, ConfigInput } from "./config/schema.js";
export type { ProbeTarget } from "./config/targets.js";
// The diagnosis engine's public surface, as diagnose/index.ts defines it (detectors, registry, types).
export * from "./diagnose/index.js";
export { DEFAULT_STALL_RULE, detectStalls } from "./diagnose/stalls.js";
export { ConfigError, StallwatchError, UsageError } from "./errors.js";
export * from "./model.js";
export { createLagMonitor, type LagMonitor, type LagMonitorOptions } from "./probe/lag.js";
export { createProber, type ProberOptions } from "./probe/prober.js";
export { type RunDeps, type RunOptions, type RunResult, runProbes } from "./probe/runner.js";
export type { ProbeOutcome, ProbeRequestOptions, Prober } from "./probe/types.js";
export {
  decodeHistogram,
  encodeHistogram,
  type HistKey,
  type Histogram,
  HistogramSet,
  histKeyOf,
  newHistogram,
  statsOf,
} from "./record/histograms.js";
export { type BuildReportInput, buildReport, type DiagnosisLike } from "./report/build.js";
export { type HtmlOptions, renderHtml } from "./report/html.js";
export { renderJson } from "./report/json.js";
export { renderTerminal, type TerminalOptions } from "./report/terminal.js";
