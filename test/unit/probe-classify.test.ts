import { describe, expect, test } from "vitest";
import { classifyError, deadlineFailure, errorCode, phaseInProgress } from "../../src/probe/classify.js";
import { Redactor } from "../../src/redact.js";

const err = (code: string, message = code): Error => Object.assign(new Error(message), { code });

describe("classifyError", () => {
  test.each([
    ["ENOTFOUND", "connect", "dns", "dns"],
    ["EAI_AGAIN", "dns", "dns", "dns"],
    ["ECONNREFUSED", "connect", "refused", "connect"],
    ["EHOSTUNREACH", "connect", "unreachable", "connect"],
    ["ENETUNREACH", "connect", "unreachable", "connect"],
    ["ETIMEDOUT", "connect", "connect-timeout", "connect"],
    ["UND_ERR_CONNECT_TIMEOUT", "tls", "tls-timeout", "tls"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "tls", "tls", "tls"],
    ["CERT_HAS_EXPIRED", "tls", "tls", "tls"],
    ["ERR_SSL_WRONG_VERSION_NUMBER", "tls", "tls", "tls"],
    ["ECONNRESET", "ttfb", "reset", "ttfb"],
    ["ECONNRESET", "transfer", "reset", "transfer"],
    ["EPIPE", "ttfb", "reset", "ttfb"],
    ["HPE_INVALID_CONSTANT", "ttfb", "protocol", "ttfb"],
    ["UND_ERR_HEADERS_TIMEOUT", "ttfb", "headers-timeout", "ttfb"],
    ["UND_ERR_BODY_TIMEOUT", "transfer", "body-timeout", "transfer"],
    ["WHATEVER", "ttfb", "other", "ttfb"],
  ] as const)("%s during %s → %s in %s", (code, phase, cls, where) => {
    const f = classifyError(err(code), phase);
    expect(f.code).toBe(cls);
    expect(f.phase).toBe(where);
    expect(f.cause).toBe(code);
  });

  test("undici's generic socket error defers to the inner cause", () => {
    const wrapped = Object.assign(new Error("other side closed"), {
      code: "UND_ERR_SOCKET",
      cause: err("ECONNRESET"),
    });
    expect(errorCode(wrapped)).toBe("ECONNRESET");
    expect(
      classifyError(Object.assign(new Error("closed"), { code: "UND_ERR_SOCKET" }), "transfer").code,
    ).toBe("reset");
  });

  test("AggregateError from happy eyeballs: the member's code and all messages", () => {
    const agg = new AggregateError([
      err("ECONNREFUSED", "connect ECONNREFUSED ::1:9"),
      err("ECONNREFUSED", "connect ECONNREFUSED 127.0.0.1:9"),
    ]);
    const f = classifyError(agg, "connect");
    expect(f.code).toBe("refused");
    expect(f.message).toContain("127.0.0.1:9");
  });

  test("an undici HTTPParserError without a code is still a protocol error", () => {
    const e = new Error("Response does not match the HTTP/1.1 protocol (Expected HTTP/)");
    e.name = "HTTPParserError";
    expect(classifyError(e, "ttfb")).toMatchObject({ code: "protocol", cause: "HTTPParserError" });
  });

  test("certificate errors explain how to accept, unless already insecure", () => {
    expect(classifyError(err("SELF_SIGNED_CERT_IN_CHAIN"), "tls").message).toMatch(/insecureTls/);
    expect(classifyError(err("SELF_SIGNED_CERT_IN_CHAIN"), "tls", { insecureTls: true }).message).not.toMatch(
      /insecureTls/,
    );
  });
});

describe("deadlines", () => {
  test("the timeout class follows the phase in progress", () => {
    expect(deadlineFailure("dns", 100).code).toBe("dns-timeout");
    expect(deadlineFailure("connect", 100).code).toBe("connect-timeout");
    expect(deadlineFailure("tls", 100).code).toBe("tls-timeout");
    expect(deadlineFailure("ttfb", 100).code).toBe("headers-timeout");
    expect(deadlineFailure("transfer", 100)).toMatchObject({ code: "body-timeout", cause: "DEADLINE" });
  });

  test("phaseInProgress", () => {
    const conn = { https: true, expectLookup: true, start: 0, requests: 0 };
    expect(phaseInProgress({ t: { start: 0 }, reused: false })).toBe("connect");
    expect(phaseInProgress({ t: { start: 0 }, conn, reused: false })).toBe("dns");
    expect(phaseInProgress({ t: { start: 0 }, conn: { ...conn, dnsEnd: 1 }, reused: false })).toBe("connect");
    expect(
      phaseInProgress({ t: { start: 0 }, conn: { ...conn, dnsEnd: 1, connectEnd: 2 }, reused: false }),
    ).toBe("tls");
    expect(
      phaseInProgress({
        t: { start: 0 },
        conn: { ...conn, expectLookup: false, https: false },
        reused: false,
      }),
    ).toBe("connect");
    expect(phaseInProgress({ t: { start: 0, sent: 3 }, conn, reused: true })).toBe("ttfb");
    expect(phaseInProgress({ t: { start: 0, sent: 3, headers: 4 }, conn, reused: true })).toBe("transfer");
  });
});

describe("redaction", () => {
  test("secret values and bearer tokens are replaced", () => {
    const redactor = Redactor.forHeaders(
      {
        Authorization: "Bearer abcdef123456",
        "x-api-key": "k-999999",
        "x-custom": "c-777777",
        accept: "json",
      },
      ["X-CUSTOM"],
    );
    expect(
      redactor.redact("sent Bearer abcdef123456 and k-999999 and abcdef123456, c-777777, accept json"),
    ).toBe("sent [REDACTED] and [REDACTED] and [REDACTED], [REDACTED], accept json");
  });
});
