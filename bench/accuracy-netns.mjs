// Benchmark 1b: a real 1 s connect stall. Inside a network namespace of our
// own, iptables drops every other SYN to the bench server (statistic nth,
// every 2, packet 0), so each new connection loses its first SYN and waits for
// the kernel's 1 s initial retransmission timeout. The built CLI
// (`node dist/cli/main.js report --url … --json --count 1 --connection fresh`)
// and curl run inside the namespace, interleaved, one connection each.
// Needs root, `ip` and `iptables`; otherwise skipped with the reason.
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { comparePairs, curlPhases, withUnattributed } from "./accuracy.mjs";
import { CLI, has, startServerProcess } from "./lib.mjs";

const run = promisify(execFile);

/** undefined when a namespace with iptables can be made here, else why not. */
export function netnsWhyNot() {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  for (const cmd of ["ip", "iptables", "curl"]) if (!has(cmd)) return `'${cmd}' is not installed`;
  const name = `swbprobe${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", name], { stdio: "pipe" });
    execFileSync("ip", ["netns", "exec", name, "iptables", "-L", "-n"], { stdio: "pipe" });
  } catch (err) {
    return `cannot create a network namespace with iptables: ${String(err.message).split("\n")[0]}`;
  } finally {
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    } catch {
      /* never created */
    }
  }
  return undefined;
}

async function inNs(ns, cmd, args) {
  try {
    const { stdout } = await run("ip", ["netns", "exec", ns, cmd, ...args], { timeout: 60_000 });
    return stdout;
  } catch (err) {
    // The CLI exits non-zero when its report is unhealthy; its JSON is still on stdout.
    if (err.stdout) return err.stdout;
    throw err;
  }
}

/** Phases of the single request a `report --count 1 --json` made (from its HdrHistograms: ≤0.1% value error). */
function phasesOfReport(json) {
  const report = JSON.parse(json);
  const s = report.series?.[0];
  if (s?.ok !== 1) throw new Error(`stallwatch request failed: ${JSON.stringify(report.failures)}`);
  const p = {};
  for (const [phase, stats] of Object.entries(s.latencyMs)) p[phase] = stats.max;
  return p;
}

export async function kernelConnectAccuracy(log, n) {
  const why = netnsWhyNot();
  if (why) {
    log(`  accuracy netns: skipped (${why})`);
    return { note: `skipped: ${why}` };
  }
  const ns = `swbench${process.pid}`;
  execFileSync("ip", ["netns", "add", ns]);
  let server;
  try {
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    server = await startServerProcess({ wrap: (node, args) => ["ip", ["netns", "exec", ns, node, ...args]] });
    const port = String(server.port);
    execFileSync("ip", [
      "netns",
      "exec",
      ns,
      "iptables",
      "-w",
      "-A",
      "INPUT",
      "-p",
      "tcp",
      "--syn",
      "--dport",
      port,
      "-m",
      "statistic",
      "--mode",
      "nth",
      "--every",
      "2",
      "--packet",
      "0",
      "-j",
      "DROP",
    ]);
    const url = `http://127.0.0.1:${port}/`;
    const sw = async () =>
      phasesOfReport(
        await inNs(ns, process.execPath, [
          CLI,
          "report",
          "--url",
          url,
          "--json",
          "--no-progress",
          "--count",
          "1",
          "--connection",
          "fresh",
          "--timeout-ms",
          "10000",
        ]),
      );
    const curl = async () =>
      curlPhases(
        await inNs(ns, "curl", [
          "-sS",
          "-o",
          "/dev/null",
          "--http1.1",
          "-w",
          "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}",
          url,
        ]),
        false,
      );
    const pairs = [];
    for (let i = 0; i < n; i++) {
      let a;
      let b;
      if (i % 2 === 0) {
        a = await sw();
        b = await curl();
      } else {
        b = await curl();
        a = await sw();
      }
      pairs.push({ sw: withUnattributed(a), curl: withUnattributed(b) });
    }
    log(`  accuracy netns: ${n} pairs with the first SYN of every connection dropped`);
    const stalled = pairs.filter((p) => p.sw.connect > 900 && p.curl.connect > 900).length;
    return {
      rows: comparePairs(pairs),
      note: `${stalled} of ${n} pairs showed the ~1 s SYN retransmission in both tools' connect phase`,
    };
  } finally {
    await server?.stop();
    try {
      for (const pid of execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n")) {
        if (pid) process.kill(Number(pid), "SIGKILL");
      }
    } catch {
      /* gone */
    }
    execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
  }
}
