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
 *
 * Rounds are also merged in memory, an hour at a time, into a rollup
 * (HlogRollup) appended to the day's rollup file when the hour turns, the
 * day rolls or the store closes. A rollup only ever names rounds already
 * committed; one lost to a crash or a failed write costs readers time, never
 * data (they read its rounds one by one).
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
import { HlogRollup, hlogHeader, hlogRoundBlock, roundValues } from "./hlog.js";
import { dayOf, histFile, newWriterId, pruneDays, recordsFile, rollupFile } from "./store-layout.js";

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

/** A file the store appends to, and its size at the end of the last complete write: where a failed write is cut back to. */
interface Appended {
  handle: FileHandle;
  size: number;
  /** A crash or a failed write left it mid-line, and no cut mended it: the next write starts with a newline. */
  torn: boolean;
}

/** An hlog file the store appends to, and its BaseTime (epoch ms; 0: a reopened file, written in absolute times). */
interface AppendedHlog extends Appended {
  baseMs: number;
}

interface DayFiles {
  day: string;
  /** When the day's first round started: the BaseTime of hlog files opened new. */
  startMs: number;
  /** The records file and the hlog are torn together (one write spans both). */
  records: Appended;
  hist: AppendedHlog;
  /** Opened with the first rollup block worth writing: a writer of one round an hour (cron) has none. */
  rollup?: AppendedHlog;
}

const HOUR_MS = 3_600_000;

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
    if (f) await Promise.allSettled([f.records, f.hist, f.rollup].map((a) => a?.handle.close()));
  };

  // This hour's committed rounds, merged (the hour: of the first one's start).
  const rollup = new HlogRollup();
  let rollupHour = Number.NaN;
  /** Appends the rollup to the current day's rollup file, if it merged two rounds or more; never throws. */
  const flushRollup = async (): Promise<void> => {
    const f = files;
    if (!f || !rollup.worthWriting) {
      rollup.clear();
      return;
    }
    let out: AppendedHlog | undefined;
    try {
      out = f.rollup ??= await openHlog(rollupFile(dir, f.day, writerId), f.startMs);
      const block = rollup.block(out.baseMs)!;
      const text = out.torn ? `\n${block}` : block;
      await out.handle.appendFile(text);
      if (fsync) await out.handle.datasync();
      out.size += Buffer.byteLength(text);
      out.torn = false;
    } catch {
      // A shortcut for readers, not data: its rounds stay readable one by one.
      if (out && !(await cutBack([out]))) out.torn = true;
    } finally {
      rollup.clear();
    }
  };

  const filesFor = async (day: string, startMs: number): Promise<DayFiles> => {
    if (files?.day === day) return files;
    const rolled = files !== undefined;
    await closeFiles();
    await mkdir(join(dir, day), { recursive: true });
    const [records, hist] = await Promise.all([
      openAppended(recordsFile(dir, day, writerId)),
      openHlog(histFile(dir, day, writerId), startMs),
    ]);
    // One write spans both: either torn, both start the next round on a fresh line.
    records.torn = hist.torn = records.torn || hist.torn;
    const f: DayFiles = { day, startMs, records, hist };
    files = f;
    if (rolled) await prune();
    return f;
  };

  const write = async (
    meta: RoundMeta,
    records: readonly RequestRecord[],
    diagnosis: RoundDiagnosis | undefined,
  ): Promise<void> => {
    const hour = Math.floor(meta.startedAtMs / HOUR_MS);
    if (hour !== rollupHour) {
      await flushRollup();
      rollupHour = hour;
    }
    const f = await filesFor(dayOf(meta.startedAtMs), meta.startedAtMs);
    const values = roundValues(records);
    const block = hlogRoundBlock(values, meta.id, meta.startedAtMs, meta.endedAtMs, f.hist.baseMs);
    // A torn tail (a write cut short that could not be cut back) ends with a newline first: this round stays readable.
    const torn = f.records.torn;
    const text = `${torn ? "\n" : ""}${roundLines(writerId, meta, records, redactor, undefined, diagnosis)}`;
    const histText = torn ? `\n${block}` : block;
    try {
      await f.hist.handle.appendFile(histText);
      await f.records.handle.appendFile(text);
      if (fsync) await Promise.all([f.hist.handle.datasync(), f.records.handle.datasync()]);
    } catch (err) {
      if (!(await cutBack([f.records, f.hist]))) f.records.torn = f.hist.torn = true;
      throw err;
    }
    f.hist.size += Buffer.byteLength(histText);
    f.records.size += Buffer.byteLength(text);
    f.records.torn = f.hist.torn = false;
    rollup.add(meta.id, meta.startedAtMs, meta.endedAtMs, values);
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
      closing ??= queue.then(flushRollup).then(closeFiles);
      return closing;
    },
  };
}

/**
 * Opens a file to append to ("a+": appends, and can read the last byte of a file reopened; opened "a",
 * that read failed with EBADF). A file of our own id left mid-line (a crash mid-write, or a failed cut)
 * is torn: its next write starts on a fresh line.
 */
async function openAppended(path: string): Promise<Appended> {
  const handle = await open(path, "a+");
  const size = (await handle.stat()).size;
  let torn = false;
  if (size > 0) {
    const buf = Buffer.alloc(1);
    const { bytesRead } = await handle.read(buf, 0, 1, size - 1);
    torn = bytesRead === 1 && buf[0] !== 0x0a;
  }
  return { handle, size, torn };
}

/**
 * {@link openAppended} for an hlog file: a new one gets its header, based at `startMs`; a reopened one has
 * one already and is written in absolute times (base 0; readers accept both).
 */
async function openHlog(path: string, startMs: number): Promise<AppendedHlog> {
  const a = await openAppended(path);
  if (a.size > 0) return { ...a, baseMs: 0 };
  const header = hlogHeader(startMs);
  await a.handle.appendFile(header);
  return { ...a, size: Buffer.byteLength(header), baseMs: startMs };
}

/**
 * After a failed write: the files back to their last good size (truncating frees space, so it works on
 * a full disk). False when that failed: where they end is measured again, so the next cut goes no
 * further back than that, and the caller starts its next write on a fresh line.
 */
async function cutBack(files: readonly Appended[]): Promise<boolean> {
  try {
    for (const a of files) await a.handle.truncate(a.size);
    await Promise.all(files.map((a) => a.handle.datasync()));
    return true;
  } catch {
    for (const a of files) {
      a.size = await a.handle.stat().then(
        (st) => st.size,
        () => a.size,
      );
    }
    return false;
  }
}
