/**
 * The CloudWatch sink: a run's (or a round's) latency histograms and counts
 * published as metrics — PutMetricData through the spool, or EMF lines —
 * per config.cloudwatch. The first publish sends what an earlier process
 * spooled and could not send. Never throws: a failure is a note and a log line.
 */
import type { AwsClients } from "../../aws/clients.js";
import type { MetricsPublisher, PublishResult } from "../../aws/metrics/index.js";
import type { LogFn } from "../../aws/metrics/spool.js";
import { type Clock, systemClock } from "../../clock.js";
import type { LoadedConfig } from "../../config/load.js";
import type { Stall } from "../../diagnose/stalls.js";
import type { RequestRecord } from "../../model.js";
import type { HistogramSet } from "../../record/histograms.js";

/** What is published: the run's measured records, their stalls, their histograms. */
export interface MetricsRun {
  records: readonly RequestRecord[];
  stalls: readonly Stall[];
  histograms: HistogramSet;
  /** The datums' timestamp, epoch ms. Default: now. */
  timestampMs?: number;
}

export interface MetricsSink {
  /** Publishes one run; `notes` says what failed. */
  publish(run: MetricsRun): Promise<{ notes: string[]; result?: PublishResult }>;
  /** Sends what the spool holds. */
  flush(): Promise<PublishResult | undefined>;
}

export function metricsSink(
  loaded: LoadedConfig,
  deps: { clients: AwsClients; log: LogFn; write?: (line: string) => void; clock?: Clock },
): MetricsSink {
  const log = deps.log;
  const clock = deps.clock ?? systemClock;
  let publisher: Promise<MetricsPublisher> | undefined;
  let flushed = false;
  const publisherOf = (): Promise<MetricsPublisher> => {
    publisher ??= import("../../aws/metrics/index.js").then((m) =>
      m.createMetricsPublisher(loaded.config, {
        clients: deps.clients,
        log,
        redactor: loaded.redactor,
        ...(deps.write ? { write: deps.write } : {}),
      }),
    );
    return publisher;
  };
  return {
    async publish(run) {
      const notes: string[] = [];
      try {
        const m = await import("../../aws/metrics/index.js");
        const pub = await publisherOf();
        if (!flushed) {
          flushed = true;
          await pub.flush();
        }
        const stallSeqs = new Set(run.stalls.map((s) => s.record.seq));
        const result = await pub.publishRound({
          histograms: run.histograms,
          counts: m.countsFromRecords(run.records, stallSeqs),
          timestampMs: run.timestampMs ?? clock.wallMs(),
        });
        if (result.error) notes.push(`CloudWatch publish: ${result.error.message}`);
        return { notes, result };
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        log("error", "metric publish failed", { error: msg });
        return { notes: [`CloudWatch publish: ${msg}`] };
      }
    },
    async flush() {
      try {
        return await (await publisherOf()).flush();
      } catch (e) {
        log("error", "metric flush failed", { error: e instanceof Error ? e.message : String(e) });
        return undefined;
      }
    },
  };
}

/** One line on what a publish did, e.g. for `report --publish` on stderr. */
export function publishLine(p: PublishResult | undefined, namespace: string): string {
  if (!p) return "stallwatch: metrics not published (see the notes)";
  if (p.emfLines > 0) return `stallwatch: ${p.emfLines} EMF lines written (namespace ${namespace})`;
  const parts = [
    `stallwatch: published ${p.sentDatums} datums in ${p.sentBatches} PutMetricData calls to ${namespace}`,
  ];
  if (p.pendingBatches) parts.push(`${p.pendingBatches} batches spooled for later`);
  if (p.rejectedBatches) parts.push(`${p.rejectedBatches} rejected`);
  if (p.droppedDatums) parts.push(`${p.droppedDatums} datums LOST`);
  if (p.error) parts.push(`last error: ${p.error.name}: ${p.error.message}`);
  return parts.join("; ");
}
