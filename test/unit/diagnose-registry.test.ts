import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_DETECTORS } from "../../src/diagnose/detectors/index.js";
import { renderFindingsDoc } from "../../src/diagnose/findings-doc.js";
import { FINDING_IDS, FINDINGS, findingSpec, roleOf } from "../../src/diagnose/registry.js";

const DOC = fileURLToPath(new URL("../../docs/findings.md", import.meta.url));

describe("finding registry", () => {
  it("has unique ids and precedences, and one detector per id", () => {
    expect(new Set(FINDING_IDS).size).toBe(FINDINGS.length);
    // Causes have distinct precedences; evidence findings take no stall, so theirs is not used.
    const causes = FINDINGS.filter((f) => roleOf(f.id) === "cause");
    expect(new Set(causes.map((f) => f.precedence)).size).toBe(causes.length);
    expect(DEFAULT_DETECTORS.map((d) => d.id).sort()).toEqual([...FINDING_IDS].sort());
    expect(findingSpec("tcp-syn-retransmit")?.title).toMatch(/SYN/);
    expect(findingSpec("no-such-finding")).toBeUndefined();
  });

  it("orders attribution from the most specific cause: the prober itself, the prober's own hop, the named target or AZ, when (idle) and which route, patterns, hidden-hop timers, then the fallback", () => {
    const p = (id: string) => findingSpec(id)!.precedence;
    expect(p("client-lag")).toBeLessThan(p("timeout"));
    expect(p("timeout")).toBeLessThan(p("dns-resolver-timeout"));
    for (const sig of ["dns-resolver-timeout", "tcp-syn-retransmit", "tls-handshake-stall"]) {
      expect(p(sig)).toBeLessThan(p("address-skew"));
      expect(p(sig)).toBeLessThan(p("periodic-stall"));
    }
    // A named target or dark AZ says more than a pattern in send order or a timer behind the gateway.
    for (const place of ["target-unhealthy", "slow-target"]) {
      expect(p(place)).toBeLessThan(p("periodic-stall"));
      expect(p(place)).toBeLessThan(p("hidden-hop-syn-retransmit"));
    }
    expect(p("cold-start-after-idle")).toBeLessThan(p("periodic-stall"));
    expect(p("stale-connection")).toBeLessThan(p("route-specific"));
    expect(p("periodic-stall")).toBeLessThan(p("hidden-hop-syn-retransmit"));
    expect(p("hidden-hop-dns-timeout")).toBeLessThan(p("hidden-hop-syn-retransmit"));
    expect(p("transfer-stall")).toBeLessThan(p("slow-backend"));
    for (const ev of ["backend-latency", "integration-latency", "gateway-latency", "outside-gateway"])
      expect(roleOf(ev)).toBe("evidence");
  });

  it("docs/findings.md is generated from the registry (UPDATE_DOCS=1 rewrites it)", () => {
    const expected = renderFindingsDoc();
    if (process.env.UPDATE_DOCS === "1") writeFileSync(DOC, expected);
    expect(readFileSync(DOC, "utf8")).toBe(expected);
    for (const id of FINDING_IDS) expect(expected).toContain(`\`${id}\``);
  });
});
