/**
 * The S3 store: a `Store` whose rounds go to a shared S3 prefix instead of
 * local files. Per round: the records (the local store's line format) and the
 * round's HdrHistogram interval log, each gzip'd, become two objects under
 * this writer's own keys (layout.ts); the records object goes last and makes
 * the round visible. Nothing is ever appended to or overwritten, so a fleet of
 * probers shares one prefix with no coordination.
 *
 * Durability: the round is spooled on local disk first (spool.ts), then the
 * spool is drained oldest first. `writeRound` resolves once this round is in
 * S3; when the upload fails it rejects (the round stays spooled and is
 * retried before the next round's upload, and at the next start). A
 * retryable failure stops the drain, as the CloudWatch publisher does; the
 * SDK's own retries (3 attempts, backoff) are the inner loop.
 *
 * Retention is the bucket's lifecycle rules (the CloudFormation stack creates
 * them); `prune` deletes nothing.
 */

import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { S3Client } from "@aws-sdk/client-s3";
import { StallwatchError } from "../../errors.js";
import type { RequestRecord } from "../../model.js";
import { Redactor } from "../../redact.js";
import { hlogHeader, hlogRoundBlockOf } from "../hlog.js";
import { type RoundDiagnosis, type RoundMeta, roundLines, type Store } from "../store.js";
import { roundKeys, type S3Location, s3UrlOf } from "./layout.js";
import type { ObjectSpool, SpooledRound, SpoolLog } from "./spool.js";

/** Uploads one object. Rejects with the SDK's error. */
export type PutObjectFn = (
  o: { bucket: string; key: string; body: Uint8Array; contentType: string },
  signal: AbortSignal,
) => Promise<void>;

/** PutObject through an SDK client; never overwrites (If-None-Match: *), and 412 means "already there". */
export function s3Put(client: Pick<S3Client, "send">): PutObjectFn {
  return async (o, signal) => {
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: o.bucket,
          Key: o.key,
          Body: o.body,
          ContentType: o.contentType,
          IfNoneMatch: "*",
        }),
        { abortSignal: signal },
      );
    } catch (err) {
      // Our own earlier attempt of the same key landed (answer lost): the bytes are identical.
      if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return;
      throw err;
    }
  };
}

export interface S3StoreOptions {
  location: S3Location;
  writerId: string;
  put: PutObjectFn;
  spool: ObjectSpool;
  log: SpoolLog;
  /** Deadline per PutObject including the SDK's retries, ms. Default 30000. */
  callDeadlineMs?: number;
  /** Called once at close (destroys the SDK client). */
  onClose?: () => void | Promise<void>;
  /** The one redactor every sink uses (the config's secrets). Default: none. */
  redactor?: Redactor;
}

export interface S3Store extends Store {
  /** Uploads what is spooled, oldest first; stops at the first failure. Returns entries left. */
  drain(): Promise<{ uploaded: number; pending: number; error?: string }>;
}

const describe = (err: unknown): string => {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  return `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}: ${e.message ?? String(err)}`;
};

/** The two gzip'd objects of one round. */
export function roundObjects(
  loc: S3Location,
  writerId: string,
  meta: RoundMeta,
  records: readonly RequestRecord[],
  redactor: Redactor = Redactor.none(),
  diagnosis?: RoundDiagnosis,
): { key: string; contentType: string; body: Uint8Array }[] {
  const uid = randomBytes(4).toString("hex");
  const keys = roundKeys(loc, writerId, meta.startedAtMs, meta.id, uid);
  const hlog =
    hlogHeader(meta.startedAtMs) +
    hlogRoundBlockOf(records, meta.id, meta.startedAtMs, meta.endedAtMs, meta.startedAtMs);
  return [
    { key: keys.hlog, contentType: "application/gzip", body: gzipSync(hlog) },
    {
      key: keys.records,
      contentType: "application/gzip",
      body: gzipSync(roundLines(writerId, meta, records, redactor, uid, diagnosis)),
    },
  ];
}

export function openS3Store(o: S3StoreOptions): S3Store {
  const url = s3UrlOf(o.location);
  const deadline = o.callDeadlineMs ?? 30_000;
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | undefined;

  const upload = async (r: SpooledRound): Promise<void> => {
    for (const obj of r.objects) {
      const body = await o.spool.body(obj);
      if (body === undefined) return; // another process drained this entry meanwhile
      await o.put(
        { bucket: r.bucket, key: obj.key, body, contentType: obj.contentType },
        AbortSignal.timeout(deadline),
      );
    }
    await o.spool.remove(r);
  };

  /** Drains oldest first; stops at the first failure. `mustUpload` names an entry whose failure is reported. */
  const drain = async (): Promise<{ uploaded: number; pending: number; error?: string; failed?: string }> => {
    const entries = await o.spool.list();
    let uploaded = 0;
    for (const [i, r] of entries.entries()) {
      try {
        await upload(r);
        uploaded++;
      } catch (err) {
        const error = describe(err);
        o.log("warn", "S3 store upload failed: rounds stay spooled and are retried before the next round", {
          event: "store-upload",
          url,
          error,
          pendingRounds: entries.length - i,
        });
        return { uploaded, pending: entries.length - i, error, failed: r.manifest };
      }
    }
    if (uploaded > 1)
      o.log("info", "S3 store: spooled rounds uploaded", { event: "store-upload", url, uploaded });
    return { uploaded, pending: 0 };
  };

  const write = async (
    meta: RoundMeta,
    records: readonly RequestRecord[],
    diagnosis: RoundDiagnosis | undefined,
  ): Promise<void> => {
    const objects = roundObjects(o.location, o.writerId, meta, records, o.redactor, diagnosis);
    const entry = await o.spool.put(o.location.bucket, objects);
    if (!entry) {
      // Spool full: try once directly, so a round is not lost while S3 works.
      try {
        for (const obj of objects) {
          await o.put({ bucket: o.location.bucket, ...obj }, AbortSignal.timeout(deadline));
        }
        return;
      } catch (err) {
        throw new StallwatchError(
          "SW_STORE_UPLOAD",
          `round ${meta.id} lost: the spool is full and the upload to ${url} failed: ${describe(err)}`,
        );
      }
    }
    const res = await drain();
    if (res.error !== undefined) {
      throw new StallwatchError(
        "SW_STORE_UPLOAD",
        `round ${meta.id} spooled in ${o.spool.dir}, upload to ${url} failed (${res.pending} round(s) pending, retried before the next round): ${res.error}`,
      );
    }
  };

  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const p = queue.then(f);
    queue = p.catch(() => undefined);
    return p;
  };

  return {
    dir: url,
    writerId: o.writerId,
    writeRound(meta, records, diagnosis) {
      if (closed) return Promise.reject(new StallwatchError("SW_STORE_CLOSED", "the store is closed"));
      return serial(() =>
        write(meta, records, diagnosis).catch((err: unknown) => {
          throw err instanceof StallwatchError
            ? err
            : new StallwatchError(
                "SW_STORE_WRITE",
                `cannot write round ${meta.id} to ${url}: ${String(err)}`,
                1,
                {
                  cause: err,
                },
              );
        }),
      );
    },
    drain: () =>
      serial(async () => {
        const { failed: _f, ...r } = await drain();
        return r;
      }),
    async prune() {
      return [];
    },
    close() {
      closed = true;
      closing ??= queue.then(async () => {
        await o.onClose?.();
      });
      return closing;
    },
  };
}
