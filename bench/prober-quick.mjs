// Quick prober benchmark (numbers, not assertions). Run after `npm run build`:
//   node bench/prober-quick.mjs [samples]
//
// 1. Phase accuracy: stallwatch's fresh-connection phases beside
//    `curl -w` on the same server (in its own process) holding headers 300 ms,
//    over http and https (a throwaway self-signed CA), a pinned name on both
//    sides (--resolve), alternating which tool goes first.
//    curl's cumulative times as phases: dns = namelookup, connect = connect −
//    namelookup, tls = appconnect − connect, ttfb = starttransfer − pretransfer,
//    total = total.
// 2. Per-request overhead: the prober against a bare undici loop on the same
//    loopback server, sequential, reuse (one Agent) and fresh (a Client per
//    request): throughput and p50.
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Agent, Client } from "undici";
import { createProber } from "../dist/probe/prober.js";

const run = promisify(execFile);
const SAMPLES = Number(process.argv[2] ?? 15);
const OVERHEAD_N = Number(process.env.OVERHEAD_N ?? 2000);
const HOLD_MS = 300;
const NAME = "bench.example.test";

const q = (values, p) => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return Number.NaN;
  const pos = (v.length - 1) * p;
  return v[Math.floor(pos)] + (v[Math.ceil(pos)] - v[Math.floor(pos)]) * (pos - Math.floor(pos));
};
const med = (v) => q(v, 0.5);
const f = (n, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "–");

function makeCert(dir) {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=bench", "-keyout", key, "-out", cert, "-addext", `subjectAltName=DNS:${NAME},IP:127.0.0.1`,
  ], { stdio: "ignore" }); // biome-ignore format: argument list
  return { key, cert };
}

/** The server in its own process, so its work never lands in the prober's event loop. */
async function startServer(tlsFiles) {
  const code = `
    const { readFileSync } = require("node:fs");
    const handler = (req, res) => {
      const send = () => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"status":"OK"}'); };
      if (req.url === "/delay") setTimeout(send, ${HOLD_MS}); else send();
    };
    const files = ${JSON.stringify(tlsFiles ?? null)};
    const srv = files
      ? require("node:https").createServer({ key: readFileSync(files.key), cert: readFileSync(files.cert) }, handler)
      : require("node:http").createServer(handler);
    srv.keepAliveTimeout = 60000;
    srv.listen(0, "127.0.0.1", () => console.log(srv.address().port));`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve) =>
    child.stdout.once("data", (d) => resolve(Number(String(d).trim()))),
  );
  return { port, stop: () => child.kill() };
}

async function curlPhases(url, port, https, caFile) {
  const args = [
    "-sS",
    "-o",
    "/dev/null",
    "--http1.1",
    "--resolve",
    `${NAME}:${port}:127.0.0.1`,
    "-w",
    "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_pretransfer} %{time_starttransfer} %{time_total}",
  ];
  if (https) args.push("--cacert", caFile);
  const { stdout } = await run("curl", [...args, url]);
  const [dns, connect, app, pre, start, total] = stdout
    .trim()
    .split(/\s+/)
    .map((s) => Number(s) * 1000);
  const p = { dns, connect: connect - dns, ttfb: start - pre, total };
  if (https) p.tls = app - connect;
  return p;
}

