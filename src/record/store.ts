/**
 * The local store's writer. Append-only; each round is one write to the
 * histogram log and then one write to the records file (header line, one
 * RequestRecord per line, footer line), both fsync'd before `writeRound`
 * resolves. A round is committed when its footer is in the records file; the
 * reader drops anything after the last footer (the round in flight at a
 * crash) with a warning. See store-layout.ts for the files.
 *
 * A write that fails (disk full, I/O error) leaves both files as they were:
 * they are truncated back to the end of the last round written, so a
 * half-written line never glues itself to the next round. Should the
 * truncation fail too, the next round starts on a fresh line. Either way a
 * round whose writeRound resolved is a round the reader returns.
 */

import { randomBytes } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { mkdir, open } from "node:fs/promises";
import { join } from "node:path";
import { type Clock, systemClock } from "../clock.js";
import { StallwatchError } from "../errors.js";
import type { AwsEvidence, Finding, RequestRecord, Verdict } from "../model.js";
import { Redactor, redactRecord } from "../redact.js";
import { ensureDataDir } from "./data-dir.js";
import { hlogHeader, hlogRoundBlockOf } from "./hlog.js";
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

/**
 * What a diagnosed round found, stored with its records (a line of its own
 * between the last record and the footer): the diagnosis of the round's
 * probe requests with the evidence the sources brought (NLB target health,
 * X-Ray breakdowns, CloudWatch series). Seqs are the round's own (0-based
 * in the round, as its records were written).
 */
export interface RoundDiagnosis {
  findings: Finding[];
  /** Evidence findings (X-Ray): where the stall time went. */
  evidence: Finding[];
  verdict?: Verdict;
  /** Each stall's seq → the finding id it is attributed to, or `unexplained`. */
  causes: Array<[seq: number, cause: string]>;
  healthy: boolean;
  notes: string[];
  /** What the evidence sources found, by source key (targetHealth, xray, cloudwatchMetrics). */
  sources?: AwsEvidence;
  /** The sources' lines: what was looked at and what failed. */
  sourceNotes?: string[];
}

/** The diagnosis line of a round. */
export interface RoundDiagnosisLine extends RoundDiagnosis {
  type: "round-diagnosis";
  id: number;
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
  /** Random id of this round (8 hex; absent in rounds written before it existed): tells rounds apart across sources. */
  uid?: string;
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
  /**
   * Appends one round (records, its diagnosis when given, one interval per series × phase); resolves once it
   * is durable. Serialised.
   */
  writeRound(meta: RoundMeta, records: readonly RequestRecord[], diagnosis?: RoundDiagnosis): Promise<void>;
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
  /** Sizes at the end of the last complete write: where a failed write is cut back to. */
  recordsSize: number;
  histSize: number;
  /** A failed write could not be cut back: the next write starts with a newline. */
  torn: boolean;
}

/** One round in the records format: header line, one record per line, footer line (commits it). */
export function roundLines(
  writerId: string,
  meta: RoundMeta,
  records: readonly RequestRecord[],
  redactor: Redactor = Redactor.none(),
  uid = randomBytes(4).toString("hex"),
  diagnosis?: RoundDiagnosis,
): string {
  const header: RoundHeaderLine = {
    type: "round-start",
    id: meta.id,
    kind: meta.kind,
    writerId,
    startedAtMs: meta.startedAtMs,
  };
  const footer: RoundFooterLine = { type: "round", v: 1, ...meta, writerId, records: records.length, uid };
  // Every sink redacts with the one redactor: nothing a server reflected or an error said is stored in clear.
  if (footer.error !== undefined) footer.error = redactor.redact(footer.error);
  let text = `${JSON.stringify(header)}\n`;
  for (const r of records) text += `${JSON.stringify(redactRecord(r, redactor))}\n`;
  if (diagnosis) {
    const line: RoundDiagnosisLine = { type: "round-diagnosis", id: meta.id, ...diagnosis };
    // Findings and evidence quote hosts, paths and error text: every string goes through the redactor.
    text += `${JSON.stringify(line, (_k, v: unknown) => (typeof v === "string" ? redactor.redact(v) : v))}\n`;
  }
  text += `${JSON.stringify(footer)}\n`;
  return text;
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
    // "a+": appends, and can read the last byte of a file reopened (opened "a", that read failed: EBADF).
    const records = await open(recordsFile(dir, day, writerId), "a+");
    const hist = await open(histFile(dir, day, writerId), "a+");
    const recordsSize = (await records.stat()).size;
    const histSize = (await hist.stat()).size;
    const f: DayFiles = { day, records, hist, histBaseMs: startMs, recordsSize, histSize, torn: false };
    // A file of our own id left torn (a crash mid-write, or a failed cut): start on a fresh line.
    if (recordsSize > 0 && (await lastByte(records, recordsSize)) !== 0x0a) f.torn = true;
    if (histSize > 0 && (await lastByte(hist, histSize)) !== 0x0a) f.torn = true;
    if (histSize === 0) {
      const header = hlogHeader(startMs);
      await hist.appendFile(header);
      f.histSize = Buffer.byteLength(header);
    } else f.histBaseMs = 0; // reopened file of our own id: write absolute times, readers accept both
    files = f;
    if (rolled) await prune();
    return f;
  };

  const write = async (
    meta: RoundMeta,
    records: readonly RequestRecord[],
    diagnosis: RoundDiagnosis | undefined,
  ): Promise<void> => {
    const f = await filesFor(dayOf(meta.startedAtMs), meta.startedAtMs);
    const block = hlogRoundBlockOf(records, meta.id, meta.startedAtMs, meta.endedAtMs, f.histBaseMs);
    // A torn tail (a write cut short that could not be cut back) ends with a newline first: this round stays readable.
    const text = `${f.torn ? "\n" : ""}${roundLines(writerId, meta, records, redactor, undefined, diagnosis)}`;
    const histText = f.torn ? `\n${block}` : block;
    try {
      await f.hist.appendFile(histText);
      await f.records.appendFile(text);
      if (fsync) await Promise.all([f.hist.datasync(), f.records.datasync()]);
    } catch (err) {
      await cutBack(f);
      throw err;
    }
    f.histSize += Buffer.byteLength(histText);
    f.recordsSize += Buffer.byteLength(text);
    f.torn = false;
  };

  return {
    dir,
    writerId,
    writeRound(meta, records, diagnosis) {
      if (closed) {
        return Promise.reject(new StallwatchError("SW_STORE_CLOSED", "the store is closed"));
      }
      const p = queue.then(() =>
        write(meta, records, diagnosis).catch((err: unknown) => {
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

/** The last byte of an open file of `size` bytes. */
async function lastByte(h: FileHandle, size: number): Promise<number | undefined> {
  const buf = Buffer.alloc(1);
  const { bytesRead } = await h.read(buf, 0, 1, size - 1);
  return bytesRead === 1 ? buf[0] : undefined;
}

/** After a failed write: both files back to their last good size (truncating frees space, so it works on a full disk). */
async function cutBack(f: DayFiles): Promise<void> {
  try {
    await f.records.truncate(f.recordsSize);
    await f.hist.truncate(f.histSize);
    await Promise.all([f.records.datasync(), f.hist.datasync()]);
  } catch {
    f.torn = true;
    // Where the files end now is unknown: measure again, so the next cut goes no further back than that.
    f.recordsSize = await f.records.stat().then(
      (s) => s.size,
      () => f.recordsSize,
    );
    f.histSize = await f.hist.stat().then(
      (s) => s.size,
      () => f.histSize,
    );
  }
}
