/**
 * Help text: defaults for the probe flags (the schema's), two examples per
 * command, and the one description of the stall rule, which the dashboard
 * header says too.
 */
import type { Command } from "commander";
import { describe, expect, test } from "vitest";
import { buildDashboard } from "../../src/aws/dashboard/build.js";
import { buildProgram, HELP_DEFAULTS } from "../../src/cli/program.js";
import { parseConfig } from "../../src/config/load.js";
import { ProbeOptionsSchema } from "../../src/config/schema.js";
import { DEFAULT_STALL_RULE } from "../../src/diagnose/stalls.js";
import { STALL_RULE_DEFAULTS, stallRuleText } from "../../src/stall-rule-text.js";

function helpOf(name: string): string {
  const cmd = buildProgram().commands.find((c) => c.name() === name) as Command;
  let out = "";
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  cmd.outputHelp();
  return out.replace(/\s+/g, " ");
}

describe("help", () => {
  test("report shows the defaults of --count, --concurrency, --connection, --timeout-ms, equal to the schema's", () => {
    const schema = ProbeOptionsSchema.parse({});
    expect(HELP_DEFAULTS).toMatchObject({
      count: schema.count,
      concurrency: schema.concurrency,
      connection: schema.connection,
      timeoutMs: schema.timeoutMs,
    });
    const help = helpOf("report");
    expect(help).toContain(`(default: ${schema.count}, or the config's)`);
    expect(help).toContain(`requests in flight at once (default: ${schema.concurrency})`);
    expect(help).toContain(`connection handling (default: ${schema.connection})`);
    expect(help).toContain(`(default: ${schema.timeoutMs})`);
  });

  test("every command shows two examples", () => {
    for (const cmd of buildProgram().commands) {
      const help = helpOf(cmd.name());
      const examples = help.split("Examples:")[1] ?? "";
      expect(examples.match(/\$ \S*stallwatch /g) ?? [], cmd.name()).toHaveLength(2);
    }
  });

  test("one description of the stall rule: --stall-ms help, the dashboard, the diagnosis defaults", () => {
    expect(DEFAULT_STALL_RULE).toEqual(STALL_RULE_DEFAULTS);
    const text = stallRuleText();
    expect(text).toBe(
      "slower than max(250 ms, 5 × the lower quartile (p25) of its series), or cut off by its deadline",
    );
    expect(helpOf("report")).toContain(text);
    expect(helpOf("report")).not.toContain("median");
    const loaded = parseConfig({
      apis: [
        { name: "a", routes: [{ name: "r", baseUrl: "http://127.0.0.1:1" }], endpoints: [{ path: "/" }] },
      ],
      probe: { stallFactor: 4, stallFloorMs: 300 },
    });
    const body = JSON.stringify(
      buildDashboard({ config: loaded.config, targets: loaded.targets, region: "us-west-2" }).body,
    );
    expect(body).toContain(stallRuleText({ stallFactor: 4, stallFloorMs: 300 }));
    expect(stallRuleText({ stallMs: 400, stallFactor: 5, stallFloorMs: 250 })).toBe(
      "slower than 400 ms, or cut off by its deadline",
    );
  });
});
