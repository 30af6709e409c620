/**
 * The public library entry, as another Node service would use it: the BUILT
 * file package.json's `main` names (dist/index.js, rebuilt by
 * test/global-setup.ts when sources are newer), with the declarations `types`
 * names beside it. Probes a real loopback server whose every 10th request
 * holds its headers for 600 ms, builds histograms, finds the stalls,
 * diagnoses them and builds the report, all through the entry's exports.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOneCount } from "../helpers/one-count.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";

type Lib = typeof import("../../src/index.js");

const ROOT = join(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { main: string; types: string };
const DELAY_MS = 600;
const COUNT = 40;

let server: TestServer;
let lib: Lib;
let served = 0;
/** Server-side order of the delayed requests (1-based): every 10th from the 5th. */
const delayed = (n: number) => n % 10 === 5;

beforeAll(async () => {
  lib = (await import(pathToFileURL(join(ROOT, pkg.main)).href)) as Lib;
  server = await startServer({
    fallback: (req, res, tools) => {
      served++;
      if (delayed(served)) behaviors.delayHeaders(DELAY_MS)(req, res, tools);
      else behaviors.json({ status: "OK" })(req, res, tools);
    },
  });
});

afterAll(async () => {
  await server?.close();
});

describe("the library entry (package.json main/types)", () => {
  it("names built files that exist: the module and its declarations", () => {
    expect(pkg.main).toBe("dist/index.js");
    expect(existsSync(join(ROOT, pkg.main))).toBe(true);
    expect(existsSync(join(ROOT, pkg.types))).toBe(true);
    const dts = readFileSync(join(ROOT, pkg.types), "utf8");
    for (const name of ["runProbes", "createProber", "HistogramSet", "diagnose", "buildReport"])
      expect(dts, name).toContain(name);
  });

  it("probes a loopback server, builds histograms, finds and diagnoses the stalls, builds the report", async () => {
    const loaded = lib.parseConfig({
      apis: [
        {
          name: "lib",
          routes: [{ name: "direct", baseUrl: server.origin }],
          endpoints: [{ path: "/ping" }],
        },
      ],
      probe: { count: COUNT, concurrency: 1, connection: "fresh", timeoutMs: 5000 },
    });
    expect(loaded.targets).toHaveLength(1);

    const clock = lib.systemClock;
    const lag = lib.createLagMonitor({ clock });
    const prober = lib.createProber({
      maxBodyBytes: 1 << 20,
      insecureTls: false,
      userAgent: "stallwatch-library-test",
      clock,
      lagMonitor: lag,
    });
    let run: Awaited<ReturnType<Lib["runProbes"]>>;
    try {
      run = await lib.runProbes(
        loaded.targets,
        { count: COUNT, concurrency: 1, connection: "fresh", tag: "probe" },
        { prober, clock, lag },
      );
    } finally {
      await prober.close();
    }
    expect(run.records).toHaveLength(COUNT);
    expect(run.records.every((r) => r.ok)).toBe(true);

    const hist = new lib.HistogramSet();
    for (const r of run.records) hist.recordRecord(r);
    const total = hist.get(lib.histKeyOf(run.records[0]!), "total");
    expect(total?.totalCount).toBe(COUNT);
    const stats = lib.statsOf(total!);
    expect(stats.max).toBeGreaterThanOrEqual(DELAY_MS - 5);
    expect(stats.p50).toBeLessThan(DELAY_MS);

    // concurrency 1: the server's n-th request is the record with seq n-1.
    const slowSeqs = run.records.filter((r) => delayed(r.seq + 1)).map((r) => r.seq);
    expect(slowSeqs).toHaveLength(COUNT / 10);
    const stalls = lib.detectStalls(run.records, lib.DEFAULT_STALL_RULE);
    const stallSeqs = stalls.map((s) => s.record.seq);
    for (const seq of slowSeqs) expect(stallSeqs).toContain(seq);
    for (const s of stalls.filter((x) => slowSeqs.includes(x.record.seq))) {
      expect(s.phase).toBe("ttfb");
      expect(s.totalMs).toBeGreaterThanOrEqual(DELAY_MS - 5);
    }

    const diagnosis = lib.diagnose({ records: run.records, stalls, lag: run.lag });
    expect(diagnosis.healthy).toBe(false);
    expect(diagnosis.verdict?.phase).toBe("ttfb");
    for (const seq of slowSeqs) expect(diagnosis.causeBySeq.has(seq)).toBe(true);

    const report = lib.buildReport({
      records: run.records,
      stalls,
      diagnosis,
      lag: run.lag,
      source: { kind: "live" },
      options: {},
      histograms: hist,
    });
    expect(report.totals).toMatchObject({ requests: COUNT, ok: COUNT, stalls: stalls.length });
    expect(report.series[0]?.latencyMs.total?.max).toBe(stats.max);
    expectOneCount(report);
    const json = JSON.parse(lib.renderJson(report)) as { verdict?: { cause: string } };
    expect(json.verdict?.cause).toBe(report.verdict?.cause);
    expect(lib.findingSpec(report.verdict!.cause)).toBeDefined();
  });
});
