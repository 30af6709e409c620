import { describe, expect, test } from "vitest";
import { checkResponse, getPath, needsBody, statusOk } from "../../src/probe/assertions.js";

const res = (over: Partial<Parameters<typeof checkResponse>[1]> = {}) => ({
  status: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ status: "OK", header: "api.example.com", a: { b: [1, { c: true }] } }),
  ...over,
});

describe("status", () => {
  test("default is any 2xx", () => {
    expect([200, 204, 299].map((s) => statusOk(undefined, s))).toEqual([true, true, true]);
    expect([199, 301, 404, 500].map((s) => statusOk(undefined, s))).toEqual([false, false, false, false]);
  });
  test("a code or a list", () => {
    expect(statusOk({ status: 404 }, 404)).toBe(true);
    expect(statusOk({ status: 404 }, 200)).toBe(false);
    expect(statusOk({ status: [301, 302] }, 302)).toBe(true);
  });
});

describe("checkResponse", () => {
  test("no expectation: only the status", () => {
    expect(checkResponse(undefined, res())).toEqual([
      { name: "status", ok: true, expected: "2xx", actual: 200 },
    ]);
  });

  test("json dot paths, deep equality, missing fields", () => {
    const out = checkResponse({ json: { status: "OK", "a.b.1": { c: true }, "a.b.0": 1, "x.y": 1 } }, res());
    expect(out).toEqual([
      { name: "status", ok: true, expected: "2xx", actual: 200 },
      { name: "json.status", ok: true, expected: "OK", actual: "OK" },
      { name: "json.a.b.1", ok: true, expected: { c: true }, actual: { c: true } },
      { name: "json.a.b.0", ok: true, expected: 1, actual: 1 },
      { name: "json.x.y", ok: false, expected: 1, actual: "(missing)" },
    ]);
  });

  test("a type difference is a mismatch (1 is not '1')", () => {
    const [, r] = checkResponse({ json: { status: 1 } }, res({ body: '{"status":"1"}' }));
    expect(r?.ok).toBe(false);
  });

  test("invalid JSON → 'body is not JSON'", () => {
    const out = checkResponse({ json: { status: "OK" } }, res({ body: "<html>" }));
    expect(out[1]).toMatchObject({ name: "json", ok: false });
    expect(String(out[1]?.actual)).toMatch(/^body is not JSON/);
  });

  test("a body cut at the cap is not JSON", () => {
    const out = checkResponse({ json: { status: "OK" } }, res({ truncated: true }));
    expect(String(out[1]?.actual)).toMatch(/cut off/);
  });

  test("headers exact (names case-insensitive), bodyContains", () => {
    const out = checkResponse(
      { headers: { "Content-Type": "application/json", "x-missing": "1" }, bodyContains: "api.example.com" },
      res(),
    );
    expect(out.map((a) => [a.name, a.ok])).toEqual([
      ["status", true],
      ["header.content-type", true],
      ["header.x-missing", false],
      ["bodyContains", true],
    ]);
  });

  test("needsBody", () => {
    expect(needsBody(undefined)).toBe(false);
    expect(needsBody({ status: 200 })).toBe(false);
    expect(needsBody({ json: {} })).toBe(true);
    expect(needsBody({ bodyContains: "x" })).toBe(true);
  });

  test("getPath does not read inherited properties", () => {
    expect(getPath({}, "constructor").found).toBe(false);
    expect(getPath([1, 2], "5").found).toBe(false);
    expect(getPath(null, "a").found).toBe(false);
  });
});
