import { afterEach, expect, test } from "vitest";
import { createLagMonitor, type LagMonitor } from "../../src/probe/lag.js";
import { blockEventLoop as block } from "../helpers/block-loop.js";

let lag: LagMonitor | undefined;
afterEach(() => lag?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a 200 ms block shows in the window that contains it, not in an earlier one", async () => {
  lag = createLagMonitor({ intervalMs: 5 });
  lag.start();
  await sleep(60);
  const quietFrom = performance.now();
  await sleep(60);
  const quietTo = performance.now();
  await sleep(60);
  const t0 = performance.now();
  block(200);
  const t1 = performance.now();
  await sleep(30);
  expect(lag.maxLagMs(t0, t1)).toBeGreaterThanOrEqual(150);
  expect(lag.maxLagMs(quietFrom, quietTo)).toBeLessThan(100);
  const s = lag.stats();
  expect(s.maxMs).toBeGreaterThanOrEqual(150);
  expect(s.p50Ms).toBeLessThan(50);
  expect(s.utilization).toBeGreaterThan(0);
  expect(s.utilization).toBeLessThanOrEqual(1);
  expect(s.samples).toBeGreaterThan(10);
  expect(lag.stats(quietFrom).maxMs).toBeGreaterThanOrEqual(150);
  expect(lag.stats(t1 + 10).maxMs).toBeLessThan(100);
});

test("a block still in progress when the window closes is seen", async () => {
  lag = createLagMonitor({ intervalMs: 5 });
  lag.start();
  await sleep(30);
  const t0 = performance.now();
  block(120);
  // no tick has run yet since the block began
  expect(lag.maxLagMs(t0, performance.now())).toBeGreaterThanOrEqual(100);
});

test("stopped or never started: undefined", () => {
  lag = createLagMonitor();
  expect(lag.maxLagMs(0, 1)).toBeUndefined();
  expect(lag.running).toBe(false);
  lag.start();
  expect(lag.running).toBe(true);
  lag.stop();
  expect(lag.running).toBe(false);
});
