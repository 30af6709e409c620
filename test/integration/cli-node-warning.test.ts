/**
 * The AWS SDK's ten-line NodeVersionSupportWarning is replaced by one line of
 * ours, once per process, and only where the SDK would have warned (Node < 22).
 * The lab's local AWS endpoints make `report --lab` build real SDK clients.
 */
import { describe, expect, test } from "vitest";
import { nodeSupportLine, noteNodeSupport, SDK_WARNING_ENV } from "../../src/aws/node-support.js";
import { runCli } from "../helpers/cli.js";

describe("node version notice", () => {
  test("one line naming the version, what stops and what to do; none on Node 22+", () => {
    const line = nodeSupportLine("v20.20.0");
    expect(line).toMatch(/Node v20\.20\.0/);
    expect(line).toMatch(/January 2027/);
    expect(line).toMatch(/upgrade to Node 22/);
    expect(line).not.toContain("\n");
    expect(nodeSupportLine("v22.0.0")).toBeUndefined();
    expect(nodeSupportLine("v24.3.1")).toBeUndefined();
  });

  test("printed once, silences the SDK's own, and respects a user who silenced it", () => {
    const lines: string[] = [];
    const env: NodeJS.ProcessEnv = {};
    const deps = { version: "v20.20.0", env, write: (l: string) => lines.push(l) };
    noteNodeSupport(deps);
    noteNodeSupport(deps);
    expect(lines).toHaveLength(1);
    expect(env[SDK_WARNING_ENV]).toBe("true");
    const quiet: string[] = [];
    noteNodeSupport({ version: "v20.20.0", env: { [SDK_WARNING_ENV]: "true" }, write: (l) => quiet.push(l) });
    expect(quiet).toEqual([]);
  });

  test("report --lab: our one line on stderr, never the SDK's warning", async () => {
    const env = { ...process.env };
    delete env[SDK_WARNING_ENV];
    const r = await runCli(["report", "--lab", "healthy", "-n", "2", "--connection", "reuse", "--json"], {
      env,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain("NodeVersionSupportWarning");
    const ours = r.stderr.split("\n").filter((l) => l.includes("past its end of life"));
    const major = Number(process.versions.node.split(".")[0]);
    expect(ours).toHaveLength(major < 22 ? 1 : 0);
  }, 90_000);
});
