/**
 * The long-running scheduler: probe rounds on a cron schedule (seconds field
 * supported), optional keep-warm pings on their own schedule. Rounds never
 * overlap: a trigger that fires while the previous round of its kind is still
 * running (jitter wait included) is skipped, counted and logged — we count
 * ourselves instead of node-cron's noOverlap, which only warns on the console.
 * A keep-warm trigger during a probe round is skipped too (the target is busy
 * being probed); a probe round waits for an in-flight keep-warm to finish.
 */
import cron, { type ScheduledTask, type TaskContext } from "node-cron";
import { type Clock, sleep, systemClock } from "../clock.js";
import type { StallRule } from "../diagnose/stalls.js";
import type { RoundKind, RoundMeta, Store } from "../record/store.js";
import type { Logger } from "./logger.js";
import { executeRound, type RoundResult, type RoundRunner } from "./round.js";

export interface DaemonOptions {
  schedule: { cron: string; jitterMs: number };
  keepWarm: { enabled: boolean; cron: string };
  runRound: RoundRunner;
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** Called after each round is recorded (or failed to be). */
  onRoundDone?: (r: RoundResult) => void;
  stallRule?: StallRule;
  /** After abort, how long a runner may take to return (default 2000 ms). */
  abortSettleMs?: number;
  /** Time zone for the cron expressions (default: the process's). */
  timezone?: string;
  /** 0 ≤ x < 1; for jitter (default Math.random). */
  random?: () => number;
  /** Applied to error messages stored in round lines. */
  redact?: (s: string) => string;
}

export interface StopOptions {
  /** How long in-flight rounds may finish before their requests are aborted, ms. */
  graceMs: number;
  /** Bound on flushing and closing the store, ms (default 5000). */
  closeTimeoutMs?: number;
}

export interface DaemonStats {
  startedAtMs: number;
  rounds: Record<RoundKind, number>;
  skipped: Record<RoundKind, number>;
  /** Rounds whose runner threw or that could not be stored. */
  failedRounds: number;
  stalls: number;
  failures: number;
  maxLatenessMs: number;
  running: RoundKind[];
  lastRound?: RoundMeta;
}

export interface Daemon {
  /** Stops scheduling, lets in-flight rounds finish for graceMs, aborts them, flushes and closes the store. */
  stop(opts: StopOptions): Promise<void>;
  stats(): DaemonStats;
}

interface Lane {
  running: Promise<void> | undefined;
  controller: AbortController | undefined;
  skippedDuring: number;
}

const within = (p: Promise<unknown>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    p.then(
      () => resolve(true),
      () => resolve(true),
    ).finally(() => clearTimeout(t));
  });

