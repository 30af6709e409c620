#!/usr/bin/env node
// Writes the files generated from src/config/schema.ts: schema/config.schema.json,
// schema/suite.schema.json and docs/configuration.md.
//   node scripts/gen-schema.mjs          write them
//   node scripts/gen-schema.mjs --check  exit 1 if any differs from the committed file
// Loads the TypeScript source through Vite's module runner (installed with vitest),
// so no build is needed first.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runnerImport } from "vite";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const { module } = await runnerImport(join(root, "src/config/gen-schema.ts"), {
  root,
  configFile: false,
  logLevel: "error",
});
let stale = 0;
for (const [rel, content] of Object.entries(module.generatedFiles())) {
  const file = join(root, rel);
  const current = await readFile(file, "utf8").catch(() => undefined);
  if (current === content) continue;
  if (check) {
    console.error(`${rel} is out of date: run node scripts/gen-schema.mjs`);
    stale++;
    continue;
  }
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  console.log(`wrote ${rel}`);
}
process.exitCode = stale ? 1 : 0;
