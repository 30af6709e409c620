// Shared helpers for `npm run bench`: statistics, tables, the machine's
// description, child processes that print one JSON line, a throwaway CA.
// Plain Node ESM against the built dist/ (run `npm run build` first).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, hostname, loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/**
 * The build under test: dist/, or BENCH_DIST (a private build of the same
 * sources, for when dist/ is being rebuilt by other work during a run).
 */
export const DIST = process.env.BENCH_DIST ?? join(ROOT, "dist");
export const CLI = join(DIST, "cli/main.js");
/** One measured load run in a process of its own (bare undici, stallwatch or autocannon). */
export const LOAD_CHILD = join(ROOT, "bench/load-child.mjs");
export const QUICK = process.env.BENCH_QUICK === "1";

/** The q-quantile (0..1) of numbers, linear interpolation between ranks. */
export function quantile(values, q) {
  const v = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

export const median = (values) => quantile(values, 0.5);
export const mean = (values) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

/** Formats a number with a fixed count of decimals; NaN/undefined becomes "–". */
export function fmt(n, decimals = 2) {
  if (n === undefined || n === null || !Number.isFinite(n)) return "–";
  return n.toFixed(decimals);
}

/** Signed number: "+1.23" / "-0.40". */
export function fmtSigned(n, decimals = 2) {
  if (!Number.isFinite(n)) return "–";
  return (n >= 0 ? "+" : "") + n.toFixed(decimals);
}

/** A ratio as "0.93×". */
export function fmtRatio(n) {
  return Number.isFinite(n) ? `${n.toFixed(2)}×` : "–";
}

/** A GitHub-flavoured Markdown table; every cell is stringified, columns padded for the terminal. */
export function mdTable(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c)));
  const widths = header.map((_, i) => Math.max(3, ...all.map((r) => (r[i] ?? "").length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const sep = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(all[0]), sep, ...all.slice(1).map(line)].join("\n");
}

/** CPU model, cores, memory, Node and kernel versions, load average now. */
export function machine() {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const m = /^model name\s*:\s*(.+)$/m.exec(info);
    if (m?.[1]) model = m[1].trim();
  } catch {
    /* not Linux */
  }
  let kernel = "";
  try {
    kernel = execFileSync("uname", ["-sr"], { encoding: "utf8" }).trim();
  } catch {
    /* no uname */
  }
  let curl = "";
  try {
    curl = execFileSync("curl", ["--version"], { encoding: "utf8" }).split("\n")[0] ?? "";
  } catch {
    /* no curl */
  }
  return {
    cpu: model,
    cores: cpus().length,
    node: process.version,
    kernel,
    curl,
    loadavg: loadavg()
      .map((l) => l.toFixed(2))
      .join(", "),
  };
}

/**
 * Runs `node <script> <args>` and resolves with the JSON object its last
 * stdout line holds. Rejects with stderr when it fails or outlives timeoutMs.
 */
export function nodeJson(script, args, { timeoutMs = 300_000, nodeArgs = [] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split("\n").pop() ?? "";
      if (code === 0) {
        try {
          return resolve(JSON.parse(last));
        } catch {
          /* fall through */
        }
      }
      reject(new Error(`${script} ${args.join(" ")} exited ${code ?? signal}: ${err.slice(-2000) || last}`));
    });
  });
}

/** Starts bench/server.mjs in its own process (so its CPU never shares our event loop); resolves its ports. */
export async function startServerProcess({ tls = false, host = "127.0.0.1", wrap } = {}) {
  const script = join(ROOT, "bench/server.mjs");
  const args = [script, host, ...(tls ? ["--tls", tls.certFile, tls.keyFile] : [])];
  const [cmd, argv] = wrap ? wrap(process.execPath, args) : [process.execPath, args];
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let buf = "";
    const timer = setTimeout(() => reject(new Error("bench server did not start in 10 s")), 10_000);
    child.stdout.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(Number(buf.slice(0, nl)));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`bench server exited with ${code}`));
    });
  });
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    port,
    origin: `${tls ? "https" : "http"}://${hostPart}:${port}`,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

/** A self-signed certificate for 127.0.0.1, localhost and this host's name, made with the openssl CLI; `cleanup()` removes it. */
export function makeCert() {
  const own = /^[A-Za-z0-9.-]+$/.test(hostname()) ? `,DNS:${hostname()}` : "";
  const dir = mkdtempSync(join(tmpdir(), "sw-bench-cert-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=stallwatch-bench",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-addext",
      `subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1${own}`,
    ],
    { stdio: "ignore" },
  );
  return {
    dir,
    keyFile,
    certFile,
    cert: readFileSync(certFile, "utf8"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Warm a freshly started bench server before anything is measured against
 * it: its own JIT warm-up otherwise lands in whichever tool runs first (a cold
 * server answered at a third of its warm rate). A bare undici loop, unmeasured.
 */
export async function warmServer(url, { requests = 20_000 } = {}) {
  await nodeJson(LOAD_CHILD, ["bare", url, "reuse", "8", String(requests)]);
  await nodeJson(LOAD_CHILD, ["bare", url, "fresh", "1", String(Math.ceil(requests / 20))]);
}

/** A probe target as the config layer would resolve it. */
export function target(url, timeoutMs = 10_000) {
  return {
    api: "bench",
    route: "local",
    endpoint: new URL(url).pathname,
    url,
    method: "GET",
    headers: {},
    secretHeaders: [],
    timeoutMs,
  };
}

/** True when a command is on PATH. */
export function has(cmd) {
  try {
    execFileSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
