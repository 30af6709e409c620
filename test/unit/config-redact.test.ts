import { describe, expect, it } from "vitest";
import { ALWAYS_SECRET_HEADERS, REDACTED, Redactor } from "../../src/redact.js";

describe("Redactor", () => {
  const r = new Redactor({
    secretValues: ["Bearer abc.def.ghi", "k3y+with/slash", "xy"],
    secretHeaderNames: ["X-Session"],
  });

  it("replaces every occurrence of a secret value in text", () => {
    expect(r.redact("a Bearer abc.def.ghi b Bearer abc.def.ghi")).toBe(`a ${REDACTED} b ${REDACTED}`);
    expect(r.redact("token=abc.def.ghi")).toBe(`token=${REDACTED}`);
    expect(r.redact("url?key=k3y%2Bwith%2Fslash&x=1")).toBe(`url?key=${REDACTED}&x=1`);
    expect(r.redact("nothing secret")).toBe("nothing secret");
  });

  it("treats regex metacharacters literally", () => {
    const dots = new Redactor({ secretValues: ["a.b.c"] });
    expect(dots.redact("aXbXc a.b.c")).toBe(`aXbXc ${REDACTED}`);
  });

  it("does not redact very short values inside text, but does by header name", () => {
    expect(r.redact("xy xyz")).toBe("xy xyz");
    const short = new Redactor({ secretValues: ["xy"], secretHeaderNames: ["x-short"] });
    expect(short.redactHeaders({ "X-Short": "xy" })).toEqual({ "X-Short": REDACTED });
  });

  it("redacts header values by name, any case, and secret values in other headers", () => {
    expect(
      r.redactHeaders({
        Authorization: "whatever",
        "x-api-key": "k",
        Cookie: ["a=1", "b=2"],
        "x-session": "s",
        "x-echo": "you sent Bearer abc.def.ghi",
        "content-length": 12,
        absent: undefined,
      }),
    ).toEqual({
      Authorization: REDACTED,
      "x-api-key": REDACTED,
      Cookie: REDACTED,
      "x-session": REDACTED,
      "x-echo": `you sent ${REDACTED}`,
      "content-length": "12",
    });
  });

  it("always knows the standard secret headers", () => {
    const none = Redactor.none();
    for (const h of ALWAYS_SECRET_HEADERS) expect(none.isSecretHeader(h.toUpperCase())).toBe(true);
    expect(none.isSecretHeader("accept")).toBe(false);
    expect(none.redact("Bearer abc.def.ghi")).toBe("Bearer abc.def.ghi");
  });

  it("redacts strings deep inside values, and extends with more secrets", () => {
    const more = r.with({ secretValues: ["another-secret"] });
    expect(more.redactValue({ a: ["another-secret", 1, { b: "x abc.def.ghi" }], n: null })).toEqual({
      a: [REDACTED, 1, { b: `x ${REDACTED}` }],
      n: null,
    });
    expect(more.isSecretHeader("x-session")).toBe(true);
    expect(r.redact("another-secret")).toBe("another-secret");
  });
});
