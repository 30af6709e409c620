// Benchmark 6, one prober of a fleet at scale: `stallwatch daemon` (the built
// CLI, a process of its own) probing 1,000 endpoints × 3 routes every minute
// (cron `* * * * *`, one sample per target and connection mode, `both`
// modes: 6,000 requests a round, 16 in flight) against three local server
// processes (one per route), writing every round to the S3 store on a local
// s3rver (in this process, loopback, port 0). Bounded: FLEET_ROUNDS rounds
// (default 4, quick 3), then SIGTERM. Measured: the scheduler's lateness per
// round (triggered − scheduled, from the round log lines), rounds skipped,
// each round's duration, the prober's CPU (utime + stime from /proc) and
// RSS (sampled every 250 ms), bytes and objects written per round to the
// store (listed back from s3rver), projected to a day of one-minute rounds.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { CLI, fmt, mdTable, QUICK, quantile, startServerProcess } from "./lib.mjs";

const ENDPOINTS = 1000;
const ROUTES = 3;
const CLK_TCK = 100; // Linux USER_HZ

function procCpuSec(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime
}
function procRssMB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

export async function benchFleet(log) {
  // The SDK notice about Node 22 would be the only stderr line of the listing client here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  const rounds = Number(process.env.FLEET_ROUNDS ?? (QUICK ? 3 : 4));
  const tmp = mkdtempSync(join(tmpdir(), "sw-fleet-"));
  const servers = [];
  let s3;
  let child;
  try {
    for (let i = 0; i < ROUTES; i++) servers.push(await startServerProcess());
    s3 = new S3rver({
      address: "127.0.0.1",
      port: 0,
      silent: true,
      directory: join(tmp, "s3"),
      configureBuckets: [{ name: "fleet" }],
    });
    const { port } = await s3.run();
    const endpoint = `http://127.0.0.1:${port}`;
    const cfg = join(tmp, "config.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        apis: [
          {
            name: "fleet",
            routes: servers.map((s, i) => ({ name: `route-${i}`, baseUrl: s.origin })),
            endpoints: Array.from({ length: ENDPOINTS }, (_, i) => ({ path: `/e/${i}` })),
          },
        ],
        probe: { connection: "both", concurrency: 16, timeoutMs: 10_000 },
        schedule: { cron: "* * * * *", samplesPerRound: 1, jitterMs: 0 },
        store: { dir: join(tmp, "data"), url: "s3://fleet/probes", writer: "bench-prober" },
      }),
    );
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    child = spawn(process.execPath, [CLI, "daemon", "-c", cfg], {
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const lines = [];
    let buf = "";
    const seen = new Promise((resolve) => {
      child.stdout.on("data", (d) => {
        buf += d;
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const text = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!text.startsWith("{")) continue;
          const l = JSON.parse(text);
          if (l.event === "round" || l.event === "skip") lines.push(l);
          if (l.event === "round")
            log(
              `  fleet: round ${l.round}: ${l.requests} requests, ${l.durationMs} ms, late ${l.latenessMs} ms`,
            );
          if (lines.filter((x) => x.event === "round").length >= rounds) resolve();
        }
      });
    });
    const rss = [];
    const sampler = setInterval(() => {
      try {
        rss.push(procRssMB(child.pid));
      } catch {}
    }, 250);
    const cpu0 = procCpuSec(child.pid);
    const t0 = performance.now();
    await seen;
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = procCpuSec(child.pid) - cpu0;
    clearInterval(sampler);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));

    const client = new S3Client({
      region: "us-east-1",
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    let bytes = 0;
    let objects = 0;
    let token;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: "fleet", Prefix: "probes/", ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        bytes += o.Size ?? 0;
        objects++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    client.destroy();

    const done = lines.filter((l) => l.event === "round");
    const late = done.map((l) => l.latenessMs);
    const stored = done.filter((l) => l.stored).length;
    const skipped = lines.filter((l) => l.event === "skip").length;
    const requests = done.reduce((n, l) => n + l.requests, 0);
    const perRoundBytes = bytes / Math.max(1, stored);
    const figures = {
      rounds: done.length,
      stored,
      skipped,
      requestsPerRound: requests / Math.max(1, done.length),
      failures: done.reduce((n, l) => n + l.failures, 0),
      latenessP50Ms: quantile(late, 0.5),
      latenessP99Ms: quantile(late, 0.99),
      latenessMaxMs: Math.max(...late),
      durationP50Ms: quantile(
        done.map((l) => l.durationMs),
        0.5,
      ),
      durationMaxMs: Math.max(...done.map((l) => l.durationMs)),
      cpuPct: (100 * cpuS) / wallS,
      cpuSecPerRound: cpuS / Math.max(1, done.length),
      rssMaxMB: Math.max(...rss.filter(Number.isFinite)),
      rssEndMB: rss.filter(Number.isFinite).at(-1),
      bytesPerRound: perRoundBytes,
      objectsPerRound: objects / Math.max(1, stored),
      mbPerDay: (perRoundBytes * 1440) / 2 ** 20,
      putsPerDay: (objects / Math.max(1, stored)) * 1440,
    };
    const table = mdTable(
      ["figure", "result"],
      [
        [
          "targets",
          `${ENDPOINTS.toLocaleString("en-US")} endpoints × ${ROUTES} routes, fresh + reuse, 1 sample each`,
        ],
        ["requests per round", fmt(figures.requestsPerRound, 0)],
        ["rounds measured (cron `* * * * *`)", `${figures.rounds} (stored in S3: ${figures.stored})`],
        ["rounds skipped (previous still running)", String(figures.skipped)],
        ["failed requests", String(figures.failures)],
        [
          "schedule lateness p50 / p99 / max",
          `${fmt(figures.latenessP50Ms, 0)} / ${fmt(figures.latenessP99Ms, 0)} / ${fmt(figures.latenessMaxMs, 0)} ms`,
        ],
        [
          "round duration p50 / max (probing + store upload)",
          `${fmt(figures.durationP50Ms / 1000, 1)} / ${fmt(figures.durationMaxMs / 1000, 1)} s`,
        ],
        [
          "prober CPU (of one core, over the whole run)",
          `${fmt(figures.cpuPct, 1)} % (${fmt(figures.cpuSecPerRound, 1)} CPU-s per round)`,
        ],
        ["prober RSS max / at end", `${fmt(figures.rssMaxMB, 0)} / ${fmt(figures.rssEndMB, 0)} MB`],
        [
          "store: objects and bytes per round (gzip)",
          `${fmt(figures.objectsPerRound, 0)} objects, ${fmt(figures.bytesPerRound / 1024, 0)} KiB`,
        ],
        [
          "store: per day of one-minute rounds",
          `${fmt(figures.mbPerDay, 0)} MiB, ${fmt(figures.putsPerDay, 0)} PUTs`,
        ],
      ],
    );
    return { table, figures };
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await s3?.close().catch(() => undefined);
    for (const s of servers) await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
