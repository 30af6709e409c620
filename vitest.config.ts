import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests open real sockets and measure latencies; too many
    // parallel files on 2 cores would add scheduling noise to every phase.
    maxWorkers: 2,
    // No test may reach the EC2 instance-metadata address: the AWS SDK's credential chain would try it when a
    // test forgets to point a client at the lab. Tests set their own dummy credentials and endpoints.
    env: { AWS_EC2_METADATA_DISABLED: "true" },
  },
});
