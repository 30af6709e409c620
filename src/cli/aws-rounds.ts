/**
 * The AWS parts of scheduled rounds (`run`, `daemon`): created only when the
 * config enables an AWS feature (so AWS-free configs never load the SDK),
 * handed to the round runner as its evidence sources and metrics sink.
 */
import type { RoundRunnerOptions } from "../app/round.js";
import type { LoadedConfig } from "../config/load.js";
import type { Logger } from "../schedule/logger.js";

/** Longest wait for a round's stall traces: keeps a round's lane short (later traces are not fetched). */
const ROUND_TRACE_WAIT_MS = 20_000;

export interface RoundAws {
  runnerOptions: RoundRunnerOptions;
  close(): Promise<void>;
}

export async function roundAws(
  loaded: LoadedConfig,
  logger: Logger,
  endpointUrl?: string,
): Promise<RoundAws> {
  const onHookError: RoundRunnerOptions["onHookError"] = (err, round) =>
    logger.error("afterRound hook failed", { event: "hook-error", round: round.id, error: String(err) });
  const mod = await import("../app/aws.js");
  if (!mod.anyAwsFeature(mod.awsFeatures(loaded.config)))
    return { runnerOptions: { onHookError }, close: async () => {} };
  const aws = mod.awsParts(loaded, {
    log: (level, msg, fields) => logger.log(level, msg, fields),
    ...(endpointUrl ? { endpointUrl } : {}),
    traceWaitMs: Math.min(ROUND_TRACE_WAIT_MS, loaded.config.xray.pollTimeoutS * 1000),
  });
  await aws.metrics?.flush(); // batches spooled by an earlier run that could not send them
  // First target-health snapshot, so the first round's transitions are seen.
  for (const s of aws.sources) await s.before?.();
  return {
    runnerOptions: {
      onHookError,
      sources: aws.sources,
      ...(aws.metrics ? { metrics: aws.metrics } : {}),
      onOutcome: ({ kind, notes, diagnosis }) => {
        for (const note of notes) logger.info(note, { event: "aws-evidence", kind });
        const v = diagnosis?.verdict;
        if (v) {
          logger.warn(`verdict ${v.cause}: ${v.headline}`, {
            event: "verdict",
            id: v.cause,
            stalls: v.stalls,
            ofStalls: v.ofStalls,
            failures: v.failures,
            hop: v.hop,
            ...(v.where ? { where: v.where } : {}),
            confidence: v.confidence,
          });
        }
        for (const f of diagnosis?.findings ?? []) {
          logger.warn(`finding ${f.id}: ${f.summary}`, {
            event: "finding",
            id: f.id,
            stalls: f.stalls.length,
          });
        }
      },
    },
    close: () => aws.close(),
  };
}
