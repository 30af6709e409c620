/**
 * Real kernel faults on both hops, diagnosed end to end: the built CLI runs inside a network namespace of our own
 * where iptables loses exactly 1, 2 or 3 SYNs in a row, or DNS queries, on 127.0.0.1 only:
 *
 * - on the prober's own hop (prober → backend): lost SYNs show in the connect phase, lost queries in DNS;
 * - on a hidden hop (prober → a local reverse proxy that opens a new upstream connection and resolves the backend's
 *   name per request → backend): the same losses show only as TTFB stalls of the retransmission level or the
 *   resolver's 5 s timeout, with a quick connect;
 * - a healthy stack through the same proxy.
 *
 * Every case first checks that its fault is real in the raw phases (how many SYNs each stalled connection lost,
 * read off the kernel's own retransmission levels from src/system/tcp-syn.ts), then the attribution: every fault
 * stall's cause is the expected finding, that finding is on top and is the verdict, and `findings[].stalls` lists
 * exactly the stalls with that cause. Skipped, with the reason, where namespaces cannot be made (not root,
 * iptables, its `recent` match or dnsmasq missing: see scripts/install-system-deps.sh).
 */
import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Report, StallReport } from "../../src/model.js";
import { parseSynSysctls, synLevelsMs } from "../../src/system/tcp-syn.js";
import {
  createNetns,
  firstLine,
  loseInARow,
  type Netns,
  netnsSupport,
  type PlannedLoss,
  reportInNetns,
  stallCauses,
} from "../helpers/netns.js";

const root = join(import.meta.dirname, "../..");
const serverScript = join(root, "test/fixtures/netns-server.mjs");
const proxyScript = join(root, "test/fixtures/netns-proxy.mjs");

const whyNot = netnsSupport({ dns: true, matches: ["recent", "statistic"] });
if (whyNot) console.warn(`kernel-fault v2 tests skipped: ${whyNot}`);

/** A measured stall sits on a level when it is at most this much below it (clock reads) or above it (timer slack, load). */
const BELOW_MS = 100;
const ABOVE_MS = 450;
/** The glibc resolver's default per-try timeout (no `options timeout:` in resolv.conf). */
const GLIBC_TIMEOUT_MS = 5000;
/** Not a stall: the quick phases of a fault stall stay under the stall rule's floor. */
const QUICK_MS = 250;

async function start(
  ns: Netns,
  script: string,
  args: string[],
): Promise<{ port: number; child: ChildProcess }> {
  const child = ns.spawn(process.execPath, [script, ...args]);
  return { port: Number(await firstLine(child)), child };
}

/**
 * Starts the proxy in front of `upstream` and sends it two requests, so its own first-request costs (module loading,
 * JIT) are paid before the measured run, as a long-running gateway has paid them; the loss rules come after.
 */
async function startProxy(ns: Netns, upstream: string): Promise<number> {
  const { port } = await start(ns, proxyScript, [upstream, "127.0.0.1"]);
  const get = `require("http").get("http://127.0.0.1:${port}/", (r) => { r.resume(); r.on("end", next); })`;
  ns.exec(process.execPath, ["-e", `let n = 2; const next = () => n-- > 0 && ${get}; next();`]);
  return port;
}

/** The host's SYN levels as the namespace's kernel has them (its own sysctls), in ms. */
function nsSynLevels(ns: Netns): number[] {
  const read = (name: string) => {
    const out = ns.exec("sh", ["-c", `cat /proc/sys/net/ipv4/${name} 2>/dev/null || true`]);
    return out.trim() === "" ? undefined : out;
  };
  return synLevelsMs(
    parseSynSysctls({ linearTimeouts: read("tcp_syn_linear_timeouts"), retries: read("tcp_syn_retries") }),
  );
}

