/**
 * `stallwatch report` as curl and k6 users expect it, against a real loopback
 * server: -H / -X / -d (@file), URLs without a scheme, --max-stalls /
 * --max-failures / --threshold gates (exit 1, listed in the report),
 * --junit (parsed as XML) and --csv (parsed back row by row).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLParser } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Report } from "../../src/model.js";
import { CSV_COLUMNS } from "../../src/report/csv.js";
import { runCli } from "../helpers/cli.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";

interface Seen {
  method: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: TestServer;
let tmp: string;
const seen: Seen[] = [];
let every3rd = 0;
beforeAll(async () => {
  server = await startServer({
    routes: {
      "/echo": (req, res) => {
        let body = "";
        req.setEncoding("utf8");
        req.on("data", (c: string) => {
          body += c;
        });
        req.on("end", () => {
          seen.push({ method: req.method ?? "", headers: req.headers, body });
          res.setHeader("content-type", "application/json");
          res.end('{"ok":true}');
        });
      },
      // Every third request waits 400 ms: stalls against the 250 ms floor (the others take ~1 ms).
      "/sometimes-slow": (req, res, tools) => {
        const slow = every3rd++ % 3 === 2;
        const answer = () => behaviors.json({ status: "OK" })(req, res, tools);
        if (slow) tools.later(400, answer);
        else answer();
      },
      "/teapot": behaviors.status(418),
      "/ok": behaviors.json({ status: "OK" }),
    },
  });
  tmp = mkdtempSync(join(tmpdir(), "sw-report-flags-"));
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

const hostPort = () => `127.0.0.1:${server.port}`;
const reportOf = (stdout: string) => JSON.parse(stdout) as Report;

describe("curl-style request flags", () => {
  test("-H (repeatable), -X and -d @file reach the server; a credential header never shows in output", async () => {
    const bodyFile = join(tmp, "body.json");
    writeFileSync(bodyFile, '{"hello":"world"}');
    seen.length = 0;
    const r = await runCli([
      "report",
      "--url",
      `${hostPort()}/echo`,
      "-H",
      "x-api-key: s3cret-key-123",
      "-H",
      "Content-Type: application/json",
      "-H",
      "X-Probe: yes",
      "-X",
      "put",
      "-d",
      `@${bodyFile}`,
      "-n",
      "2",
      "--connection",
      "reuse",
      "--json",
      "--no-progress",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.method).toBe("PUT");
      expect(s.headers["x-api-key"]).toBe("s3cret-key-123");
      expect(s.headers["x-probe"]).toBe("yes");
      expect(s.headers["content-type"]).toBe("application/json");
      expect(s.body).toBe('{"hello":"world"}');
    }
    expect(r.stdout).not.toContain("s3cret-key-123");
    expect(reportOf(r.stdout).totals).toMatchObject({ requests: 2, ok: 2, failed: 0 });
  });

  test("-d without -X posts form data, as curl does", async () => {
    seen.length = 0;
    const r = await runCli([
      "report",
      "--url",
      `${hostPort()}/echo`,
      "-d",
      "a=1&b=2",
      "-n",
      "1",
      "--connection",
      "fresh",
      "--json",
    ]);
    expect(r.code).toBe(0);
    expect(seen[0]).toMatchObject({ method: "POST", body: "a=1&b=2" });
    expect(seen[0]?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  test("URLs and routes without a scheme are http://, as in curl", async () => {
    const r = await runCli([
      "report",
      "--route",
      `local=${hostPort()}`,
      "--path",
      "/ok",
      "-n",
      "1",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const rep = reportOf(r.stdout);
    expect(rep.series.map((s) => s.route)).toEqual(["local", "local"]);
    expect(rep.totals.ok).toBe(2);
    const bare = await runCli(["report", "--url", `localhost:${server.port}/ok`, "-n", "1", "--json"]);
    expect(bare.code).toBe(0);
    expect(reportOf(bare.stdout).totals.ok).toBe(2);
  });

  test("bad request flags: exit 2, each named with what was expected", async () => {
    const r = await runCli([
      "report",
      "--url",
      `${hostPort()}/ok`,
      "-H",
      "no colon",
      "-X",
      "FETCH",
      "-d",
      `@${join(tmp, "missing.txt")}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-H "no colon": expected "Name: value"');
    expect(r.stderr).toContain("-X FETCH: expected one of GET, HEAD, POST");
    expect(r.stderr).toContain("cannot read the file (ENOENT)");
  });
});

describe("gates", () => {
  const slow = () => ["report", "--url", `${hostPort()}/sometimes-slow`, "-n", "9", "--connection", "reuse"];

  test("--max-stalls: exit 1 when crossed, 0 within; the gate is listed in the JSON and the terminal report", async () => {
    every3rd = 0;
    const over = await runCli([...slow(), "--max-stalls", "0", "--json"]);
    const rep = reportOf(over.stdout);
    expect(rep.totals.stalls).toBeGreaterThanOrEqual(1);
    expect(over.code).toBe(1);
    expect(rep.gates).toEqual([
      { gate: "--max-stalls 0", passed: false, actual: rep.totals.stalls, limit: 0 },
    ]);
    every3rd = 0;
    const within = await runCli([...slow(), "--max-stalls", "100", "--no-progress"]);
    expect(within.code).toBe(0);
    expect(within.stdout).toMatch(/Gates · all passed/);
    expect(within.stdout).toMatch(/pass {2}--max-stalls 100 {2}\(measured \d+\)/);
  });

  test("without a gate, stalls alone keep exit 0 (as before); --max-failures relaxes the any-failure rule", async () => {
    every3rd = 0;
    expect((await runCli([...slow(), "--json"])).code).toBe(0);
    const teapot = ["report", "--url", `${hostPort()}/teapot`, "-n", "2", "--connection", "reuse", "--json"];
    expect((await runCli(teapot)).code).toBe(1);
    const relaxed = await runCli([...teapot, "--max-failures", "2"]);
    expect(relaxed.code).toBe(0);
    expect(reportOf(relaxed.stdout).gates).toEqual([
      { gate: "--max-failures 2", passed: true, actual: 2, limit: 2 },
    ]);
    expect((await runCli([...teapot, "--max-failures", "1"])).code).toBe(1);
  });

  test("--threshold p(95), k6's usual one, is read from the histograms (which stay out of the JSON unless asked)", async () => {
    const base = ["report", "--url", `${hostPort()}/ok`, "-n", "20", "--connection", "reuse", "--json"];
    const r = await runCli([...base, "--threshold", "p(95)<60000", "--threshold", "p(99)<60000"]);
    expect(r.code, r.stderr).toBe(0);
    const rep = reportOf(r.stdout);
    const [p95, p99] = rep.gates ?? [];
    const stats = rep.series[0]?.latencyMs.total;
    expect(rep.series[0]?.histograms).toBeUndefined();
    expect(p99?.actual).toBe(stats?.p99);
    expect(p95?.actual).toBeGreaterThanOrEqual(stats?.p50 ?? Number.POSITIVE_INFINITY);
    expect(p95?.actual).toBeLessThanOrEqual(stats?.p99 ?? 0);
    // A new run: a limit below any loopback request (1 µs) is crossed whatever that run's own p95 is.
    const tight = await runCli([...base, "--threshold", "p(95)<0.001", "--histograms"]);
    expect(tight.code).toBe(1);
    expect(reportOf(tight.stdout).series[0]?.histograms?.total).toBeTypeOf("string");
  });

  test("--threshold per series on total or a named phase", async () => {
    const base = ["report", "--url", `${hostPort()}/ok`, "-n", "3", "--connection", "both", "--json"];
    const loose = await runCli([...base, "--threshold", "p(99)<60000", "--threshold", "connect:max<=60000"]);
    expect(loose.code).toBe(0);
    const gates = reportOf(loose.stdout).gates ?? [];
    // total on both series; connect only where it happened (fresh connections, and the first reused one).
    expect(gates.filter((g) => g.gate === "--threshold p(99)<60000").map((g) => g.series)).toEqual([
      "cli 127.0.0.1 /ok fresh",
      "cli 127.0.0.1 /ok reuse",
    ]);
    expect(gates.every((g) => g.passed)).toBe(true);
    const tight = await runCli([...base, "--threshold", "ttfb:p(50)<0.0001"]);
    expect(tight.code).toBe(1);
    const failed = (reportOf(tight.stdout).gates ?? []).filter((g) => !g.passed);
    expect(failed.length).toBe(2);
    expect(failed[0]?.actual).toBeGreaterThan(0.0001);
    const bad = await runCli([...base, "--threshold", "p(101)<5"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--threshold "p(101)<5": expected [phase:]stat<ms');
    expect((await runCli([...base, "--threshold", "p99<5"])).code).toBe(2);
    expect((await runCli([...base, "--max-stalls", "-1"])).stderr).toContain(
      "--max-stalls: expected a whole number",
    );
  });
});

describe("--junit and --csv", () => {
  test("JUnit XML parses: one testcase per series and per gate, stalls and failures as failures", async () => {
    every3rd = 0;
    const junit = join(tmp, "junit.xml");
    const csv = join(tmp, "requests.csv");
    const r = await runCli([
      "report",
      "--route",
      `a=${hostPort()}`,
      "--path",
      "/sometimes-slow",
      "--path",
      "/teapot",
      "-n",
      "6",
      "--connection",
      "reuse",
      "--max-stalls",
      "0",
      "--junit",
      junit,
      "--csv",
      csv,
      "--json",
    ]);
    expect(r.code).toBe(1);
    const rep = reportOf(r.stdout);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
      readFileSync(junit, "utf8"),
    );
    const suite = doc.testsuites.testsuite;
    const cases = ([] as Record<string, unknown>[]).concat(suite.testcase);
    expect(cases).toHaveLength(rep.series.length + 1);
    const byName = new Map(cases.map((c) => [`${c.classname} ${c.name}`, c]));
    const slowCase = byName.get("cli.a /sometimes-slow reuse") as { failure?: { message: string } };
    expect(slowCase.failure?.message).toMatch(
      /^\d+ stalls?, 0 failed requests in cli a \/sometimes-slow reuse$/,
    );
    const teapotCase = byName.get("cli.a /teapot reuse") as {
      failure?: { message: string; "#text"?: string };
    };
    expect(teapotCase.failure?.message).toContain("6 failed requests");
    expect(teapotCase.failure?.["#text"]).toContain("http-4xx");
    expect((byName.get("stallwatch.gates --max-stalls 0") as { failure?: unknown }).failure).toBeDefined();
    expect(Number(suite.failures)).toBe(3);
    expect(Number(suite.tests)).toBe(cases.length);

    const rows = readFileSync(csv, "utf8")
      .trimEnd()
      .split("\r\n")
      .map((l) => l.split(","));
    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(1 + 12);
    const col = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
    const data = rows.slice(1);
    expect(data.filter((row) => row[col("stall")] === "true")).toHaveLength(rep.totals.stalls);
    expect(data.filter((row) => row[col("error")] === "http-4xx")).toHaveLength(6);
    for (const row of data) expect(Number(row[col("total_ms")])).toBeGreaterThan(0);
  });

  test("report --from: gates and --junit over recorded history; the HTML report lists the gates", async () => {
    const dir = join(tmp, "store");
    const cfg = join(tmp, "run.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        apis: [
          {
            name: "h",
            routes: [{ name: "direct", baseUrl: server.origin }],
            endpoints: [{ path: "/ok" }, { path: "/teapot" }],
          },
        ],
        schedule: { samplesPerRound: 2 },
        store: { dir },
      }),
    );
    expect((await runCli(["run", "-c", cfg])).code).toBe(1); // /teapot fails
    const junit = join(tmp, "history-junit.xml");
    const html = join(tmp, "history.html");
    const r = await runCli([
      "report",
      "--from",
      dir,
      "--max-failures",
      "100",
      "--threshold",
      "p(95)<60000",
      "--junit",
      junit,
      "--html",
      html,
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const rep = reportOf(r.stdout);
    expect(rep.gates?.map((g) => g.passed)).toEqual(rep.gates?.map(() => true));
    expect(rep.gates?.[0]).toMatchObject({ gate: "--max-failures 100", actual: 4 });
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(
      readFileSync(junit, "utf8"),
    );
    const cases = ([] as { classname: string; name: string; failure?: { "#text"?: string } }[]).concat(
      doc.testsuites.testsuite.testcase,
    );
    const teapot = cases.filter((c) => c.name.startsWith("/teapot"));
    expect(teapot).toHaveLength(2);
    // History has no records to tell the connection modes apart: each mode's case lists the endpoint's failures.
    for (const c of teapot) expect(c.failure?.["#text"]).toContain("http-4xx");
    const page = readFileSync(html, "utf8");
    expect(page).toContain('<section id="gates"');
    expect(page).toContain("All gates passed.");
    expect(page).toContain("<code>--max-failures 100</code>");
  }, 60_000);

  test("--csv with --from is refused with a pointer to --json", async () => {
    const r = await runCli(["report", "--from", tmp, "--csv", join(tmp, "x.csv")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--csv: one row per request of a live run");
  });
});
