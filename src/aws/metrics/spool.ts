/**
 * Disk spool for PutMetricData batches. Every batch is written here BEFORE
 * it is sent and removed only after CloudWatch accepted it, so a crash, an
 * outage or throttling never loses data: a later round (or the next process
 * start) sends what is spooled first, oldest first.
 *
 * - One file per batch, `<createdAtMs:15 digits>-<seq>-<id>.json`, written to
 *   a temp name and renamed, so a crash never leaves half a batch.
 * - Each batch has an id (random, 16 hex). CloudWatch has no idempotency key,
 *   so delivery is at-least-once: a batch whose request reached CloudWatch but
 *   whose answer was lost (timeout after acceptance) is sent again. Refused
 *   connections, throttling and 5xx answers are rejections before storage, so
 *   through those faults every datum arrives exactly once.
 * - Data older than CloudWatch's 2-week timestamp limit is dropped with a
 *   logged count (the API would reject the whole batch otherwise).
 * - Bounded by `maxBytes`: a batch that does not fit is refused with an error
 *   log and counted (`refusedBatches`); the caller still tries to send it
 *   directly, and counts it as dropped if that fails. Nothing is dropped
 *   silently. Unparsable files are renamed `*.bad` and counted, never deleted.
 *
 * One process per spool directory (the publisher serialises its own rounds).
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { MetricDatum, PutMetricDataInput } from "@aws-sdk/client-cloudwatch";

/** CloudWatch accepts timestamps up to two weeks old. */
export const MAX_DATUM_AGE_MS = 14 * 24 * 3600 * 1000;
/** Margin so a batch does not expire between our check and CloudWatch's. */
const AGE_MARGIN_MS = 10 * 60 * 1000;

export interface SpooledBatch {
  id: string;
  createdAtMs: number;
  input: PutMetricDataInput;
  /** File name inside the spool dir. */
  file: string;
  bytes: number;
}

export type LogFn = (level: "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;

/** Counters since the spool was opened. */
export interface SpoolStats {
  refusedBatches: number;
  refusedDatums: number;
  expiredDatums: number;
  badFiles: number;
}

let seq = 0;

function revive(input: PutMetricDataInput): PutMetricDataInput {
  const data = (input.MetricData ?? []).map((d: MetricDatum) => ({
    ...d,
    ...(d.Timestamp !== undefined ? { Timestamp: new Date(d.Timestamp as unknown as string) } : {}),
  }));
  return { ...input, MetricData: data };
}

export class MetricSpool {
  readonly stats: SpoolStats = { refusedBatches: 0, refusedDatums: 0, expiredDatums: 0, badFiles: 0 };

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
    private readonly log: LogFn,
    private readonly wallMs: () => number = Date.now,
  ) {}

  /** Bytes currently spooled (batch files only). */
  async sizeBytes(): Promise<number> {
    let total = 0;
    for (const f of await this.files()) {
      try {
        total += (await stat(join(this.dir, f))).size;
      } catch {
        // removed meanwhile
      }
    }
    return total;
  }

  /** Writes a batch. Returns it, or undefined when the spool is full (logged and counted). */
  async put(input: PutMetricDataInput): Promise<SpooledBatch | undefined> {
    await mkdir(this.dir, { recursive: true });
    const id = randomBytes(8).toString("hex");
    const createdAtMs = this.wallMs();
    const body = JSON.stringify({ id, createdAtMs, input });
    const bytes = Buffer.byteLength(body);
    const used = await this.sizeBytes();
    if (used + bytes > this.maxBytes) {
      const datums = input.MetricData?.length ?? 0;
      this.stats.refusedBatches++;
      this.stats.refusedDatums += datums;
      this.log("error", "metric spool full: batch not spooled (sending it directly; lost if that fails)", {
        spoolDir: this.dir,
        usedBytes: used,
        batchBytes: bytes,
        maxBytes: this.maxBytes,
        datums,
        refusedBatches: this.stats.refusedBatches,
      });
      return undefined;
    }
    const file = `${String(createdAtMs).padStart(15, "0")}-${String(seq++ % 1e6).padStart(6, "0")}-${id}.json`;
    const tmp = join(this.dir, `.${file}.tmp`);
    await writeFile(tmp, body);
    await rename(tmp, join(this.dir, file));
    return { id, createdAtMs, input, file, bytes };
  }

  /** Spooled batches, oldest first, with expired datums dropped (logged). */
  async list(): Promise<SpooledBatch[]> {
    const out: SpooledBatch[] = [];
    const cutoff = this.wallMs() - MAX_DATUM_AGE_MS + AGE_MARGIN_MS;
    for (const file of await this.files()) {
      const path = join(this.dir, file);
      let parsed: { id: string; createdAtMs: number; input: PutMetricDataInput };
      let text: string;
      try {
        text = await readFile(path, "utf8");
        parsed = JSON.parse(text) as typeof parsed;
        if (typeof parsed.id !== "string" || !Array.isArray(parsed.input?.MetricData))
          throw new Error("shape");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
        this.stats.badFiles++;
        this.log("error", "unreadable metric spool file set aside", { file: `${file}.bad` });
        await rename(path, `${path}.bad`).catch(() => undefined);
        continue;
      }
      const input = revive(parsed.input);
      const all = input.MetricData ?? [];
      const fresh = all.filter((d) => (d.Timestamp?.getTime() ?? this.wallMs()) >= cutoff);
      if (fresh.length < all.length) {
        const expired = all.length - fresh.length;
        this.stats.expiredDatums += expired;
        this.log("warn", "dropped spooled datums older than CloudWatch's 2-week limit", {
          batch: parsed.id,
          expiredDatums: expired,
        });
        if (fresh.length === 0) {
          await this.remove(file);
          continue;
        }
        input.MetricData = fresh;
        await writeFile(path, JSON.stringify({ ...parsed, input }));
      }
      out.push({
        id: parsed.id,
        createdAtMs: parsed.createdAtMs,
        input,
        file,
        bytes: Buffer.byteLength(text),
      });
    }
    return out;
  }

  /** Removes a batch after a successful send (or a permanent rejection, set aside by the caller). */
  async remove(file: string): Promise<void> {
    await unlink(join(this.dir, file)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "ENOENT") throw e;
    });
  }

  /** Moves a batch CloudWatch rejected as invalid to `rejected/` (kept for inspection, not resent). */
  async setAside(file: string): Promise<void> {
    await mkdir(join(this.dir, "rejected"), { recursive: true });
    await rename(join(this.dir, file), join(this.dir, "rejected", file)).catch(() => undefined);
  }

  private async files(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((f) => /^\d{15}-\d{6}-[0-9a-f]{16}\.json$/.test(f)).sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }
}
