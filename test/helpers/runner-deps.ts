/**
 * What runProbes needs to run in a test: a prober on a lag monitor and the system clock. Every prober
 * made is closed by `close()`: call it in the file's afterEach.
 */
import { systemClock } from "../../src/clock.js";
import { createLagMonitor } from "../../src/probe/lag.js";
import { createProber } from "../../src/probe/prober.js";
import type { RunDeps } from "../../src/probe/runner.js";
import type { Prober } from "../../src/probe/types.js";

export function testProbers(): { deps(lag?: RunDeps["lag"]): RunDeps; close(): Promise<void> } {
  const open: Prober[] = [];
  return {
    deps(lag = createLagMonitor()) {
      const prober = createProber({
        maxBodyBytes: 65536,
        insecureTls: false,
        userAgent: "t",
        lagMonitor: lag,
      });
      open.push(prober);
      return { prober, lag, clock: systemClock };
    },
    async close() {
      await Promise.all(open.splice(0).map((p) => p.close()));
    },
  };
}
