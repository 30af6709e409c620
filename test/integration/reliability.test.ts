/**
 * Issue 12's faults, each through the built CLI against loopback servers:
 * outputs checked before the run, credentials and secrets kept out of every
 * file written, shutdown at any moment, a full disk, paths that cannot be
 * created. Spawns dist/ (rebuilt by the global setup when stale).
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { detectStalls } from "../../src/diagnose/stalls.js";
import { readHistory } from "../../src/record/history.js";
import { openStore, type RoundMeta } from "../../src/record/store.js";
import { catchEarlySignals, installShutdown, type SignalTarget } from "../../src/schedule/signals.js";
import { behaviors, startServer, type TestServer } from "../helpers/servers.js";
import { fakeRound } from "../helpers/store-records.js";

const MAIN = join(import.meta.dirname, "../../dist/cli/main.js");

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { timeout: opts.timeoutMs ?? 30_000, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let server: TestServer;
let hanging: (() => void) | undefined;
let tmp: string;
beforeAll(async () => {
  server = await startServer({
    routes: {
      "/health": behaviors.json({ status: "OK" }),
      // Never answers; tells the test a request is in flight.
      "/hang": () => {
        hanging?.();
      },
      // Reflects the secret key everywhere a record keeps something of the response.
      "/reflect": (req, res) => {
        const key = String(req.headers["x-api-key"] ?? "");
        res.setHeader("x-echo", key);
        res.setHeader("x-amzn-requestid", key);
        res.setHeader("via", `1.1 ${key}`);
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ key, note: `your key is ${key}` }));
      },
    },
  });
  tmp = mkdtempSync(join(tmpdir(), "sw-reliability-"));
});
afterAll(async () => {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("outputs are checked before the run", () => {
  test("--html to a path that cannot be written exits 2 before a single request", async () => {
    const before = server.requests;
    for (const html of [join(tmp, "no-such-dir", "r.html"), tmp]) {
      const r = await cli(["report", "--url", server.url("/health"), "--count", "3", "--html", html]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`--html: expected a file that can be written, cannot write ${html}`);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    expect(server.requests).toBe(before);
    // A writable path is left as it was found: no empty file from the check when the run fails.
    writeFileSync(join(tmp, "cfg-bad.json"), "{");
    const ok = join(tmp, "ok.html");
    const r = await cli(["report", "--config", join(tmp, "cfg-bad.json"), "--html", ok]);
    expect(r.code).toBe(2);
    expect(() => rmSync(ok)).toThrow(/ENOENT/);
  });
});

const isRoot = process.getuid?.() === 0;
/** Why the tests that mount a file system are skipped, printed once. */
const rootReason = "needs root to mount a tmpfs (run the suite as root, as CI does)";
if (!isRoot) console.warn(`reliability: skipping the tmpfs tests: ${rootReason}`);

/** Mounts a tmpfs of `size` (mount(8) syntax) at a new directory; returns it and its unmount. */
function mountTmpfs(name: string, options: string): { dir: string; unmount: () => void } {
  const dir = join(tmp, name);
  execFileSync("mkdir", ["-p", dir]);
  execFileSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]);
  return { dir, unmount: () => execFileSync("umount", ["-l", dir]) };
}

