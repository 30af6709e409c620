import { EventEmitter } from "node:events";
import { describe, expect, test } from "vitest";
import { createLogger } from "../../src/schedule/logger.js";
import { installShutdown, type ShutdownSignal } from "../../src/schedule/signals.js";

const wall = { now: () => 0, wallMs: () => Date.UTC(2026, 0, 2, 3, 4, 5, 678) };

describe("logger", () => {
  test("JSON lines off a TTY, redacted, below-level lines dropped", () => {
    const out: string[] = [];
    const log = createLogger({
      stream: { write: (s: string) => out.push(s), isTTY: false },
      clock: wall,
      redact: (s) => s.replaceAll("s3cr3t", "[REDACTED]"),
    });
    log.debug("hidden");
    log.warn("stall", { round: 3, api: "shop", totalMs: 5012.5, header: "Bearer s3cr3t" });
    expect(out).toHaveLength(1);
    expect(out[0]?.endsWith("\n")).toBe(true);
    expect(JSON.parse(out[0] ?? "")).toEqual({
      ts: "2026-01-02T03:04:05.678Z",
      level: "warn",
      msg: "stall",
      round: 3,
      api: "shop",
      totalMs: 5012.5,
      header: "Bearer [REDACTED]",
    });
  });

  test("human lines on a TTY", () => {
    const out: string[] = [];
    const log = createLogger({ stream: { write: (s: string) => out.push(s), isTTY: true }, clock: wall });
    log.info("probe round 1 done", { requests: 3, note: "a b" });
    expect(out[0]).toBe('03:04:05.678 INFO  probe round 1 done requests=3 note="a b"\n');
  });
});

describe("installShutdown", () => {
  test("first signal runs the handler then exits 0; a second signal forces 130", async () => {
    const target = new EventEmitter();
    const codes: number[] = [];
    let release: () => void = () => undefined;
    const seen: ShutdownSignal[] = [];
    const off = installShutdown(
      (sig) => {
        seen.push(sig);
        return new Promise<void>((r) => {
          release = r;
        });
      },
      { graceMs: 1000, exit: (c) => codes.push(c), target: target as never },
    );
    target.emit("SIGTERM", "SIGTERM");
    expect(seen).toEqual(["SIGTERM"]);
    expect(codes).toEqual([]);
    target.emit("SIGINT", "SIGINT");
    expect(codes).toEqual([130]);
    release();
    await new Promise((r) => setTimeout(r, 10));
    expect(codes).toEqual([130, 0]);
    off();
    expect(target.listenerCount("SIGTERM")).toBe(0);
  });

  test("a handler that overruns the hard deadline is cut off with exit 1", async () => {
    const target = new EventEmitter();
    const codes: number[] = [];
    const off = installShutdown(() => new Promise<void>(() => undefined), {
      graceMs: 50,
      hardMarginMs: 50,
      exit: (c) => codes.push(c),
      target: target as never,
    });
    target.emit("SIGTERM", "SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    expect(codes).toEqual([1]);
    off();
  });
});
