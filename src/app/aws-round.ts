/**
 * The AWS integration as the scheduler's `afterRound` hook (src/app/round.ts):
 *
 *   const aws = await createAwsIntegration(loaded, { log, endpointUrl: lab?.awsEndpoint });
 *   createRoundRunner(loaded, {
 *     probe: aws.traceHeaderFor ? { traceHeaderFor: aws.traceHeaderFor } : {},
 *     afterRound: awsRoundHook(aws, loaded, { onResult: (r) => log findings }),
 *   });
 *   … at shutdown: await aws.close();
 *
 * Per round: target health (one DescribeTargetHealth), and for probe rounds
 * with stalls the X-Ray breakdowns and GetMetricData evidence, then the
 * round's metrics published (when config.cloudwatch.enabled). The diagnosis
 * of the round with that evidence goes to `onResult`. Bounded by the trace
 * wait (default config.xray.pollTimeoutS; pass `traceWaitMs` to
 * createAwsIntegration to keep a round's lane short).
 */
import type { LoadedConfig } from "../config/load.js";
import { detectStalls } from "../diagnose/stalls.js";
import type { LagStats } from "../model.js";
import { countable, type RequestRecord } from "../model.js";
import type { AwsIntegration, AwsRoundResult } from "./aws.js";
import { type Analysis, analyse, machineContext, stallRuleOf } from "./live.js";

/** The part of src/app/round.ts's RoundOutcome the hook reads (structural, so either can change). */
export interface AwsRoundOutcome {
  kind: string;
  /** Epoch ms the round was scheduled for: the datums' timestamp. */
  scheduledAtMs: number;
  records: readonly RequestRecord[];
  run: { lag?: LagStats };
  signal?: AbortSignal;
}

/** What one round's AWS step found, with the round's diagnosis (probe rounds). */
export interface AwsRoundReport {
  outcome: AwsRoundOutcome;
  aws: AwsRoundResult;
  /** Probe rounds: stalls and diagnosis with the AWS evidence. */
  analysis?: Analysis;
}

export interface AwsRoundHookOptions {
  onResult?: (r: AwsRoundReport) => void;
}

/** An `afterRound` hook running the AWS step for each round. Never throws on AWS errors. */
export function awsRoundHook(
  aws: AwsIntegration,
  loaded: LoadedConfig,
  opts: AwsRoundHookOptions = {},
): (outcome: AwsRoundOutcome) => Promise<void> {
  const rule = stallRuleOf(loaded);
  return async (outcome) => {
    const probe = outcome.kind === "probe";
    // Requests a clean stop aborted are no measurement: no metric, stall or finding comes from them.
    const records = outcome.records.filter(countable);
    const stalls = probe ? detectStalls(records, rule) : [];
    const result = await aws.afterRound({
      records,
      stalls,
      timestampMs: outcome.scheduledAtMs,
      ...(outcome.signal ? { signal: outcome.signal } : {}),
    });
    const analysis = probe
      ? analyse(records, rule, outcome.run.lag, machineContext(loaded, result.evidence))
      : undefined;
    opts.onResult?.({ outcome, aws: result, ...(analysis ? { analysis } : {}) });
  };
}
