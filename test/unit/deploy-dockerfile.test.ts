/**
 * deploy/Dockerfile, read as text (no Docker engine runs here): Node 24,
 * multi-stage, production dependencies only at runtime, a non-root user, an
 * exec-form ENTRYPOINT running node itself (so SIGTERM reaches stallwatch),
 * and every file it copies exists and is let through the .dockerignore.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const text = readFileSync(join(root, "deploy/Dockerfile"), "utf8");
const lines = text
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));
const stages = lines.reduce<string[][]>((acc, l) => {
  if (/^FROM /i.test(l)) acc.push([]);
  acc.at(-1)?.push(l);
  return acc;
}, []);
const runtime = stages.at(-1) ?? [];

describe("deploy/Dockerfile", () => {
  it("builds on Node 24 in two stages; the runtime stage installs production dependencies only", () => {
    expect(stages).toHaveLength(2);
    for (const s of stages) expect(s[0]).toMatch(/^FROM node:24(-slim)?\b/);
    expect(runtime.some((l) => /^RUN npm ci\b.*--omit=dev/.test(l))).toBe(true);
    expect(runtime.some((l) => /npm (install|i)\b/.test(l))).toBe(false);
    expect(runtime.some((l) => /^COPY --from=build \/app\/dist/.test(l))).toBe(true);
    // npm ci runs `prepare` (the TypeScript build) unless scripts are off.
    for (const l of lines.filter((x) => /^RUN npm ci/.test(x))) expect(l).toContain("--ignore-scripts");
  });

  it("runs as a non-root user with node itself as the exec-form entrypoint and SIGTERM as stop signal", () => {
    const user = runtime.filter((l) => /^USER /.test(l)).at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)\b/);
    const entry = runtime.find((l) => /^ENTRYPOINT /.test(l));
    expect(JSON.parse(entry!.slice("ENTRYPOINT ".length))).toEqual(["node", "dist/cli/main.js"]);
    expect(lines.some((l) => /^(ENTRYPOINT|CMD) .*\bnpm\b/.test(l))).toBe(false);
    expect(runtime).toContain("STOPSIGNAL SIGTERM");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      bin: Record<string, string>;
    };
    expect(pkg.bin.stallwatch).toBe("dist/cli/main.js");
  });

  it("copies only files that exist and that its .dockerignore lets through", () => {
    const ignore = readFileSync(join(root, "deploy/Dockerfile.dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/\*\*$/, ""));
    const sources = lines
      .filter((l) => /^COPY /.test(l) && !l.includes("--from="))
      .flatMap((l) => l.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(4);
    for (const s of sources) {
      expect(existsSync(join(root, s)), s).toBe(true);
      expect(ignore, s).toContain(s);
    }
  });
});