async function accuracy(https, cert) {
  const srv = await startServer(https ? cert : undefined);
  const prober = createProber({
    maxBodyBytes: 1 << 20,
    insecureTls: false,
    userAgent: "bench",
    resolve: [`${NAME}:${srv.port}:127.0.0.1`],
    ...(https ? { ca: readFileSync(cert.cert, "utf8") } : {}),
  });
  const url = `${https ? "https" : "http"}://${NAME}:${srv.port}/delay`;
  const target = {
    api: "b",
    route: "r",
    endpoint: "/delay",
    url,
    method: "GET",
    headers: {},
    secretHeaders: [],
    timeoutMs: 10_000,
  };
  // warm-up both
  await prober.probe(target, { connection: "fresh" });
  await curlPhases(url, srv.port, https, cert.cert);
  const sw = [];
  const curl = [];
  for (let i = 0; i < SAMPLES; i++) {
    const order = i % 2 === 0 ? ["sw", "curl"] : ["curl", "sw"];
    for (const who of order) {
      if (who === "sw") sw.push((await prober.probe(target, { connection: "fresh" })).phasesMs);
      else curl.push(await curlPhases(url, srv.port, https, cert.cert));
    }
  }
  await prober.close();
  srv.stop();
  const rows = [];
  for (const phase of ["dns", "connect", "tls", "ttfb", "total"]) {
    if (!https && phase === "tls") continue;
    const a = sw.map((p) => p[phase]);
    const b = curl.map((p) => p[phase]);
    rows.push({
      phase,
      sw: med(a),
      curl: med(b),
      diff: med(a) - med(b),
      swP90: q(a, 0.9),
      curlP90: q(b, 0.9),
    });
  }
  console.log(
    `\n### Phase accuracy, ${https ? "https" : "http"}, fresh connections, headers held ${HOLD_MS} ms, n=${SAMPLES} each`,
  );
  console.log("| phase | stallwatch p50 ms | curl p50 ms | difference ms | stallwatch p90 | curl p90 |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of rows)
    console.log(
      `| ${r.phase} | ${f(r.sw)} | ${f(r.curl)} | ${f(r.diff)} | ${f(r.swP90)} | ${f(r.curlP90)} |`,
    );
  const ttfb = rows.find((r) => r.phase === "ttfb");
  console.log(
    `ttfb error vs the injected ${HOLD_MS} ms: stallwatch ${f(ttfb.sw - HOLD_MS)} ms, curl ${f(ttfb.curl - HOLD_MS)} ms`,
  );
}

/** Requests per second of `fn` over one block of n sequential calls, and the per-call latencies. */
async function block(n, fn, lat) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    lat.push(performance.now() - s);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function overhead() {
  const srv = await startServer();
  const origin = `http://127.0.0.1:${srv.port}`;
  const target = {
    api: "b",
    route: "r",
    endpoint: "/",
    url: `${origin}/`,
    method: "GET",
    headers: {},
    secretHeaders: [],
    timeoutMs: 10_000,
  };
  const results = [];
  for (const mode of ["reuse", "fresh"]) {
    // Short alternating blocks, so a busy machine's slow moments hit both loops alike.
    const blocks = 20;
    const per = Math.round((mode === "reuse" ? OVERHEAD_N : OVERHEAD_N / 4) / blocks);
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    const bare = async () => {
      const dispatcher = mode === "reuse" ? agent : new Client(origin);
      const res = await dispatcher.request({ origin, path: "/", method: "GET", reset: mode === "fresh" });
      await res.body.text();
      if (mode === "fresh") await dispatcher.destroy();
    };
    const prober = createProber({ maxBodyBytes: 1 << 20, insecureTls: false, userAgent: "bench" });
    const sw = () => prober.probe(target, { connection: mode });
    await block(100, bare, []);
    await block(100, sw, []);
    const ratios = [];
    const bareLat = [];
    const swLat = [];
    const bareRps = [];
    const swRps = [];
    for (let i = 0; i < blocks; i++) {
      const first = i % 2 === 0;
      const a = first ? await block(per, bare, bareLat) : undefined;
      const b = await block(per, sw, swLat);
      const c = first ? a : await block(per, bare, bareLat);
      bareRps.push(c);
      swRps.push(b);
      ratios.push(b / c);
    }
    results.push({
      mode,
      n: per * blocks,
      bareRps: med(bareRps),
      swRps: med(swRps),
      ratio: med(ratios),
      bareP50: med(bareLat),
      swP50: med(swLat),
    });
    await prober.close();
    await agent.close();
  }
  srv.stop();
  console.log(
    `\n### Per-request overhead vs a bare undici loop (sequential, loopback, tiny JSON body; medians over 20 alternating blocks)`,
  );
  console.log(
    "| mode | requests each | bare undici req/s | prober req/s | ratio (median of block ratios) | bare p50 ms | prober p50 ms | p50 difference ms |",
  );
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${r.n} | ${f(r.bareRps, 0)} | ${f(r.swRps, 0)} | ${f(r.ratio)} | ${f(r.bareP50, 3)} | ${f(r.swP50, 3)} | ${f(r.swP50 - r.bareP50, 3)} |`,
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), "sw-bench-"));
try {
  const cert = makeCert(dir);
  console.log(`node ${process.version}, curl ${(await run("curl", ["--version"])).stdout.split(" ")[1]}`);
  console.log(
    `load average ${(await import("node:os"))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")} on ${(await import("node:os")).cpus().length} CPUs`,
  );
  if (process.env.ONLY !== "overhead") {
    await accuracy(false, cert);
    await accuracy(true, cert);
  }
  if (process.env.ONLY !== "accuracy") await overhead();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
