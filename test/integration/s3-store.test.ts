/**
 * The S3 store against a real third-party S3 implementation (s3rver, on
 * loopback), through the real SDK client pointed at it with
 * AWS_ENDPOINT_URL_S3: `run` invocations of several writers on one prefix
 * read back by one `report --from s3://…` with every request counted once;
 * S3 refusing uploads (spooled, uploaded later); kill -9 during an upload
 * (at most the round in flight is missing, and it comes back from the
 * spool); concurrent writers with the same name never clobber each other.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createS3Client } from "../../src/aws/clients.js";
import type { Report, RequestRecord } from "../../src/model.js";
import { readHistory } from "../../src/record/history.js";
import { parseS3Url } from "../../src/record/s3/layout.js";
import { s3Source } from "../../src/record/s3/source.js";
import { ObjectSpool } from "../../src/record/s3/spool.js";
import { openS3Store, s3Put } from "../../src/record/s3/store.js";
import { type LocalS3, S3_ENV, type S3Proxy, startS3, startS3Proxy } from "../helpers/s3rver.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";
import { expectSameTimeline } from "../helpers/store-records.js";

const MAIN = join(import.meta.dirname, "../../dist/cli/main.js");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let s3: LocalS3;
let proxy: S3Proxy;
let server: TestServer;
let tmp: string;

const env = (): NodeJS.ProcessEnv => ({ ...process.env, ...S3_ENV, AWS_ENDPOINT_URL_S3: proxy.endpoint });

function cli(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: timeoutMs, env: env() }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  s3 = await startS3("probes");
  proxy = await startS3Proxy(s3.endpoint);
  server = await startServer({
    routes: {
      "/health": behaviors.json({ status: "OK" }),
      // Slow only for prober "a": a stall one writer sees and the other does not.
      "/x": (req, res, tools) => {
        const delay = req.headers["x-prober"] === "a" ? 400 : 0;
        tools.later(delay, () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"ok":true}');
        });
      },
    },
  });
  tmp = mkdtempSync(join(tmpdir(), "sw-s3-store-"));
});
afterAll(async () => {
  await server?.close();
  await proxy?.close();
  await s3?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** 2 endpoints × 2 connection modes × 3 samples = 12 requests per round. */
const PER_ROUND = 12;

function config(name: string, prefix: string, writer: string | undefined, prober: string): string {
  const file = join(tmp, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apis: [
        {
          name: "t",
          routes: [{ name: "direct", baseUrl: server.origin }],
          headers: { "x-prober": prober },
          endpoints: [{ path: "/health" }, { path: "/x" }],
        },
      ],
      probe: { connection: "both", timeoutMs: 5000 },
      schedule: { samplesPerRound: 3 },
      store: { dir: join(tmp, `${name}-data`), url: `s3://probes/${prefix}`, ...(writer ? { writer } : {}) },
    }),
  );
  return file;
}

const reportJson = async (args: string[]): Promise<{ r: CliResult; report: Report }> => {
  const r = await cli(["report", ...args, "--since", "1h", "--json"]);
  expect(r.code, r.stderr).not.toBe(2);
  return { r, report: JSON.parse(r.stdout) as Report };
};

const roundLine = (stdout: string): Record<string, unknown> | undefined =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.event === "round");

