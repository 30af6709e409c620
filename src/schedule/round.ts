/**
 * One round: run the injected RoundRunner under an abort signal, record the
 * result (records, and the diagnosis when the runner made one) in the store,
 * log one summary line plus one line per stall and per
 * failure. Used by the daemon for every scheduled round and by `stallwatch
 * run` for its single round. Never throws: runner and store errors are
 * logged and returned.
 */
import { type Clock, systemClock } from "../clock.js";
import { DEFAULT_STALL_RULE, detectStalls, type Stall, type StallRule } from "../diagnose/stalls.js";
import { fmtDuration } from "../duration.js";
import { countable, type RequestRecord } from "../model.js";
import type { RoundDiagnosis, RoundKind, RoundMeta, Store } from "../record/store.js";
import type { Logger } from "./logger.js";

/** What the scheduler hands the prober for one round. */
export interface RoundRequest {
  id: number;
  kind: RoundKind;
  /** Aborted on shutdown after the grace period: the runner must stop and return what it has. */
  signal: AbortSignal;
  /** Epoch ms the schedule meant the round to start. */
  scheduledAtMs: number;
}

/** What a runner found in one round: its records and, when it looked, the stalls and the diagnosis. */
export interface RoundRun {
  records: RequestRecord[];
  /** Stalls over the countable records, when the runner detected them (else the round does, once). */
  stalls?: Stall[];
  /** Stored with the round's records. */
  diagnosis?: RoundDiagnosis;
}

/** Runs one round and returns its records (keep-warm rounds return records tagged `keep-warm`). */
export type RoundRunner = (round: RoundRequest) => Promise<RequestRecord[] | RoundRun>;

export interface ExecuteRoundOptions {
  runRound: RoundRunner;
  /** Absent: nothing is recorded (dry runs). */
  store?: Store | undefined;
  logger: Logger;
  id: number;
  kind: RoundKind;
  scheduledAtMs: number;
  /** Scheduler lateness (triggered − scheduled), ms. Default 0. */
  latenessMs?: number;
  jitterMs?: number;
  /** Aborting it aborts the runner. */
  signal?: AbortSignal;
  /** After an abort, how long to wait for the runner to return before giving up on it (default 2000 ms). */
  abortSettleMs?: number;
  /** Triggers skipped while this round ran, read when the round ends. */
  skipped?: () => number;
  stallRule?: StallRule;
  clock?: Clock;
  /** Applied to error messages before they are stored (logs are redacted by the logger). */
  redact?: (s: string) => string;
}

export interface RoundResult {
  meta: RoundMeta;
  records: RequestRecord[];
  stalls: number;
  /** Failed requests, not counting those a clean stop aborted. */
  failures: number;
  /** Requests a clean stop aborted (stored, marked, counted nowhere else). */
  aborted: number;
  /** True when the round is durable in the store. */
  stored: boolean;
  storeError?: string;
}

function settleWithin<T>(p: Promise<T>, signal: AbortSignal, settleMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(
        () => reject(new Error(`runner did not return within ${settleMs} ms of abort`)),
        settleMs,
      );
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => {
      signal.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
    });
  });
}

