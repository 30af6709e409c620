// Benchmark 1, timing accuracy: stallwatch's phases beside `curl -w` for the
// same requests, interleaved, each on a fresh connection. The server runs in
// its own process; stallwatch's prober runs in this process (fresh mode, a
// new socket, lookup and TLS handshake per probe); curl is a new process per
// request. Pairs alternate which tool goes first.
//
// curl's times are cumulative from the start of the transfer; as phases:
//   dns = namelookup, connect = connect − namelookup, tls = appconnect − connect,
//   ttfb = starttransfer − pretransfer, transfer = total − starttransfer.
// stallwatch's ttfb is request sent → first byte, the same span.
import { execFile } from "node:child_process";
import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { kernelConnectAccuracy } from "./accuracy-netns.mjs";
import {
  DIST,
  fmt,
  fmtSigned,
  makeCert,
  mdTable,
  median,
  QUICK,
  quantile,
  startServerProcess,
  target,
} from "./lib.mjs";

const run = promisify(execFile);
const CURL_FORMAT =
  "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}";

/** curl's cumulative seconds → stallwatch-style phases in ms. */
export function curlPhases(line, https) {
  const [dns, connect, app, pre, start, total] = line
    .trim()
    .split(/\s+/)
    .map((s) => Number(s) * 1000);
  const p = {
    dns,
    connect: connect - dns,
    ttfb: start - pre,
    transfer: total - start,
    total,
  };
  if (https) p.tls = app - connect;
  return p;
}

export async function curlOnce(url, { https = false, caFile, extra = [] } = {}) {
  const args = ["-sS", "-o", "/dev/null", "--http1.1", "-w", CURL_FORMAT, ...extra];
  if (https && caFile) args.push("--cacert", caFile);
  const { stdout } = await run("curl", [...args, url], { timeout: 30_000 });
  return curlPhases(stdout, https);
}

const PARTS = ["dns", "connect", "tls", "ttfb", "transfer"];
const PHASES = [...PARTS, "total", "unattributed"];

/** total − the sum of the phases: time inside `total` that no phase accounts for (set-up, scheduling). */
function withUnattributed(p) {
  if (p.total === undefined) return p;
  const parts = PARTS.reduce((a, k) => a + (p[k] ?? 0), 0);
  return { ...p, unattributed: p.total - parts };
}

/** Per phase: medians of each tool, median of paired differences (sw − curl), p90 of |difference|. */
export { withUnattributed };

export function comparePairs(pairs) {
  const rows = [];
  for (const phase of PHASES) {
    const both = pairs.filter((p) => p.sw[phase] !== undefined && p.curl[phase] !== undefined);
    if (both.length === 0) continue;
    const d = both.map((p) => p.sw[phase] - p.curl[phase]);
    rows.push({
      phase,
      n: both.length,
      swMedianMs: median(both.map((p) => p.sw[phase])),
      curlMedianMs: median(both.map((p) => p.curl[phase])),
      medianDiffMs: median(d),
      p90AbsDiffMs: quantile(
        d.map((x) => Math.abs(x)),
        0.9,
      ),
    });
  }
  return rows;
}

async function pairsFor(prober, url, n, curlOpts, log) {
  const t = target(url, 20_000);
  const pairs = [];
  for (let i = -2; i < n; i++) {
    // Two warm-up pairs (JIT, first TLS context use) are discarded.
    const sw = async () => {
      const o = await prober.probe(t, { connection: "fresh" });
      if (!o.ok) throw new Error(`stallwatch probe failed: ${o.error?.code} ${o.error?.message}`);
      return o.phasesMs;
    };
    const curl = () => curlOnce(url, curlOpts);
    let a;
    let b;
    if (i % 2 === 0) {
      a = await sw();
      b = await curl();
    } else {
      b = await curl();
      a = await sw();
    }
    if (i >= 0) pairs.push({ sw: withUnattributed(a), curl: withUnattributed(b) });
  }
  log(`  accuracy ${url}: ${n} pairs`);
  return pairs;
}

export function accuracyRows(scenario, rows) {
  return rows.map((r) => [
    scenario,
    r.phase,
    r.n,
    fmt(r.swMedianMs, 3),
    fmt(r.curlMedianMs, 3),
    fmtSigned(r.medianDiffMs, 3),
    fmt(r.p90AbsDiffMs, 3),
  ]);
}

export const ACCURACY_HEADER = [
  "scenario",
  "phase",
  "n",
  "stallwatch median ms",
  "curl median ms",
  "median diff (sw − curl) ms",
  "p90 abs diff ms",
];

/**
 * A name both tools must really resolve. curl answers `localhost` itself
 * without asking the resolver, so the machine's host name is used when
 * /etc/hosts (or the resolver) maps it to 127.0.0.1 only; else `localhost`.
 */
async function pickHost() {
  const name = hostname();
  try {
    const addrs = await lookup(name, { all: true });
    if (addrs.length > 0 && addrs.every((a) => a.address === "127.0.0.1")) {
      return {
        host: name,
        note: `host name \`${name}\` (resolves to 127.0.0.1 only; both tools call getaddrinfo)`,
      };
    }
  } catch {
    /* not resolvable */
  }
  return {
    host: "localhost",
    note: "`localhost` (the host name does not resolve to 127.0.0.1 only; curl answers `localhost` without the resolver, so the dns row compares getaddrinfo with no lookup)",
  };
}

export async function benchAccuracy(log) {
  const { host, note: hostNote } = await pickHost();
  const { createProber } = await import(join(DIST, "probe/prober.js"));
  const cert = makeCert();
  const http = await startServerProcess();
  const https = await startServerProcess({ tls: cert });
  const proberOpts = { maxBodyBytes: 1 << 20, insecureTls: false, userAgent: "stallwatch-bench" };
  const plain = createProber(proberOpts);
  const secure = createProber({ ...proberOpts, ca: cert.cert });
  const n = QUICK ? { 0: 10, 50: 8, 1000: 2 } : { 0: 30, 50: 20, 1000: 6 };
  const table = [];
  const figures = {};
  try {
    for (const delay of [0, 50, 1000]) {
      const url = `http://${host}:${http.port}/d/${delay}`;
      const rows = comparePairs(await pairsFor(plain, url, n[delay], {}, log));
      figures[`http ${delay} ms`] = rows;
      table.push(...accuracyRows(`HTTP, ${delay} ms before headers`, rows));
    }
    for (const delay of [0, 50]) {
      const url = `https://${host}:${https.port}/d/${delay}`;
      const curlOpts = { https: true, caFile: cert.certFile };
      const rows = comparePairs(await pairsFor(secure, url, n[delay], curlOpts, log));
      figures[`https ${delay} ms`] = rows;
      table.push(...accuracyRows(`HTTPS, ${delay} ms before headers`, rows));
    }
  } finally {
    await plain.close();
    await secure.close();
    await http.stop();
    await https.stop();
    cert.cleanup();
  }
  let kernel;
  try {
    kernel = await kernelConnectAccuracy(log, QUICK ? 2 : 5);
  } catch (err) {
    // Keep the rest of the section: say what failed instead.
    const first = String(err?.message ?? err)
      .split("\n")
      .slice(0, 3)
      .join(" ");
    log(`  accuracy netns FAILED: ${first}`);
    kernel = { note: `FAILED in this run: ${first}` };
  }
  if (kernel.rows) table.push(...accuracyRows("HTTP, 1st SYN dropped (netns)", kernel.rows));
  figures.kernel = kernel;
  return { table: mdTable(ACCURACY_HEADER, table), figures, kernelNote: kernel.note, hostNote };
}
