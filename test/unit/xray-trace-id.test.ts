import { describe, expect, it } from "vitest";
import {
  formatTraceHeader,
  isValidTraceRoot,
  newTraceHeader,
  newTraceRoot,
  parseTraceHeader,
  traceHeaderFor,
  traceIdOf,
  traceRootEpochS,
} from "../../src/aws/xray/trace-id.js";

const fixed = (b: number) => "ab".repeat(b);

describe("X-Ray trace header", () => {
  it("generates Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=1", () => {
    const wall = Date.UTC(2025, 5, 1, 12, 0, 0, 999);
    const h = newTraceHeader(wall, true, fixed);
    const epoch = Math.floor(wall / 1000).toString(16);
    expect(h.traceId).toBe(`1-${epoch}-${"ab".repeat(12)}`);
    expect(h.value).toBe(`Root=${h.traceId};Parent=${"ab".repeat(8)};Sampled=1`);
    expect(traceRootEpochS(h.traceId)).toBe(Math.floor(wall / 1000));
    expect(newTraceHeader(wall, false, fixed).value).toMatch(/;Sampled=0$/);
  });

  it("uses crypto randomness by default: well-formed and distinct", () => {
    const a = newTraceRoot(Date.now());
    const b = newTraceRoot(Date.now());
    expect(isValidTraceRoot(a)).toBe(true);
    expect(a).not.toBe(b);
  });

  it("is off by default and on with xray.enabled", () => {
    expect(traceHeaderFor({ enabled: false, sampled: true }, Date.now())).toBeUndefined();
    expect(traceHeaderFor({ enabled: true, sampled: true }, Date.now())?.value).toMatch(
      /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/,
    );
  });

  it("parses every field, case-insensitive keys, whitespace and unknown keys", () => {
    const v =
      " root=1-5759e988-bd862e3fe1be46a994272793 ; Parent=53995c3f42cd8ad8;Sampled=1;Self=1-67891234-12456789abcdef012345678;Lineage=a87bd80c:1|68fd508a:5;Foo=bar";
    const p = parseTraceHeader(v);
    expect(p).toEqual({
      ok: true,
      header: {
        root: "1-5759e988-bd862e3fe1be46a994272793",
        parent: "53995c3f42cd8ad8",
        sampled: true,
        self: "1-67891234-12456789abcdef012345678",
        lineage: "a87bd80c:1|68fd508a:5",
        extra: [["Foo", "bar"]],
      },
    });
    if (p.ok) expect(formatTraceHeader(p.header)).toBe(v.replace(/\s/g, "").replace("root", "Root"));
    expect(parseTraceHeader("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=?")).toMatchObject({
      ok: true,
      header: { root: "1-5759e988-bd862e3fe1be46a994272793" },
    });
    expect(traceIdOf(["Root=1-5759e988-bd862e3fe1be46a994272793"])).toBe(
      "1-5759e988-bd862e3fe1be46a994272793",
    );
  });

  it.each([
    ["", "empty header"],
    ["Parent=53995c3f42cd8ad8", "no Root"],
    ["Root=1-5759e988-bd862e3f", "malformed Root"],
    ["Root=2-5759e988-bd862e3fe1be46a994272793", "malformed Root"],
    ["Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz", "malformed Parent"],
    ["Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=yes", "malformed Sampled"],
    ["Root=1-5759e988-bd862e3fe1be46a994272793;junk", "malformed part"],
  ])("rejects %j (%s)", (v, reason) => {
    const p = parseTraceHeader(v);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toContain(reason);
  });
});
