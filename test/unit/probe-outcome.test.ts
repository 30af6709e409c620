import { describe, expect, test } from "vitest";
import { requestIdOf, traceIdOf } from "../../src/model.js";
import { derivePhases, flattenHeaders, pickHopHeaders } from "../../src/probe/outcome.js";

describe("derivePhases", () => {
  test("a fresh https request has every phase", () => {
    const t = {
      start: 0,
      dnsStart: 1,
      dnsEnd: 3,
      connectStart: 3,
      connectEnd: 6,
      tlsEnd: 10,
      sent: 10.5,
      firstByte: 310,
      headers: 311,
      end: 320,
    };
    expect(derivePhases(t, true)).toEqual({
      dns: 2,
      connect: 3,
      tls: 4,
      ttfb: 299.5,
      transfer: 10,
      total: 320,
    });
  });
  test("a reused request has no dns, connect or tls: absent, not zero", () => {
    const p = derivePhases({ start: 0, sent: 1, firstByte: 5, headers: 5, end: 6 }, true);
    expect(p).toEqual({ ttfb: 4, transfer: 1, total: 6 });
    expect("dns" in p).toBe(false);
  });
  test("a failed body has no transfer; total is kept", () => {
    expect(derivePhases({ start: 0, sent: 1, firstByte: 5, end: 900 }, false)).toEqual({
      ttfb: 4,
      total: 900,
    });
  });
});

describe("headers", () => {
  const h = flattenHeaders({
    "X-Amzn-RequestId": "r1",
    "x-amz-apigw-id": "g1",
    via: ["1.1 a", "1.1 b"],
    "x-amzn-remapped-date": "today",
    "content-type": "application/json",
    gone: undefined,
  });
  test("flatten lower-cases names and joins repeats", () => {
    expect(h.via).toBe("1.1 a, 1.1 b");
    expect(h["x-amzn-requestid"]).toBe("r1");
    expect("gone" in h).toBe(false);
  });
  test("hop headers: the fixed list plus x-amzn-remapped-*", () => {
    expect(pickHopHeaders(h)).toEqual({
      "x-amzn-requestid": "r1",
      "x-amz-apigw-id": "g1",
      via: "1.1 a, 1.1 b",
      "x-amzn-remapped-date": "today",
    });
  });
  test("request id prefers x-amzn-RequestId", () => {
    expect(requestIdOf(h)).toBe("r1");
    expect(requestIdOf({ "x-amz-apigw-id": "g1" })).toBe("g1");
    expect(requestIdOf({})).toBeUndefined();
  });
  test("trace id is the Root", () => {
    expect(traceIdOf("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")).toBe(
      "1-5759e988-bd862e3fe1be46a994272793",
    );
    expect(traceIdOf("Self=1-abc;Root=1-x-y")).toBe("1-x-y");
    expect(traceIdOf(undefined)).toBeUndefined();
  });
});