export function startDaemon(o: DaemonOptions): Daemon {
  const clock = o.clock ?? systemClock;
  const random = o.random ?? Math.random;
  const { logger } = o;
  const lanes: Record<RoundKind, Lane> = {
    probe: { running: undefined, controller: undefined, skippedDuring: 0 },
    "keep-warm": { running: undefined, controller: undefined, skippedDuring: 0 },
  };
  const s: DaemonStats = {
    startedAtMs: clock.wallMs(),
    rounds: { probe: 0, "keep-warm": 0 },
    skipped: { probe: 0, "keep-warm": 0 },
    failedRounds: 0,
    stalls: 0,
    failures: 0,
    maxLatenessMs: 0,
    running: [],
  };
  let nextId = 1;
  let stopping: Promise<void> | undefined;
  const stopCtl = new AbortController();
  const cronLogger = {
    info: (m: string) => logger.debug(`node-cron: ${m}`),
    warn: (m: string) => logger.debug(`node-cron: ${m}`),
    error: (m: string | Error) => logger.warn(`node-cron: ${String(m)}`),
    debug: () => undefined,
  };

  const skip = (kind: RoundKind, why: string, scheduledAtMs: number): void => {
    lanes[kind].skippedDuring++;
    s.skipped[kind]++;
    logger.warn(`${kind} round skipped: ${why}`, {
      event: "skip",
      kind,
      scheduledAt: new Date(scheduledAtMs).toISOString(),
      skippedTotal: s.skipped[kind],
    });
  };

  const onTick = (kind: RoundKind, ctx: TaskContext): void => {
    if (stopping) return;
    const scheduledAtMs = ctx.date.getTime();
    const latenessMs = Math.max(0, ctx.triggeredAt.getTime() - scheduledAtMs);
    const lane = lanes[kind];
    if (lane.running) {
      skip(kind, "the previous round is still running", scheduledAtMs);
      return;
    }
    if (kind === "keep-warm" && lanes.probe.running) {
      skip(kind, "a probe round is running", scheduledAtMs);
      return;
    }
    const controller = new AbortController();
    lane.controller = controller;
    lane.skippedDuring = 0;
    const id = nextId++;
    const run = async (): Promise<void> => {
      const jitterMs =
        kind === "probe" && o.schedule.jitterMs > 0 ? Math.floor(random() * o.schedule.jitterMs) : 0;
      await sleep(jitterMs, AbortSignal.any([controller.signal, stopCtl.signal]));
      if (stopCtl.signal.aborted) return; // stopped during the jitter wait: the round never started
      if (kind === "probe" && lanes["keep-warm"].running) await lanes["keep-warm"].running;
      const r = await executeRound({
        runRound: o.runRound,
        store: o.store,
        logger,
        id,
        kind,
        scheduledAtMs,
        latenessMs,
        jitterMs,
        signal: controller.signal,
        abortSettleMs: o.abortSettleMs ?? 2000,
        skipped: () => lane.skippedDuring,
        clock,
        ...(o.stallRule ? { stallRule: o.stallRule } : {}),
        ...(o.redact ? { redact: o.redact } : {}),
      });
      s.rounds[kind]++;
      s.stalls += r.stalls;
      s.failures += r.failures;
      if (r.meta.error || !r.stored) s.failedRounds++;
      s.maxLatenessMs = Math.max(s.maxLatenessMs, r.meta.latenessMs);
      s.lastRound = r.meta;
      try {
        o.onRoundDone?.(r);
      } catch (err) {
        logger.error("onRoundDone threw", { error: String(err) });
      }
    };
    lane.running = run()
      .catch((err: unknown) => logger.error(`${kind} round ${id} crashed`, { round: id, error: String(err) }))
      .finally(() => {
        lane.running = undefined;
        lane.controller = undefined;
      });
  };

  const common = { logger: cronLogger, ...(o.timezone ? { timezone: o.timezone } : {}) };
  const tasks: ScheduledTask[] = [
    cron.schedule(o.schedule.cron, (ctx) => onTick("probe", ctx), { ...common, name: "probe" }),
  ];
  if (o.keepWarm.enabled) {
    tasks.push(
      cron.schedule(o.keepWarm.cron, (ctx) => onTick("keep-warm", ctx), { ...common, name: "keep-warm" }),
    );
  }
  logger.info("daemon started", {
    event: "daemon-start",
    cron: o.schedule.cron,
    jitterMs: o.schedule.jitterMs,
    keepWarm: o.keepWarm.enabled ? o.keepWarm.cron : false,
    writerId: o.store.writerId,
    dir: o.store.dir,
  });

  const doStop = async (opts: StopOptions): Promise<void> => {
    stopCtl.abort();
    await Promise.allSettled(tasks.map((t) => t.destroy()));
    const inFlight = (): Promise<unknown>[] =>
      Object.values(lanes).flatMap((l) => (l.running ? [l.running] : []));
    if (inFlight().length > 0) {
      logger.info("stopping: waiting for in-flight rounds", { event: "stop", graceMs: opts.graceMs });
      if (!(await within(Promise.all(inFlight()), opts.graceMs))) {
        logger.warn("stopping: grace period over, aborting in-flight requests", { event: "stop-abort" });
        for (const l of Object.values(lanes)) l.controller?.abort(new Error("shutdown"));
        // executeRound gives up on a runner abortSettleMs after the abort; allow for the store write too.
        await within(Promise.all(inFlight()), (o.abortSettleMs ?? 2000) + 3000);
      }
    }
    const closed = await within(o.store.close(), opts.closeTimeoutMs ?? 5000);
    if (!closed) logger.error("stopping: the store did not close in time", { event: "stop" });
    logger.info("daemon stopped", { event: "daemon-stop", rounds: s.rounds, skipped: s.skipped });
  };

  return {
    stop(opts) {
      stopping ??= doStop(opts);
      return stopping;
    },
    stats() {
      const running = (Object.keys(lanes) as RoundKind[]).filter((k) => lanes[k].running);
      return { ...s, rounds: { ...s.rounds }, skipped: { ...s.skipped }, running };
    },
  };
}
