/**
 * `stallwatch daemon -c FILE [--data-dir DIR] [--lab [scenario]]`: probe
 * rounds on the config's cron schedule (schedule.cron, seconds field allowed),
 * keep-warm pings on their own (keepWarm), every round recorded in the store.
 * Runs until SIGTERM / SIGINT: then it stops scheduling, lets in-flight
 * rounds finish for GRACE_MS, aborts what is left, flushes and exits 0 —
 * at worst about 20 s, inside ECS's 30 s stop timeout.
 *
 * With --lab, the simulated API Gateway stack runs in a worker thread and is
 * probed instead of the config's APIs: the config file (optional with --lab)
 * supplies everything else (schedule, keepWarm, store, probe) and needs no
 * `apis`. With --metrics-listen HOST:PORT, /metrics serves the rounds'
 * Prometheus / OpenMetrics metrics (src/metrics/prometheus.ts).
 *
 * Signals: run it with `node` or the bin directly (`node_modules/.bin/stallwatch`)
 * where SIGTERM matters; `npx` does not pass SIGTERM on to it, so under npx the
 * daemon stops when npx goes away (src/schedule/parent-watch.ts).
 */
import { stallRuleOf } from "../app/live.js";
import { createRoundRunner } from "../app/round.js";
import { openConfiguredStore } from "../app/s3-store.js";
import { type LoadedConfig, loadConfig } from "../config/load.js";
import type { RemoteLab } from "../lab/remote.js";
import { createProbeMetrics } from "../metrics/prometheus.js";
import { parseListen, startMetricsServer } from "../metrics/server.js";
import { type Daemon, startDaemon } from "../schedule/daemon.js";
import { createLogger, type Logger } from "../schedule/logger.js";
import { startedByNpmExec, watchParent } from "../schedule/parent-watch.js";
import type { RoundResult } from "../schedule/round.js";
import { type EarlySignals, installShutdown } from "../schedule/signals.js";
import { roundAws } from "./aws-rounds.js";
import { labConfigFor } from "./lab-config.js";
import { startDemoLab } from "./lab-demo.js";
import { chooseProbeSource } from "./probe-source.js";
import { commandLogger } from "./run.js";

export interface DaemonFlags {
  config?: string;
  dataDir?: string;
  /** Overrides config store.url (the deployment template passes its bucket here). */
  storeUrl?: string;
  lab?: string | boolean;
  /** HOST:PORT to serve Prometheus / OpenMetrics metrics on. */
  metricsListen?: string;
}

/** How long in-flight rounds may finish after SIGTERM before their requests are aborted, ms. */
export const GRACE_MS = 10_000;

export async function daemonCommand(flags: DaemonFlags, early?: EarlySignals): Promise<void> {
  // Handlers first: a SIGTERM during start-up (config, lab, store, AWS, metrics server) or right after "daemon
  // started" stops cleanly (exit 0), never Node's default exit 143. Each part registers its close as it starts.
  let daemon: Daemon | undefined;
  const closers: Array<() => Promise<void>> = [];
  let logger: Logger = createLogger();
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => {});
  };
  const removeHandlers = installShutdown(
    async () => {
      await daemon?.stop({ graceMs: GRACE_MS });
      await closeAll();
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
    const source = chooseProbeSource(flags, { command: "daemon", defaultScenario: "bad-target" });
    const listen = flags.metricsListen === undefined ? undefined : parseListen(flags.metricsListen);
    let lab: RemoteLab | undefined;
    let loaded: LoadedConfig;
    if (source.kind === "config") {
      loaded = await loadConfig(source.file);
    } else {
      const started = await startDemoLab(source.scenario);
      lab = started;
      closers.push(() => started.close());
      loaded = await labConfigFor(source.config, started);
    }
    logger = commandLogger(loaded);
    if (lab)
      logger.info(`lab '${lab.scenario}' started`, {
        event: "lab",
        scenario: lab.scenario,
        routes: lab.routes,
      });
    const store = await openConfiguredStore(loaded, flags.dataDir, logger, flags.storeUrl);
    // The daemon closes its store on stop; until it runs, closing is ours.
    const storeCloser = () => store.close();
    closers.push(storeCloser);
    const aws = await roundAws(loaded, logger, lab?.awsEndpoint);
    closers.push(() => aws.close());
    const metrics = listen ? createProbeMetrics({ stallRule: stallRuleOf(loaded) }) : undefined;
    const metricsServer = listen && metrics ? await startMetricsServer(listen, metrics) : undefined;
    if (metricsServer) {
      closers.push(() => metricsServer.close());
      logger.info("serving metrics", { event: "metrics-listen", url: metricsServer.url });
    }
    if (startedByNpmExec()) {
      // npx does not pass SIGTERM on: when npm goes away, stop as if it had.
      watchParent(() => {
        logger.warn("parent npm/npx process ended: shutting down as on SIGTERM", { event: "parent-exit" });
        process.kill(process.pid, "SIGTERM");
      });
    }
    const { schedule, keepWarm } = loaded.config;
    closers.splice(closers.indexOf(storeCloser), 1);
    daemon = startDaemon({
      schedule,
      keepWarm,
      runRound: createRoundRunner(loaded, aws.runnerOptions),
      store,
      logger,
      stallRule: stallRuleOf(loaded),
      redact: (s) => loaded.redactor.redact(s),
      ...(metrics ? { onRoundDone: (r: RoundResult) => metrics.observeRound(r) } : {}),
    });
  } catch (err) {
    removeHandlers();
    await closeAll();
    throw err;
  }
  // The cron tasks keep the process alive; the shutdown handler exits it.
}
