import { describe, expect, test } from "vitest";
import { forEachLineOf } from "../../src/record/line-reader.js";

async function* chunked(bytes: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

describe("forEachLineOf", () => {
  const text = `first\n{"ü":"Grüße — ☕"}\n\nlong ${"x".repeat(300)}\nlast, torn`;
  const bytes = Buffer.from(text, "utf8");
  const want = text.split("\n").slice(0, -1);

  test.each([[[1]], [[2, 3]], [[7, 1, 64]], [[4096]]])(
    "the same lines whatever the chunk sizes %j (lines across chunks, characters cut in two), the torn tail apart",
    async (sizes) => {
      const got: Array<[number, string]> = [];
      const r = await forEachLineOf(chunked(bytes, sizes), ({ text, lineNo }) => got.push([lineNo, text]));
      expect(got).toEqual(want.map((t, i) => [i + 1, t]));
      expect(r.tornBytes).toBe(Buffer.byteLength("last, torn"));
    },
  );
});
