/**
 * Makes the store's data directory, one level at a time, and proves it can
 * be written before any round runs. Node's `mkdir({ recursive: true })` spins
 * forever where a file system refuses to create a directory under an
 * existing parent with ENOENT (procfs: `/proc/sys/x` kept a daemon at 80 %
 * CPU), and reports ENOENT on a read-only file system: here every level is
 * one mkdir(2), so the kernel's own answer (EROFS, EACCES, ENOTDIR…) is what
 * the error says.
 */
import { mkdir, open, stat, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { StallwatchError } from "../errors.js";

const WHY: Record<string, string> = {
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
  EEXIST: "a file (not a directory) is in the way",
  ENOSPC: "the file system is full",
  EDQUOT: "the disk quota is exhausted",
  ENAMETOOLONG: "the name is too long",
  ENOENT: "the file system does not allow creating a directory there",
};

function fail(dir: string, what: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const why = WHY[code] ?? String(err);
  throw new StallwatchError(
    "SW_STORE_OPEN",
    `cannot use data directory ${dir}: ${what}: ${why}${code ? ` (${code})` : ""}; expected a directory stallwatch can create and write`,
    2,
    { cause: err },
  );
}

async function isDirectory(path: string): Promise<boolean | undefined> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Creates `dir` (and missing parents) and checks a file can be created in it. Throws SW_STORE_OPEN (exit 2). */
export async function ensureDataDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    let kind: boolean | undefined;
    try {
      kind = await isDirectory(p);
    } catch (err) {
      fail(dir, `cannot inspect ${p}`, err);
    }
    if (kind === true) break;
    if (kind === false)
      fail(dir, `${p} exists`, Object.assign(new Error("not a directory"), { code: "ENOTDIR" }));
    missing.unshift(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing) {
    try {
      await mkdir(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && (await isDirectory(m).catch(() => false)))
        continue;
      fail(dir, `cannot create ${m}`, err);
    }
  }
  // Existing is not writable: a read-only mount or a directory of another user.
  const probe = join(abs, `.write-check-${process.pid}`);
  try {
    const h = await open(probe, "wx");
    await h.close();
    await unlink(probe);
  } catch (err) {
    fail(dir, "cannot create a file in it", err);
  }
}
