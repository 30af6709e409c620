/**
 * What the CLI calls. `run`, `daemon` and `report --publish`:
 *
 *   const pub = await createMetricsPublisher(config, { clients, log });
 *   await pub.flush();                                   // spooled batches from earlier runs
 *   await pub.publishRound({ histograms, counts, timestampMs });   // each round
 *
 * `counts` come from {@link countsFromRecords} (live rounds) or
 * {@link countsFromReport}; a report's histograms from {@link histogramsFromReport}.
 */

import { join } from "node:path";
import type { Config } from "../../config/schema.js";
import type { Report } from "../../model.js";
import { countable, type FailureClass, type RequestRecord, seriesId } from "../../model.js";
import { HistogramSet } from "../../record/histograms.js";
import type { Redactor } from "../../redact.js";
import type { AwsClients } from "../clients.js";
import type { MetricContext, SeriesCounts } from "./points.js";
import { cloudWatchPut, MetricsPublisher } from "./publisher.js";
import { type LogFn, MetricSpool } from "./spool.js";

export type { MetricContext, MetricPoint, RoundMetrics, SeriesCounts } from "./points.js";
export { buildMetricPoints } from "./points.js";
export type { PublishResult, PutFn } from "./publisher.js";
export { cloudWatchPut, MetricsPublisher } from "./publisher.js";
export { buildPutMetricDataInputs } from "./put.js";
export { METRICS, type MetricDef, type MetricKey } from "./registry.js";
export { type LogFn, MetricSpool } from "./spool.js";

/** The metric context from config.cloudwatch. */
export function metricContext(config: Config): MetricContext {
  const cw = config.cloudwatch;
  return {
    namespace: cw.namespace,
    storageResolutionS: cw.storageResolutionS,
    ...(cw.dimensions ? { dimensions: cw.dimensions } : {}),
  };
}

/**
 * A publisher for config.cloudwatch: EMF lines to stdout, or PutMetricData
 * through the spool (`cloudwatch.spoolDir`, default `<store.dir>/spool`) with
 * the lazily created CloudWatch client from `clients`.
 */
export async function createMetricsPublisher(
  config: Config,
  deps: { clients?: AwsClients; log: LogFn; write?: (line: string) => void; redactor?: Redactor },
): Promise<MetricsPublisher> {
  const redactor = deps.redactor;
  const ctx: MetricContext = {
    ...metricContext(config),
    ...(redactor?.hasSecrets ? { redact: (text: string) => redactor.redact(text) } : {}),
  };
  if (config.cloudwatch.mode === "emf") {
    return new MetricsPublisher({
      mode: "emf",
      ctx,
      log: deps.log,
      ...(deps.write ? { write: deps.write } : {}),
    });
  }
  if (!deps.clients) throw new Error("api mode needs AWS clients");
  const client = await deps.clients.cloudWatch();
  const spoolDir = config.cloudwatch.spoolDir ?? join(config.store.dir, "spool");
  return new MetricsPublisher({
    mode: "api",
    ctx,
    log: deps.log,
    spool: new MetricSpool(spoolDir, config.cloudwatch.spoolMaxBytes, deps.log),
    put: cloudWatchPut(client),
  });
}

function bump(
  map: Map<string, SeriesCounts>,
  k: { api: string; route: string; endpoint: string },
): SeriesCounts {
  const id = seriesId(k);
  let c = map.get(id);
  if (!c) {
    c = { api: k.api, route: k.route, endpoint: k.endpoint, requests: 0, ok: 0, stalls: 0, failures: {} };
    map.set(id, c);
  }
  return c;
}

/** Counts of a round's probe records (keep-warm and idle-sweep excluded); `stallSeqs` from detectStalls. */
export function countsFromRecords(
  records: readonly RequestRecord[],
  stallSeqs: ReadonlySet<number>,
): SeriesCounts[] {
  const map = new Map<string, SeriesCounts>();
  for (const r of records) {
    if (r.tag !== "probe" || !countable(r)) continue;
    const c = bump(map, r);
    c.requests++;
    if (r.ok) c.ok++;
    else {
      const code: FailureClass = r.error?.code ?? "other";
      c.failures[code] = (c.failures[code] ?? 0) + 1;
    }
    if (stallSeqs.has(r.seq)) c.stalls++;
  }
  return [...map.values()];
}

/** Counts from a report (connection modes summed; failure classes from `report.failures`). */
export function countsFromReport(report: Report): SeriesCounts[] {
  const map = new Map<string, SeriesCounts>();
  for (const s of report.series) {
    const c = bump(map, s);
    c.requests += s.count;
    c.ok += s.ok;
    c.stalls += s.stalls;
  }
  for (const f of report.failures) {
    const c = bump(map, f);
    c.failures[f.code] = (c.failures[f.code] ?? 0) + 1;
  }
  return [...map.values()];
}

/** The histograms a report carries (`series[].histograms`, `keepWarm[].histograms`). */
export function histogramsFromReport(report: Report): HistogramSet {
  const set = new HistogramSet();
  const add = (list: Report["series"], tag: "probe" | "keep-warm"): void => {
    for (const s of list) {
      for (const [phase, hist] of Object.entries(s.histograms ?? {})) {
        if (!hist) continue;
        set.addEncoded({
          api: s.api,
          route: s.route,
          endpoint: s.endpoint,
          connection: s.connection,
          tag,
          phase: phase as keyof typeof s.latencyMs,
          hist,
        });
      }
    }
  };
  add(report.series, "probe");
  add(report.keepWarm ?? [], "keep-warm");
  return set;
}
