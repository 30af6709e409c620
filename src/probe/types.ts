/**
 * The probe contract: a fully resolved target in, a rich result out.
 */
import type { ProbeTarget } from "../config/targets.js";
import type { ConnectionMode, RequestRecord } from "../model.js";

/** Built by config (src/config/targets.ts), probed here: config sits below probe. */
export type { ProbeTarget };

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
