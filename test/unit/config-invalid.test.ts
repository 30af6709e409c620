/**
 * The invalid-config corpus: every `test/fixtures/config-invalid/NAME.json`
 * has a `NAME.expected.txt` with the exact problem list, one `path: message`
 * per line, in the order reported. Run with UPDATE_CONFIG_FIXTURES=1 to
 * rewrite the expected files (then review the diff).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError, type ConfigProblem } from "../../src/errors.js";

const dir = join(import.meta.dirname, "../fixtures/config-invalid");
const update = process.env.UPDATE_CONFIG_FIXTURES === "1";

/** The environment every fixture is loaded with; other variables are unset. */
const env = {
  SW_TEST_PRESENT: "present-secret-value",
  SW_TEST_NEWLINE: "line1\nline2",
  SW_TEST_NON_ASCII: "s\u00e9cret-token-\u20ac",
  // An invalid UTF-8 byte as Node decodes it from the environment.
  SW_TEST_BAD_UTF8: Buffer.from([0x61, 0x62, 0xff, 0x63]).toString("utf8"),
};

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".json") && f !== "biome.json")
  .sort();

function lines(problems: ConfigProblem[]): string {
  return `${problems.map((p) => `${p.path || "(root)"}: ${p.message}`).join("\n")}\n`;
}

async function problemsOf(file: string): Promise<ConfigError> {
  try {
    await loadConfig(file, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error(`${file} loaded without problems`);
}

describe("invalid config corpus", () => {
  it("has at least 15 files, each with an expected problem list", () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(15);
    const missing = fixtures.filter(
      (f) => !update && !existsSync(join(dir, f.replace(/\.json$/, ".expected.txt"))),
    );
    expect(missing).toEqual([]);
  });

  it.each(fixtures)("%s reports exactly the expected problems", async (name) => {
    const err = await problemsOf(join(dir, name));
    expect(err.code).toBe("SW_CONFIG");
    expect(err.exitCode).toBe(2);
    const actual = lines(err.problems);
    const expectedFile = join(dir, name.replace(/\.json$/, ".expected.txt"));
    if (update) writeFileSync(expectedFile, actual);
    expect(actual).toBe(readFileSync(expectedFile, "utf8"));
    // The error message lists every problem too, so the CLI can just print it.
    for (const p of err.problems) expect(err.message).toContain(`  ${p.path || "(root)"}: ${p.message}`);
    expect(err.message).toContain(`(${err.problems.length} problem`);
  });

  it("reports problems of every layer at once: schema, suites, environment, ${vars}", async () => {
    const err = await problemsOf(join(dir, "many-problems.json"));
    const paths = err.problems.map((p) => p.path);
    expect(paths).toContain("apis[0].name");
    expect(paths).toContain("probe.count");
    expect(paths).toContain("probe.resolve[0]");
    expect(paths).toContain("schedule.cron");
    expect(paths).toContain("alarms.periodS");
    expect(paths).toContain("");
    expect(paths).toContain("apis[0].suites[0] (probes/invalid-endpoints.json): endpoints[2].path");
    expect(paths).toContain('apis[0].headers["x-api-key"]');
    expect(paths).toContain("apis[0].endpoints[0].path");
    expect(err.problems.length).toBeGreaterThanOrEqual(18);
  });

  it("never echoes a secret taken from the environment", async () => {
    const err = await problemsOf(join(dir, "missing-env.json"));
    expect(err.message).not.toContain("present-secret-value");
    expect(err.message).not.toContain("line1");
  });

  it("never echoes the password of a URL with credentials", async () => {
    const err = await problemsOf(join(dir, "credentials-in-url.json"));
    expect(err.message).toContain("expected a URL without 'user:password@'");
    expect(err.message).not.toContain("hunter2-url-pw");
  });

  it("never echoes a non-ASCII header value taken from the environment", async () => {
    const err = await problemsOf(join(dir, "bad-header-values.json"));
    expect(err.message).not.toContain("cret-token");
  });

  it("names the file in the error", async () => {
    const file = join(dir, "empty-apis.json");
    const err = await problemsOf(file);
    expect(err.file).toBe(file);
    expect(err.message).toContain(`invalid configuration in ${file} (1 problem):`);
  });

  it("reports a config file that cannot be read", async () => {
    const err = await problemsOf(join(dir, "no-such-config.json"));
    expect(lines(err.problems)).toBe("(root): cannot read the file: not found\n");
  });
});
