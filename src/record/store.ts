/**
 * The local store's writer. Append-only; each round is one write to the
 * histogram log and then one write to the records file (header line, one
 * RequestRecord per line, footer line), both fsync'd before `writeRound`
 * resolves. A round is committed when its footer is in the records file; the
 * reader drops anything after the last footer (the round in flight at a
 * crash) with a warning. See store-layout.ts for the files.
 */

import type { FileHandle } from "node:fs/promises";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, systemClock } from "../clock.js";
import { StallwatchError } from "../errors.js";
import type { RequestRecord } from "../model.js";
import { Redactor, redactRecord } from "../redact.js";
import { ensureDataDir } from "./data-dir.js";
import { HistogramSet } from "./histograms.js";
import { hlogHeader, hlogRoundBlock } from "./hlog.js";
import { dayOf, histFile, newWriterId, pruneDays, recordsFile } from "./store-layout.js";

/** What a round was for: probing, or keep-warm pings (kept out of probe statistics). */
export type RoundKind = "probe" | "keep-warm";

/** Facts about one round, written in its footer line. Times are epoch ms. */
export interface RoundMeta {
  /** Round number, unique within one writer (1, 2, …). */
  id: number;
  kind: RoundKind;
  /** When the schedule meant the round to start (cron date; equals startedAtMs for one-off runs). */
  scheduledAtMs: number;
  startedAtMs: number;
  endedAtMs: number;
  /** How late the scheduler fired (triggered − scheduled), ms; jitter not included. */
  latenessMs: number;
  /** Jitter delay applied before the round, ms. */
  jitterMs?: number;
  /** Triggers of the same kind skipped because this round was still running. */
  skipped: number;
  /** True when in-flight requests were aborted (shutdown). */
  aborted?: boolean;
  /** Why the round produced no or partial records (runner error), redacted. */
  error?: string;
}

/** Header line of a round in the records file. */
export interface RoundHeaderLine {
  type: "round-start";
  id: number;
  kind: RoundKind;
  writerId: string;
  startedAtMs: number;
}

/** Footer line: commits the round. */
export interface RoundFooterLine extends RoundMeta {
  type: "round";
  v: 1;
  writerId: string;
  /** Number of record lines between header and footer. */
  records: number;
}

export interface StoreOptions {
  /** Data directory (created if missing). */
  dir: string;
  /** Delete day directories older than this many days, at open and when the day changes. Absent: keep all. */
  retentionDays?: number;
  /** Default: `<hostname>-<pid>-<random>`. */
  writerId?: string;
  clock?: Clock;
  /** fsync each round (default true; benchmarks that generate data may turn it off). */
  fsync?: boolean;
  /** Called with the days retention deleted. */
  onPrune?: (days: string[]) => void;
  /**
   * Applied to every record and round error before it is written (the
   * prober already redacts; this is the store's own guarantee). URLs lose
   * their `user:password@` even without one.
   */
  redactor?: Redactor;
}

export interface Store {
  readonly dir: string;
  readonly writerId: string;
  /** Appends one round (records + one interval per series × phase); resolves once it is durable. Serialised. */
  writeRound(meta: RoundMeta, records: readonly RequestRecord[]): Promise<void>;
  /** Runs retention now; returns deleted day names. */
  prune(): Promise<string[]>;
  /** Waits for pending writes, then closes the files. Idempotent. */
  close(): Promise<void>;
}

interface DayFiles {
  day: string;
  records: FileHandle;
  hist: FileHandle;
  /** BaseTime of the hlog file, epoch ms. */
  histBaseMs: number;
}

export async function openStore(opts: StoreOptions): Promise<Store> {
  const clock = opts.clock ?? systemClock;
  const writerId = opts.writerId ?? newWriterId();
  const fsync = opts.fsync ?? true;
  const redactor = opts.redactor ?? Redactor.none();
  const dir = opts.dir;
  await ensureDataDir(dir);

  const prune = async (): Promise<string[]> => {
    if (opts.retentionDays === undefined) return [];
    const days = await pruneDays(dir, opts.retentionDays, clock.wallMs());
    if (days.length > 0) opts.onPrune?.(days);
    return days;
  };
  await prune();

  let files: DayFiles | undefined;
  let queue: Promise<void> = Promise.resolve();
  let closed = false;
  let closing: Promise<void> | undefined;

  const closeFiles = async (): Promise<void> => {
    const f = files;
    files = undefined;
    if (f) await Promise.allSettled([f.records.close(), f.hist.close()]);
  };

  const filesFor = async (day: string, startMs: number): Promise<DayFiles> => {
    if (files?.day === day) return files;
    const rolled = files !== undefined;
    await closeFiles();
    await mkdir(join(dir, day), { recursive: true });
    const records = await open(recordsFile(dir, day, writerId), "a");
    const hist = await open(histFile(dir, day, writerId), "a");
    const f: DayFiles = { day, records, hist, histBaseMs: startMs };
    if ((await hist.stat()).size === 0) await hist.appendFile(hlogHeader(startMs));
    else f.histBaseMs = 0; // reopened file of our own id: write absolute times, readers accept both
    files = f;
    if (rolled) await prune();
    return f;
  };

  const write = async (meta: RoundMeta, records: readonly RequestRecord[]): Promise<void> => {
    const f = await filesFor(dayOf(meta.startedAtMs), meta.startedAtMs);
    const set = new HistogramSet();
    for (const r of records) set.recordRecord(r);
    const block = hlogRoundBlock(set, meta.id, meta.startedAtMs, meta.endedAtMs, f.histBaseMs);
    const header: RoundHeaderLine = {
      type: "round-start",
      id: meta.id,
      kind: meta.kind,
      writerId,
      startedAtMs: meta.startedAtMs,
    };
    const footer: RoundFooterLine = { type: "round", v: 1, ...meta, writerId, records: records.length };
    if (footer.error !== undefined) footer.error = redactor.redact(footer.error);
    let text = `${JSON.stringify(header)}\n`;
    for (const r of records) text += `${JSON.stringify(redactRecord(r, redactor))}\n`;
    text += `${JSON.stringify(footer)}\n`;
    await f.hist.appendFile(block);
    await f.records.appendFile(text);
    if (fsync) await Promise.all([f.hist.datasync(), f.records.datasync()]);
  };

  return {
    dir,
    writerId,
    writeRound(meta, records) {
      if (closed) {
        return Promise.reject(new StallwatchError("SW_STORE_CLOSED", "the store is closed"));
      }
      const p = queue.then(() =>
        write(meta, records).catch((err: unknown) => {
          throw err instanceof StallwatchError
            ? err
            : new StallwatchError(
                "SW_STORE_WRITE",
                `cannot write round ${meta.id} to ${dir}: ${String(err)}`,
                1,
                {
                  cause: err,
                },
              );
        }),
      );
      queue = p.catch(() => undefined);
      return p;
    },
    prune,
    close() {
      closed = true;
      closing ??= queue.then(closeFiles);
      return closing;
    },
  };
}
