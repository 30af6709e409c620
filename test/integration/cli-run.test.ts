/**
 * `stallwatch run`: one round against a loopback server, recorded in the
 * store, exit code from the round (spawns the built CLI, rebuilt by the
 * global setup when stale).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { readHistory } from "../../src/record/history.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";

const MAIN = join(import.meta.dirname, "../../dist/cli/main.js");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let server: TestServer;
let tmp: string;
beforeAll(async () => {
  server = await startServer({
    routes: { "/health": behaviors.json({ status: "OK" }), "/teapot": behaviors.status(418) },
  });
  tmp = mkdtempSync(join(tmpdir(), "sw-cli-run-"));
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

function writeConfig(name: string, endpoints: unknown[], dataDir: string): string {
  const file = join(tmp, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apis: [{ name: "t", routes: [{ name: "direct", baseUrl: server.origin }], endpoints }],
      probe: { connection: "both", timeoutMs: 5000 },
      schedule: { samplesPerRound: 2 },
      store: { dir: dataDir },
    }),
  );
  return file;
}

const jsonLines = (s: string): Record<string, unknown>[] =>
  s
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("stallwatch run", () => {
  test("records one probe round in the store and exits 0", async () => {
    const dataDir = join(tmp, "ok-data");
    const cfg = writeConfig(
      "ok",
      [{ path: "/health", expect: { status: 200, json: { status: "OK" } } }],
      dataDir,
    );
    const before = server.requests;
    const r = await cli(["run", "-c", cfg]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    // 2 samples × 2 connection modes.
    expect(server.requests - before).toBe(4);
    const lines = jsonLines(r.stdout);
    const summary = lines.find((l) => l.event === "round");
    expect(summary).toMatchObject({ kind: "probe", requests: 4, ok: 4, failures: 0, stored: true });

    const h = await readHistory(dataDir);
    expect(h.warnings).toEqual([]);
    expect(h.rounds).toHaveLength(1);
    expect(h.rounds[0]).toMatchObject({ kind: "probe", id: 1 });
    // The round's diagnosis is stored with its records: four healthy requests, no stall, no finding.
    expect(h.rounds[0]?.diagnosis).toMatchObject({ healthy: true, findings: [], causes: [] });
    expect(h.records).toHaveLength(4);
    expect(new Set(h.records.map((x) => x.tag))).toEqual(new Set(["probe"]));
    expect(new Set(h.records.map((x) => x.connection))).toEqual(new Set(["fresh", "reuse"]));
    expect(h.records.every((x) => x.ok && x.status === 200)).toBe(true);
  });

  test("--data-dir wins over store.dir; a failed expectation exits 1 and logs each failure", async () => {
    const cfgDir = join(tmp, "unused-data");
    const dataDir = join(tmp, "fail-data");
    const cfg = writeConfig(
      "fail",
      [{ path: "/health" }, { path: "/teapot", expect: { status: 200 } }],
      cfgDir,
    );
    const r = await cli(["run", "-c", cfg, "--data-dir", dataDir]);
    expect(r.code).toBe(1);
    const lines = jsonLines(r.stdout);
    const failures = lines.filter((l) => l.event === "failure");
    expect(failures).toHaveLength(4);
    for (const f of failures) expect(f).toMatchObject({ level: "warn", endpoint: "/teapot", status: 418 });
    expect(lines.find((l) => l.event === "round")).toMatchObject({ failures: 4, stored: true });

    const h = await readHistory(dataDir);
    expect(h.rounds).toHaveLength(1);
    expect(h.records.filter((x) => !x.ok)).toHaveLength(4);
    expect((await readHistory(cfgDir)).rounds).toHaveLength(0);
  });

  test("a config error exits 2 and names the problem", async () => {
    const file = join(tmp, "bad.json");
    writeFileSync(file, JSON.stringify({ apis: [], schedule: { cron: "every minute" } }));
    const r = await cli(["run", "-c", file, "--data-dir", join(tmp, "bad-data")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("schedule.cron");
    expect(r.stdout).toBe("");
  });
});
