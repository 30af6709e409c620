/**
 * Streams the lines of an append-only file without loading it whole. A last
 * line with no trailing newline was torn by a crash mid-write: it is reported
 * as torn, never handed on as data (a torn line may still parse, e.g. a number
 * cut short).
 */
import { open } from "node:fs/promises";

export interface LineReadResult {
  /** Bytes of a trailing partial line (0 when the file ends with a newline). */
  tornBytes: number;
  /** Why the path could not be read as a file (a directory in its place): no lines were read. */
  unreadable?: string;
}

/** Errors that mean "something other than a readable file sits here": damage to report, not a crash. */
const NOT_A_FILE: Record<string, string> = {
  EISDIR: "a directory where a file is expected",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ELOOP: "too many symbolic links",
  ENXIO: "not a regular file",
};

/**
 * A complete line as bytes: `buf[start, end)`, without its `\n`. The bytes are the reader's: valid only
 * during the call (copy what must outlive it). Readers that look at most lines' first bytes only (a records
 * skim, an hlog's interval lines) take lines so, and make text of the few they need.
 */
export type RawLineHandler = (buf: Buffer, start: number, end: number, lineNo: number) => void; // lineNo: 1-based

/**
 * Calls `onLine` for each complete line of a file (without its `\n`). Resolves
 * with how many bytes of torn tail were skipped. A missing file yields no lines;
 * a directory (or an unreadable file) in its place yields none either, and says why.
 */
export async function forEachRawLine(
  path: string,
  onLine: RawLineHandler,
  chunks: AsyncIterable<Buffer> = chunksOf(path),
): Promise<LineReadResult> {
  let seen = 0;
  try {
    return await forEachRawLineOf(chunks, (buf, s, e, n) => {
      seen++;
      onLine(buf, s, e, n);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "ENOENT") return { tornBytes: 0 };
    const why = NOT_A_FILE[code];
    if (why !== undefined && seen === 0) return { tornBytes: 0, unreadable: `${why} (${code})` };
    throw err;
  }
}

/**
 * A file's bytes, 256 KB at a time, read into two buffers used in turn: the next read runs while
 * the caller walks the chunk it was given (the next-but-one overwrites it: a line walk is done
 * with a chunk before it asks for the next, and copies the line cut at its end). A read stream's
 * new buffer per chunk is memory outside V8's heap that only a GC returns: reading a week of
 * history so took 3 to 11 full collections.
 */
async function* chunksOf(path: string): AsyncGenerator<Buffer> {
  const file = await open(path, "r");
  const buffers = [takeBuffer(), takeBuffer()];
  let turn = 0;
  let reading: Promise<{ bytesRead: number }> | undefined = file.read(buffers[0]!, 0, CHUNK_BYTES, null);
  try {
    for (;;) {
      const { bytesRead }: { bytesRead: number } = await reading!;
      reading = undefined;
      if (bytesRead === 0) return;
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      // A regular file reads short only at its end: then there is no next read to wait for (a small file,
      // e.g. a cron writer's one round, costs one read).
      const more = bytesRead === CHUNK_BYTES;
      turn ^= 1;
      if (more) reading = file.read(buffers[turn]!, 0, CHUNK_BYTES, null);
      yield chunk;
      if (!more) return;
    }
  } finally {
    // A walk stopped early (an error in its handler) leaves a read in flight: done with before the close.
    await reading?.catch(() => undefined);
    await file.close();
    for (const b of buffers) if (freeBuffers.length < MAX_FREE_BUFFERS) freeBuffers.push(b);
  }
}

const CHUNK_BYTES = 256 * 1024;
/**
 * Read buffers of walks that are done, for the next file's walk: a store written from cron has two small files
 * a round, and two fresh 256 KB buffers per file (1.4 GB for a day of 1,440 rounds) cost a quarter of the read in
 * garbage collection. A walk's chunk is valid only during its walk, so a buffer is free again once the walk ends.
 */
const freeBuffers: Buffer[] = [];
const MAX_FREE_BUFFERS = 8;
const takeBuffer = (): Buffer => freeBuffers.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);

/** The same over any stream of bytes (a decompressed S3 object). */
export async function forEachRawLineOf(
  chunks: AsyncIterable<Buffer | Uint8Array>,
  onLine: RawLineHandler,
): Promise<LineReadResult> {
  let rest: Buffer | undefined;
  let lineNo = 0;
  for await (const chunk of chunks) {
    const buf = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    if (rest) {
      // The line cut at the last chunk's end: joined with its end only, not with the whole new chunk.
      const nl = buf.indexOf(10);
      if (nl === -1) {
        rest = Buffer.concat([rest, buf]);
        continue;
      }
      const joined = Buffer.concat([rest, buf.subarray(0, nl)]);
      onLine(joined, 0, joined.length, ++lineNo);
      rest = undefined;
      start = nl + 1;
    }
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      onLine(buf, start, nl, ++lineNo);
      start = nl + 1;
    }
    // Kept as a copy: a stream may reuse its chunk's memory once handed on.
    if (start < buf.length) rest = Buffer.from(buf.subarray(start));
  }
  return { tornBytes: rest?.length ?? 0 };
}

/** Where a records or hlog stream comes from: a label for warnings and a way to walk its lines. */
export interface LineSource {
  label: string;
  /** Walks the lines as bytes ({@link RawLineHandler}). */
  forEachRaw(onLine: RawLineHandler): Promise<LineReadResult>;
  /**
   * Starts opening and reading ahead, so that the walk that follows finds its first bytes there (a source that
   * cannot ignores it). Each prefetch must be followed by a walk or by {@link cancel}.
   */
  prefetch?(): void;
  /** Gives up a prefetch that will not be walked: its file is closed. */
  cancel?(): void;
}

/**
 * A local file as a LineSource. Its prefetch opens the file and reads its first 256 KB at once: a store written
 * from cron has two small files a round, and reading a day of them one after the other spent ~0.45 s of a 1.2 s
 * read waiting on opens, reads and closes.
 */
export function fileLines(path: string): LineSource {
  let ahead: Ahead | undefined;
  return {
    label: path,
    prefetch() {
      if (ahead) return;
      const chunks = chunksOf(path);
      const first = chunks.next();
      first.catch(() => undefined); // its error (ENOENT, EISDIR) is met by the walk, where it is handled
      ahead = { chunks, first };
    },
    cancel() {
      const a = ahead;
      ahead = undefined;
      if (a) void a.first.then(() => a.chunks.return(undefined)).catch(() => undefined);
    },
    forEachRaw(onLine) {
      const a = ahead;
      ahead = undefined;
      return forEachRawLine(path, onLine, a ? resumed(a) : undefined);
    },
  };
}

interface Ahead {
  chunks: AsyncGenerator<Buffer>;
  first: Promise<IteratorResult<Buffer>>;
}

/** A prefetched walk's chunks: the first, already asked for, then the rest. The file is closed however it ends. */
async function* resumed(a: Ahead): AsyncGenerator<Buffer> {
  try {
    const first = await a.first;
    if (first.done) return;
    yield first.value;
    yield* a.chunks;
  } finally {
    await a.chunks.return(undefined);
  }
}
