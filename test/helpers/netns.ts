/**
 * Network namespaces for kernel-level faults on loopback: lost SYNs and lost
 * DNS queries made real with iptables' statistic match, a local dnsmasq as
 * the namespace's resolver. Everything stays inside a namespace of our own,
 * on 127.0.0.0/8; nothing touches the host's network.
 *
 * Needs root, `ip` (iproute2), `iptables` and, for DNS faults, `dnsmasq`
 * (scripts/install-system-deps.sh installs them). `netnsSupport()` says why
 * not when they are missing, so tests can skip with a clear message.
 */
import { type ChildProcess, execFile, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Report } from "../../src/model.js";

const CLI = join(import.meta.dirname, "../../dist/cli/main.js");

function has(cmd: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * undefined when namespaces with iptables (and the iptables `matches` asked for, e.g. `recent`) can be used here;
 * otherwise the reason they cannot.
 */
export function netnsSupport(opts: { dns?: boolean; matches?: string[] } = {}): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "network namespaces need root";
  for (const cmd of ["ip", "iptables", ...(opts.dns ? ["dnsmasq"] : [])]) {
    if (!has(cmd)) return `'${cmd}' is not installed (run scripts/install-system-deps.sh)`;
  }
  const probe = `swprobe${process.pid}`;
  let step = "cannot create a network namespace with iptables";
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
    execFileSync("ip", ["netns", "exec", probe, "iptables", "-L", "-n"], { stdio: "pipe" });
    for (const m of opts.matches ?? []) {
      step = `iptables cannot use its '${m}' match`;
      const args = ["-m", m];
      if (m === "recent") args.push("--name", "swprobe", "--rcheck");
      if (m === "statistic") args.push("--mode", "nth", "--every", "2", "--packet", "0");
      execFileSync("ip", ["netns", "exec", probe, "iptables", "-A", "INPUT", ...args], { stdio: "pipe" });
    }
  } catch (err) {
    return `${step}: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    try {
      execFileSync("ip", ["netns", "del", probe], { stdio: "ignore" });
    } catch {
      /* not created */
    }
  }
  return undefined;
}

export interface Netns {
  name: string;
  /** Runs a command inside the namespace, synchronously; returns stdout. */
  exec(cmd: string, args: string[]): string;
  /** The same without blocking the event loop (other namespaces' work goes on meanwhile); resolves to stdout. */
  execAsync(cmd: string, args: string[]): Promise<string>;
  /** Starts a long-running process inside the namespace. Killed on destroy(). */
  spawn(cmd: string, args: string[]): ChildProcess;
  iptables(args: string[]): void;
  /**
   * Starts dnsmasq on 127.0.0.1:53 answering `names` with 127.0.0.1 (or with `addresses[name]`: A and AAAA
   * records, e.g. ["127.0.0.1", "::1"]), and points the namespace's resolv.conf at it.
   */
  startResolver(
    names: string[],
    resolvOptions: string,
    addresses?: Readonly<Record<string, readonly string[]>>,
  ): Promise<void>;
  destroy(): void;
}

let counter = 0;

export function createNetns(): Netns {
  const name = `sw${process.pid}x${counter++}`;
  const children: ChildProcess[] = [];
  const etcDir = join("/etc/netns", name);
  execFileSync("ip", ["netns", "add", name]);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  const ns: Netns = {
    name,
    exec(cmd, args) {
      return execFileSync("ip", ["netns", "exec", name, cmd, ...args], { encoding: "utf8" });
    },
    execAsync(cmd, args) {
      return new Promise((resolve, reject) => {
        execFile("ip", ["netns", "exec", name, cmd, ...args], { encoding: "utf8" }, (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        );
      });
    },
    spawn(cmd, args) {
      const child = spawn("ip", ["netns", "exec", name, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      children.push(child);
      return child;
    },
    iptables(args) {
      ns.exec("iptables", ["-w", ...args]);
    },
    async startResolver(names, resolvOptions, addresses = {}) {
      mkdirSync(etcDir, { recursive: true });
      // `ip netns exec` bind-mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf.
      writeFileSync(join(etcDir, "resolv.conf"), `nameserver 127.0.0.1\noptions ${resolvOptions}\n`);
      const args = [
        "--keep-in-foreground",
        "--no-resolv",
        "--no-hosts",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--port=53",
        // No pid file: nothing else may live in /etc/netns/<name>/, `ip netns exec` bind-mounts every file there over /etc.
        "--pid-file",
        "--log-facility=-",
        // Authoritative for the names' domains, so AAAA queries get an empty answer rather than REFUSED.
        ...names.map((n) => `--local=/${n.split(".").slice(1).join(".")}/`),
        ...names.flatMap((n) => (addresses[n] ?? ["127.0.0.1"]).map((a) => `--address=/${n}/${a}`)),
      ];
      const child = ns.spawn("dnsmasq", args);
      await waitFor(() => {
        try {
          // The same resolver path the prober takes (getaddrinfo via dns.lookup); getent may skip DNS per nsswitch.
          ns.exec(process.execPath, [
            "-e",
            `require("dns").lookup(${JSON.stringify(names[0])}, (e) => process.exit(e ? 1 : 0))`,
          ]);
          return true;
        } catch {
          return false;
        }
      }, 5000);
      if (child.exitCode !== null) throw new Error(`dnsmasq exited with ${child.exitCode}`);
    },
    destroy() {
      for (const c of children) {
        if (c.exitCode === null) c.kill("SIGKILL");
      }
      try {
        execFileSync("ip", ["netns", "pids", name], { encoding: "utf8" })
          .split("\n")
          .filter(Boolean)
          .forEach((pid) => {
            try {
              process.kill(Number(pid), "SIGKILL");
            } catch {
              /* gone */
            }
          });
      } catch {
        /* namespace already gone */
      }
      try {
        execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
      } catch {
        /* already deleted */
      }
      rmSync(etcDir, { recursive: true, force: true });
    },
  };
  return ns;
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reads the first line a child prints on stdout (e.g. a server announcing its port). */
export function firstLine(child: ChildProcess, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`no output within ${timeoutMs} ms`)), timeoutMs);
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, nl));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before printing a line`));
    });
  });
}