// Each test spawns the CLI several times (a few seconds each on a loaded 2-core machine): room, not a speed bound.
describe("S3 store on s3rver", { timeout: 180_000 }, () => {
  test("two `run`s at once with different writers, one prefix: one report counts every request once, per writer", async () => {
    proxy.mode = "pass";
    const before = server.requests;
    // At the same time: nothing to coordinate, nothing overwritten.
    const [a, b] = await Promise.all([
      cli(["run", "-c", config("a", "fleet", "prober-a", "a")]),
      cli(["run", "-c", config("b", "fleet", "prober-b", "b")]),
    ]);
    expect(roundLine(a.stdout)).toMatchObject({ stored: true, requests: PER_ROUND });
    expect(roundLine(b.stdout)).toMatchObject({ stored: true, requests: PER_ROUND });
    const sent = server.requests - before;
    expect(sent).toBe(2 * PER_ROUND);

    const { r, report } = await reportJson(["--from", "s3://probes/fleet", "--stall-ms", "300"]);
    expect(r.stderr).not.toContain("warning");
    expect(report.totals.requests).toBe(sent);
    expect(report.options.rounds).toBe(2);
    // Histograms merged across writers: each series' total count is both writers' requests.
    for (const s of report.series) {
      expect(s.count).toBe(6);
      expect(s.latencyMs.total?.count).toBe(6);
    }
    // The stall seen only from prober a: /x answers in 400 ms for a, at once for b.
    expect(report.writers?.map((w) => [w.writer, w.rounds, w.requests, w.stalls])).toEqual([
      ["prober-a", 1, PER_ROUND, 6],
      ["prober-b", 1, PER_ROUND, 0],
    ]);
    const aSeries = report.writers?.[0]?.series.find((s) => s.endpoint === "/x");
    expect(aSeries).toMatchObject({ requests: 6, stalls: 6 });
    expect(report.stalls.every((s) => s.writer === "prober-a" && s.endpoint === "/x")).toBe(true);
    expect(report.stalls).toHaveLength(6);

    // Over more than 24 h the store is read twice (counts from every round, records of troubled rounds): same counts.
    const r2 = await cli([
      "report",
      "--from",
      "s3://probes/fleet",
      "--since",
      "48h",
      "--stall-ms",
      "300",
      "--json",
    ]);
    const long = JSON.parse(r2.stdout) as Report;
    expect(long.totals).toEqual(report.totals);
    expect(long.writers).toEqual(report.writers);
    expect(long.stalls.map((x) => [x.writer, x.endpoint])).toEqual(
      report.stalls.map((x) => [x.writer, x.endpoint]),
    );

    // --writer filters; the same prefix given twice is still counted once.
    const onlyB = await reportJson(["--from", "s3://probes/fleet", "--writer", "prober-b"]);
    expect(onlyB.report.totals.requests).toBe(PER_ROUND);
    expect(onlyB.report.writers?.map((w) => w.writer)).toEqual(["prober-b"]);
    const twice = await reportJson(["--from", "s3://probes/fleet", "--from", "s3://probes/fleet"]);
    expect(twice.report.totals.requests).toBe(sent);
    expect(twice.r.stderr).toContain("2 round(s) found in more than one source; each counted once");

    // The terminal report shows the per-writer table; the HTML report reads the same rounds.
    const html = join(tmp, "fleet.html");
    const term = await cli([
      "report",
      "--from",
      "s3://probes/fleet",
      "--since",
      "1h",
      "--stall-ms",
      "300",
      "--html",
      html,
    ]);
    expect(term.stdout).toMatch(/Per writer \(2 probers/);
    expect(term.stdout).toMatch(/prober-a\s.*\s6\s.*t direct \/x: 6\/6/);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('<h2 id="h-writers">Per writer (prober)</h2>');
    // Stalls / requests of /x: 6 of 6 from prober-a, 0 of 6 from prober-b.
    expect(page).toMatch(
      /t direct \/x<\/th><td><span class="num" data-v="6">6 \/ 6<\/span><\/td><td><span class="num" data-v="0">0 \/ 6<\/span>/,
    );
  });

  test("several local stores merge the same way (--from DIR --from DIR)", async () => {
    const dirs = ["la", "lb"].map((n) => join(tmp, `local-${n}`));
    for (const [i, d] of dirs.entries()) {
      const file = join(tmp, `local-${i}.json`);
      writeFileSync(
        file,
        JSON.stringify({
          apis: [
            {
              name: "t",
              routes: [{ name: "direct", baseUrl: server.origin }],
              endpoints: [{ path: "/health" }],
            },
          ],
          probe: { connection: "fresh" },
          schedule: { samplesPerRound: 2 },
          store: { dir: d, writer: `local-${i}` },
        }),
      );
      expect((await cli(["run", "-c", file])).code).toBe(0);
    }
    const { report } = await reportJson(["--from", dirs[0]!, "--from", dirs[1]!]);
    expect(report.totals.requests).toBe(4);
    expect(report.writers?.map((w) => w.writer.replace(/-\d+-[0-9a-f]+$/, ""))).toEqual([
      "local-0",
      "local-1",
    ]);
    const one = await reportJson(["--from", dirs[0]!, "--from", dirs[1]!, "--writer", "local-1*"]);
    expect(one.report.totals.requests).toBe(2);
  });

  test("S3 refusing uploads: the round is spooled, the run fails, the next run uploads both", async () => {
    const cfg = config("down", "down", "prober-d", "b");
    proxy.mode = "refuse";
    const down = await cli(["run", "-c", cfg]);
    expect(down.code).toBe(1);
    expect(roundLine(down.stdout)).toMatchObject({ stored: false });
    expect(String(roundLine(down.stdout)?.storeError)).toMatch(
      /spooled in .*upload to s3:\/\/probes\/down failed/,
    );
    expect(readdirSync(join(tmp, "down-data", "s3-spool")).filter((f) => f.endsWith(".json"))).toHaveLength(
      1,
    );
    proxy.mode = "pass";
    expect((await reportJson(["--from", "s3://probes/down"])).report.totals.requests).toBe(0);
    const up = await cli(["run", "-c", cfg]);
    expect(up.code).toBe(0);
    const { report } = await reportJson(["--from", "s3://probes/down"]);
    expect(report.options.rounds).toBe(2);
    expect(report.totals.requests).toBe(2 * PER_ROUND);
    expect(readdirSync(join(tmp, "down-data", "s3-spool")).filter((f) => f.endsWith(".json"))).toHaveLength(
      0,
    );
  });

  test("kill -9 during an upload loses at most the round in flight; the spool brings it back", async () => {
    const cfg = config("crash", "crash", "prober-k", "b");
    proxy.mode = "pass";
    expect((await cli(["run", "-c", cfg])).code).toBe(0);

    proxy.mode = "hold-records";
    const child: ChildProcess = spawn(process.execPath, [MAIN, "run", "-c", cfg], {
      env: env(),
      stdio: "ignore",
    });
    await proxy.held(); // its .hlog.gz is in S3, its records PUT is on the wire
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    proxy.mode = "pass";

    const afterCrash = await reportJson(["--from", "s3://probes/crash"]);
    expect(afterCrash.report.options.rounds).toBe(1);
    expect(afterCrash.report.totals.requests).toBe(PER_ROUND);
    expect(afterCrash.r.stderr).not.toContain("warning");

    // The next process drains the spool (oldest first), then stores its own round.
    expect((await cli(["run", "-c", cfg])).code).toBe(0);
    const { report } = await reportJson(["--from", "s3://probes/crash"]);
    expect(report.options.rounds).toBe(3);
    expect(report.totals.requests).toBe(3 * PER_ROUND);
  });

  test("bad --from, --writer and --store-url are usage errors (exit 2); a missing bucket or no S3 is a clear error (exit 1)", async () => {
    const bad = await cli(["report", "--from", "s3://Upper/x"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--from: expected s3://BUCKET or s3://BUCKET/PREFIX");
    const writer = await cli(["report", "--from", "s3://probes/fleet", "--writer", "a b"]);
    expect(writer.code).toBe(2);
    expect(writer.stderr).toContain("--writer: expected a writer name");
    const url = await cli(["run", "-c", config("badurl", "x", "w", "b"), "--store-url", "https://probes/x"]);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain("--store-url: expected s3://BUCKET");
    const missing = await cli(["report", "--from", "s3://no-such-bucket/x", "--since", "1h"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^stallwatch: cannot read s3:\/\/no-such-bucket\/x: NoSuchBucket \(HTTP 404\)/,
    );
    proxy.mode = "refuse";
    const down = await cli(["report", "--from", "s3://probes/fleet", "--since", "1h"]);
    proxy.mode = "pass";
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^stallwatch: cannot read s3:\/\/probes\/fleet: .*\(HTTP 503\)/);
  });

  test("a full spool: the round is uploaded directly when S3 works, and reported lost (never silently) when it does not", async () => {
    const client = await createS3Client({
      endpoint: proxy.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      maxAttempts: 1,
    });
    const location = parseS3Url("s3://probes/full");
    const logs: string[] = [];
    const store = openS3Store({
      location,
      writerId: "tiny",
      put: s3Put(client),
      spool: new ObjectSpool(join(tmp, "full-spool"), 1024, (_l, msg) => logs.push(msg)),
      log: () => undefined,
    });
    const t0 = Date.now();
    const recs = Array.from({ length: 50 }, (_, i) => ({
      atMs: t0 + i,
      seq: i,
      seriesSeq: i,
      api: "t",
      route: "r",
      endpoint: `/e${i}`,
      method: "GET",
      url: "http://127.0.0.1/",
      tag: "probe",
      connection: "fresh",
      phasesMs: { total: 1 + i },
      bytes: 0,
      reused: false,
      assertions: [],
      hopHeaders: {},
      ok: true,
    })) as RequestRecord[];
    const meta = (id: number) => ({
      id,
      kind: "probe" as const,
      scheduledAtMs: t0,
      startedAtMs: t0 + id,
      endedAtMs: t0 + id + 5,
      latenessMs: 0,
      skipped: 0,
    });
    proxy.mode = "pass";
    await store.writeRound(meta(1), recs);
    proxy.mode = "refuse";
    await expect(store.writeRound(meta(2), recs)).rejects.toThrow(
      /round 2 lost: the spool is full and the upload to s3:\/\/probes\/full failed/,
    );
    proxy.mode = "pass";
    await store.close();
    expect(logs.filter((m) => m.startsWith("S3 store spool full"))).toHaveLength(2);
    const h = await readHistory(s3Source(client, location));
    client.destroy();
    expect(h.rounds.map((r) => r.id)).toEqual([1]);
    expect(h.records).toHaveLength(50);
  });

  test("two writers at once with the same name, the same round id and the same millisecond never clobber", async () => {
    const client = await createS3Client({
      endpoint: proxy.endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    });
    const location = parseS3Url("s3://probes/clash");
    const stores = [0, 1].map((i) =>
      openS3Store({
        location,
        writerId: "same",
        put: s3Put(client),
        spool: new ObjectSpool(join(tmp, `clash-${i}`), 1 << 24, () => undefined),
        log: () => undefined,
      }),
    );
    const t0 = Date.now();
    const rec = (who: number, i: number): RequestRecord =>
      ({
        atMs: t0 + i,
        seq: i,
        seriesSeq: i,
        api: "t",
        route: "r",
        endpoint: `/w${who}`,
        method: "GET",
        url: "http://127.0.0.1/",
        tag: "probe",
        connection: "fresh",
        phasesMs: { total: 1 + i },
        bytes: 0,
        reused: false,
        assertions: [],
        hopHeaders: {},
        ok: true,
      }) as RequestRecord;
    const meta = {
      id: 1,
      kind: "probe" as const,
      scheduledAtMs: t0,
      startedAtMs: t0,
      endedAtMs: t0 + 5,
      latenessMs: 0,
      skipped: 0,
    };
    await Promise.all(
      stores.flatMap((s, who) => [0, 1, 2, 3, 4].map(() => s.writeRound(meta, [rec(who, 0), rec(who, 1)]))),
    );
    await Promise.all(stores.map((s) => s.close()));
    const h = await readHistory(s3Source(client, location));
    // The same rounds through the .hlog objects alone (the first pass of a long-range report): each object pair
    // is one round, so ten blocks with the same round id pair with their own records object.
    const byRecords = await readHistory(s3Source(client, location), { includeRecords: false });
    const byHlog = await readHistory(s3Source(client, location), {
      includeRecords: false,
      histogramSource: "hlog",
    });
    client.destroy();
    expect(byHlog.warnings).toEqual([]);
    expect(byHlog.timelineFrom).toBe("hlog");
    expect(byHlog.intervals).toHaveLength(10);
    expectSameTimeline(byHlog.intervals, byRecords.intervals);
    // 2 processes × 5 rounds, all with the same writer, id, start and end: each is its own object, all read back.
    expect(h.warnings).toEqual([]);
    expect(h.rounds).toHaveLength(10);
    expect(new Set(h.rounds.map((r) => r.uid)).size).toBe(10);
    expect(h.records.filter((r) => r.endpoint === "/w0")).toHaveLength(10);
    expect(h.records.filter((r) => r.endpoint === "/w1")).toHaveLength(10);
    // Everything uploaded: both spools are empty.
    for (const i of [0, 1])
      expect(readdirSync(join(tmp, `clash-${i}`)).filter((f) => !f.startsWith("."))).toEqual([]);
  });
});
