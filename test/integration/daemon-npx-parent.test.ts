/**
 * Under `npx` (npm_command=exec) SIGTERM to npx's PID never reaches the
 * daemon: npm and its sh die and the daemon is re-parented. The daemon then
 * stops as on SIGTERM. Reproduced with a shell standing in for npx (killed
 * with SIGKILL, so it certainly forwards nothing); the daemon probes the lab.
 * Without npm_command=exec the daemon keeps running (a shell's `&` job).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { watchParent } from "../../src/schedule/parent-watch.js";
import { CLI_MAIN } from "../helpers/cli.js";

let tmp: string;
const started: number[] = [];
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "sw-npx-"));
});
afterAll(() => {
  for (const pid of started) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  rmSync(tmp, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** sh (the stand-in for npx) starts the daemon in the background and prints its pid; returns both pids. */
async function daemonUnderShell(
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<{ sh: number; daemon: number }> {
  const sh = spawn(
    "sh",
    [
      "-c",
      `"${process.execPath}" "${CLI_MAIN}" daemon --lab healthy --data-dir "${join(tmp, "d")}" > "${log}" 2>&1 & echo $!; wait`,
    ],
    { env, stdio: ["ignore", "pipe", "ignore"] },
  );
  const daemon = await new Promise<number>((resolve) =>
    sh.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
  );
  started.push(daemon);
  // The shell creates the log as it starts the job, a moment after `echo $!` may already have run.
  const isUp = (): boolean => existsSync(log) && readFileSync(log, "utf8").includes('"event":"daemon-start"');
  for (let i = 0; i < 100 && !isUp(); i++) await sleep(200);
  return { sh: sh.pid as number, daemon };
}

describe("daemon under npx", () => {
  test("watchParent fires once when the parent changes", async () => {
    let ppid = 100;
    let fired = 0;
    const stop = watchParent(() => fired++, { ppid: () => ppid, intervalMs: 10 });
    await sleep(40);
    expect(fired).toBe(0);
    ppid = 1;
    await sleep(40);
    stop();
    expect(fired).toBe(1);
  });

  test("npx's process gone: the daemon shuts down cleanly by itself", async () => {
    const log = join(tmp, "npx.log");
    const { sh, daemon } = await daemonUnderShell({ ...process.env, npm_command: "exec" }, log);
    expect(alive(daemon)).toBe(true);
    process.kill(sh, "SIGKILL");
    for (let i = 0; i < 150 && alive(daemon); i++) await sleep(200);
    expect(alive(daemon)).toBe(false);
    const text = readFileSync(log, "utf8");
    expect(text).toContain('"event":"parent-exit"');
    expect(text).toContain('"event":"daemon-stop"');
  }, 60_000);

  test("started otherwise, the daemon outlives its shell (as a `&` job should)", async () => {
    const env = { ...process.env };
    delete env.npm_command;
    const log = join(tmp, "plain.log");
    const { sh, daemon } = await daemonUnderShell(env, log);
    process.kill(sh, "SIGKILL");
    await sleep(3000);
    expect(alive(daemon)).toBe(true);
    process.kill(daemon, "SIGTERM");
    for (let i = 0; i < 150 && alive(daemon); i++) await sleep(200);
    expect(readFileSync(log, "utf8")).toContain('"event":"daemon-stop"');
  }, 60_000);
});
