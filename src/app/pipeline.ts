/**
 * The probe pipeline, the one way every command turns requests into a
 * diagnosis:
 *
 *   probe ─→ columnar store + histograms (once, app/records.ts) ─→ stalls (once)
 *         ─→ evidence sources (before / during / after; app/evidence)
 *         ─→ diagnose ─→ metrics sink (CloudWatch / EMF) ─→ Report
 *
 * The caller chooses the sources and sinks (`report`: all the config enables
 * plus its reporters; `run` / `daemon`: the same per round, then the store;
 * a keep-warm round: no diagnosis; `idle-sweep`: its probe plan, gaps per
 * step, and its stall rule, no source, its statistics and verdict as the
 * sink). The Report goes to the reporters (app/sinks/reporters.ts) or, for a
 * round, the diagnosis and evidence go to the store with the records
 * (schedule/round.ts).
 */

import type { AwsFailure } from "../aws/errors.js";
import type { PublishResult } from "../aws/metrics/index.js";
import type { LoadedConfig } from "../config/load.js";
import { type Diagnosis, diagnose } from "../diagnose/index.js";
import { detectStalls, type Stall, type StallRule } from "../diagnose/stalls.js";
import type { Report } from "../model.js";
import { countable, type RequestRecord } from "../model.js";
import type { RunResult } from "../probe/runner.js";
import type { RecordColumns } from "../record/columns.js";
import type { HistogramSet } from "../record/histograms.js";
import { buildReport } from "../report/build.js";
import { type Evidence, type EvidenceSource, eachSource } from "./evidence/source.js";
import { machineContext, type ProbeRunOptions, probeRun, reportOptions, stallRuleOf } from "./live.js";
import { startPolling } from "./poll.js";
import { collectRecords } from "./records.js";
import type { MetricsSink } from "./sinks/cloudwatch.js";

export interface PipelineOptions {
  loaded: LoadedConfig;
  /** How to probe: tag, count, targets, idle gaps, signal, clock, warm-up. */
  probe?: Omit<ProbeRunOptions, "onRecord" | "traceHeaderFor" | "retainRecords" | "collector">;
  /** Told of each record as it completes (progress, live stall count). */
  onRecord?: (r: RequestRecord) => void;
  /** Called when the probing is over, before the evidence is gathered (e.g. to finish a progress bar). */
  onProbed?: () => void;
  /** Evidence sources, run in this order. Default none. */
  sources?: readonly EvidenceSource[];
  /** Run the sources' before() hooks (default true; the scheduler runs them once at start instead). */
  before?: boolean;
  /** Poll the sources' during() hooks every this many ms while probing; absent: no polling. */
  pollMs?: number;
  /**
   * Diagnose the stalls (default true). Off for keep-warm rounds: their stalls still go to the sources (a stalled
   * ping's X-Ray trace says where its time went) but to no finding or metric.
   */
  diagnose?: boolean;
  /**
   * The stall rule, from the measured records (default: the config's). An idle sweep takes its threshold from
   * its shortest gap's median.
   */
  stallRule?: (measured: readonly RequestRecord[] | RecordColumns) => StallRule;
  /** Detectors the diagnosis skips, with the reason (e.g. periodicity, for an idle sweep's fixed send order). */
  skip?: Readonly<Record<string, string>>;
  /** Publish the run's metrics here. */
  metrics?: MetricsSink;
  /** The metrics' timestamp, epoch ms (a round's scheduled time). Default now. */
  timestampMs?: number;
  /**
   * Told when the diagnosis or the metrics sink throws; the pipeline then carries on without it (a round's
   * records are stored whatever the diagnosis does). Absent: the error is thrown.
   */
  onError?: (stage: "diagnose" | "metrics", err: unknown) => void;
  /** Build the Report (what the report states about itself). Absent: no Report (scheduled rounds). */
  report?: { source: Report["source"]; includeHistograms?: boolean };
}

export interface PipelineResult {
  run: RunResult;
  /**
   * Every record in send order (a clean stop's aborted ones included, marked), as the columnar store: what the
   * reporters read.
   */
  columns: RecordColumns;
  /**
   * ADAPTER: the same records as objects, materialized from the store on first read (an object per request:
   * only for readers that need them whole, e.g. a round written to the history store).
   */
  readonly records: RequestRecord[];
  /** The countable records' histograms, built once (absent when neither a Report nor metrics needed them). */
  histograms?: HistogramSet;
  /** Stalls over the countable records, detected once. */
  stalls: Stall[];
  /** What the sources found, typed per source. */
  evidence: Evidence;
  /** The sources' and the sink's lines (what was looked at, what failed), in order. */
  notes: string[];
  failures: AwsFailure[];
  diagnosis?: Diagnosis;
  publish?: PublishResult;
  report?: Report;
}

