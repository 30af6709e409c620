/**
 * `stallwatch run -c FILE [--data-dir DIR]`: one probe round, recorded in the
 * store, then exit: for cron, ECS scheduled tasks and EventBridge Scheduler.
 * Logs are JSON lines on stdout (human lines on a TTY): the round summary,
 * one line per stall, one per failure.
 *
 * Exit codes: 0 the round passed; 1 a request failed (assertion, HTTP error,
 * network fault), the stalls exceeded probe.stallBudget, or the round could
 * not run or be stored; 2 usage or configuration error. SIGTERM / SIGINT
 * abort the round's requests, store what was measured and exit 0.
 */

import { stallRuleOf } from "../app/live.js";
import { createRoundRunner } from "../app/round.js";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import { openStore, type Store } from "../record/store.js";
import { createLogger, type Logger } from "../schedule/logger.js";
import { executeRound, type RoundResult } from "../schedule/round.js";
import { type EarlySignals, installShutdown } from "../schedule/signals.js";
import { roundAws } from "./aws-rounds.js";

export interface RunFlags {
  config: string;
  dataDir?: string;
}

/** How long aborted requests may take to return after SIGTERM before `run` gives up on them, ms. */
const ABORT_SETTLE_MS = 2000;

/** The logger every scheduled command writes with: secrets redacted, JSON off a TTY. */
export function commandLogger(loaded: LoadedConfig): Logger {
  return createLogger({ redact: (s) => loaded.redactor.redact(s) });
}

/** Opens the store the config (or --data-dir) names, logging what retention deletes. */
export function openConfiguredStore(
  loaded: LoadedConfig,
  dataDir: string | undefined,
  logger: Logger,
): Promise<Store> {
  const dir = dataDir ?? loaded.config.store.dir;
  return openStore({
    dir,
    retentionDays: loaded.config.store.retentionDays,
    redactor: loaded.redactor,
    onPrune: (days) => logger.info("retention: deleted old days", { event: "prune", dir, days }),
  });
}

/** 1 when the round failed a request, exceeded the stall budget, or was not run or stored; else 0. */
export function runExitCode(r: RoundResult, stallBudget: number | undefined): number {
  if (r.failures > 0 || r.meta.error !== undefined || !r.stored) return 1;
  if (stallBudget !== undefined && r.stalls > stallBudget) return 1;
  return 0;
}

export async function runCommand(flags: RunFlags, early?: EarlySignals): Promise<void> {
  // Handlers first: a SIGTERM while the config loads or the store opens stops
  // cleanly (exit 0, nothing half-written), never Node's default exit 143.
  const controller = new AbortController();
  let finished: Promise<unknown> = Promise.resolve();
  let logger: Logger = createLogger();
  const removeHandlers = installShutdown(
    async () => {
      controller.abort(new Error("shutdown"));
      await finished;
    },
    {
      graceMs: ABORT_SETTLE_MS,
      onEvent: (event, detail) => logger.warn(detail, { event: `shutdown-${event}` }),
      ...(early ? { early } : {}),
    },
  );
  let loaded: LoadedConfig;
  let store: Store;
  try {
    loaded = await loadConfig(flags.config);
    logger = commandLogger(loaded);
    store = await openConfiguredStore(loaded, flags.dataDir, logger);
  } catch (err) {
    removeHandlers();
    throw err;
  }
  const aws = await roundAws(loaded, logger).catch(async (err: unknown) => {
    removeHandlers();
    await store.close();
    throw err;
  });
  try {
    const round = executeRound({
      runRound: createRoundRunner(loaded, aws.runnerOptions),
      store,
      logger,
      id: 1,
      kind: "probe",
      scheduledAtMs: Date.now(),
      signal: controller.signal,
      abortSettleMs: ABORT_SETTLE_MS,
      stallRule: stallRuleOf(loaded),
      redact: (s) => loaded.redactor.redact(s),
    });
    finished = round.then(() => store.close());
    const result = await round;
    await store.close();
    process.exitCode = controller.signal.aborted ? 0 : runExitCode(result, loaded.config.probe.stallBudget);
  } finally {
    await store.close();
    await aws.close();
    removeHandlers();
  }
}
