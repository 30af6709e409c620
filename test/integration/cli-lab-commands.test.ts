/**
 * `run --lab` and `daemon --lab` without a config, and with
 * config.example.json (whose keep-warm names a suite endpoint, `root`):
 * both used to fail before probing anything.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { labConfigFor } from "../../src/cli/lab-config.js";
import { startDemoLab } from "../../src/cli/lab-demo.js";
import type { RemoteLab } from "../../src/lab/remote.js";
import { readHistory } from "../../src/record/history.js";
import { CLI_MAIN, runCli } from "../helpers/cli.js";

const EXAMPLE = join(import.meta.dirname, "../../config.example.json");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "sw-lab-cmds-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function recordedRequests(dir: string): Promise<number> {
  const h = await readHistory(dir);
  return h.records.length;
}

describe("run --lab", () => {
  test("without a config: one round of the lab, recorded", async () => {
    const dir = join(tmp, "run-bare");
    const r = await runCli(["run", "--lab", "healthy", "--data-dir", dir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    // 4 endpoints × 2 routes × 2 connection modes × samplesPerRound 3
    expect(await recordedRequests(dir)).toBe(48);
  }, 90_000);

  test("with config.example.json: its schedule and probe options, the lab's APIs", async () => {
    const dir = join(tmp, "run-example");
    const r = await runCli(["run", "-c", EXAMPLE, "--lab", "healthy", "--data-dir", dir], {
      timeoutMs: 60_000,
    });
    expect(r.stderr).not.toContain("unknown endpoint");
    expect(r.code, r.stderr).toBe(0);
    expect(await recordedRequests(dir)).toBe(48);
  }, 90_000);

  test("neither -c nor --lab: usage error", async () => {
    const r = await runCli(["run"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("run: expected -c, --config <file> (or --lab [scenario]");
  });
});

describe("daemon --lab", () => {
  function startAndStop(args: string[]): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const proc = spawn(process.execPath, [CLI_MAIN, "daemon", ...args], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let signalled = false; // once: a second signal means "exit now" (130)
      const onData = (c: Buffer) => {
        out += c.toString();
        if (!signalled && out.includes('"event":"daemon-start"')) {
          signalled = true;
          proc.kill("SIGTERM");
        }
      };
      proc.stdout.on("data", onData);
      proc.stderr.on("data", (c: Buffer) => {
        out += c.toString();
      });
      const timer = setTimeout(() => proc.kill("SIGKILL"), 40_000);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, out });
      });
    });
  }

  test("starts without a config, and with config.example.json; SIGTERM stops it with exit 0", async () => {
    const bare = await startAndStop(["--lab", "bad-target", "--data-dir", join(tmp, "d1")]);
    expect(bare.out).toContain('"event":"daemon-start"');
    expect(bare.code).toBe(0);
    const example = await startAndStop(["-c", EXAMPLE, "--lab", "bad-target", "--data-dir", join(tmp, "d2")]);
    expect(example.out).not.toContain("unknown endpoint");
    expect(example.out).toContain('"event":"daemon-start"');
    expect(example.code).toBe(0);
  }, 90_000);
});

describe("keep-warm names under --lab", () => {
  let lab: RemoteLab;
  beforeAll(async () => {
    lab = await startDemoLab("healthy");
  });
  afterAll(() => lab.close());

  test("suite names become the lab's paths; a name the lab lacks is still an error with its path", async () => {
    const example = JSON.parse(readFileSync(EXAMPLE, "utf8"));
    // The example's suite path is relative to the repository; the copy in tmp names it absolutely.
    example.apis[0].suites = [join(import.meta.dirname, "../../probes/flaskapp.json")];
    const on = join(tmp, "keep-warm.json");
    writeFileSync(
      on,
      JSON.stringify({
        ...example,
        keepWarm: { ...example.keepWarm, enabled: true, endpoints: ["root", "header"] },
      }),
    );
    const loaded = await labConfigFor(on, lab);
    expect(loaded.config.keepWarm.endpoints).toEqual(["/", "/header"]);
    writeFileSync(on, JSON.stringify({ ...example, keepWarm: { enabled: true, endpoints: ["/nope"] } }));
    await expect(labConfigFor(on, lab)).rejects.toThrow(/keepWarm\.endpoints\[0\]/);
  });
});