export async function executeRound(o: ExecuteRoundOptions): Promise<RoundResult> {
  const clock = o.clock ?? systemClock;
  const redact = o.redact ?? ((s: string) => s);
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(o.signal?.reason);
  if (o.signal?.aborted) controller.abort(o.signal.reason);
  else o.signal?.addEventListener("abort", onOuterAbort, { once: true });

  const startedAtMs = clock.wallMs();
  const t0 = clock.now();
  let records: RequestRecord[] = [];
  let ran: RoundRun | undefined;
  let error: string | undefined;
  try {
    const p = o.runRound({
      id: o.id,
      kind: o.kind,
      signal: controller.signal,
      scheduledAtMs: o.scheduledAtMs,
    });
    const got = await settleWithin(p, controller.signal, o.abortSettleMs ?? 2000);
    ran = Array.isArray(got) ? { records: got } : got;
    records = ran.records;
  } catch (err) {
    error = redact(err instanceof Error ? err.message : String(err));
  } finally {
    o.signal?.removeEventListener("abort", onOuterAbort);
  }
  const durationMs = clock.now() - t0;
  const meta: RoundMeta = {
    id: o.id,
    kind: o.kind,
    scheduledAtMs: o.scheduledAtMs,
    startedAtMs,
    endedAtMs: startedAtMs + Math.round(durationMs),
    latenessMs: Math.round(o.latenessMs ?? 0),
    skipped: o.skipped?.() ?? 0,
    ...(o.jitterMs ? { jitterMs: Math.round(o.jitterMs) } : {}),
    ...(controller.signal.aborted ? { aborted: true } : {}),
    ...(error !== undefined ? { error } : {}),
  };
  // Requests a clean stop aborted are stored (marked) but are no failure and no stall.
  const measured = records.filter(countable);
  const stalls = ran?.stalls ?? detectStalls(measured, o.stallRule ?? DEFAULT_STALL_RULE);
  const failures = measured.filter((r) => !r.ok);
  const result: RoundResult = {
    meta,
    records,
    stalls: stalls.length,
    failures: failures.length,
    aborted: records.length - measured.length,
    stored: false,
  };

  if (o.store) {
    try {
      await o.store.writeRound(meta, records, ran?.diagnosis);
      result.stored = true;
    } catch (err) {
      result.storeError = err instanceof Error ? err.message : String(err);
    }
  }
  logRound(o.logger, result, durationMs, stalls);
  return result;
}

function logRound(
  logger: Logger,
  r: RoundResult,
  durationMs: number,
  stalls: ReturnType<typeof detectStalls>,
): void {
  const { meta } = r;
  const level = meta.error || r.storeError ? "error" : r.failures > 0 || r.stalls > 0 ? "warn" : "info";
  logger.log(level, `${meta.kind} round ${meta.id} done`, {
    event: "round",
    round: meta.id,
    kind: meta.kind,
    requests: r.records.length,
    ok: r.records.length - r.failures - r.aborted,
    failures: r.failures,
    ...(r.aborted > 0 ? { abortedRequests: r.aborted } : {}),
    stalls: r.stalls,
    durationMs: Math.round(durationMs),
    latenessMs: meta.latenessMs,
    skipped: meta.skipped,
    aborted: meta.aborted,
    error: meta.error,
    stored: r.stored,
    storeError: r.storeError,
  });
  for (const s of stalls) {
    const rec = s.record;
    logger.warn(`stall: ${rec.api} ${rec.route} ${rec.endpoint} ${fmtDuration(s.totalMs)} in ${s.phase}`, {
      event: "stall",
      round: meta.id,
      api: rec.api,
      route: rec.route,
      endpoint: rec.endpoint,
      tag: rec.tag,
      totalMs: Math.round(s.totalMs * 1000) / 1000,
      thresholdMs: Math.round(s.thresholdMs),
      phase: s.phase,
      phasesMs: rec.phasesMs,
      reused: rec.reused,
      remoteAddress: rec.remoteAddress,
      requestId: rec.requestId,
      traceId: rec.traceId,
    });
  }
  for (const rec of r.records) {
    if (rec.ok || !rec.error || !countable(rec)) continue;
    logger.warn(`failure: ${rec.api} ${rec.route} ${rec.endpoint} ${rec.error.code}`, {
      event: "failure",
      round: meta.id,
      api: rec.api,
      route: rec.route,
      endpoint: rec.endpoint,
      tag: rec.tag,
      code: rec.error.code,
      phase: rec.error.phase,
      message: rec.error.message,
      status: rec.status,
      totalMs: rec.phasesMs.total,
      remoteAddress: rec.remoteAddress,
      requestId: rec.requestId,
    });
  }
}
