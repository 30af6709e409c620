import { defineConfig } from "vitest/config";

/**
 * Files whose assertions depend on timing or on a schedule (kernel retransmission timers, cron rounds, kill -9 at
 * random moments, the lab's injected delays). They run one at a time, after the parallel batch, so no other test
 * file competes with them for the machine's two cores.
 */
// Kernel faults, idle sweeps and lab runs wait on kernel timers, idle gaps and injected delays rather than the CPU,
// and their assertions allow for the prober's own lag (client-lag): they run with the parallel batch.
const SERIAL = [
  "test/integration/load-schedule.test.ts",
  "test/integration/cli-daemon.test.ts",
  "test/integration/schedule*.test.ts",
  "test/integration/store-crash.test.ts",
  "test/integration/real-signatures.test.ts",
];

export default defineConfig({
  test: {
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // No test may reach the EC2 instance-metadata address: the AWS SDK's credential chain would try it when a
    // test forgets to point a client at the lab. Tests set their own dummy credentials and endpoints.
    // The SDK's Node-version warning (and our one-line notice, which follows the same switch) is tested on its own in
    // cli-node-warning.test.ts; elsewhere it would only repeat in every test process.
    env: { AWS_EC2_METADATA_DISABLED: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    projects: [
      {
        extends: true,
        test: {
          name: "parallel",
          include: ["test/**/*.test.ts"],
          exclude: SERIAL,
          // Integration tests open real sockets and measure latencies; more parallel files on 2 cores would add
          // scheduling noise to every phase.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "serial",
          include: SERIAL,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
