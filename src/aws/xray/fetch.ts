/**
 * Fetching the traces of stalls: BatchGetTraces with at most 5 ids per call,
 * NextToken pagination, UnprocessedTraceIds retried, and polling with
 * exponential backoff up to a hard deadline because X-Ray makes traces
 * available some time after the request (no documented delay).
 *
 * Never throws on an AWS error: failures come back classified. The SDK client
 * is passed in; the command class is imported lazily, so importing this file
 * does not load the SDK.
 */
import type {
  BatchGetTracesCommandInput,
  BatchGetTracesCommandOutput,
  XRayClient,
} from "@aws-sdk/client-xray";
import { type Clock, sleep as realSleep, type Sleep, systemClock } from "../../clock.js";
import { type AwsFailure, classifyAwsError, withDeadline } from "../errors.js";
import { isTraceComplete, parseTrace, type RawTrace, type XrayTrace } from "./segments.js";
import { isValidTraceRoot } from "./trace-id.js";

/** BatchGetTraces accepts 1–5 trace ids per call. */
export const BATCH_GET_TRACES_MAX_IDS = 5;

/** The client surface the fetcher uses (an XRayClient, or anything with its `send`). */
export type XrayClientLike = Pick<XRayClient, "send">;

/** Splits ids into BatchGetTraces inputs of ≤5 ids: deduplicated, malformed ids left out. */
export function buildBatchGetTracesInputs(ids: readonly string[]): BatchGetTracesCommandInput[] {
  const unique = [...new Set(ids)].filter(isValidTraceRoot);
  const out: BatchGetTracesCommandInput[] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_TRACES_MAX_IDS) {
    out.push({ TraceIds: unique.slice(i, i + BATCH_GET_TRACES_MAX_IDS) });
  }
  return out;
}

/** Sleeps `ms` (resolves early when `signal` aborts). Injected in tests. */
export interface FetchTracesOptions {
  /**
   * How long to keep polling, ms (config: `xray.pollTimeoutS × 1000`). The
   * last attempt is made at this deadline, so the hard limit on the whole
   * call is `pollTimeoutMs + callTimeoutMs`.
   */
  pollTimeoutMs: number;
  /** Wait before the second attempt, ms. Default 2000. */
  initialDelayMs?: number;
  /** Backoff multiplier. Default 2. */
  backoffFactor?: number;
  /** Longest wait between attempts, ms. Default 30000. */
  maxDelayMs?: number;
  /** Deadline per AWS call, ms (capped by what is left of the poll). Default 10000. */
  callTimeoutMs?: number;
  /** Pages followed per batch and attempt. Default 20. */
  maxPages?: number;
  /** When a fetched trace is final. Default: API Gateway segment finished, nothing in progress. */
  isComplete?: (t: XrayTrace) => boolean;
  clock?: Clock;
  sleep?: Sleep;
  /** Stops the poll early (results so far are returned). */
  signal?: AbortSignal;
}

export interface FetchTracesResult {
  /** Every trace found, complete or not, by trace id. */
  traces: Map<string, XrayTrace>;
  /** Ids found but still incomplete at the deadline. */
  incomplete: string[];
  /** Ids never returned (not yet available, unsampled, or Transaction Search is on). */
  missing: string[];
  /** Ids left out as malformed. */
  invalid: string[];
  /** Ids the last attempt reported in UnprocessedTraceIds. */
  unprocessed: string[];
  /** Failed calls (at most 20 kept). */
  failures: AwsFailure[];
  /** A non-retryable failure that ended the poll early. */
  fatal?: AwsFailure;
  attempts: number;
  calls: number;
  elapsedMs: number;
}

