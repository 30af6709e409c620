/**
 * A broken IPv6 path made real in a network namespace of our own: a local dnsmasq answers the API's name with
 * an AAAA (::1) and an A (127.0.0.1) record, the server listens on both, and ip6tables drops every SYN to
 * [::1]:port while 127.0.0.1 answers. The built CLI probes the name from inside the namespace; Node's own
 * Happy Eyeballs (autoSelectFamily) tries ::1 first, gets no answer and connects over IPv4 after its attempt
 * timeout, read from the same Node (`net.getDefaultAutoSelectFamilyAttemptTimeout()`).
 *
 * Checked: the fault is real (ip6tables counted one dropped SYN per new connection; every new connection took at
 * least the attempt timeout), the diagnosis attributes exactly those stalls to ipv6-fallback, on top, with the
 * DNS answer and the host's settings as evidence; and on an IPv4-only name in the same namespace, lost SYNs
 * stay tcp-syn-retransmit. Skipped, with the reason, where namespaces, ip6tables or dnsmasq are missing.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { getDefaultAutoSelectFamilyAttemptTimeout } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../src/model.js";
import {
  createNetns,
  firstLine,
  loseInARow,
  type Netns,
  netnsSupport,
  reportInNetns,
  stallCauses,
} from "../helpers/netns.js";
import { expectOneCount } from "../helpers/one-count.js";

const root = join(import.meta.dirname, "../..");
const serverScript = join(root, "test/fixtures/netns-server.mjs");

function ip6tablesMissing(): string | undefined {
  try {
    execFileSync("sh", ["-c", "command -v ip6tables"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "'ip6tables' is not installed (run scripts/install-system-deps.sh)";
  }
}
const whyNot = netnsSupport({ dns: true, matches: ["recent", "statistic"] }) ?? ip6tablesMissing();
if (whyNot) console.warn(`broken-IPv6 netns tests skipped: ${whyNot}`);

const NAME = "api.stallwatch.test";
const V4_ONLY = "v4.stallwatch.test";
/** The CLI runs on this Node: its attempt timeout is the one the prober uses. */
const ATTEMPT_MS = getDefaultAutoSelectFamilyAttemptTimeout();

/** Packets the namespace's ip6tables rule dropped. */
function droppedSyns(ns: Netns): number {
  const out = ns.exec("ip6tables", ["-w", "-L", "INPUT", "-v", "-n", "-x"]);
  const line = out.split("\n").find((l) => l.includes("DROP"));
  return Number(line?.trim().split(/\s+/)[0] ?? Number.NaN);
}

