/**
 * Streams the lines of an append-only file without loading it whole. A last
 * line with no trailing newline was torn by a crash mid-write: it is reported
 * as torn, never handed on as data (a torn line may still parse, e.g. a number
 * cut short).
 */
import { createReadStream } from "node:fs";

export interface Line {
  text: string;
  /** 1-based line number. */
  lineNo: number;
}

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
 * Calls `onLine` for each complete line (without its `\n`). Resolves with how
 * many bytes of torn tail were skipped. A missing file yields no lines; a
 * directory (or an unreadable file) in its place yields none either, and says why.
 */
export async function forEachLine(path: string, onLine: (line: Line) => void): Promise<LineReadResult> {
  let seen = 0;
  try {
    return await forEachLineOf(createReadStream(path, { highWaterMark: 256 * 1024 }), (line) => {
      seen++;
      onLine(line);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code === "ENOENT") return { tornBytes: 0 };
    const why = NOT_A_FILE[code];
    if (why !== undefined && seen === 0) return { tornBytes: 0, unreadable: `${why} (${code})` };
    throw err;
  }
}

/** The same over any stream of bytes (a decompressed S3 object). */
export async function forEachLineOf(
  chunks: AsyncIterable<Buffer | Uint8Array>,
  onLine: (line: Line) => void,
): Promise<LineReadResult> {
  let rest: Buffer | undefined;
  let lineNo = 0;
  for await (const chunk of chunks) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    let start = 0;
    if (rest) {
      // The line cut at the last chunk's end: joined with its end only, not with the whole new chunk.
      const nl = buf.indexOf(10);
      if (nl === -1) {
        rest = Buffer.concat([rest, buf]);
        continue;
      }
      lineNo++;
      onLine({ text: Buffer.concat([rest, buf.subarray(0, nl)]).toString("utf8"), lineNo });
      rest = undefined;
      start = nl + 1;
    }
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      lineNo++;
      onLine({ text: buf.toString("utf8", start, nl), lineNo });
      start = nl + 1;
    }
    if (start < buf.length) rest = buf.subarray(start);
  }
  return { tornBytes: rest?.length ?? 0 };
}

/** Where a records or hlog stream comes from: a label for warnings and a way to walk its lines. */
export interface LineSource {
  label: string;
  forEach(onLine: (line: Line) => void): Promise<LineReadResult>;
}

/** A local file as a LineSource. */
export function fileLines(path: string): LineSource {
  return { label: path, forEach: (onLine) => forEachLine(path, onLine) };
}
