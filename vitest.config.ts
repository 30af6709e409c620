import { defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

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

/**
 * Slow files that mostly wait (on kernel timers, idle gaps, injected delays: ~10-20 s of CPU each in 35-90 s),
 * longest first. Without timings of its own (a fresh clone, as in CI) vitest starts the largest files first, and
 * idle-sweep and lab-verdict-idle, small files of ~35 s, started late and ran alone at the end while the other
 * worker had nothing left. Started first, they pair with each other rather than with CPU-heavy files, and the two
 * workers finish closer together. Files that are slow because they use the CPU (s3-store, cli-report-flags,
 * lab-backlog) or whose verdicts are sensitive to a busy machine (lab-verdict, lab-diagnosis) are deliberately not
 * listed: moved to the front they paired with each other (in one CI run so ordered, on a machine loaded by other
 * work, lab-diagnosis's healthy lab, running beside s3-store, had a stall). With a local timing cache this only
 * moves these files ahead of the others; the rest keep vitest's order.
 */
const SLOW_FIRST = [
  "test/integration/kernel-faults.test.ts",
  "test/integration/idle-sweep.test.ts",
  "test/integration/lab-verdict-idle.test.ts",
];

class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification): number => {
      const i = SLOW_FIRST.findIndex((p) => f.moduleId.endsWith(`/${p}`));
      return i === -1 ? SLOW_FIRST.length : i;
    };
    const at = new Map(sorted.map((f, i) => [f, i]));
    // vitest's own order decides between projects (groupOrder: the parallel batch before the serial one).
    const group = (f: TestSpecification) => `${f.project.config.sequence.groupOrder}:${f.project.name}`;
    const firstOfGroup = new Map<string, number>();
    for (const [i, f] of sorted.entries()) if (!firstOfGroup.has(group(f))) firstOfGroup.set(group(f), i);
    return [...sorted].sort(
      (a, b) =>
        (firstOfGroup.get(group(a)) ?? 0) - (firstOfGroup.get(group(b)) ?? 0) ||
        rank(a) - rank(b) ||
        (at.get(a) ?? 0) - (at.get(b) ?? 0),
    );
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: SlowFirstSequencer },
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