export async function runPipeline(o: PipelineOptions): Promise<PipelineResult> {
  const { loaded } = o;
  const sources = o.sources ?? [];
  const notes: string[] = [];
  if (o.before !== false) notes.push(...(await eachSource(sources, (s) => s.before?.())).notes);

  // A Report or a metrics sink needs the histograms anyway: record them as the records come, once each.
  const collector = collectRecords({ streamHistograms: o.report !== undefined || o.metrics !== undefined });
  const traceHeaderFor = sources.find((s) => s.traceHeaderFor)?.traceHeaderFor;
  const polled = sources.filter((s) => s.during);
  const stopPolling =
    o.pollMs !== undefined && polled.length > 0
      ? startPolling(() => Promise.all(polled.map((s) => s.during?.())), o.pollMs)
      : undefined;
  let run: RunResult;
  try {
    run = await probeRun(loaded, {
      ...o.probe,
      collector,
      ...(o.onRecord ? { onRecord: o.onRecord } : {}),
      ...(traceHeaderFor ? { traceHeaderFor } : {}),
    });
  } finally {
    await stopPolling?.();
  }
  o.onProbed?.();
  const store = collector.finish();
  // A long run's sealed chunks are being written out (src/record/spill.ts): once they are, their memory is free.
  await store.spillSettled();
  const spillError = store.spillStats().error;
  if (spillError !== undefined) notes.push(spillError);

  // Requests a clean stop aborted are no measurement: no stall, finding or metric comes from them. Only a
  // stopped round has any; its measured records are then materialized (the store has no filtered view).
  let anyAborted = false;
  for (let i = 0; i < store.length && !anyAborted; i++) anyAborted = store.aborted(i);
  const measured: RecordColumns | RequestRecord[] = anyAborted
    ? collector.records().filter(countable)
    : store;
  // The measured records as objects, for the readers that need them (AWS evidence sources, the metrics sink).
  let measuredArray: RequestRecord[] | undefined;
  const measuredRecords = (): RequestRecord[] => {
    measuredArray ??= Array.isArray(measured) ? measured : collector.records();
    return measuredArray;
  };
  const stalls = detectStalls(measured, o.stallRule ? o.stallRule(measured) : stallRuleOf(loaded));
  const diagnosed = o.diagnose !== false;
  // The metrics count the stalls of diagnosed (probe) requests only; the sources look at every stall.
  const counted = diagnosed ? stalls : [];
  const signal = o.probe?.signal;
  const after = await eachSource(sources, (s) =>
    s.after?.({ records: measuredRecords(), stalls, ...(signal ? { signal } : {}) }),
  );
  notes.push(...after.notes);
  const evidence = after.evidence ?? {};
  let diagnosis: Diagnosis | undefined;
  try {
    diagnosis = diagnosed
      ? diagnose({
          records: measured,
          stalls,
          lag: run.lag,
          context: {
            ...machineContext(loaded, sources.length > 0 ? evidence : undefined),
            ...(o.skip ? { skip: o.skip } : {}),
          },
        })
      : undefined;
  } catch (err) {
    if (!o.onError) throw err;
    o.onError("diagnose", err);
  }

  let publish: PublishResult | undefined;
  if (o.metrics) {
    try {
      const p = await o.metrics.publish({
        records: measuredRecords(),
        stalls: counted,
        histograms: collector.histograms(),
        ...(o.timestampMs !== undefined ? { timestampMs: o.timestampMs } : {}),
      });
      notes.push(...p.notes);
      publish = p.result;
    } catch (err) {
      if (!o.onError) throw err;
      o.onError("metrics", err);
    }
  }

  const report = o.report
    ? buildReport({
        records: store,
        stalls,
        diagnosis,
        lag: run.lag,
        source: o.report.source,
        options: reportOptions(loaded),
        expectedIntervalMs: run.expectedIntervalMs,
        histograms: collector.histograms(),
        includeHistograms: o.report.includeHistograms,
        // First: what the AWS calls found reads before the report's own (skipped-test) notes.
        notesBefore: notes,
      })
    : undefined;
  return {
    run,
    columns: store,
    get records() {
      return collector.records();
    },
    ...(o.report || o.metrics ? { histograms: collector.histograms() } : {}),
    stalls,
    evidence,
    notes,
    failures: after.failures,
    ...(diagnosis ? { diagnosis } : {}),
    ...(publish ? { publish } : {}),
    ...(report ? { report } : {}),
  };
}
