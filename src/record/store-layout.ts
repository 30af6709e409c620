/**
 * Where the local store puts things: one directory per UTC day
 * (`YYYY-MM-DD/`), and in it one records file and one histogram log per
 * writer (`records-<writerId>.jsonl`, `hist-<writerId>.hlog`), and for a
 * writer that wrote two or more rounds in an hour, their hourly rollup
 * (`rollup-<writerId>.hlog`, see HlogRollup). A writer is one process, so two
 * concurrent `stallwatch run`s never share a file.
 */
import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

export const DAY_MS = 86_400_000;
const DAY_DIR_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const RECORDS_RE = /^records-(.+)\.jsonl$/;

/** A writer id unique to this process: `<host>-<pid>-<random>`, safe in file names. */
export function newWriterId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9.-]/g, "_")
      .slice(0, 64) || "host";
  return `${host}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** UTC day of an epoch-ms instant, as the directory name `YYYY-MM-DD`. */
export function dayOf(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

/** Epoch ms at 00:00 UTC of a day directory name, or undefined when the name is not a day. */
export function dayStartMs(day: string): number | undefined {
  const m = DAY_DIR_RE.exec(day);
  if (!m) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(ms) || dayOf(ms) !== day ? undefined : ms;
}

export function recordsFile(dir: string, day: string, writerId: string): string {
  return join(dir, day, `records-${writerId}.jsonl`);
}

export function histFile(dir: string, day: string, writerId: string): string {
  return join(dir, day, `hist-${writerId}.hlog`);
}

export function rollupFile(dir: string, day: string, writerId: string): string {
  return join(dir, day, `rollup-${writerId}.hlog`);
}

/** Day directories present under the data dir, oldest first. A missing data dir has none. */
export async function listDays(dir: string): Promise<string[]> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && dayStartMs(e.name) !== undefined)
    .map((e) => e.name)
    .sort();
}

/** Writer ids that have a records file in a day directory. */
export async function listWriters(dir: string, day: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, day));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    const m = RECORDS_RE.exec(n);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/**
 * Deletes whole day directories older than the retention: a day is deleted
 * once its last millisecond is more than `retentionDays` days before `nowMs`.
 * Returns the deleted day names.
 */
export async function pruneDays(dir: string, retentionDays: number, nowMs: number): Promise<string[]> {
  const cutoffMs = nowMs - retentionDays * DAY_MS;
  const deleted: string[] = [];
  for (const day of await listDays(dir)) {
    const start = dayStartMs(day);
    if (start === undefined || start + DAY_MS > cutoffMs) continue;
    await rm(join(dir, day), { recursive: true, force: true });
    deleted.push(day);
  }
  return deleted;
}
