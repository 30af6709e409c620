/**
 * Opens the store a config names: the S3 store when `store.url` is set
 * (spool under the local data dir), else the local store. Shared by `run`
 * and `daemon`.
 */
import { createS3Client } from "../aws/clients.js";
import type { LoadedConfig } from "../config/load.js";
import { parseS3Url } from "../record/s3/layout.js";
import { ObjectSpool } from "../record/s3/spool.js";
import { openS3Store, s3Put } from "../record/s3/store.js";
import { openStore, type Store } from "../record/store.js";
import { newWriterId } from "../record/store-layout.js";
import type { Logger } from "../schedule/logger.js";
import { resolveWriter } from "./writer-name.js";

export async function openConfiguredStore(
  loaded: LoadedConfig,
  dataDir: string | undefined,
  logger: Logger,
  storeUrl?: string,
): Promise<Store> {
  const store = { ...loaded.config.store, ...(storeUrl !== undefined ? { url: storeUrl } : {}) };
  const dir = dataDir ?? store.dir;
  if (store.url === undefined) {
    return openStore({
      dir,
      retentionDays: store.retentionDays,
      redactor: loaded.redactor,
      // A local writer id must be unique per process (two processes never share a file): the name is its prefix.
      ...(store.writer !== undefined
        ? { writerId: `${store.writer}-${newWriterId().split("-").slice(-2).join("-")}` }
        : {}),
      onPrune: (days) => logger.info("retention: deleted old days", { event: "prune", dir, days }),
    });
  }
  const location = parseS3Url(store.url, storeUrl !== undefined ? "--store-url" : "store.url");
  const client = await createS3Client(
    loaded.config.aws.region !== undefined ? { region: loaded.config.aws.region } : {},
  );
  const log = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>): void =>
    logger.log(level, msg, fields);
  const resolved =
    store.writer !== undefined ? { writer: store.writer, from: "config" } : await resolveWriter();
  const writerId = resolved.writer;
  logger.info("S3 store", {
    event: "store-open",
    url: store.url,
    writer: writerId,
    writerFrom: resolved.from,
    spoolDir: `${dir}/s3-spool`,
  });
  return openS3Store({
    location,
    writerId,
    put: s3Put(client),
    spool: new ObjectSpool(`${dir}/s3-spool`, store.spoolMaxBytes, log),
    log,
    onClose: () => client.destroy(),
    redactor: loaded.redactor,
  });
}
