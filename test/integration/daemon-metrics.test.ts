/**
 * `daemon --metrics-listen HOST:PORT`: the real daemon (built CLI) probes a
 * loopback server every 2 s; /metrics is scraped over HTTP and parsed with a
 * Prometheus text-format parser (parse-prometheus-text-format), and the
 * OpenMetrics exposition is checked when the scraper asks for it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import parsePrometheus from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseListen } from "../../src/metrics/server.js";
import { CLI_MAIN, runCli } from "../helpers/cli.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";

type Family = ReturnType<typeof parsePrometheus>[number];

const HISTOGRAM = "stallwatch_probe_http_duration_seconds";

/**
 * The exposition parsed with parse-prometheus-text-format. That parser folds
 * a histogram family into one unlabelled sample (it was written for
 * prom2json's unlabelled case), so the histogram's TYPE line is kept aside:
 * its _bucket, _sum and _count samples then parse as families of their own,
 * every label (le included) intact. The TYPE line itself is asserted.
 * prom-client writes a histogram label set by label set (buckets, sum, count,
 * then the next set), so such families come back in pieces: merged by name.
 */
function parseExposition(text: string): { families: Family[]; histogramType: string | undefined } {
  const lines = text.split("\n");
  const typeLine = lines.find((l) => l.startsWith(`# TYPE ${HISTOGRAM} `));
  const rest = lines
    .filter((l) => !l.startsWith(`# TYPE ${HISTOGRAM} `) && !l.startsWith(`# HELP ${HISTOGRAM} `))
    .join("\n");
  const byName = new Map<string, Family>();
  for (const f of parsePrometheus(rest)) {
    const seen = byName.get(f.name);
    if (seen) seen.metrics.push(...f.metrics);
    else byName.set(f.name, f);
  }
  return { families: [...byName.values()], histogramType: typeLine?.split(" ")[3] };
}

