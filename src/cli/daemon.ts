/**
 * `stallwatch daemon -c FILE [--data-dir DIR] [--lab [scenario]]`: probe
 * rounds on the config's cron schedule (schedule.cron, seconds field allowed),
 * keep-warm pings on their own (keepWarm), every round recorded in the store.
 * Runs until SIGTERM / SIGINT: then it stops scheduling, lets in-flight
 * rounds finish for GRACE_MS, aborts what is left, flushes and exits 0 —
 * at worst about 20 s, inside ECS's 30 s stop timeout.
 *
 * With --lab, the simulated API Gateway stack runs in a worker thread and is
 * probed instead of the config's APIs: the config file supplies everything
 * else (schedule, keepWarm, store, probe) and needs no `apis`.
 */
import { readFile } from "node:fs/promises";
import { stallRuleOf } from "../app/live.js";
import { createRoundRunner } from "../app/round.js";
import { readJson } from "../config/json.js";
import { type LoadedConfig, loadConfig, parseConfig } from "../config/load.js";
import { ConfigError } from "../errors.js";
import type { RemoteLab } from "../lab/remote.js";
import { type Daemon, startDaemon } from "../schedule/daemon.js";
import { createLogger, type Logger } from "../schedule/logger.js";
import { type EarlySignals, installShutdown } from "../schedule/signals.js";
import { roundAws } from "./aws-rounds.js";
import { startDemoLab } from "./lab-demo.js";
import { commandLogger, openConfiguredStore } from "./run.js";

export interface DaemonFlags {
  config: string;
  dataDir?: string;
  lab?: string | boolean;
}

/** How long in-flight rounds may finish after SIGTERM before their requests are aborted, ms. */
export const GRACE_MS = 10_000;

export async function daemonCommand(flags: DaemonFlags, early?: EarlySignals): Promise<void> {
  const scenario = flags.lab === undefined || flags.lab === false ? undefined : labScenario(flags.lab);
  // Handlers first: a SIGTERM during start-up stops cleanly (exit 0), never
  // Node's default exit 143. Until the daemon runs there is nothing to flush.
  let lab: RemoteLab | undefined;
  let daemon: Daemon | undefined;
  let closeAws: (() => Promise<void>) | undefined;
  let logger: Logger = createLogger();
  const removeHandlers = installShutdown(
    async () => {
      await daemon?.stop({ graceMs: GRACE_MS });
      await closeAws?.();
      await lab?.close();
    },
    {
      graceMs: GRACE_MS,
      // stop() takes at most GRACE_MS + ~10 s (abort settle, store close); the lab closes within 5 s.
      hardMarginMs: 15_000,
      onEvent: (event, detail) => logger.warn(detail, { event: `shutdown-${event}` }),
      ...(early ? { early } : {}),
    },
  );
  try {
    daemon = await startFromConfig(flags, scenario, {
      setLab: (l) => {
        lab = l;
      },
      setLogger: (l) => {
        logger = l;
      },
      setCloseAws: (c) => {
        closeAws = c;
      },
    });
  } catch (err) {
    removeHandlers();
    await lab?.close();
    throw err;
  }
  // The cron tasks keep the process alive; the shutdown handler exits it.
}

interface StartHooks {
  setLab(lab: RemoteLab): void;
  setLogger(logger: Logger): void;
  setCloseAws(close: () => Promise<void>): void;
}

async function startFromConfig(
  flags: DaemonFlags,
  scenario: string | undefined,
  hooks: StartHooks,
): Promise<Daemon> {
  let lab: RemoteLab | undefined;
  let loaded: LoadedConfig;
  if (scenario === undefined) {
    loaded = await loadConfig(flags.config);
  } else {
    const raw = await readConfigObject(flags.config);
    lab = await startDemoLab(scenario);
    hooks.setLab(lab);
    loaded = parseConfig({ ...raw, apis: lab.config.apis }, { file: flags.config });
  }
  const logger = commandLogger(loaded);
  hooks.setLogger(logger);
  if (lab)
    logger.info(`lab '${lab.scenario}' started`, {
      event: "lab",
      scenario: lab.scenario,
      routes: lab.routes,
    });
  const store = await openConfiguredStore(loaded, flags.dataDir, logger);
  const aws = await roundAws(loaded, logger, lab?.awsEndpoint).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  hooks.setCloseAws(() => aws.close());
  const { schedule, keepWarm } = loaded.config;
  return startDaemon({
    schedule,
    keepWarm,
    runRound: createRoundRunner(loaded, aws.runnerOptions),
    store,
    logger,
    stallRule: stallRuleOf(loaded),
    redact: (s) => loaded.redactor.redact(s),
  });
}

function labScenario(lab: string | true): string {
  return typeof lab === "string" ? lab : "bad-target";
}

/** The config file as a JSON object, for --lab (which replaces its `apis`). */
async function readConfigObject(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new ConfigError(
      [{ path: "", message: `cannot read the file: ${(e as { code?: string }).code ?? e}` }],
      file,
    );
  }
  const json = readJson(text);
  if (!json.ok) {
    const { line, column } = json.position;
    throw new ConfigError(
      [{ path: "", message: `invalid JSON at line ${line}, column ${column}: ${json.error}` }],
      file,
    );
  }
  const v = json.value;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new ConfigError([{ path: "", message: "expected a JSON object" }], file);
  }
  return v as Record<string, unknown>;
}