/** One planned loss: the `position`-th fresh packet (0-based) and the `lost - 1` packets after it are dropped. */
export interface PlannedLoss {
  position: number;
  lost: number;
}

/**
 * Drops exactly `lost` packets in a row at chosen positions among the packets matching `match` on the namespace's
 * INPUT chain, so a SYN or a DNS query is lost that many times and its next retransmission gets through. Counted
 * by source address with iptables' `recent` match, so the packets' sender must go one at a time (sequential
 * requests, fresh connections): a packet is "fresh" unless it follows a loss from the same address. The chosen
 * fresh packets are picked by `statistic --mode nth` counters that every fresh packet passes (positions count from
 * the rule's creation). Each rule's hit counters can be read back with `iptables -L <chain> -v`.
 */
export function loseInARow(ns: Netns, chain: string, match: string[], plan: PlannedLoss[]): void {
  const every = String(1_000_000);
  const runs = [...new Set(plan.map((p) => p.lost))].sort((a, b) => a - b);
  const list = (k: number) => `${chain}${k}`;
  ns.iptables(["-N", chain]);
  ns.iptables(["-A", "INPUT", ...match, "-j", chain]);
  for (const k of runs) {
    // A packet after k losses from the same address passes and ends the run; one after fewer is lost too.
    ns.iptables([
      "-A",
      chain,
      ...recent(list(k), "--rcheck", "--hitcount", String(k)),
      ...recent(list(k), "--remove"),
      "-j",
      "ACCEPT",
    ]);
    ns.iptables(["-A", chain, ...recent(list(k), "--update"), "-j", "DROP"]);
  }
  // Fresh packets: the chosen ones start a run (no target: every fresh packet passes every counter).
  for (const p of plan) {
    const nth = ["-m", "statistic", "--mode", "nth", "--every", every, "--packet", String(p.position)];
    ns.iptables(["-A", chain, ...nth, ...recent(list(p.lost), "--set")]);
  }
  for (const k of runs) ns.iptables(["-A", chain, ...recent(list(k), "--rcheck"), "-j", "DROP"]);
}

function recent(name: string, ...args: string[]): string[] {
  return ["-m", "recent", "--name", name, ...args];
}

/**
 * `stallwatch report … --json` run by the built CLI inside the namespace. Exit 1 is a report with failures or
 * stalls over budget; anything else is a broken run and throws. `timeoutMs` bounds the child when given.
 */
export function reportInNetns(ns: Netns, args: string[], timeoutMs?: number): Report {
  const r = spawnSync(
    "ip",
    ["netns", "exec", ns.name, process.execPath, CLI, "report", ...args, "--json", "--no-progress"],
    { encoding: "utf8", maxBuffer: 64 << 20, ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}) },
  );
  if (r.status !== 0 && r.status !== 1) throw new Error(`report exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Report;
}

/** Stalls per cause in a report, for a test's log line. */
export function stallCauses(report: Report): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of report.stalls) out[s.cause] = (out[s.cause] ?? 0) + 1;
  return out;
}
