import { describe, expect, test } from "vitest";
import { UsageError } from "../../src/errors.js";
import { parseResolve, pinnedLookup, resolveKey } from "../../src/probe/resolve.js";

describe("parseResolve", () => {
  test("curl syntax, several addresses, bracketed IPv6", () => {
    const m = parseResolve(["API.example.test:443:10.0.0.1,10.0.0.2", "v6.test:8080:[::1]"]);
    expect(m.get(resolveKey("api.example.test", 443))?.addresses).toEqual([
      { address: "10.0.0.1", family: 4 },
      { address: "10.0.0.2", family: 4 },
    ]);
    expect(m.get("v6.test:8080")?.addresses).toEqual([{ address: "::1", family: 6 }]);
  });
  test.each(["nohost", "host:notaport:1.2.3.4", "host:70000:1.2.3.4", "host:80:not-an-ip", "host:80:"])(
    "rejects %s",
    (entry) => {
      expect(() => parseResolve([entry])).toThrow(UsageError);
    },
  );
});

describe("pinnedLookup", () => {
  const lookup = pinnedLookup([
    { address: "127.0.0.1", family: 4 },
    { address: "::1", family: 6 },
  ]);
  const call = (opts: Parameters<typeof lookup>[1]) =>
    new Promise<unknown[]>((resolve) => lookup("x", opts, (...args) => resolve(args)));
  test("all:true (autoSelectFamily) returns an array", async () => {
    expect(await call({ all: true })).toEqual([
      null,
      [
        { address: "127.0.0.1", family: 4 },
        { address: "::1", family: 6 },
      ],
    ]);
  });
  test("a single address, filtered by family", async () => {
    expect(await call({ family: 6 })).toEqual([null, "::1", 6]);
    expect(await call(4)).toEqual([null, "127.0.0.1", 4]);
  });
  test("answers asynchronously, like a real lookup", () => {
    let called = false;
    lookup("x", {}, () => {
      called = true;
    });
    expect(called).toBe(false);
  });
});
