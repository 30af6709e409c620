/**
 * X-Ray as an evidence source: each request carries an X-Amzn-Trace-Id
 * (`traceHeaderFor`), and after the run the stalls' traces are fetched
 * (BatchGetTraces, polled until they arrive or the wait runs out) and broken
 * down into API Gateway, integration and backend time. With
 * `xray.fetchTraces` off the header is still sent and nothing is fetched.
 */

import type { LogFn } from "../../aws/metrics/spool.js";
import type { XrayClientLike } from "../../aws/xray/fetch.js";
import { traceStalls } from "../../aws/xray/investigate.js";
import { traceHeaderFor } from "../../aws/xray/trace-id.js";
import { type Clock, systemClock } from "../../clock.js";
import type { Config } from "../../config/schema.js";
import { fmtDuration } from "../../duration.js";
import { type EvidenceSource, type EvidenceStep, failureText, noEvidence } from "./source.js";

export interface XraySourceOptions {
  log: LogFn;
  /** Longest wait for the stalls' traces, ms. Default config.xray.pollTimeoutS × 1000. */
  traceWaitMs?: number;
  /** Wait before the second BatchGetTraces attempt, ms. Default: the fetcher's (2000). */
  traceInitialDelayMs?: number;
  clock?: Clock;
}

export function xraySource(
  client: () => Promise<XrayClientLike>,
  config: Pick<Config, "xray">,
  opts: XraySourceOptions,
): EvidenceSource {
  const clock = opts.clock ?? systemClock;
  const log = opts.log;
  const fetch = config.xray.fetchTraces;
  return {
    name: "xray",
    traceHeaderFor: () =>
      traceHeaderFor({ enabled: true, sampled: config.xray.sampled }, clock.wallMs())?.value,
    async after(run): Promise<EvidenceStep> {
      const out = noEvidence();
      if (!fetch || run.stalls.length === 0) return out;
      const traced = run.stalls.filter((s) => s.record.traceId !== undefined).length;
      if (traced === 0) {
        out.notes.push(`X-Ray: none of the ${run.stalls.length} stalls carries a trace id`);
        return out;
      }
      try {
        const res = await traceStalls(await client(), run.stalls, {
          pollTimeoutMs: opts.traceWaitMs ?? config.xray.pollTimeoutS * 1000,
          ...(opts.traceInitialDelayMs !== undefined ? { initialDelayMs: opts.traceInitialDelayMs } : {}),
          ...(run.signal ? { signal: run.signal } : {}),
          clock,
        });
        out.evidence = { xray: res.evidence };
        const missing = res.evidence.missingTraces?.length ?? 0;
        out.notes.push(
          `X-Ray: ${res.evidence.breakdowns.length} of ${traced} traced stalls broken down` +
            (missing ? `, ${missing} traces not found within ${fmtDuration(res.fetch.elapsedMs)}` : "") +
            (res.failed.length ? `, ${res.failed.length} traces without an API Gateway segment` : ""),
        );
        const fails = res.fetch.fatal ? [res.fetch.fatal] : res.fetch.failures.slice(0, 3);
        for (const f of fails) {
          out.notes.push(`X-Ray: ${failureText(f)}`);
          log("warn", "X-Ray: AWS call failed", { ...f });
        }
        out.failures.push(...res.fetch.failures);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        out.notes.push(`X-Ray: ${msg}`);
        log("error", "X-Ray trace fetch failed", { error: msg });
      }
      return out;
    },
  };
}