describe.skipIf(whyNot !== undefined)("broken IPv6 path in a network namespace", () => {
  let ns: Netns | undefined;
  let server: ChildProcess | undefined;
  let port = 0;
  let report: Report;
  let dropped = 0;
  let v4: Report;

  beforeAll(async () => {
    ns = createNetns();
    await ns.startResolver([NAME, V4_ONLY], "timeout:5 attempts:2", { [NAME]: ["127.0.0.1", "::1"] });
    server = ns.spawn(process.execPath, [serverScript, "::"]);
    port = Number(await firstLine(server));
    ns.exec("ip6tables", [
      "-w",
      "-A",
      "INPUT",
      "-p",
      "tcp",
      "--syn",
      "-d",
      "::1",
      "--dport",
      String(port),
      "-j",
      "DROP",
    ]);
    report = reportInNetns(
      ns,
      [
        "--url",
        `http://${NAME}:${port}/`,
        "--count",
        "12",
        "--connection",
        "both",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ],
      60_000,
    );
    dropped = droppedSyns(ns);
    // IPv4-only name, same namespace and rules: 1 SYN lost on the 3rd and on the 7th IPv4 SYN to the port.
    loseInARow(
      ns,
      "synloss",
      ["-p", "tcp", "--syn", "--dport", String(port)],
      [
        { position: 2, lost: 1 },
        { position: 6, lost: 1 },
      ],
    );
    v4 = reportInNetns(
      ns,
      [
        "--url",
        `http://${V4_ONLY}:${port}/`,
        "--count",
        "10",
        "--connection",
        "fresh",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ],
      60_000,
    );
    const fresh = report.stalls.filter((s) => s.phasesMs.connect !== undefined);
    console.log(
      `broken IPv6 (netns): ${report.totals.requests} requests, ${report.stalls.length} stalls, ` +
        `${report.stalls.filter((s) => s.cause === "ipv6-fallback").length} attributed to ipv6-fallback; ` +
        `attempt timeout ${ATTEMPT_MS} ms, ip6tables dropped ${dropped} SYNs; connect ms ` +
        `${fresh.map((s) => Math.round(s.phasesMs.connect ?? 0)).join(", ")}; causes ${JSON.stringify(stallCauses(report))}; ` +
        `verdict ${report.verdict?.cause ?? "none"}`,
    );
    console.log(
      `IPv4-only name, 2 lost SYNs (netns): ${v4.totals.requests} requests, ${v4.stalls.length} stalls, ` +
        `connect ms ${v4.stalls.map((s) => Math.round(s.phasesMs.connect ?? 0)).join(", ")}; causes ${JSON.stringify(stallCauses(v4))}; ` +
        `verdict ${v4.verdict?.cause ?? "none"}`,
    );
  }, 90_000);
  afterAll(() => ns?.destroy());

  it("the fault is real: one dropped IPv6 SYN and one attempt timeout per new connection, then IPv4", () => {
    expect(report.totals.requests).toBe(24);
    expect(report.totals.failed).toBe(0);
    // 12 fresh connections and the one reused connection: each sent one SYN to ::1 that the rule dropped (the
    // attempt is abandoned at the timeout, long before the kernel's 1 s retransmission).
    const newConnections = 13;
    expect(dropped).toBe(newConnections);
    const connects = report.stalls.filter((s) => s.phasesMs.connect !== undefined);
    expect(connects.length).toBeGreaterThanOrEqual(newConnections - 2);
    for (const s of connects) {
      // A timer never fires early (a few ms of clock granularity aside); the IPv4 connect follows at once.
      expect(s.phasesMs.connect ?? 0).toBeGreaterThanOrEqual(ATTEMPT_MS - 5);
      expect(s.remoteAddress).toBe("127.0.0.1");
    }
  });

  it("is diagnosed as ipv6-fallback: every fallback stall, on top, with the DNS answer and host settings", () => {
    const why = JSON.stringify({ findings: report.findings, verdict: report.verdict }, null, 1);
    expectOneCount(report);
    for (const s of report.stalls) {
      // Anything else that stalled is stallwatch's own pause.
      expect(["ipv6-fallback", "client-lag"], why).toContain(s.cause);
    }
    expect(report.verdict?.cause, why).toBe("ipv6-fallback");
    expect(report.verdict?.where).toBe(`${NAME} → ::1 (IPv6)`);
    const f = report.findings[0];
    expect(f?.evidence).toMatchObject({
      brokenFamily: "IPv6",
      fallbackTimerMs: ATTEMPT_MS,
      autoSelectFamily: true,
    });
    expect([...((f?.evidence.dnsAnswer as string[]) ?? [])].sort()).toEqual(["127.0.0.1", "::1"]);
  });

  it("an IPv4-only name in the same namespace: lost SYNs stay tcp-syn-retransmit", () => {
    const why = JSON.stringify({ findings: v4.findings, verdict: v4.verdict }, null, 1);
    expectOneCount(v4);
    const lost = v4.stalls.filter((s) => (s.phasesMs.connect ?? 0) > 900);
    expect(lost).toHaveLength(2);
    for (const s of lost) expect(s.cause, why).toBe("tcp-syn-retransmit");
    expect(v4.findings.map((f) => f.id)).not.toContain("ipv6-fallback");
  });
});
