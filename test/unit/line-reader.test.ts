import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { createRng } from "../../src/lab/rng.js";
import {
  fileLines,
  forEachRawLine,
  forEachRawLineOf,
  type LineSource,
} from "../../src/record/line-reader.js";

async function* chunked(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

describe("forEachRawLineOf", () => {
  const text = `first\n{"ü":"Grüße — ☕"}\n\nlong ${"x".repeat(300)}\nlast, torn`;
  const bytes = Buffer.from(text, "utf8");
  const want = text.split("\n").slice(0, -1);

  test.each([[[1]], [[2, 3]], [[7, 1, 64]], [[4096]]])(
    "the same lines whatever the chunk sizes %j (lines across chunks, characters cut in two), the torn tail apart",
    async (sizes) => {
      const got: Array<[number, string]> = [];
      const r = await forEachRawLineOf(chunked(bytes, sizes), (buf, start, end, lineNo) =>
        got.push([lineNo, buf.toString("utf8", start, end)]),
      );
      expect(got).toEqual(want.map((t, i) => [i + 1, t]));
      expect(r.tornBytes).toBe(Buffer.byteLength("last, torn"));
    },
  );

  test("a chunk's memory reused by its source after the handler returns changes no line (the cut line is copied)", async () => {
    async function* reusing(): AsyncGenerator<Buffer> {
      const one = Buffer.alloc(5);
      for (let at = 0; at < bytes.length; at += 5) {
        one.fill(0x21);
        const n = bytes.copy(one, 0, at, at + 5);
        yield one.subarray(0, n);
      }
    }
    const got: string[] = [];
    await forEachRawLineOf(reusing(), (buf, start, end) => got.push(buf.toString("utf8", start, end)));
    expect(got).toEqual(want);
  });
});

describe("forEachRawLine (a file, read into one reused buffer)", () => {
  test("lines of any length across its 256 KB reads come back whole; a handler that throws closes the file; a missing file has none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-lines-"));
    try {
      const rng = createRng(4);
      const lines: string[] = [];
      let size = 0;
      while (size < 1_200_000) {
        const n = Math.floor(rng.next() ** 3 * 300_000);
        const line = `${lines.length}:${"é".repeat(n % 7)}${"y".repeat(n)}`;
        lines.push(line);
        size += Buffer.byteLength(line) + 1;
      }
      const path = join(dir, "f.jsonl");
      writeFileSync(path, `${lines.join("\n")}\n`);
      const got: string[] = [];
      const r = await forEachRawLine(path, (buf, start, end) => got.push(buf.toString("utf8", start, end)));
      expect(got.length).toBe(lines.length);
      expect(got).toEqual(lines);
      expect(r).toEqual({ tornBytes: 0 });
      // A handler that throws stops the walk with its error, and the file (a read still in flight) is closed.
      const fds = readdirSync("/proc/self/fd").length;
      for (let i = 0; i < 20; i++) {
        await expect(
          forEachRawLine(path, () => {
            throw new Error("stop");
          }),
        ).rejects.toThrow("stop");
      }
      expect(readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(fds);
      expect(await forEachRawLine(join(dir, "missing"), () => expect.unreachable())).toEqual({
        tornBytes: 0,
      });
      expect(await forEachRawLine(dir, () => expect.unreachable())).toEqual({
        tornBytes: 0,
        unreadable: "a directory where a file is expected (EISDIR)",
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("fileLines with prefetch (a unit ahead, as readHistory reads a store)", () => {
  test("a prefetched walk reads the same lines; missing files, directories, cancels and throwing handlers leave no file open; walks at once keep their own buffers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sw-prefetch-"));
    try {
      const files = [0, 1, 2].map((k) => {
        const lines = Array.from(
          { length: 3000 + k * 40_000 },
          (_, i) => `${k}:${i}:${"z".repeat((i * 7) % 90)}`,
        );
        const path = join(dir, `f${k}.jsonl`);
        writeFileSync(path, `${lines.join("\n")}\n`);
        return { path, lines };
      });
      const walk = async (src: LineSource): Promise<string[]> => {
        const got: string[] = [];
        await src.forEachRaw((buf, start, end) => got.push(buf.toString("utf8", start, end)));
        return got;
      };
      const fds = () => readdirSync("/proc/self/fd").length;
      const before = fds();

      // Prefetched, then walked; and all three walked at once (each read into its own pair of buffers).
      for (const f of files) {
        const src = fileLines(f.path);
        src.prefetch?.();
        expect(await walk(src)).toEqual(f.lines);
      }
      const sources = files.map((f) => fileLines(f.path));
      for (const s of sources) s.prefetch?.();
      const all = await Promise.all(sources.map(walk));
      for (const [k, got] of all.entries()) expect(got).toEqual(files[k]!.lines);

      // A missing file or a directory prefetched: the walk says what it says without prefetch, and nothing is
      // left unhandled.
      const missing = fileLines(join(dir, "missing"));
      missing.prefetch?.();
      expect(await missing.forEachRaw(() => expect.unreachable())).toEqual({ tornBytes: 0 });
      const directory = fileLines(dir);
      directory.prefetch?.();
      expect(await directory.forEachRaw(() => expect.unreachable())).toEqual({
        tornBytes: 0,
        unreadable: "a directory where a file is expected (EISDIR)",
      });

      // Prefetched and given up; prefetched and walked by a handler that throws: the files are closed.
      for (let i = 0; i < 10; i++) {
        const given = fileLines(files[2]!.path);
        given.prefetch?.();
        given.cancel?.();
        const thrown = fileLines(files[2]!.path);
        thrown.prefetch?.();
        await expect(
          thrown.forEachRaw(() => {
            throw new Error("stop");
          }),
        ).rejects.toThrow("stop");
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(fds()).toBeLessThanOrEqual(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
