/**
 * `stallwatch run -c FILE [--data-dir DIR] [--lab [scenario]]`: one probe round, recorded in the
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
import { openConfiguredStore } from "../app/s3-store.js";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import type { RemoteLab } from "../lab/remote.js";
import { createLogger, type Logger } from "../schedule/logger.js";
import { executeRound, type RoundResult } from "../schedule/round.js";
import { type EarlySignals, installShutdown } from "../schedule/signals.js";
import { roundAws } from "./aws-rounds.js";
import { labConfigFor } from "./lab-config.js";
import { startDemoLab } from "./lab-demo.js";
import { chooseProbeSource } from "./probe-source.js";

export interface RunFlags {
  config?: string;
  dataDir?: string;
  /** Overrides config store.url (the deployment template passes its bucket here). */
  storeUrl?: string;
  /** Probe the built-in lab instead of the config's APIs (bare flag: bad-target). */
  lab?: string | boolean;
}

/** How long aborted requests may take to return after SIGTERM before `run` gives up on them, ms. */
const ABORT_SETTLE_MS = 2000;

/** The logger every scheduled command writes with: secrets redacted, JSON off a TTY. */
export function commandLogger(loaded: LoadedConfig): Logger {
  return createLogger({ redact: (s) => loaded.redactor.redact(s) });
}

/** 1 when the round failed a request, exceeded the stall budget, or was not run or stored; else 0. */
export function runExitCode(r: RoundResult, stallBudget: number | undefined): number {
  if (r.failures > 0 || r.meta.error !== undefined || !r.stored) return 1;
  if (stallBudget !== undefined && r.stalls > stallBudget) return 1;
  return 0;
}

export async function runCommand(flags: RunFlags, early?: EarlySignals): Promise<void> {
  // Handlers first: a SIGTERM while the config loads, the lab starts or the store opens stops cleanly (exit 0,
  // nothing half-written), never Node's default exit 143.
  const controller = new AbortController();
  let finished: Promise<unknown> = Promise.resolve();
  let logger: Logger = createLogger();
  let lab: RemoteLab | undefined;
  const removeHandlers = installShutdown(
    async () => {
      controller.abort(new Error("shutdown"));
      await finished;
      await lab?.close();
    },
    {
      graceMs: ABORT_SETTLE_MS,
      onEvent: (event, detail) => logger.warn(detail, { event: `shutdown-${event}` }),
      ...(early ? { early } : {}),
    },
  );
  try {
    const source = chooseProbeSource(flags, { command: "run", defaultScenario: "bad-target" });
    let loaded: LoadedConfig;
    if (source.kind === "config") loaded = await loadConfig(source.file);
    else {
      lab = await startDemoLab(source.scenario);
      loaded = await labConfigFor(source.config, lab);
    }
    logger = commandLogger(loaded);
    await runRound(loaded, flags, lab, logger, controller.signal, (p) => {
      finished = p;
    });
  } finally {
    removeHandlers();
    await lab?.close();
  }
}

async function runRound(
  loaded: LoadedConfig,
  flags: RunFlags,
  lab: RemoteLab | undefined,
  logger: Logger,
  signal: AbortSignal,
  onRound: (finished: Promise<unknown>) => void,
): Promise<void> {
  const store = await openConfiguredStore(loaded, flags.dataDir, logger, flags.storeUrl);
  const aws = await roundAws(loaded, logger, lab?.awsEndpoint).catch(async (err: unknown) => {
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
      signal,
      abortSettleMs: ABORT_SETTLE_MS,
      stallRule: stallRuleOf(loaded),
      redact: (s) => loaded.redactor.redact(s),
    });
    onRound(round.then(() => store.close()));
    const result = await round;
    await store.close();
    process.exitCode = signal.aborted ? 0 : runExitCode(result, loaded.config.probe.stallBudget);
  } finally {
    await store.close();
    await aws.close();
  }
}