function writeConfig(name: string, extra: Record<string, unknown> = {}): string {
  const file = join(tmp, `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({
      apis: [
        { name: "t", routes: [{ name: "direct", baseUrl: server.origin }], endpoints: [{ path: "/health" }] },
      ],
      probe: { connection: "fresh", timeoutMs: 5000 },
      schedule: { samplesPerRound: 1 },
      ...extra,
    }),
  );
  return file;
}

describe("data directories that cannot be created", () => {
  test.each(["run", "daemon"])(
    "%s --data-dir under /proc/sys is refused with exit 2, no spinning",
    async (command) => {
      const r = await cli(
        [command, "-c", writeConfig(`proc-${command}`), "--data-dir", "/proc/sys/stallwatch-x"],
        {
          timeoutMs: 20_000, // a hang guard: Node's recursive mkdir spun here forever
        },
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "cannot use data directory /proc/sys/stallwatch-x: cannot create /proc/sys/stallwatch-x",
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
    },
  );

  test.skipIf(!isRoot)(
    "a read-only file system says EROFS, for a new and for an existing directory",
    async () => {
      const ro = mountTmpfs("ro", "size=1m,ro");
      try {
        const cfg = writeConfig("ro");
        const fresh = await cli(["run", "-c", cfg, "--data-dir", join(ro.dir, "a", "b")]);
        expect(fresh.code).toBe(2);
        expect(fresh.stderr).toContain(
          `cannot create ${join(ro.dir, "a")}: the file system is read-only (EROFS)`,
        );
        const existing = await cli(["run", "-c", cfg, "--data-dir", ro.dir]);
        expect(existing.code).toBe(2);
        expect(existing.stderr).toContain("cannot create a file in it: the file system is read-only (EROFS)");
      } finally {
        ro.unmount();
      }
    },
  );
});

describe("shutdown at any moment", () => {
  test("a signal caught while the command module loads is handled once the handler is installed", async () => {
    const target = new EventEmitter() as EventEmitter & SignalTarget;
    const early = catchEarlySignals(target);
    target.emit("SIGTERM", "SIGTERM"); // during the import: held, not Node's default
    expect(early.caught).toBe("SIGTERM");
    const handled: string[] = [];
    const exited = new Promise<number>((resolve) => {
      installShutdown(
        async (signal) => {
          handled.push(signal);
        },
        { graceMs: 10, exit: resolve, target, early },
      );
    });
    expect(await exited).toBe(0);
    expect(handled).toEqual(["SIGTERM"]);
    expect(target.listenerCount("SIGTERM")).toBe(1); // the early catcher is gone, the real handler stays
  });

  /**
   * The command blocks reading its config from a FIFO: once the test's open()
   * of the write end returns, the command is inside loadConfig, before it has
   * opened the store. A SIGTERM then must be a clean stop, not Node's 143.
   */
  test.each(["run", "daemon"])("%s: SIGTERM while the config is still loading exits 0", async (command) => {
    const fifo = join(tmp, `cfg-${command}.fifo`);
    execFileSync("mkfifo", [fifo]);
    const child = spawn(
      process.execPath,
      [MAIN, command, "-c", fifo, "--data-dir", join(tmp, `d-${command}`)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    // open() returns once the command opened the FIFO to read it; a child that ended before that says why.
    const writer = await Promise.race([
      open(fifo, "w"),
      exited.then(({ code, signal }) => {
        throw new Error(`${command} ended (${code ?? signal}) before reading its config:\n${stderr}`);
      }),
    ]);
    child.kill("SIGTERM");
    // The child's config read sits in a libuv thread blocked on the FIFO, and exiting can wait for that thread: a
    // config source that never ends would hold a clean exit up too. After 2 s the FIFO is closed (the read sees
    // EOF). A signal that was handled has already chosen exit 0; one that was not would now fail on an empty config.
    const unblock = setTimeout(() => void writer.close().catch(() => {}), 2000);
    const { code, signal } = await exited;
    clearTimeout(unblock);
    await writer.close().catch(() => {});
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null });
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

describe("no secret is ever written anywhere", () => {
  test("a reflected secret header value is in no file the store, the logs or the HTML report wrote", async () => {
    const secret = "sk-live-TESTSECRET-0123456789";
    const env = { SW_RELIABILITY_KEY: secret };
    const cfg = join(tmp, "secret.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        apis: [
          {
            name: "t",
            routes: [{ name: "direct", baseUrl: server.origin }],
            headers: { "x-api-key": { env: "SW_RELIABILITY_KEY" } },
            endpoints: [
              {
                path: "/reflect",
                expect: { json: { key: "something-else" }, headers: { "x-echo": "nope" } },
              },
              { path: "/reflect", name: "contains", expect: { bodyContains: "welcome" } },
            ],
          },
        ],
        probe: { connection: "both", timeoutMs: 5000 },
        schedule: { samplesPerRound: 2 },
        // CloudWatch in EMF mode: the metric lines go to stdout, grepped with the logs.
        cloudwatch: { enabled: true, mode: "emf" },
      }),
    );
    const out = join(tmp, "secret-out");
    const data = join(out, "data");
    const run = await cli(["run", "-c", cfg, "--data-dir", data], { env });
    expect(run.code).toBe(1); // the expectations fail: that is what puts the secret in reach of every sink
    const fromStore = await cli(
      ["report", "--from", data, "-c", cfg, "--since", "1h", "--json", "--html", join(out, "history.html")],
      { env },
    );
    const live = await cli(
      ["report", "-c", cfg, "--count", "2", "--json", "--html", join(out, "live.html")],
      { env },
    );
    writeFileSync(join(out, "run.log"), run.stdout + run.stderr);
    writeFileSync(join(out, "history.out"), fromStore.stdout + fromStore.stderr);
    writeFileSync(join(out, "live.out"), live.stdout + live.stderr);

    expect(run.stdout).toContain('"_aws"'); // the EMF lines were written
    const files = filesUnder(out);
    // Not vacuous: the store, both HTML reports and every output were written, and the secret reached them redacted.
    expect(files.some((f) => /records-.*\.jsonl$/.test(f))).toBe(true);
    expect(files.some((f) => /hist-.*\.hlog$/.test(f))).toBe(true);
    expect(statSync(join(out, "history.html")).size).toBeGreaterThan(1000);
    expect(statSync(join(out, "live.html")).size).toBeGreaterThan(1000);
    const records = files
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => readFileSync(f, "utf8"))
      .join("");
    expect(records).toContain("[REDACTED]");
    expect(records).toContain("json.key");
    const forms = [secret, encodeURIComponent(secret), Buffer.from(secret).toString("base64"), "TESTSECRET"];
    for (const f of files) {
      const text = readFileSync(f, "utf8");
      for (const form of forms) expect(text.includes(form), `${f} contains ${form}`).toBe(false);
    }
  });
});

describe("a full disk", () => {
  test.skipIf(!isRoot)(
    "a round that cannot be written leaves the files as they were; the next round is readable",
    async () => {
      const disk = mountTmpfs("full", "size=1m");
      try {
        const dir = join(disk.dir, "data");
        const T0 = Date.UTC(2026, 10, 20, 10, 0, 0);
        const meta = (id: number): RoundMeta => ({
          id,
          kind: "probe",
          scheduledAtMs: T0 + id * 1000,
          startedAtMs: T0 + id * 1000,
          endedAtMs: T0 + id * 1000 + 400,
          latenessMs: 0,
          skipped: 0,
        });
        const store = await openStore({
          dir,
          writerId: "w",
          clock: { now: () => performance.now(), wallMs: () => T0 },
        });
        await store.writeRound(meta(1), fakeRound(T0 + 1000, 3, ["a"]));
        // Fill the disk, then free 8 KiB: less than the next round needs, so it is cut off mid-line.
        const filler = join(disk.dir, "filler");
        const fh = await open(filler, "w");
        const chunk = Buffer.alloc(4096, 120);
        for (;;) {
          try {
            await fh.write(chunk);
          } catch (err) {
            expect((err as NodeJS.ErrnoException).code).toBe("ENOSPC");
            break;
          }
        }
        const filled = (await fh.stat()).size;
        await fh.truncate(filled - 8192);
        await fh.close();
        const big = fakeRound(T0 + 2000, 200, ["a", "b"]);
        await expect(store.writeRound(meta(2), big)).rejects.toMatchObject({ code: "SW_STORE_WRITE" });
        rmSync(filler); // space freed
        await store.writeRound(meta(3), fakeRound(T0 + 3000, 3, ["a"]));
        await store.writeRound(meta(4), big);
        await store.close();

        for (const source of ["records", "hlog"] as const) {
          const h = await readHistory(dir, { histogramSource: source, sinceMs: 0, untilMs: T0 + 86_400_000 });
          expect(h.warnings).toEqual([]);
          expect(h.rounds.map((r) => r.id)).toEqual([1, 3, 4]); // every round whose write resolved, and only those
          expect(h.records).toHaveLength(3 + 3 + big.length);
          const key = {
            api: "shop",
            route: "execute-api",
            endpoint: "b",
            connection: "fresh",
            tag: "probe",
          } as const;
          expect(h.histograms.get(key, "total")?.totalCount).toBe(200); // round 4 only: round 2 left nothing behind
        }
      } finally {
        disk.unmount();
      }
    },
  );
});

describe("requests aborted by a clean stop", () => {
  test("are stored marked aborted, and count as no failure, stall or histogram value", async () => {
    const data = join(tmp, "aborted-data");
    const cfg = join(tmp, "aborted.json");
    writeFileSync(
      cfg,
      JSON.stringify({
        apis: [
          {
            name: "t",
            routes: [{ name: "direct", baseUrl: server.origin }],
            endpoints: [{ path: "/health" }, { path: "/hang" }],
          },
        ],
        probe: { connection: "fresh", timeoutMs: 60_000, concurrency: 2 },
        schedule: { samplesPerRound: 1 },
      }),
    );
    const inFlight = new Promise<void>((resolve) => {
      hanging = resolve;
    });
    const child = spawn(process.execPath, [MAIN, "run", "-c", cfg, "--data-dir", data], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await inFlight;
    hanging = undefined;
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    const round = stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l.event === "round");
    expect(round).toMatchObject({ failures: 0, stalls: 0, abortedRequests: 1, aborted: true, stored: true });
    expect(stdout).not.toContain('"event":"failure"');
    expect(stdout).not.toContain('"event":"stall"');

    const stored = filesUnder(data)
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => readFileSync(f, "utf8"))
      .join("");
    expect(stored).toContain('"aborted":true');
    const h = await readHistory(data, { sinceMs: 0, stalls: (r) => detectStalls(r) });
    expect(h.records.map((r) => r.endpoint)).toEqual(["/health"]);
    expect(h.intervals.reduce((n, iv) => n + iv.failures + iv.stalls, 0)).toBe(0);
    const report = await cli(["report", "--from", data, "--since", "1h", "--json"]);
    expect(report.code).toBe(0); // a normal shutdown is no failure
  });
});

describe("store damage", () => {
  test("report --from skips a directory where a records file belongs, with a warning, and reads the rest", async () => {
    const data = join(tmp, "damaged-data");
    const run = await cli(["run", "-c", writeConfig("damaged"), "--data-dir", data]);
    expect(run.code).toBe(0);
    const day = readdirSync(data).find((d) => /^\d{4}-\d{2}-\d{2}$/.test(d))!;
    const bogus = join(data, day, "records-bogus-writer.jsonl");
    execFileSync("mkdir", ["-p", bogus]);
    const r = await cli(["report", "--from", data, "--since", "1h", "--json"]);
    expect(r.stderr).toContain(`warning: ${bogus}: skipped, a directory where a file is expected (EISDIR)`);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(JSON.parse(r.stdout).totals).toMatchObject({ requests: 1, failed: 0 }); // the good writer still read
  });
});