let server: TestServer;
let tmp: string;
let daemon: ChildProcess | undefined;
let n = 0;
beforeAll(async () => {
  server = await startServer({
    routes: {
      "/ok": behaviors.json({ status: "OK" }),
      "/teapot": behaviors.status(418),
      // Every third request waits 400 ms: a stall against the 250 ms floor.
      "/sometimes-slow": (req, res, tools) => {
        const answer = () => behaviors.json({ status: "OK" })(req, res, tools);
        if (n++ % 3 === 2) tools.later(400, answer);
        else answer();
      },
    },
  });
  tmp = mkdtempSync(join(tmpdir(), "sw-metrics-"));
});
afterAll(async () => {
  if (daemon && daemon.exitCode === null) daemon.kill("SIGKILL");
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

function startDaemonProcess(args: string[]): {
  proc: ChildProcess;
  url: Promise<string>;
  exited: Promise<number | null>;
} {
  const proc = spawn(process.execPath, [CLI_MAIN, "daemon", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const url = new Promise<string>((resolve, reject) => {
    proc.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split("\n")) {
        if (!line.startsWith("{")) continue;
        const ev = JSON.parse(line) as { event?: string; url?: string };
        if (ev.event === "metrics-listen" && ev.url) resolve(ev.url);
      }
    });
    proc.once("exit", () => reject(new Error(`daemon exited early: ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)));
  return { proc, url, exited };
}

async function scrape(url: string, accept?: string): Promise<{ type: string; text: string }> {
  const res = await fetch(url, accept ? { headers: { accept } } : {});
  return { type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("daemon --metrics-listen", () => {
  test("per-phase histograms, stalls and failures by cause, last round time; OpenMetrics on request", async () => {
    const config = join(tmp, "config.json");
    writeFileSync(
      config,
      JSON.stringify({
        apis: [
          {
            name: "shop",
            routes: [{ name: "direct", baseUrl: server.origin }],
            endpoints: [{ path: "/ok" }, { path: "/teapot" }, { path: "/sometimes-slow" }],
          },
        ],
        probe: { connection: "both", timeoutMs: 5000 },
        schedule: { cron: "*/2 * * * * *", samplesPerRound: 3 },
        store: { dir: join(tmp, "data") },
      }),
    );
    const d = startDaemonProcess(["-c", config, "--metrics-listen", "127.0.0.1:0"]);
    daemon = d.proc;
    const url = await d.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    let families: Family[] = [];
    let histogramType: string | undefined;
    for (let i = 0; i < 60; i++) {
      const { type, text } = await scrape(url);
      expect(type).toContain("text/plain; version=0.0.4");
      ({ families, histogramType } = parseExposition(text));
      const last = families.find((f) => f.name === "stallwatch_last_round_timestamp_seconds");
      if (last?.metrics.some((m) => m.labels?.kind === "probe")) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const fam = (name: string) => families.find((f) => f.name === name);
    const last = fam("stallwatch_last_round_timestamp_seconds");
    expect(last?.type).toBe("GAUGE");
    const lastProbe = Number(last?.metrics.find((m) => m.labels?.kind === "probe")?.value);
    expect(lastProbe).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(lastProbe).toBeLessThanOrEqual(Date.now() / 1000 + 1);

    expect(histogramType).toBe("histogram");
    const okFresh = (m: { labels?: Record<string, string> }) =>
      m.labels?.endpoint === "/ok" && m.labels?.connection === "fresh" && m.labels?.phase === "total";
    const count = fam(`${HISTOGRAM}_count`)?.metrics.find(okFresh);
    expect(count?.labels).toEqual({
      api: "shop",
      route: "direct",
      endpoint: "/ok",
      connection: "fresh",
      phase: "total",
    });
    const requests = fam("stallwatch_probe_requests_total")?.metrics.find(
      (m) => m.labels?.endpoint === "/ok" && m.labels?.connection === "fresh",
    );
    expect(Number(count?.value)).toBe(Number(requests?.value));
    expect(Number(count?.value) % 3).toBe(0);
    const buckets = (fam(`${HISTOGRAM}_bucket`)?.metrics ?? []).filter(okFresh);
    expect(buckets.find((m) => m.labels?.le === "+Inf")?.value).toBe(count?.value);
    const les = buckets.map((m) => Number(m.labels?.le));
    expect(les.slice(0, -1)).toEqual([...les.slice(0, -1)].sort((x, y) => x - y));
    expect(Number(fam(`${HISTOGRAM}_sum`)?.metrics.find(okFresh)?.value)).toBeGreaterThan(0);
    const phases = new Set(
      fam(`${HISTOGRAM}_count`)
        ?.metrics.filter((m) => m.labels?.connection === "fresh")
        .map((m) => m.labels?.phase),
    );
    expect([...phases].sort()).toEqual(["connect", "total", "transfer", "ttfb"]);

    const failures = fam("stallwatch_probe_failures_total")?.metrics ?? [];
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((m) => m.labels?.endpoint === "/teapot" && m.labels?.cause === "http-4xx")).toBe(
      true,
    );
    const success = fam("stallwatch_probe_success")?.metrics ?? [];
    expect(success.find((m) => m.labels?.endpoint === "/teapot")?.value).toBe("0");
    expect(success.find((m) => m.labels?.endpoint === "/ok")?.value).toBe("1");
    const stalls = fam("stallwatch_probe_stalls_total")?.metrics ?? [];
    expect(stalls.length).toBeGreaterThan(0);
    expect(stalls.every((m) => m.labels?.endpoint === "/sometimes-slow" && m.labels?.phase === "ttfb")).toBe(
      true,
    );

    const om = await scrape(
      url,
      "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5",
    );
    expect(om.type).toContain("application/openmetrics-text");
    expect(om.text.trimEnd().endsWith("# EOF")).toBe(true);
    expect(om.text).toContain("# TYPE stallwatch_probe_http_duration_seconds histogram");
    expect(om.text).toMatch(/stallwatch_probe_http_duration_seconds_bucket\{le="0\.25",api="shop"/);
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);

    d.proc.kill("SIGTERM");
    expect(await d.exited).toBe(0);
  }, 60_000);

  test("a bad HOST:PORT is a usage error (exit 2)", async () => {
    expect(() => parseListen("9469")).toThrow(/expected HOST:PORT/);
    expect(parseListen("[::1]:9469")).toEqual({ host: "::1", port: 9469 });
    expect(parseListen(":9469")).toEqual({ host: "0.0.0.0", port: 9469 });
    const r = await runCli(["daemon", "--lab", "healthy", "--metrics-listen", "localhost"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--metrics-listen: expected HOST:PORT");
  });
});
