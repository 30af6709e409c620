import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_DETECTORS } from "../../src/diagnose/detectors/index.js";
import { renderFindingsDoc } from "../../src/diagnose/findings-doc.js";
import { FINDING_IDS, FINDINGS, findingSpec } from "../../src/diagnose/registry.js";

const DOC = fileURLToPath(new URL("../../docs/findings.md", import.meta.url));

describe("finding registry", () => {
  it("has unique ids and precedences, and one detector per id", () => {
    expect(new Set(FINDING_IDS).size).toBe(FINDINGS.length);
    expect(new Set(FINDINGS.map((f) => f.precedence)).size).toBe(FINDINGS.length);
    expect(DEFAULT_DETECTORS.map((d) => d.id).sort()).toEqual([...FINDING_IDS].sort());
    expect(findingSpec("tcp-syn-retransmit")?.title).toMatch(/SYN/);
    expect(findingSpec("no-such-finding")).toBeUndefined();
  });

  it("orders attribution as the issue asks: client-lag > timeout > signatures > skew/periodic > idle > route > backend", () => {
    const p = (id: string) => findingSpec(id)!.precedence;
    expect(p("client-lag")).toBeLessThan(p("timeout"));
    expect(p("timeout")).toBeLessThan(p("dns-resolver-timeout"));
    for (const sig of ["dns-resolver-timeout", "tcp-syn-retransmit", "tls-handshake-stall"]) {
      expect(p(sig)).toBeLessThan(p("address-skew"));
      expect(p(sig)).toBeLessThan(p("periodic-stall"));
    }
    expect(p("periodic-stall")).toBeLessThan(p("cold-start-after-idle"));
    expect(p("stale-connection")).toBeLessThan(p("route-specific"));
    expect(p("route-specific")).toBeLessThan(p("slow-backend"));
  });

  it("docs/findings.md is generated from the registry (UPDATE_DOCS=1 rewrites it)", () => {
    const expected = renderFindingsDoc();
    if (process.env.UPDATE_DOCS === "1") writeFileSync(DOC, expected);
    expect(readFileSync(DOC, "utf8")).toBe(expected);
    for (const id of FINDING_IDS) expect(expected).toContain(`\`${id}\``);
  });
});
