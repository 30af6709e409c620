/**
 * The lab's broken-ipv6 scenario, without root: the custom domain's name is pinned to ::1 and 127.0.0.1, and
 * SYNs to [::1]:port go unanswered because the lab filled that listener's accept queue and never drains it
 * (src/lab/unanswered-ipv6.ts), so the kernel drops them.
 *
 * - The fault is real at the socket level: a plain connect to [::1]:port does not complete, one to 127.0.0.1
 *   does, and Node's own connect to both addresses falls back to IPv4 after its attempt timeout.
 * - `stallwatch report --lab broken-ipv6 --json`, as a user runs it (AWS evidence on), three runs (the lab's seed
 *   is random each time): the verdict is ipv6-fallback
 *   every time, no IPv4-only (execute-api) stall is attributed to it, and the one-count invariant holds.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Lab, startLab } from "../../src/lab/index.js";
import type { Report } from "../../src/model.js";
import { createProber } from "../../src/probe/prober.js";
import { parseResolve } from "../../src/probe/resolve.js";
import { labReport, verdictLine } from "../helpers/lab-report.js";
import { expectOneCount } from "../helpers/one-count.js";

const ATTEMPT_MS = net.getDefaultAutoSelectFamilyAttemptTimeout();

/** ms until `socket` connects, or undefined if it has not after `waitMs`. */
function connectMs(opts: net.NetConnectOpts, waitMs: number): Promise<{ ms?: number; socket: net.Socket }> {
  return new Promise((resolve) => {
    const t = performance.now();
    const socket = net.connect(opts);
    const timer = setTimeout(() => resolve({ socket }), waitMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - t, socket });
    });
    socket.once("error", () => {
      clearTimeout(timer);
      resolve({ socket });
    });
  });
}

describe("lab broken-ipv6: the fault is real", () => {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await startLab({ scenario: "broken-ipv6" });
  });
  afterAll(() => lab?.close());

  it("[::1]:port drops SYNs, 127.0.0.1 answers, Node falls back after its attempt timeout", async () => {
    const url = new URL(lab!.routes["custom-domain"]);
    const port = Number(url.port);
    const pin = [...parseResolve(lab!.resolve).values()][0];
    expect(pin?.host).toBe(url.hostname);
    expect(pin?.addresses.map((a) => a.address)).toEqual(["::1", "127.0.0.1"]);

    // Past the kernel's first SYN retransmission (1 s): that one is dropped too.
    const v6 = await connectMs({ host: "::1", port }, 1500);
    v6.socket.destroy();
    expect(v6.ms, "connect to [::1] completed").toBeUndefined();
    const v4 = await connectMs({ host: "127.0.0.1", port }, 5000);
    v4.socket.destroy();
    expect(v4.ms).toBeDefined();

    const lookup = (_h: string, _o: unknown, cb: (e: null, a: unknown[]) => void) => cb(null, pin!.addresses);
    const both = await connectMs({ host: url.hostname, port, lookup: lookup as never }, 5000);
    const attempted = (both.socket as { autoSelectFamilyAttemptedAddresses?: string[] })
      .autoSelectFamilyAttemptedAddresses;
    both.socket.destroy();
    console.log(
      `broken-ipv6 lab socket check: [::1] no connect in 1.5 s, 127.0.0.1 ${v4.ms?.toFixed(1)} ms, both ${both.ms?.toFixed(1)} ms via ${attempted?.join(" → ")}`,
    );
    expect(attempted).toEqual([`::1:${port}`, `127.0.0.1:${port}`]);
    expect(both.ms).toBeGreaterThanOrEqual(ATTEMPT_MS - 5);
  });
  it("the prober records the DNS answer and the addresses Happy Eyeballs tried, on new connections only", async () => {
    const prober = createProber({
      resolve: lab!.resolve,
      maxBodyBytes: 1 << 20,
      insecureTls: false,
      userAgent: "stallwatch-test",
    });
    const target = {
      api: "lab",
      route: "custom-domain",
      endpoint: "/",
      url: `${lab!.routes["custom-domain"]}/`,
      method: "GET",
      headers: {},
      secretHeaders: [],
      timeoutMs: 10_000,
    };
    try {
      const fresh = await prober.probe(target, { connection: "fresh" });
      const first = await prober.probe(target, { connection: "reuse" });
      const reused = await prober.probe(target, { connection: "reuse" });
      for (const r of [fresh, first]) {
        expect(r.ok).toBe(true);
        expect(r.resolvedAddresses).toEqual(["::1", "127.0.0.1"]);
        expect(r.connectAttempts).toEqual(["::1", "127.0.0.1"]);
        expect(r.remoteFamily).toBe("IPv4");
        expect(r.phasesMs.connect ?? 0).toBeGreaterThanOrEqual(ATTEMPT_MS - 5);
      }
      expect(reused.reused).toBe(true);
      expect(reused.connectAttempts).toBeUndefined();
      expect(reused.resolvedAddresses).toBeUndefined();
    } finally {
      await prober.close();
    }
  });
});

describe("report --lab broken-ipv6, three runs", { timeout: 120_000 }, () => {
  const reports: Report[] = [];
  beforeAll(async () => {
    // One after the other: three labs side by side on a loaded 2-core machine slow the lab's own hops past the
    // stall rule's 5 × p25, which hides a 250 ms stall (measured: 0 stalls in one of three parallel runs).
    for (let i = 0; i < 3; i++) reports.push(await labReport("broken-ipv6", ["--count", "4"]));
    for (const [i, r] of reports.entries()) {
      const own = r.stalls.filter((s) => s.cause === "ipv6-fallback");
      const causes: Record<string, number> = {};
      for (const s of r.stalls) causes[s.cause] = (causes[s.cause] ?? 0) + 1;
      console.log(
        `${verdictLine(`broken-ipv6 run ${i + 1}`, r)}; causes ${JSON.stringify(causes)}; ipv6-fallback connect ms ${own
          .map((s) => Math.round(s.phasesMs.connect ?? 0))
          .join(", ")}`,
      );
    }
  }, 120_000);

  it.each([0, 1, 2])("run %i: the verdict is ipv6-fallback; the count invariant holds", (i) => {
    const r = reports[i]!;
    expectOneCount(r);
    expect(r.verdict?.cause, JSON.stringify(r.findings, null, 1)).toBe("ipv6-fallback");
    expect(r.verdict?.where).toBe("cdn.stallwatch-lab.test → ::1 (IPv6)");
    expect(r.verdict?.evidence.map((e) => e.text).join("\n")).toMatch(
      new RegExp(`falls back to the other address family after ${ATTEMPT_MS} ms`),
    );
    for (const s of r.stalls.filter((x) => x.cause === "ipv6-fallback")) {
      // Only new connections to the dual-stack name, each at least the attempt timeout in connect.
      expect(s.route).toBe("custom-domain");
      expect(s.reused).toBe(false);
      expect(s.phasesMs.connect ?? 0).toBeGreaterThanOrEqual(ATTEMPT_MS - 5);
    }
  });
});
