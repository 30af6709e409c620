import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  hostSynSchedule,
  parseSynSysctls,
  remoteSynSchedules,
  type SynSchedule,
  synGiveUpMs,
  synLevelsMs,
} from "../../src/system/tcp-syn.js";

const s = (linearTimeouts: number, retries: number, initialRtoMs = 1000): SynSchedule => ({
  name: "t",
  initialRtoMs,
  linearTimeouts,
  retries,
  maxRtoMs: 120_000,
  source: "test",
});
const seconds = (ms: number[]) => ms.map((x) => x / 1000);

describe("SYN retransmission levels", () => {
  // Each row is a schedule measured with tcpdump in a network namespace (see the module's doc comment).
  it("classic Linux (no linear timeouts): 1, 3, 7, 15, 31, 63 s, giving up at 127 s", () => {
    expect(seconds(synLevelsMs(s(0, 6)))).toEqual([1, 3, 7, 15, 31, 63]);
    expect(synGiveUpMs(s(0, 6))).toBe(127_000);
  });
  it("linear-first: N + 1 timeouts of the initial RTO, then doubling, within the classic time budget", () => {
    expect(seconds(synLevelsMs(s(4, 6)))).toEqual([1, 2, 3, 4, 5, 7, 11, 19, 35, 67]);
    expect(seconds(synLevelsMs(s(2, 3)))).toEqual([1, 2, 3, 5, 9]);
    expect(seconds(synLevelsMs(s(4, 3)))).toEqual([1, 2, 3, 4, 5, 7, 11]);
    expect(synGiveUpMs(s(4, 3))).toBe(15_000);
  });
  it("a 3 s initial RTO: 3, 9, 21 s …", () => {
    expect(seconds(synLevelsMs(s(0, 5, 3000)))).toEqual([3, 9, 21, 45, 93]);
    expect(seconds(synLevelsMs(s(0, 2, 3000)))).toEqual([3, 9]);
  });
  it("caps each timeout at the maximum RTO and adds whole maxima to the budget past it", () => {
    const long = s(0, 8);
    // Steps 1, 2, 4 … 64 s, then 120 s (not 128); budget 127 s + 2 × 120 s.
    expect(synGiveUpMs(long)).toBe(367_000);
    expect(seconds(synLevelsMs(long))).toEqual([1, 3, 7, 15, 31, 63, 127, 247]);
  });
  it("no retries: no levels", () => {
    expect(synLevelsMs(s(4, 0))).toEqual([]);
  });
  it("remote schedules: classic, linear-first (host's N or 4) and 3 s", () => {
    const [classic, linear, rto3] = remoteSynSchedules();
    expect(seconds(synLevelsMs(classic as SynSchedule)).slice(0, 5)).toEqual([1, 3, 7, 15, 31]);
    expect(seconds(synLevelsMs(linear as SynSchedule)).slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(seconds(synLevelsMs(rto3 as SynSchedule)).slice(0, 3)).toEqual([3, 9, 21]);
    expect(remoteSynSchedules(s(2, 6))[1]?.linearTimeouts).toBe(2);
    expect(remoteSynSchedules(s(0, 6))[1]?.linearTimeouts).toBe(4);
  });
});

describe("reading the sysctls", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("absent tcp_syn_linear_timeouts (older kernels) means 0; garbage falls back to defaults", () => {
    expect(parseSynSysctls({ retries: "5\n" })).toMatchObject({
      linearTimeouts: 0,
      retries: 5,
      maxRtoMs: 120_000,
    });
    expect(parseSynSysctls({ linearTimeouts: "x", retries: "-1", rtoMaxMs: "0" })).toMatchObject({
      linearTimeouts: 0,
      retries: 6,
      maxRtoMs: 120_000,
    });
  });
  it("reads a directory laid out like /proc/sys/net/ipv4", () => {
    dir = mkdtempSync(join(tmpdir(), "sw-syn-"));
    writeFileSync(join(dir, "tcp_syn_retries"), "3\n");
    expect(hostSynSchedule(dir)).toMatchObject({ linearTimeouts: 0, retries: 3, source: dir });
    writeFileSync(join(dir, "tcp_syn_linear_timeouts"), "2\n");
    writeFileSync(join(dir, "tcp_rto_max_ms"), "60000\n");
    const sched = hostSynSchedule(dir);
    expect(sched).toMatchObject({ linearTimeouts: 2, retries: 3, maxRtoMs: 60_000 });
    expect(seconds(synLevelsMs(sched))).toEqual([1, 2, 3, 5, 9]);
  });
  it.skipIf(!existsSync("/proc/sys/net/ipv4/tcp_syn_retries"))("reads this host's own kernel", () => {
    const proc = "/proc/sys/net/ipv4";
    const sched = hostSynSchedule();
    expect(sched.retries).toBe(Number(readFileSync(join(proc, "tcp_syn_retries"), "utf8")));
    const linearFile = join(proc, "tcp_syn_linear_timeouts");
    const n = existsSync(linearFile) ? Number(readFileSync(linearFile, "utf8")) : 0;
    expect(sched.linearTimeouts).toBe(n);
    const levels = synLevelsMs(sched);
    console.log(`host SYN schedule: N=${n} R=${sched.retries} levels ${seconds(levels).join(", ")} s`);
    // The first N + 1 levels are 1 s apart, the next one 2 s after them.
    const steps = levels.slice(1).map((x, i) => x - (levels[i] as number));
    expect(levels[0]).toBe(1000);
    expect(steps.slice(0, n)).toEqual(Array(Math.min(n, steps.length)).fill(1000));
    if (steps.length > n) expect(steps[n]).toBe(2000);
  });
});
