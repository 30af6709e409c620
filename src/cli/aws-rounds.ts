/**
 * The AWS step of scheduled rounds (`run`, `daemon`): created only when the
 * config enables an AWS feature (so AWS-free configs never load the SDK),
 * plugged into the round runner as its afterRound hook.
 */
import { type AwsIntegration, anyAwsFeature, awsFeatures, createAwsIntegration } from "../app/aws.js";
import { awsRoundHook } from "../app/aws-round.js";
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
  const onHookError: RoundRunnerOptions["onHookError"] = (err, o) =>
    logger.error("afterRound hook failed", { event: "hook-error", round: o.id, error: String(err) });
  if (!anyAwsFeature(awsFeatures(loaded.config)))
    return { runnerOptions: { onHookError }, close: async () => {} };
  const aws: AwsIntegration = await createAwsIntegration(loaded, {
    log: (level, msg, fields) => logger.log(level, msg, fields),
    ...(endpointUrl ? { endpointUrl } : {}),
    traceWaitMs: Math.min(ROUND_TRACE_WAIT_MS, loaded.config.xray.pollTimeoutS * 1000),
  });
  await aws.flush(); // batches spooled by an earlier run that could not send them
  await aws.beforeRound(); // first target-health snapshot, so the round's transitions are seen
  return {
    runnerOptions: {
      onHookError,
      ...(aws.traceHeaderFor ? { probe: { traceHeaderFor: aws.traceHeaderFor } } : {}),
      afterRound: awsRoundHook(aws, loaded, {
        onResult: ({ outcome, aws: r, analysis }) => {
          for (const note of r.notes) logger.info(note, { event: "aws-evidence", kind: outcome.kind });
          const v = analysis?.diagnosis.verdict;
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
          for (const f of analysis?.diagnosis.findings ?? []) {
            logger.warn(`finding ${f.id}: ${f.summary}`, {
              event: "finding",
              id: f.id,
              stalls: f.stalls.length,
            });
          }
        },
      }),
    },
    close: () => aws.close(),
  };
}
