/**
 * `stallwatch report --lab backlog --json` as a user runs it (AWS evidence on): the targets' accept queues
 * really overflow (the kernel counts ListenOverflows), and the verdict is listen-backlog run after run, with
 * the count invariant. Three runs, each a new lab with a new seed.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { labReport, verdictLine } from "../helpers/lab-report.js";
import { expectOneCount } from "../helpers/one-count.js";

/** TcpExt ListenOverflows of this network namespace (every listener's, not only the lab's). */
function listenOverflows(): number | undefined {
  try {
    const lines = readFileSync("/proc/net/netstat", "utf8").split("\n");
    const head = lines.findIndex((l) => l.startsWith("TcpExt:"));
    const names = lines[head]?.split(" ") ?? [];
    const values = lines[head + 1]?.split(" ") ?? [];
    const i = names.indexOf("ListenOverflows");
    return i > 0 ? Number(values[i]) : undefined;
  } catch {
    return undefined;
  }
}

describe("lab backlog: a full accept queue", { timeout: 120_000 }, () => {
  it.each([1, 2, 3])("run %i: listen-backlog, stalls only under load", async (n) => {
    const before = listenOverflows();
    const r = await labReport("backlog");
    const after = listenOverflows();
    const f = r.findings.find((x) => x.id === "listen-backlog");
    const byInFlight = (f?.evidence.byInFlight ?? {}) as Record<string, { requests: number; stalls: number }>;
    console.log(
      `${verdictLine("backlog", r)}; by in flight ${JSON.stringify(byInFlight)}; ListenOverflows +${
        before !== undefined && after !== undefined ? after - before : "?"
      } (run ${n})`,
    );
    expectOneCount(r);
    // The kernel really dropped: its overflow counter rose (by at least this run's, maybe others').
    if (before !== undefined && after !== undefined) expect(after - before).toBeGreaterThan(0);
    expect(r.verdict?.cause).toBe("listen-backlog");
    expect(r.verdict?.hop).toBe("target");
    expect(r.verdict?.stalls).toBeGreaterThanOrEqual(3);
    // The light-load part of the sweep (fewer than 4 others in flight) lost no SYN.
    for (const [band, e] of Object.entries(byInFlight))
      if (["0", "1", "2-3"].includes(band)) expect(e.stalls, `${band} in flight`).toBe(0);
    // X-Ray puts the time between the gateway's integration call and the backend's segment.
    expect(r.evidence?.map((e) => e.id)).toContain("integration-latency");
    expect(r.findings.map((x) => x.id)).not.toContain("hidden-hop-syn-retransmit");
  });
});
