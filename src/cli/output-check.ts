/**
 * Output files named by flags (`--html FILE`) are checked before any work
 * starts: a run of minutes must not end in "cannot write the report". The
 * check opens the file the way the writer will (creating it when missing,
 * never truncating it) and removes it again when it did not exist before, so
 * a read-only file system, a missing directory or a directory in the way are
 * found by the kernel, not guessed from permission bits (root passes those).
 */
import { constants } from "node:fs";
import { open, unlink } from "node:fs/promises";
import { UsageError } from "../errors.js";

const WHY: Record<string, string> = {
  ENOENT: "its directory does not exist",
  ENOTDIR: "a part of its directory path is not a directory",
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "the file system is full",
  ENAMETOOLONG: "the name is too long",
};

async function openForCheck(file: string): Promise<{ created: boolean }> {
  try {
    // O_EXCL: tells whether the check creates the file (and must remove it again).
    const h = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL);
    await h.close();
    return { created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const h = await open(file, constants.O_WRONLY | constants.O_APPEND);
  await h.close();
  return { created: false };
}

/** Throws a UsageError (exit 2) naming `flag` when `file` cannot be written. */
export async function checkWritableOutput(flag: string, file: string): Promise<void> {
  try {
    const { created } = await openForCheck(file);
    if (created) await unlink(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    const why = WHY[code] ?? String(err);
    throw new UsageError(
      `${flag}: expected a file that can be written, cannot write ${file}: ${why}${code ? ` (${code})` : ""}`,
    );
  }
}
