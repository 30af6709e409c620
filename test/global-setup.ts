/**
 * Tests that spawn the CLI (kernel faults in network namespaces, SIGTERM,
 * kill -9) run the built `dist/`. Build once per test run when any source
 * file is newer than the build, so they never test stale code.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  const root = join(import.meta.dirname, "..");
  let built = 0;
  try {
    built = statSync(join(root, "dist/cli/main.js")).mtimeMs;
  } catch {
    /* not built yet */
  }
  if (newestMtime(join(root, "src")) > built) {
    try {
      // tsc still emits on type errors; the type-check proper is `npm run typecheck`.
      execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: root, stdio: "pipe" });
    } catch (err) {
      const out = String((err as { stdout?: Buffer }).stdout ?? "").slice(0, 2000);
      console.warn(`global-setup: build reported errors; tests that spawn dist/ may fail:\n${out}`);
    }
  }
}
