/**
 * Real kernel-level faults, diagnosed end to end: the built CLI runs inside a
 * network namespace of our own where iptables drops SYNs or DNS queries on
 * 127.0.0.1. Skipped, with the reason, where namespaces cannot be made
 * (not root, iptables or dnsmasq missing: see scripts/install-system-deps.sh).
 */
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Report } from "../../src/report/types.js";
import { createNetns, firstLine, type Netns, netnsSupport } from "../helpers/netns.js";

const root = join(import.meta.dirname, "../..");
const cli = join(root, "dist/cli/main.js");
const serverScript = join(root, "test/fixtures/netns-server.mjs");

const whyNot = netnsSupport({ dns: true });
if (whyNot) console.warn(`kernel-fault tests skipped: ${whyNot}`);

function runReport(ns: Netns, args: string[]): Report {
  const out = ns.exec("node", [cli, "report", ...args, "--json", "--no-progress"]);
  return JSON.parse(out) as Report;
}

/**
 * The fault's own stalls are all attributed to `findingId`, which the report raises; anything else that stalled
 * must be stallwatch's own pause (client-lag), never blamed on the network. Prints the counts for the record.
 */
function expectAttributed(
  report: Report,
  faultStalls: Report["stalls"],
  findingId: string,
  fault: string,
  what: string,
): void {
  expect(
    report.findings.map((f) => f.id),
    JSON.stringify(report.findings),
  ).toContain(findingId);
  console.log(
    `${fault}: ${report.totals.requests} requests, ${report.stalls.length} stalls, ${faultStalls.length} ${what}, ` +
      `${faultStalls.filter((s) => s.cause === findingId).length} attributed to ${findingId}`,
  );
  for (const s of faultStalls) expect(s.cause).toBe(findingId);
  for (const s of report.stalls.filter((x) => !faultStalls.includes(x))) expect(s.cause).toBe("client-lag");
}

/** Drops the 1st of every `every` packets matching `match` on the namespace's INPUT chain (iptables statistic, nth mode). */
function dropEveryNth(ns: Netns, match: string[], every: number): void {
  ns.iptables([
    "-A",
    "INPUT",
    ...match,
    "-m",
    "statistic",
    "--mode",
    "nth",
    "--every",
    String(every),
    "--packet",
    "0",
    "-j",
    "DROP",
  ]);
}

async function startServer(ns: Netns): Promise<{ port: number; child: ChildProcess }> {
  const child = ns.spawn("node", [serverScript, "127.0.0.1"]);
  const port = Number(await firstLine(child));
  return { port, child };
}

describe.skipIf(whyNot !== undefined)("kernel-level faults in a network namespace", () => {
  let ns: Netns | undefined;
  afterEach(() => {
    ns?.destroy();
    ns = undefined;
  });

  it("lost SYNs: connect stalls of ~1 s are diagnosed as tcp-syn-retransmit", async () => {
    ns = createNetns();
    const { port } = await startServer(ns);
    // Every 4th SYN to the server is dropped: that connection waits for the kernel's 1 s initial RTO.
    dropEveryNth(ns, ["-p", "tcp", "--syn", "--dport", String(port)], 4);
    const report = runReport(ns, [
      "--url",
      `http://127.0.0.1:${port}/`,
      "--count",
      "24",
      "--connection",
      "fresh",
    ]);

    // One lost SYN costs the kernel's 1 s initial RTO; two in a row would cost 3 s (the nth rule never drops both).
    const synStalls = report.stalls.filter((s) => s.phase === "connect" && (s.phasesMs.connect ?? 0) > 900);
    expect(synStalls.length).toBeGreaterThanOrEqual(5);
    for (const s of synStalls) expect(s.phasesMs.connect).toBeLessThan(2500);
    expectAttributed(report, synStalls, "tcp-syn-retransmit", "lost SYNs", "with a ~1 s connect");
  }, 60_000);

  it("lost DNS queries: lookups stalled by the resolver timeout are diagnosed as dns-resolver-timeout", async () => {
    ns = createNetns();
    await ns.startResolver(["api.stallwatch.test"], "timeout:1 attempts:3");
    const { port } = await startServer(ns);
    // Every 10th query packet to the resolver is lost: glibc waits its 1 s timeout, then asks again.
    dropEveryNth(ns, ["-p", "udp", "--dport", "53"], 10);
    const report = runReport(ns, [
      "--url",
      `http://api.stallwatch.test:${port}/`,
      "--count",
      "30",
      "--connection",
      "fresh",
    ]);

    const dnsStalls = report.stalls.filter((s) => s.phase === "dns" && (s.phasesMs.dns ?? 0) > 900);
    expect(dnsStalls.length).toBeGreaterThanOrEqual(3);
    expectAttributed(report, dnsStalls, "dns-resolver-timeout", "lost DNS queries", "in DNS > 900 ms");
  }, 60_000);

  it("the same namespace without faults: healthy, no findings", async () => {
    ns = createNetns();
    await ns.startResolver(["api.stallwatch.test"], "timeout:1 attempts:3");
    const { port } = await startServer(ns);
    const report = runReport(ns, [
      "--url",
      `http://api.stallwatch.test:${port}/`,
      "--count",
      "30",
      "--connection",
      "both",
    ]);
    expect(report.stalls).toEqual([]);
    expect(report.findings, JSON.stringify(report.findings, null, 1)).toEqual([]);
    expect(report.healthy).toBe(true);
  }, 60_000);
});
