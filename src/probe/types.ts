/**
 * The probe contract: a fully resolved target in, a rich result out.
 */
import type { Expect } from "../config/schema.js";
import type { ConnectionMode, RequestRecord } from "../model.js";

/** One request to make, with everything resolved (URL joined, headers read from env, ${vars} substituted). */
export interface ProbeTarget {
  api: string;
  route: string;
  /** Endpoint name (defaults to its path). */
  endpoint: string;
  /** Full URL: route base URL (with its stage path) + endpoint path. */
  url: string;
  method: string;
  /** Request headers, values resolved. */
  headers: Record<string, string>;
  /** Lower-case names of headers whose values must never appear in output. */
  secretHeaders: string[];
  body?: string;
  expect?: Expect;
  /** Hard deadline for the whole request, all phases included. */
  timeoutMs: number;
}

export interface ProbeRequestOptions {
  connection: ConnectionMode;
  /** Aborts the request early (shutdown); the hard deadline applies regardless. */
  signal?: AbortSignal;
  /** When set, sent as `X-Amzn-Trace-Id` and kept in the record. */
  traceHeader?: string;
}

/**
 * What one probe produced: the record fields that belong to the request itself.
 * The runner adds the run-level fields (seq, seriesSeq, tag, idleGapMs).
 */
export type ProbeOutcome = Omit<RequestRecord, "seq" | "seriesSeq" | "tag" | "idleGapMs">;

export interface Prober {
  probe(target: ProbeTarget, opts: ProbeRequestOptions): Promise<ProbeOutcome>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}