function shuffled<T>(xs: T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** A run of `lost` losses for each entry of `runs`, at random distinct positions in [from, to). */
function randomPlan(from: number, to: number, runs: number[]): PlannedLoss[] {
  const positions = shuffled(Array.from({ length: to - from }, (_, i) => from + i));
  return runs
    .map((lost, i) => ({ position: positions[i] as number, lost }))
    .sort((a, b) => a.position - b.position);
}

/**
 * `count` single losses from position `from` on, 4 or 5 fresh packets apart: a lookup that lost a query sends at
 * most 3 fresh ones (the lost one, then the retries; its partner query right after the loss is not fresh), so each
 * loss lands in a lookup of its own whether lookups send 1 query (A) or 2 (A and AAAA).
 */
function spacedPlan(from: number, count: number): PlannedLoss[] {
  return Array.from({ length: count }, (_, i) => ({
    position: from + i * 5 + Math.floor(Math.random() * 2),
    lost: 1,
  }));
}

function firstLevel(levels: number[]): number {
  expect(levels.length).toBeGreaterThanOrEqual(3);
  return levels[0] as number;
}

/** Index of the level `ms` sits on (see BELOW_MS/ABOVE_MS), or -1. */
function levelOf(ms: number, levels: number[]): number {
  return levels.findIndex((l) => ms >= l - BELOW_MS && ms <= l + ABOVE_MS);
}

function countBy<T>(xs: T[], key: (x: T) => number): Record<number, number> {
  const out: Record<number, number> = {};
  for (const x of xs) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

const round = (ms: number | undefined) => Math.round(ms ?? Number.NaN);

/** The series' typical time to first byte: its median (the faults stall fewer than half of the requests). */
function typicalTtfb(report: Report): number {
  const series = report.series.filter((s) => s.connection === "fresh");
  expect(series).toHaveLength(1);
  const p50 = series[0]?.latencyMs.ttfb?.p50;
  expect(p50).toBeDefined();
  return p50 as number;
}

interface CaseRun {
  report: Report;
  faultStalls: StallReport[];
}

/** Prints the case's line for the closing note: requests, stalls, stalls attributed right. */
function printCase(name: string, run: CaseRun, id: string): void {
  const right = run.faultStalls.filter((s) => s.cause === id).length;
  const others = run.report.stalls.filter((s) => !run.faultStalls.includes(s));
  if (others.length > 0) {
    const show = (s: StallReport) =>
      `#${s.seq} ${s.phase} ${round(s.totalMs)} ms ${JSON.stringify(s.phasesMs)} ${s.cause}`;
    console.log(`${name}: other stalls: ${others.map(show).join("; ")}`);
  }
  console.log(
    `${name}: ${run.report.totals.requests} requests, ${run.report.stalls.length} stalls, ` +
      `${right} of ${run.faultStalls.length} fault stalls attributed right (${id}); ` +
      `causes ${JSON.stringify(stallCauses(run.report))}, ` +
      `top finding ${run.report.findings[0]?.id ?? "none"}, verdict ${run.report.verdict?.cause ?? "none"}`,
  );
}

/**
 * The contract with the diagnosis: every fault stall is attributed to `id` (anything else that stalled is
 * stallwatch's own pause, client-lag), `id` is the top finding and the verdict, and each finding lists exactly the
 * stalls whose cause it is.
 */
function expectDiagnosed(run: CaseRun, id: string): void {
  const { report, faultStalls } = run;
  const why = JSON.stringify({ findings: report.findings, verdict: report.verdict }, null, 1);
  expect(
    faultStalls.map((s) => [s.seq, s.cause]),
    why,
  ).toEqual(faultStalls.map((s) => [s.seq, id]));
  for (const s of report.stalls.filter((x) => !faultStalls.includes(x)))
    expect(s.cause, why).toBe("client-lag");
  expect(report.findings[0]?.id, why).toBe(id);
  expect(report.verdict?.cause, why).toBe(id);
  for (const f of report.findings) {
    const own = report.stalls.filter((s) => s.cause === f.id).map((s) => s.seq);
    expect(
      [...f.stalls].sort((a, b) => a - b),
      `${f.id}.stalls`,
    ).toEqual(own.sort((a, b) => a - b));
  }
}

describe.skipIf(whyNot !== undefined)("kernel faults on the prober's hop and a hidden hop (netns)", () => {
  describe("1, 2 and 3 SYNs lost in a row on the prober's own hop", () => {
    const id = "tcp-syn-retransmit";
    let ns: Netns | undefined;
    let run: CaseRun;
    let levels: number[];
    const runs = [1, 1, 1, 2, 2, 2, 3, 3, 3];
    const plan = randomPlan(1, 24, runs);

    beforeAll(async () => {
      ns = createNetns();
      levels = nsSynLevels(ns);
      const { port } = await start(ns, serverScript, ["127.0.0.1"]);
      loseInARow(ns, "synloss", ["-p", "tcp", "--syn", "--dport", String(port)], plan);
      const report = reportInNetns(ns, [
        "--url",
        `http://127.0.0.1:${port}/`,
        "--count",
        "24",
        "--connection",
        "fresh",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ]);
      const faultStalls = report.stalls.filter(
        (s) => (s.phasesMs.connect ?? 0) > firstLevel(levels) - BELOW_MS,
      );
      run = { report, faultStalls };
      console.log(
        `own-hop SYN loss raw: plan ${JSON.stringify(plan)}, SYN levels ${levels.slice(0, 3).join("/")} ms, connect ms ` +
          faultStalls.map((s) => `#${s.seq} ${round(s.phasesMs.connect)}`).join(", "),
      );
      printCase("own-hop SYN loss", run, id);
    }, 90_000);
    afterAll(() => ns?.destroy());

    it("the fault is real: each stalled connect sits on the kernel's level for 1, 2 or 3 lost SYNs", () => {
      const { report, faultStalls } = run;
      expect(report.totals.requests).toBe(24);
      expect(report.totals.failed).toBe(0);
      for (const s of faultStalls) {
        expect(s.phase).toBe("connect");
        expect(
          levelOf(s.phasesMs.connect ?? 0, levels),
          `connect ${s.phasesMs.connect} ms`,
        ).toBeGreaterThanOrEqual(0);
      }
      // Exactly the planned number of connections lost exactly 1, 2 and 3 SYNs.
      expect(countBy(faultStalls, (s) => levelOf(s.phasesMs.connect ?? 0, levels) + 1)).toEqual(
        countBy(plan, (p) => p.lost),
      );
    });

    it(`is diagnosed as ${id}`, () => expectDiagnosed(run, id));
  });

  describe("the SYN levels src/system/tcp-syn.ts computes are the kernel's", () => {
    const namespaces: Netns[] = [];
    afterAll(() => {
      for (const ns of namespaces) ns.destroy();
    });

    /**
     * In a namespace of its own, sets its SYN sysctls, loses `lost[i]` SYNs of the i-th of sequential connects and
     * returns each connect's time beside the level the module computes for it. Where the two readings of
     * tcp_syn_linear_timeouts part (N + 1 timeouts of 1 s before doubling, as measured, or N), the levels differ by
     * a second or more: N = 1, 2 lost → 2 s (3 s if N); N = 4, 5 lost → 5 s (6 s if N).
     */
    async function connectTimes(linear: number, lost: number[]): Promise<{ ms: number; level: number }[]> {
      const ns = createNetns();
      namespaces.push(ns);
      ns.exec("sh", ["-c", `echo ${linear} > /proc/sys/net/ipv4/tcp_syn_linear_timeouts`]);
      const levels = nsSynLevels(ns);
      const { port } = await start(ns, serverScript, ["127.0.0.1"]);
      loseInARow(
        ns,
        "synloss",
        ["-p", "tcp", "--syn", "--dport", String(port)],
        lost.map((k, position) => ({ position, lost: k })),
      );
      const script =
        `const net = require("net"); const out = []; const one = (i) => { if (i === ${lost.length}) ` +
        `return console.log(JSON.stringify(out)); const t = performance.now(); ` +
        `const s = net.connect(${port}, "127.0.0.1", () => { out.push(performance.now() - t); s.destroy(); one(i + 1); }); }; one(0);`;
      const times = JSON.parse(await ns.execAsync(process.execPath, ["-e", script])) as number[];
      return times.map((ms, i) => ({ ms, level: levels[(lost[i] as number) - 1] as number }));
    }

    it.skipIf(!existsSync("/proc/sys/net/ipv4/tcp_syn_linear_timeouts"))(
      "with and without linear timeouts, a connect that lost k SYNs takes the k-th level",
      async () => {
        // Three namespaces at once: each kernel's timers run on their own. Only here: raw connects, no CLI, nothing
        // that a busy CPU could turn into a stall. The CLI cases run one at a time: run side by side, their CLIs'
        // start-ups starved each other's early requests (a 1 s SYN level measured +250 ms; a 364 ms TTFB blamed on the
        // backend), failing 3 of 7 runs beside lab-verdict-keepalive where one at a time failed none of 2.
        const [n0, n1, n4] = await Promise.all([
          connectTimes(0, [2]),
          connectTimes(1, [2, 3]),
          connectTimes(4, [5]),
        ]);
        const measured = [
          ...n0.map((m) => ({ ...m, linear: 0, lost: 2 })),
          ...n1.map((m, i) => ({ ...m, linear: 1, lost: i + 2 })),
          ...n4.map((m) => ({ ...m, linear: 4, lost: 5 })),
        ];
        console.log(
          `SYN levels: ${measured.map((m) => `N=${m.linear} ${m.lost} lost: ${round(m.ms)} ms (level ${m.level})`).join("; ")}`,
        );
        expect(measured.map((m) => m.level)).toEqual([3000, 2000, 4000, 5000]);
        for (const m of measured) expect(levelOf(m.ms, [m.level]), `${round(m.ms)} ms`).toBe(0);
      },
      60_000,
    );
  });

  describe("1, 2 and 3 SYNs lost in a row on the hidden hop behind a proxy", () => {
    const id = "hidden-hop-syn-retransmit";
    let ns: Netns | undefined;
    let run: CaseRun;
    let levels: number[];
    let typical: number;
    const runs = [1, 1, 1, 2, 2, 2, 3, 3, 3];
    const plan = randomPlan(1, 24, runs);
    const excess = (s: StallReport) => (s.phasesMs.ttfb ?? 0) - typical;

    beforeAll(async () => {
      ns = createNetns();
      // The proxy runs on the same kernel: its SYNs follow the same schedule.
      levels = nsSynLevels(ns);
      const backend = await start(ns, serverScript, ["127.0.0.1"]);
      const proxyPort = await startProxy(ns, `http://127.0.0.1:${backend.port}`);
      loseInARow(ns, "synloss", ["-p", "tcp", "--syn", "--dport", String(backend.port)], plan);
      const report = reportInNetns(ns, [
        "--url",
        `http://127.0.0.1:${proxyPort}/`,
        "--count",
        "24",
        "--connection",
        "fresh",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ]);
      typical = typicalTtfb(report);
      const faultStalls = report.stalls.filter((s) => excess(s) > firstLevel(levels) - BELOW_MS);
      run = { report, faultStalls };
      console.log(
        `hidden-hop SYN loss raw: plan ${JSON.stringify(plan)}, typical ttfb ${typical.toFixed(1)} ms, ` +
          `ttfb/connect ms ${faultStalls.map((s) => `#${s.seq} ${round(s.phasesMs.ttfb)}/${round(s.phasesMs.connect)}`).join(", ")}`,
      );
      printCase("hidden-hop SYN loss", run, id);
    }, 90_000);
    afterAll(() => ns?.destroy());

    it("the fault is real: TTFB exceeds the typical by the level for 1, 2 or 3 lost SYNs; connect stays quick", () => {
      const { report, faultStalls } = run;
      expect(report.totals.requests).toBe(24);
      expect(report.totals.failed).toBe(0);
      for (const s of faultStalls) {
        expect(s.phase).toBe("ttfb");
        expect(s.phasesMs.connect ?? 0).toBeLessThan(QUICK_MS);
        expect(levelOf(excess(s), levels), `ttfb ${s.phasesMs.ttfb} ms`).toBeGreaterThanOrEqual(0);
      }
      expect(countBy(faultStalls, (s) => levelOf(excess(s), levels) + 1)).toEqual(
        countBy(plan, (p) => p.lost),
      );
    });

    it(`is diagnosed as ${id}`, () => expectDiagnosed(run, id));
  });

  describe("DNS queries lost on the prober's own hop", () => {
    const id = "dns-resolver-timeout";
    const timeoutMs = 1000;
    let ns: Netns | undefined;
    let run: CaseRun;
    // 4 losses among the first 18 queries: within the 20 lookups, each in a lookup of its own.
    const plan = spacedPlan(2, 4);

    beforeAll(async () => {
      ns = createNetns();
      await ns.startResolver(["api.stallwatch.test"], `timeout:${timeoutMs / 1000} attempts:3`);
      const { port } = await start(ns, serverScript, ["127.0.0.1"]);
      loseInARow(ns, "dnsloss", ["-p", "udp", "--dport", "53"], plan);
      const report = reportInNetns(ns, [
        "--url",
        `http://api.stallwatch.test:${port}/`,
        "--count",
        "20",
        "--connection",
        "fresh",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ]);
      const faultStalls = report.stalls.filter((s) => (s.phasesMs.dns ?? 0) > timeoutMs - BELOW_MS);
      run = { report, faultStalls };
      console.log(
        `own-hop DNS loss raw: plan ${JSON.stringify(plan)}, dns ms ` +
          faultStalls.map((s) => `#${s.seq} ${round(s.phasesMs.dns)}`).join(", "),
      );
      printCase("own-hop DNS loss", run, id);
    }, 90_000);
    afterAll(() => ns?.destroy());

    it("the fault is real: each lost query costs one resolver timeout in DNS", () => {
      const { report, faultStalls } = run;
      expect(report.totals.requests).toBe(20);
      expect(report.totals.failed).toBe(0);
      expect(faultStalls).toHaveLength(plan.length);
      for (const s of faultStalls) {
        expect(s.phase).toBe("dns");
        expect(levelOf(s.phasesMs.dns ?? 0, [timeoutMs]), `dns ${s.phasesMs.dns} ms`).toBe(0);
      }
    });

    it(`is diagnosed as ${id}`, () => expectDiagnosed(run, id));
  });

  describe("DNS queries lost on the hidden hop (the proxy resolves the backend per request)", () => {
    const id = "hidden-hop-dns-timeout";
    let ns: Netns | undefined;
    let run: CaseRun;
    let typical: number;
    // One A query per request (the proxy asks for IPv4 only): position = request.
    const plan = randomPlan(1, 12, [1, 1, 1]);
    const excess = (s: StallReport) => (s.phasesMs.ttfb ?? 0) - typical;

    beforeAll(async () => {
      ns = createNetns();
      // glibc's defaults, spelled out: a lost query costs the proxy 5 s.
      await ns.startResolver(["backend.stallwatch.test"], "timeout:5 attempts:2");
      const backend = await start(ns, serverScript, ["127.0.0.1"]);
      const proxyPort = await startProxy(ns, `http://backend.stallwatch.test:${backend.port}`);
      loseInARow(ns, "dnsloss", ["-p", "udp", "--dport", "53"], plan);
      // The prober talks to the proxy by address: every lookup in the namespace is the proxy's.
      const report = reportInNetns(ns, [
        "--url",
        `http://127.0.0.1:${proxyPort}/`,
        "--count",
        "12",
        "--connection",
        "fresh",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ]);
      typical = typicalTtfb(report);
      const faultStalls = report.stalls.filter((s) => excess(s) > GLIBC_TIMEOUT_MS - BELOW_MS);
      run = { report, faultStalls };
      console.log(
        `hidden-hop DNS loss raw: plan ${JSON.stringify(plan)}, typical ttfb ${typical.toFixed(1)} ms, ttfb/connect ms ` +
          faultStalls
            .map((s) => `#${s.seq} ${round(s.phasesMs.ttfb)}/${round(s.phasesMs.connect)}`)
            .join(", "),
      );
      printCase("hidden-hop DNS loss", run, id);
    }, 90_000);
    afterAll(() => ns?.destroy());

    it("the fault is real: TTFB exceeds the typical by the resolver's 5 s timeout; connect stays quick", () => {
      const { report, faultStalls } = run;
      expect(report.totals.requests).toBe(12);
      expect(report.totals.failed).toBe(0);
      expect(faultStalls).toHaveLength(plan.length);
      for (const s of faultStalls) {
        expect(s.phase).toBe("ttfb");
        expect(s.phasesMs.connect ?? 0).toBeLessThan(QUICK_MS);
        expect(levelOf(excess(s), [GLIBC_TIMEOUT_MS]), `ttfb ${s.phasesMs.ttfb} ms`).toBe(0);
      }
    });

    it(`is diagnosed as ${id}`, () => expectDiagnosed(run, id));
  });

  describe("the same stack without faults (names on both hops, through the proxy)", () => {
    let ns: Netns | undefined;
    let report: Report;

    beforeAll(async () => {
      ns = createNetns();
      await ns.startResolver(["api.stallwatch.test", "backend.stallwatch.test"], "timeout:5 attempts:2");
      const backend = await start(ns, serverScript, ["127.0.0.1"]);
      const proxyPort = await startProxy(ns, `http://backend.stallwatch.test:${backend.port}`);
      report = reportInNetns(ns, [
        "--url",
        `http://api.stallwatch.test:${proxyPort}/`,
        "--count",
        "20",
        "--connection",
        "both",
        "--concurrency",
        "1",
        "--timeout-ms",
        "10000",
      ]);
      console.log(
        `healthy stack: ${report.totals.requests} requests, ${report.stalls.length} stalls, ` +
          `causes ${JSON.stringify(stallCauses(report))}, findings ${JSON.stringify(report.findings.map((f) => f.id))}, ` +
          `verdict ${report.verdict?.cause ?? "none"}`,
      );
    }, 90_000);
    afterAll(() => ns?.destroy());

    it("every request passes; no phase took anywhere near a retransmission or resolver timeout", () => {
      expect(report.totals.requests).toBe(40);
      expect(report.totals.failed).toBe(0);
      for (const s of report.stalls) {
        for (const phase of ["dns", "connect", "ttfb"] as const)
          expect(s.phasesMs[phase] ?? 0).toBeLessThan(900);
      }
    });

    it("no findings, no verdict, no stall blamed on the network", () => {
      for (const s of report.stalls) expect(s.cause).toBe("client-lag");
      expect(report.findings, JSON.stringify(report.findings, null, 1)).toEqual([]);
      expect(report.verdict).toBeUndefined();
    });
  });
});