function mergeRaw(into: Map<string, RawTrace>, t: RawTrace): void {
  if (t.Id === undefined) return;
  const prev = into.get(t.Id);
  if (!prev) {
    into.set(t.Id, { ...t, Segments: [...(t.Segments ?? [])] });
    return;
  }
  const seen = new Set((prev.Segments ?? []).map((s) => s.Id));
  for (const s of t.Segments ?? []) if (!seen.has(s.Id)) prev.Segments?.push(s);
  if (t.Duration !== undefined) prev.Duration = t.Duration;
  if (t.LimitExceeded) prev.LimitExceeded = true;
}

/**
 * Fetches the given traces, polling until each is complete or the deadline
 * passes. The first attempt is immediate; later ones back off exponentially.
 */
export async function fetchTraces(
  client: XrayClientLike,
  traceIds: readonly string[],
  opts: FetchTracesOptions,
): Promise<FetchTracesResult> {
  const clock = opts.clock ?? systemClock;
  const sleep = opts.sleep ?? realSleep;
  const factor = opts.backoffFactor ?? 2;
  const maxDelayMs = opts.maxDelayMs ?? 30_000;
  const callTimeoutMs = opts.callTimeoutMs ?? 10_000;
  const maxPages = opts.maxPages ?? 20;
  const complete = opts.isComplete ?? isTraceComplete;
  const t0 = clock.now();
  const deadline = t0 + Math.max(0, opts.pollTimeoutMs);
  // The last attempt happens at `deadline`; its calls may take one call timeout more.
  const hardDeadline = deadline + callTimeoutMs;
  const unique = [...new Set(traceIds)];
  const result: FetchTracesResult = {
    traces: new Map(),
    incomplete: [],
    missing: [],
    invalid: unique.filter((id) => !isValidTraceRoot(id)),
    unprocessed: [],
    failures: [],
    attempts: 0,
    calls: 0,
    elapsedMs: 0,
  };
  const pending = new Set(unique.filter(isValidTraceRoot));
  const raw = new Map<string, RawTrace>();
  const { BatchGetTracesCommand } =
    pending.size > 0 ? await import("@aws-sdk/client-xray") : { BatchGetTracesCommand: undefined };
  let delayMs = opts.initialDelayMs ?? 2000;

  while (pending.size > 0 && BatchGetTracesCommand && !opts.signal?.aborted) {
    result.attempts++;
    const unprocessed = new Set<string>();
    for (const input of buildBatchGetTracesInputs([...pending])) {
      let token: string | undefined;
      for (let page = 0; page < maxPages; page++) {
        const leftMs = hardDeadline - clock.now();
        if (leftMs <= 0) break;
        result.calls++;
        let out: BatchGetTracesCommandOutput;
        try {
          out = await withDeadline(Math.min(callTimeoutMs, leftMs), (abortSignal) =>
            client.send(new BatchGetTracesCommand({ ...input, ...(token ? { NextToken: token } : {}) }), {
              abortSignal,
            }),
          );
        } catch (err) {
          const f = classifyAwsError("BatchGetTraces", err);
          if (result.failures.length < 20) result.failures.push(f);
          if (!f.retryable) result.fatal = f;
          break;
        }
        for (const t of out.Traces ?? []) mergeRaw(raw, t);
        for (const id of out.UnprocessedTraceIds ?? []) unprocessed.add(id);
        token = out.NextToken;
        if (!token) break;
      }
      if (result.fatal) break;
    }
    result.unprocessed = [...unprocessed];
    for (const id of pending) {
      const r = raw.get(id);
      const t = r && !unprocessed.has(id) ? parseTrace(r) : undefined;
      if (!t) continue;
      result.traces.set(id, t);
      if (complete(t)) pending.delete(id);
    }
    if (result.fatal || pending.size === 0) break;
    const leftMs = deadline - clock.now();
    if (leftMs <= 0) break;
    await sleep(Math.min(delayMs, leftMs), opts.signal);
    delayMs = Math.min(maxDelayMs, delayMs * factor);
  }
  for (const id of pending) {
    if (result.traces.has(id)) result.incomplete.push(id);
    else result.missing.push(id);
  }
  result.elapsedMs = clock.now() - t0;
  return result;
}
