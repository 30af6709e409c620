/**
 * The thin sender: one round's metrics → PutMetricData through the spool, or
 * EMF lines. The CloudWatch client is injected (as a `put` function), so the
 * same code runs against AWS, the lab endpoint and tests.
 *
 * Per round: build inputs (pure) → write each to the spool → drain the spool
 * oldest first. A retryable failure (throttling, 5xx, network, timeout —
 * after the SDK's own 3 attempts with backoff) stops the drain: the endpoint
 * is struggling, so the rest waits for the next round instead of hammering it.
 * That next round is our outer retry; there is no second retry loop here. A
 * batch CloudWatch rejects as invalid (InvalidParameterValue…) would fail
 * forever, so it is set aside under `rejected/` and logged.
 */

import type { CloudWatchClient, PutMetricDataInput } from "@aws-sdk/client-cloudwatch";
import { classifyAwsError } from "../errors.js";
import { buildEmfLines, type EmfOptions } from "./emf.js";
import { buildMetricPoints, type MetricContext, type RoundMetrics } from "./points.js";
import { buildPutMetricDataInputs, wireJson } from "./put.js";
import type { LogFn, MetricSpool } from "./spool.js";

/** Sends one PutMetricData request; rejects with the SDK's error. */
export type PutFn = (input: PutMetricDataInput, signal: AbortSignal) => Promise<void>;

/** Adapts an SDK client (the command class is loaded lazily). */
export function cloudWatchPut(client: Pick<CloudWatchClient, "send">): PutFn {
  return async (input, signal) => {
    const { PutMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
    await client.send(new PutMetricDataCommand(input), { abortSignal: signal });
  };
}

export interface PublisherOptions {
  mode: "api" | "emf";
  ctx: MetricContext;
  log: LogFn;
  /** api mode: the spool (strongly recommended; without it a failed batch is dropped, loudly). */
  spool?: MetricSpool;
  /** api mode: the sender. */
  put?: PutFn;
  /** emf mode: writes one line (default: process.stdout). */
  write?: (line: string) => void;
  emf?: EmfOptions;
  /** Hard deadline per PutMetricData call including the SDK's retries, ms. Default 30000. */
  callDeadlineMs?: number;
}

/** What one publish did. Counts of datums are PutMetricData MetricData entries. */
export interface PublishResult {
  builtBatches: number;
  builtDatums: number;
  sentBatches: number;
  sentDatums: number;
  /** Batches still in the spool after this round. */
  pendingBatches: number;
  /** Batches set aside because CloudWatch rejected them as invalid. */
  rejectedBatches: number;
  /** Datums lost (spool full and the direct send failed). Always logged. */
  droppedDatums: number;
  /** EMF lines written (emf mode). */
  emfLines: number;
  /** The last send error, when a send failed. */
  error?: { name: string; message: string; retryable: boolean };
  /** Bytes of the JSON bodies sent (before gzip). */
  sentBytes: number;
}

const INVALID_BATCH = new Set([
  "InvalidParameterValue",
  "InvalidParameterValueException",
  "InvalidParameterCombination",
  "InvalidParameterCombinationException",
  "MissingParameter",
  "MissingRequiredParameterException",
  "RequestEntityTooLarge",
]);

interface SdkLikeError {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** True when resending the same batch can never succeed. */
export function isInvalidBatchError(e: unknown): boolean {
  const err = e as SdkLikeError;
  return INVALID_BATCH.has(err?.name ?? "") || INVALID_BATCH.has(err?.Code ?? "");
}

export class MetricsPublisher {
  private chain: Promise<unknown> = Promise.resolve();
  /** Datums dropped since start (spool full + failed direct send). */
  droppedDatums = 0;

  constructor(private readonly o: PublisherOptions) {}

  /** Publishes a round. Rounds are serialised: overlapping calls wait for each other. */
  publishRound(round: RoundMetrics): Promise<PublishResult> {
    const run = this.chain.then(() => this.doRound(round));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Sends what is spooled (at start-up, before the first round, or at shutdown). */
  flush(): Promise<PublishResult> {
    const run = this.chain.then(() => this.drain(emptyResult()));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doRound(round: RoundMetrics): Promise<PublishResult> {
    const points = buildMetricPoints(round, this.o.ctx);
    const res = emptyResult();
    if (this.o.mode === "emf") {
      const write = this.o.write ?? ((l: string) => process.stdout.write(`${l}\n`));
      for (const line of buildEmfLines(points, this.o.ctx, this.o.emf)) {
        write(line);
        res.emfLines++;
      }
      return res;
    }
    const inputs = buildPutMetricDataInputs(points, this.o.ctx);
    res.builtBatches = inputs.length;
    res.builtDatums = inputs.reduce((s, i) => s + (i.MetricData?.length ?? 0), 0);
    const direct: PutMetricDataInput[] = [];
    for (const input of inputs) {
      const spooled = this.o.spool ? await this.o.spool.put(input) : undefined;
      if (!spooled) direct.push(input);
    }
    await this.drain(res);
    for (const input of direct) {
      const n = input.MetricData?.length ?? 0;
      try {
        await this.send(input, res);
      } catch (e) {
        this.droppedDatums += n;
        res.droppedDatums += n;
        this.o.log("error", "metric batch LOST: not spooled and the send failed", {
          datums: n,
          droppedDatumsTotal: this.droppedDatums,
          error: describe(e).message,
        });
      }
    }
    return res;
  }

  private async drain(res: PublishResult): Promise<PublishResult> {
    const spool = this.o.spool;
    if (!spool || this.o.mode !== "api") return res;
    const batches = await spool.list();
    let i = 0;
    for (; i < batches.length; i++) {
      const b = batches[i]!;
      try {
        await this.send(b.input, res);
        await spool.remove(b.file);
      } catch (e) {
        if (isInvalidBatchError(e)) {
          await spool.setAside(b.file);
          res.rejectedBatches++;
          this.o.log("error", "CloudWatch rejected a metric batch as invalid; set aside, not resent", {
            batch: b.id,
            file: `rejected/${b.file}`,
            error: describe(e).message,
          });
          continue;
        }
        this.o.log("warn", "metric publish failed; batches stay spooled for the next round", {
          pendingBatches: batches.length - i,
          error: describe(e).message,
        });
        break;
      }
    }
    res.pendingBatches = Math.max(0, batches.length - i);
    return res;
  }

  private async send(input: PutMetricDataInput, res: PublishResult): Promise<void> {
    const put = this.o.put;
    if (!put) throw new Error("no CloudWatch sender configured");
    try {
      await put(input, AbortSignal.timeout(this.o.callDeadlineMs ?? 30_000));
      res.sentBatches++;
      res.sentDatums += input.MetricData?.length ?? 0;
      res.sentBytes += Buffer.byteLength(wireJson(input));
    } catch (e) {
      res.error = describe(e);
      throw e;
    }
  }
}

function describe(e: unknown): { name: string; message: string; retryable: boolean } {
  const err = e as SdkLikeError;
  const f = classifyAwsError("PutMetricData", e);
  const unparsed = f.code.startsWith("HTTP ");
  return {
    name: unparsed ? f.code : (err?.name ?? "Error"),
    message: unparsed ? f.message : (err?.message ?? String(e)),
    retryable: !isInvalidBatchError(e),
  };
}

function emptyResult(): PublishResult {
  return {
    builtBatches: 0,
    builtDatums: 0,
    sentBatches: 0,
    sentDatums: 0,
    pendingBatches: 0,
    rejectedBatches: 0,
    droppedDatums: 0,
    emfLines: 0,
    sentBytes: 0,
  };
}
