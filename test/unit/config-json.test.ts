import { describe, expect, it } from "vitest";
import { positionAt, readJson } from "../../src/config/json.js";

function error(text: string): string {
  const r = readJson(text);
  if (r.ok) throw new Error("expected a syntax error");
  return `${r.position.line}:${r.position.column} ${r.error}`;
}

describe("readJson", () => {
  it("parses what JSON.parse parses", () => {
    const samples = [
      '{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{}}',
      "[]",
      '"s"',
      "0",
      ' \n {"k": [ ] } \n',
    ];
    for (const s of samples) {
      const r = readJson(s);
      expect(r.ok && r.value).toEqual(JSON.parse(s));
    }
  });

  it("locates syntax errors by line and column", () => {
    expect(error('{\n  "a": 1\n  "b": 2\n}')).toBe(
      "3:3 expected ',' or '}' after property value, found '\"'",
    );
    expect(error('{\n  "a": [1, 2,]\n}')).toBe(
      "2:14 expected a value after ',' (trailing commas are not JSON), found ']'",
    );
    expect(error('{"a": 1,}')).toBe(
      "1:9 expected a property name after ',' (trailing commas are not JSON), found '}'",
    );
    expect(error("{'a': 1}")).toBe('1:2 expected a double-quoted property name, found "\'"');
    expect(error('{"a": 01}')).toBe("1:8 invalid number, found '1'");
    expect(error('{"a": tru}')).toBe(
      "1:7 expected a JSON value (object, array, string, number, true, false or null), found 't'",
    );
    expect(error('{"a": "x')).toBe("1:9 unterminated string, found end of file");
    expect(error('{"a": "x\ny"}')).toBe(
      "1:9 unescaped control character in string (use \\n, \\t), found a line break",
    );
    expect(error('{"a": "\\q"}')).toBe("1:9 invalid escape in string, found 'q'");
    expect(error('{"a": 1} {"b": 2}')).toBe("1:10 expected end of file after the JSON value, found '{'");
    expect(error('{"a": 1')).toBe("1:8 expected ',' or '}' after property value, found end of file");
    expect(error("   ")).toBe("1:1 the file is empty (expected a JSON object)");
    expect(error("[".repeat(300))).toMatch(/^1:258 expected at most 256 levels of nesting/);
  });

  it("finds duplicate keys with their JSON path and position", () => {
    const r = readJson('{\n  "a": {"x": 1, "x": 2},\n  "b": [{"y": 1, "y": 1}],\n  "a": 3\n}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.duplicateKeys).toEqual([
      { path: ["a", "x"], line: 2, column: 17 },
      { path: ["b", 0, "y"], line: 3, column: 18 },
      { path: ["a"], line: 4, column: 3 },
    ]);
  });

  it("ignores a byte-order mark", () => {
    const r = readJson('\ufeff{"a": 1}');
    expect(r.ok && r.value).toEqual({ a: 1 });
  });

  it("positionAt counts lines and columns from 1", () => {
    expect(positionAt("ab\ncd", 0)).toEqual({ line: 1, column: 1 });
    expect(positionAt("ab\ncd", 4)).toEqual({ line: 2, column: 2 });
  });
});
