/**
 * Strict JSON reading for config and suite files: `JSON.parse` for the value,
 * plus a small scanner that locates syntax errors by line and column (Node 20's
 * messages often carry no position) and finds duplicate keys, which
 * `JSON.parse` silently resolves by keeping the last one.
 */

/** A position in a text file, 1-based. */
export interface TextPosition {
  line: number;
  column: number;
}

/** A key that appears twice in the same object. `path` is the object's JSON path segments plus the key. */
export interface DuplicateKey extends TextPosition {
  path: (string | number)[];
}

export type JsonReadResult =
  | { ok: true; value: unknown; duplicateKeys: DuplicateKey[] }
  | { ok: false; error: string; position: TextPosition };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Converts a character offset into a 1-based line and column. */
export function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function describeChar(text: string, i: number): string {
  if (i >= text.length) return "end of file";
  const c = text[i]!;
  if (c === "\n" || c === "\r") return "a line break";
  return c === "'" ? `"'"` : `'${c < " " ? JSON.stringify(c).slice(1, -1) : c}'`;
}

/** A validating scanner for RFC 8259 JSON; throws JsonSyntaxError at the first error. */
class Scanner {
  private i = 0;
  readonly duplicates: { path: (string | number)[]; offset: number }[] = [];
  constructor(private readonly text: string) {}

  run(): void {
    this.ws();
    this.value([]);
    this.ws();
    if (this.i < this.text.length) this.fail("expected end of file after the JSON value");
  }

  private fail(expected: string, at = this.i): never {
    throw new JsonSyntaxError(`${expected}, found ${describeChar(this.text, at)}`, at);
  }

  private ws(): void {
    while (this.i < this.text.length && " \t\n\r".includes(this.text[this.i]!)) this.i++;
  }

  private value(path: (string | number)[]): void {
    if (path.length > 256) this.fail("expected at most 256 levels of nesting");
    const c = this.text[this.i];
    if (c === "{") this.object(path);
    else if (c === "[") this.array(path);
    else if (c === '"') this.string();
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) this.number();
    else this.literal();
  }

  private literal(): void {
    for (const word of ["true", "false", "null"]) {
      if (this.text.startsWith(word, this.i)) {
        this.i += word.length;
        return;
      }
    }
    this.fail("expected a JSON value (object, array, string, number, true, false or null)");
  }

  private object(path: (string | number)[]): void {
    this.i++;
    this.ws();
    const seen = new Set<string>();
    if (this.text[this.i] === "}") {
      this.i++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.i] !== '"') this.fail("expected a double-quoted property name");
      const keyOffset = this.i;
      const key = this.string();
      if (seen.has(key)) this.duplicates.push({ path: [...path, key], offset: keyOffset });
      seen.add(key);
      this.ws();
      if (this.text[this.i] !== ":") this.fail("expected ':' after property name");
      this.i++;
      this.ws();
      this.value([...path, key]);
      this.ws();
      const c = this.text[this.i];
      if (c === ",") {
        this.i++;
        this.ws();
        if (this.text[this.i] === "}")
          this.fail("expected a property name after ',' (trailing commas are not JSON)");
        continue;
      }
      if (c === "}") {
        this.i++;
        return;
      }
      this.fail("expected ',' or '}' after property value");
    }
  }

  private array(path: (string | number)[]): void {
    this.i++;
    this.ws();
    if (this.text[this.i] === "]") {
      this.i++;
      return;
    }
    for (let n = 0; ; n++) {
      this.ws();
      this.value([...path, n]);
      this.ws();
      const c = this.text[this.i];
      if (c === ",") {
        this.i++;
        this.ws();
        if (this.text[this.i] === "]") this.fail("expected a value after ',' (trailing commas are not JSON)");
        continue;
      }
      if (c === "]") {
        this.i++;
        return;
      }
      this.fail("expected ',' or ']' after array element");
    }
  }

  private string(): string {
    const start = this.i;
    this.i++;
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined) this.fail("unterminated string");
      if (c === '"') break;
      if (c === "\\") {
        const e = this.text[this.i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 2, this.i + 6))) {
            this.fail("expected 4 hex digits after \\u", this.i + 2);
          }
          this.i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail("invalid escape in string", this.i + 1);
        this.i += 2;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.fail("unescaped control character in string (use \\n, \\t)");
      this.i++;
    }
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  private number(): void {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(this.text.slice(this.i, this.i + 400));
    if (!m) this.fail("expected a number");
    this.i += m[0].length;
    const next = this.text[this.i];
    if (next !== undefined && /[0-9A-Za-z.]/.test(next)) this.fail("invalid number");
  }
}

/**
 * Parses JSON text. On a syntax error, returns its message and 1-based position;
 * otherwise the value and any duplicate keys. A leading byte-order mark is ignored.
 */
export function readJson(source: string): JsonReadResult {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  if (text.trim() === "") {
    return {
      ok: false,
      error: "the file is empty (expected a JSON object)",
      position: { line: 1, column: 1 },
    };
  }
  const scanner = new Scanner(text);
  try {
    scanner.run();
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      return { ok: false, error: e.message, position: positionAt(text, e.offset) };
    }
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // The scanner accepted what JSON.parse rejects: should not happen; report V8's message.
    return { ok: false, error: (e as Error).message, position: { line: 1, column: 1 } };
  }
  const duplicateKeys = scanner.duplicates.map((d) => ({ path: d.path, ...positionAt(text, d.offset) }));
  return { ok: true, value, duplicateKeys };
}
