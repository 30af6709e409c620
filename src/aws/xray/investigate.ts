/**
 * The one call `run` / `daemon` / `report` make after a round with stalls:
 * fetch the traces of the stalls that carry a trace id, break each down, and
 * return the evidence for the diagnosis (`DiagnoseContext.xray`).
 * Never throws on AWS errors; `fetch` says what went wrong.
 */
import type { Stall, XrayEvidence } from "../../model.js";
import { type BreakdownResult, breakdownStalls } from "./breakdown.js";
import {
  type FetchTracesOptions,
  type FetchTracesResult,
  fetchTraces,
  type XrayClientLike,
} from "./fetch.js";

export interface TraceStallsOptions extends FetchTracesOptions {
  /** Most stalls looked up per call (the slowest first). Default 50. */
  maxStalls?: number;
}

export interface TraceStallsResult {
  evidence: XrayEvidence;
  fetch: FetchTracesResult;
  /** Stalls whose trace was found but could not be broken down, and why. */
  failed: Array<Extract<BreakdownResult, { ok: false }>>;
  /** Stalls without a trace id (X-Ray off, or a record from before it was enabled). */
  untraced: number;
}

/** Fetches and breaks down the traces of `stalls`. */
export async function traceStalls(
  client: XrayClientLike,
  stalls: readonly Stall[],
  opts: TraceStallsOptions,
): Promise<TraceStallsResult> {
  const traced = stalls.filter((s) => s.record.traceId !== undefined);
  const chosen = [...traced].sort((a, b) => b.totalMs - a.totalMs).slice(0, opts.maxStalls ?? 50);
  const fetch = await fetchTraces(
    client,
    chosen.map((s) => s.record.traceId as string),
    opts,
  );
  const { breakdowns, failed } = breakdownStalls(
    chosen.map((s) => s.record),
    fetch.traces,
  );
  const missing = new Set([...fetch.missing, ...fetch.incomplete]);
  return {
    evidence: {
      breakdowns,
      missingTraces: chosen.filter((s) => missing.has(s.record.traceId as string)).map((s) => s.record.seq),
    },
    fetch,
    failed,
    untraced: stalls.length - traced.length,
  };
}
