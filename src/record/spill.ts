/**
 * A scratch file for the record store's sealed chunks (src/record/columns.ts):
 * a long report (`report --count 1000000`) keeps each finished chunk's
 * columns on disk instead of in the heap, and reads a column back when a
 * reader asks for it. The file is created in the OS temp directory (`TMPDIR`)
 * with mode 0600 and unlinked at once, so it never outlives the process, even
 * one killed by SIGKILL; the kernel's page cache, not the process's RSS, holds
 * what was written while there is memory to spare.
 *
 * Writes are asynchronous (libuv's thread pool), so the prober's event loop
 * never waits on the disk; a chunk stays in memory until its write is done.
 * Reads are synchronous: they come from the diagnosis and the reporters,
 * after probing. Nothing is lost when the disk refuses (no temp directory, a
 * read-only root, a full disk): the chunk just stays in memory, and
 * {@link SpillFile.error} says why, once.
 */
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readSync, unlinkSync, writev } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface SpillOptions {
  /** Directory for the scratch file (default: the OS temp directory, `TMPDIR`). */
  dir?: string;
  /** Rows the store holds in memory before it starts writing sealed chunks out (default 131,072). */
  afterRows?: number;
  /** Bytes of columns read back that the store keeps at once (default 16 MiB). */
  cacheBytes?: number;
  /** Called once if the scratch file cannot be created or written (the store then keeps everything in memory). */
  onError?: (message: string) => void;
}

export const SPILL_DEFAULTS = { afterRows: 131_072, cacheBytes: 16 * 2 ** 20 } as const;

/** Closes a scratch file whose store was collected without `close()` (a library user's forgotten store). */
const finalizer = new FinalizationRegistry<{ fd: number | undefined }>((held) => {
  if (held.fd === undefined) return;
  try {
    closeSync(held.fd);
  } catch {
    // already closed
  }
  held.fd = undefined;
});

export class SpillFile {
  private readonly handle: { fd: number | undefined } = { fd: undefined };
  private end = 0;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  /** Why spilling stopped (the first failure), or undefined while it works. */
  error: string | undefined;
  /** Bytes written and acknowledged. */
  written = 0;

  constructor(
    private readonly dir: string = tmpdir(),
    private readonly onError?: (message: string) => void,
  ) {}

  /** Whether a write may be started (not closed, no failure so far). */
  get usable(): boolean {
    return !this.closed && this.error === undefined;
  }

  /**
   * Appends `parts` (back to back) asynchronously. `done(at)` is called with the byte offset they start at once
   * they are all written, or with undefined if they could not be (the caller keeps its data).
   */
  write(parts: Uint8Array[], done: (at: number | undefined) => void): void {
    const fd = this.open();
    if (fd === undefined) {
      done(undefined);
      return;
    }
    let total = 0;
    for (const p of parts) total += p.byteLength;
    const at = this.end;
    this.end += total;
    this.inFlight++;
    this.writeAll(fd, parts, at, total, (err) => {
      this.inFlight--;
      if (err) this.fail(`writing the record store's scratch file failed: ${err.message}`);
      else this.written += total;
      done(err || this.closed ? undefined : at);
      if (this.inFlight === 0) for (const w of this.waiters.splice(0)) w();
    });
  }

  /** Reads `into.byteLength` bytes at `at` (synchronously). */
  read(at: number, into: NodeJS.TypedArray): void {
    const fd = this.handle.fd;
    if (fd === undefined) throw new Error("record store: scratch file read after close");
    const buf = new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, at + got);
      if (n === 0)
        throw new Error(`record store: scratch file ended at ${at + got} (wanted ${at + buf.length})`);
      got += n;
    }
  }

  /** Resolves once no write is in flight. */
  settled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Closes the file (its space is freed: it was unlinked when created). Writes still in flight report failure. */
  close(): void {
    this.closed = true;
    const fd = this.handle.fd;
    if (fd === undefined || this.inFlight > 0) {
      // The last write's callback closes it: a descriptor closed under a write could be reused by another file.
      if (fd !== undefined) this.waiters.push(() => this.closeFd());
      return;
    }
    this.closeFd();
  }

  private closeFd(): void {
    const fd = this.handle.fd;
    if (fd === undefined) return;
    this.handle.fd = undefined;
    finalizer.unregister(this.handle);
    closeSync(fd);
  }

  private open(): number | undefined {
    if (!this.usable) return undefined;
    if (this.handle.fd !== undefined) return this.handle.fd;
    const path = join(this.dir, `stallwatch-records-${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
    try {
      const fd = openSync(path, "wx+", 0o600);
      try {
        unlinkSync(path);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      this.handle.fd = fd;
      finalizer.register(this, this.handle, this.handle);
      return fd;
    } catch (e) {
      this.fail(`cannot create the record store's scratch file in ${this.dir}: ${(e as Error).message}`);
      return undefined;
    }
  }

  private fail(message: string): void {
    if (this.error !== undefined) return;
    this.error = `${message}; keeping every record in memory`;
    this.onError?.(this.error);
  }

  /** writev until every byte is down (a short write continues where it stopped). */
  private writeAll(
    fd: number,
    parts: Uint8Array[],
    at: number,
    left: number,
    cb: (err: Error | null) => void,
  ): void {
    writev(fd, parts, at, (err, n) => {
      if (err) return cb(err);
      if (n >= left) return cb(null);
      if (n === 0) return cb(new Error("no byte written"));
      // Drop what was written from the front of `parts`.
      const rest: Uint8Array[] = [];
      let skip = n;
      for (const p of parts) {
        if (skip >= p.byteLength) {
          skip -= p.byteLength;
          continue;
        }
        rest.push(new Uint8Array(p.buffer, p.byteOffset + skip, p.byteLength - skip));
        skip = 0;
      }
      this.writeAll(fd, rest, at + n, left - n, cb);
    });
  }
}
