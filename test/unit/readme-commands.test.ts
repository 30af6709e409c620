/**
 * The README's commands exist as written: every `stallwatch …` line in its
 * shell blocks names a real command, only flags that command has, and config
 * files that exist in the repository or that an earlier README command writes
 * (`init … -o FILE`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { describe, expect, test } from "vitest";
import { buildProgram } from "../../src/cli/program.js";

const ROOT = join(import.meta.dirname, "../..");

/** Shell words of one command line (quotes kept together, `#` comments and `\` continuations handled). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const w = m[1] ?? m[2] ?? m[3] ?? "";
    if (m[3]?.startsWith("#")) break;
    out.push(w);
  }
  return out;
}

/** Every stallwatch invocation in the README's sh blocks, continuation lines joined. */
function readmeCommands(): string[][] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
  const cmds: string[][] = [];
  for (const block of blocks) {
    const joined = block.replace(/\\\n\s*/g, " ");
    for (const line of joined.split("\n")) {
      for (const part of line.split(/&&|\|/)) {
        const w = words(part.trim());
        const at = w.findIndex((x) => x === "stallwatch" || x.endsWith("/.bin/stallwatch"));
        if (at >= 0) cmds.push(w.slice(at + 1));
      }
    }
  }
  return cmds;
}

function optionOf(cmd: Command, flag: string) {
  const name = flag.split("=")[0];
  return cmd.options.find((o) => o.long === name || o.short === name);
}

describe("README commands", () => {
  const cmds = readmeCommands();
  const program = buildProgram();

  test("there are commands to check", () => {
    expect(cmds.length).toBeGreaterThan(15);
  });

  test("each names a real command and only its flags; config files exist or are written earlier", () => {
    const written = new Set<string>();
    const problems: string[] = [];
    for (const argv of cmds) {
      const [name, ...rest] = argv;
      const cmd = program.commands.find((c) => c.name() === name);
      if (!cmd) {
        problems.push(`${argv.join(" ")}: no command '${name}'`);
        continue;
      }
      for (let i = 0; i < rest.length; i++) {
        const w = rest[i] as string;
        if (!w.startsWith("-") || /^-\d/.test(w)) continue;
        const opt = optionOf(cmd, w);
        if (!opt) {
          problems.push(`${argv.join(" ")}: '${name}' has no option ${w}`);
          continue;
        }
        const value = opt.required && !w.includes("=") ? rest[++i] : undefined;
        if (value === undefined) continue;
        if (opt.long === "--output") written.add(value);
        if ((opt.long === "--config" || opt.long === "--from-openapi") && !written.has(value)) {
          if (!existsSync(join(ROOT, value))) problems.push(`${argv.join(" ")}: ${value} does not exist`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("the checker catches a command that does not exist as written", () => {
    const daemon = buildProgram().commands.find((c) => c.name() === "daemon") as Command;
    expect(optionOf(daemon, "--lab")).toBeDefined();
    expect(optionOf(daemon, "--nonsense")).toBeUndefined();
    expect(existsSync(join(ROOT, "config.json"))).toBe(false);
  });
});
